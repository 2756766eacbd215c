"""SMILE's Chalice app: routes, schedules and queue consumers. Thin by rule: each entry
point parses, calls one use case and maps the result; errors map in chalicelib's HTTP
registry. Heavy modules (PDF, signing, templates) are imported inside the handlers that
need them: this file's import time is every Lambda's cold start.

Each context owns its HTTP edge, schedules and consumers as a Chalice blueprint
(chalicelib/<context>/routes.py); this file composes them and serves the platform routes.
"""
from chalice import Chalice, ConvertToMiddleware

from chalicelib.billing import routes as billing_routes
from chalicelib.billing import snap_routes
from chalicelib.blast import routes as blast_routes
from chalicelib.bootstrap import container
from chalicelib.receivables import routes as receivables_routes
from chalicelib.receivables.letters import routes as letter_routes
from chalicelib.registration import routes as registration_routes
from chalicelib.shared_kernel.http import (
    OPERATIONS, PUBLIC, Call, RouteRegistry, error_response, normalize_chalice_errors,
)
from chalicelib.shared_kernel.observability import logger
from chalicelib.shared_kernel.schemas import PrincipalOut

app = Chalice(app_name="smile", configure_logs=False)
app.register_middleware(normalize_chalice_errors, "http")
app.register_middleware(ConvertToMiddleware(logger().inject_lambda_context))

api = RouteRegistry(app)

API_VERSION = "1.0.0"


@api.route("/health", "GET", summary="Liveness", auth=PUBLIC, tags=["platform"])
def health(call: Call):
    return {"status": "ok", "stage": container().settings.stage}


@api.route("/openapi.json", "GET", summary="This API's OpenAPI document", auth=PUBLIC,
           tags=["platform"])
def openapi(call: Call):
    from chalicelib.shared_kernel.openapi import build_openapi

    return build_openapi(OPERATIONS, title="SMILE API", version=API_VERSION)


@api.route("/v1/me", "GET", summary="Who the bearer token says the caller is",
           response=PrincipalOut, tags=["platform"])
def me(call: Call):
    return PrincipalOut.of(call.principal)


app.register_blueprint(registration_routes.bp)
app.register_blueprint(billing_routes.bp)
app.register_blueprint(letter_routes.bp)
app.register_blueprint(snap_routes.bp)
app.register_blueprint(receivables_routes.bp)
app.register_blueprint(blast_routes.bp)


# Unknown paths: API Gateway and chalice local answer 403 "Missing Authentication Token";
# these catch-alls (matched after every concrete route) answer a 404 in the error contract.
def _not_found(**parts):
    path = "/" + "/".join(parts[f"p{i}"] for i in range(1, len(parts) + 1))
    return error_response(404, "ROUTE_NOT_FOUND", f"no such route: {path}")


_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
for _depth in range(1, 7):
    _path = "".join(f"/{{p{i}}}" for i in range(1, _depth + 1))
    app.route(_path, methods=_ALL_METHODS, name=f"not_found_{_depth}")(_not_found)
