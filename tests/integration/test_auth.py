"""Every non-public route needs a valid bearer token; the answer names what is wrong."""
from __future__ import annotations

import json
import time


def code_of(response) -> str:
    return json.loads(response.body)["error"]["code"]


def test_missing_token_is_401(client):
    response = client.http.get("/v1/me")
    assert response.status_code == 401
    assert code_of(response) == "TOKEN_MISSING"


def test_garbage_token_is_401(client):
    response = client.http.get("/v1/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401
    assert code_of(response) == "TOKEN_INVALID"


def test_non_bearer_scheme_is_401(client):
    response = client.http.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert code_of(response) == "TOKEN_MALFORMED"


def test_expired_token_is_401(client, token):
    expired = token("ADMIN", ttl=60, now=time.time() - 3600)
    response = client.http.get("/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert code_of(response) == "TOKEN_EXPIRED"


def test_token_signed_by_another_key_is_401(client, settings):
    from chalicelib.shared_kernel.auth import Role, issue_local_token
    from tests.support.keys import generate_rsa_pem

    other_private, _ = generate_rsa_pem()
    forged = issue_local_token(other_private, role=Role.ADMIN, subject="mallory",
                               issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    response = client.http.get("/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert code_of(response) == "TOKEN_INVALID"


def test_staff_token_without_branch_is_refused(client, token):
    response = client.http.get("/v1/me", headers={
        "Authorization": f"Bearer {token('VERIFIER', branch=None)}"})
    assert response.status_code == 401


def test_valid_token_names_the_caller(client, auth_header):
    response = client.http.get("/v1/me", headers=auth_header("EMPLOYER", branch=None,
                                                             npp="12345678"))
    assert response.status_code == 200
    assert response.json_body == {"subject": "user-employer", "role": "EMPLOYER",
                                  "branch": None, "npp": "12345678", "kpj": None}
