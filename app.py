"""SMILE's Chalice app: routes, schedules and queue consumers. Thin by rule: each entry
point parses, calls one use case and maps the result; errors map in chalicelib's HTTP
registry. Heavy modules (PDF, signing, templates) are imported inside the handlers that
need them: this file's import time is every Lambda's cold start.
"""
from chalice import Chalice, ConvertToMiddleware

from chalicelib.bootstrap import container
from chalicelib.shared_kernel.http import (
    OWN_SCHEME, PUBLIC, Call, RouteRegistry, error_response, normalize_chalice_errors,
)
from chalicelib.shared_kernel.observability import logger
from chalicelib.registration.schemas import (EmployerRegistration, ParticipantRegistrationBody,
                                             VerificationDecision)
from chalicelib.shared_kernel.auth import Role
from chalicelib.shared_kernel.schemas import PrincipalOut

app = Chalice(app_name="smile", configure_logs=False)
app.register_middleware(normalize_chalice_errors, "http")
app.register_middleware(ConvertToMiddleware(logger().inject_lambda_context))

api = RouteRegistry(app, authenticate=lambda header: container().verifier.verify(header))

API_VERSION = "1.0.0"
VERIFIERS = (Role.VERIFIER, Role.ADMIN)


def optional_principal(call: Call):
    """Public routes that also accept a token (staff registering on someone's behalf)."""
    header = call.headers.get("authorization")
    return container().verifier.verify(header) if header else None


@api.route("/health", "GET", summary="Liveness", auth=PUBLIC, tags=["platform"])
def health(call: Call):
    return {"status": "ok", "stage": container().settings.stage}


@api.route("/openapi.json", "GET", summary="This API's OpenAPI document", auth=PUBLIC,
           tags=["platform"])
def openapi(call: Call):
    from chalicelib.shared_kernel.openapi import build_openapi

    return build_openapi(api.operations, title="SMILE API", version=API_VERSION)


@api.route("/v1/me", "GET", summary="Who the bearer token says the caller is",
           response=PrincipalOut, tags=["platform"])
def me(call: Call):
    return PrincipalOut.of(call.principal)


# --------------------------------------------------------------------------- registration
@api.route("/v1/employers", "POST", summary="Register an employer (badan usaha)",
           auth=PUBLIC, body=EmployerRegistration, status=201, tags=["registration"])
def register_employer(call: Call):
    return container().registration.register_employer(call.body, optional_principal(call))


@api.route("/v1/employers/{employer_id}", "GET", summary="An employer's registration",
           tags=["registration"])
def get_employer(call: Call):
    return container().registration.employer(call.path["employer_id"], call.principal)


@api.route("/v1/employers/{employer_id}/verification", "POST",
           summary="Approve (assigns the NPP) or reject with reasons", auth=VERIFIERS,
           body=VerificationDecision, tags=["registration"])
def verify_employer(call: Call):
    return container().registration.verify_employer(call.path["employer_id"], call.body,
                                                    call.principal)


@api.route("/v1/participants", "POST", summary="Register a participant (PU, BPU or JK)",
           auth=PUBLIC, body=ParticipantRegistrationBody, status=201, tags=["registration"])
def register_participant(call: Call):
    return container().registration.register_participant(call.body, optional_principal(call))


@api.route("/v1/participants/{participant_id}", "GET", summary="A participant's registration",
           tags=["registration"])
def get_participant(call: Call):
    return container().registration.participant(call.path["participant_id"], call.principal)


@api.route("/v1/participants/{participant_id}/verification", "POST",
           summary="Approve (assigns the KPJ) or reject with reasons", auth=VERIFIERS,
           body=VerificationDecision, tags=["registration"])
def verify_participant(call: Call):
    return container().registration.verify_participant(call.path["participant_id"],
                                                       call.body, call.principal)


@api.route("/v1/participants/{participant_id}/status", "GET",
           summary="Membership status, programs and paid-through period", tags=["registration"])
def participant_status(call: Call):
    return container().registration.status(call.path["participant_id"], call.principal)


@api.route("/v1/verification-queue", "GET", summary="Pending applications of my branch",
           auth=VERIFIERS, tags=["registration"])
def verification_queue(call: Call):
    return {"items": container().registration.verification_queue(call.principal),
            "next_token": None}


# Unknown paths: API Gateway and chalice local answer 403 "Missing Authentication Token";
# these catch-alls (matched after every concrete route) answer a 404 in the error contract.
def _not_found(**parts):
    path = "/" + "/".join(parts[f"p{i}"] for i in range(1, len(parts) + 1))
    return error_response(404, "ROUTE_NOT_FOUND", f"no such route: {path}")


_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
for _depth in range(1, 7):
    _path = "".join(f"/{{p{i}}}" for i in range(1, _depth + 1))
    app.route(_path, methods=_ALL_METHODS, name=f"not_found_{_depth}")(_not_found)
