"""The HTTP edge every route shares: health, OpenAPI, error contract, authentication."""
from __future__ import annotations

import json
import time


def error_code(response) -> str:
    return json.loads(response.body)["error"]["code"]


def test_health_answers_without_a_token(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok", "stage": "test"}


def test_unknown_route_is_a_404_in_the_error_contract(client):
    response = client.http.get("/v1/no-such-thing/here")
    assert response.status_code == 404
    assert error_code(response) == "ROUTE_NOT_FOUND"


def test_wrong_method_is_a_405_in_the_error_contract(client):
    response = client.http.delete("/health")
    assert response.status_code == 405
    assert error_code(response) == "METHOD_NOT_ALLOWED"


def test_openapi_lists_every_route_the_app_serves(client):
    import app as app_module

    document = client.http.get("/openapi.json").json_body
    served = {
        (path, method.lower())
        for path, methods in app_module.app.routes.items()
        for method in methods
        if not path.startswith("/{p1}")
    }
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert served == documented
    assert document["openapi"].startswith("3.")
