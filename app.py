"""SMILE's Chalice app: routes, schedules and queue consumers. Thin by rule: each entry
point parses, calls one use case and maps the result; errors map in chalicelib's HTTP
registry. Heavy modules (PDF, signing, templates) are imported inside the handlers that
need them: this file's import time is every Lambda's cold start.
"""
from chalice import Chalice, ConvertToMiddleware, Cron

from chalicelib.bootstrap import container
from chalicelib.shared_kernel.http import (
    OWN_SCHEME, PUBLIC, Call, RouteRegistry, error_response, normalize_chalice_errors,
)
from chalicelib.shared_kernel.observability import logger
from chalicelib.billing.calculator import QuoteRequest, QuoteResponse
from chalicelib.billing.schemas import (BillOut, BillPage, BillQuery, CodeReissue, JhtBalance,
                                        ManualPayment)
from chalicelib.registration.schemas import (EmployerRegistration, ParticipantRegistrationBody,
                                             VerificationDecision)
from chalicelib.shared_kernel.auth import Role
from chalicelib.shared_kernel.calendar import parse_instant
from chalicelib.shared_kernel.queues import process_batch
from chalicelib.shared_kernel.resources import QUEUES, SCHEDULES
from chalicelib.shared_kernel.schemas import PrincipalOut

app = Chalice(app_name="smile", configure_logs=False)
app.register_middleware(normalize_chalice_errors, "http")
app.register_middleware(ConvertToMiddleware(logger().inject_lambda_context))

api = RouteRegistry(app, authenticate=lambda header: container().verifier.verify(header))

API_VERSION = "1.0.0"
VERIFIERS = (Role.VERIFIER, Role.ADMIN)
RECEIVABLES = (Role.RECEIVABLES, Role.ADMIN)


def schedule(name: str):
    return next(spec for spec in SCHEDULES if spec.name == name)


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


# --------------------------------------------------------------------------- billing
@api.route("/v1/contributions/quote", "POST", summary="What a party owes for one period",
           auth=PUBLIC, body=QuoteRequest, response=QuoteResponse, tags=["billing"])
def quote_contribution(call: Call):
    from chalicelib.billing.calculator import quote_from_request

    return quote_from_request(container().rulebook, call.body).to_dict()


@api.route("/v1/bills", "GET", summary="Bills: a branch's by status, or one party's",
           query=BillQuery, response=BillPage, tags=["billing"])
def list_bills(call: Call):
    q = call.query
    return container().billing.list_bills(call.principal, status=q.status, npp=q.npp,
                                          kpj=q.kpj, period=q.period, limit=q.limit,
                                          next_token=q.next_token)


@api.route("/v1/bills/{bill_id}", "GET", summary="A bill with its lines and amount due",
           response=BillOut, tags=["billing"])
def get_bill(call: Call):
    return container().billing.get_bill(call.path["bill_id"], call.principal)


@api.route("/v1/bills/{bill_id}/payment-code", "POST",
           summary="Issue a new payment code for an unpaid bill (the old one is retired)",
           auth=RECEIVABLES, body=CodeReissue, status=201, tags=["billing"])
def reissue_payment_code(call: Call):
    return container().billing.reissue_code(call.path["bill_id"], call.body.reason,
                                            call.principal)


@api.route("/v1/bills/{bill_id}/payments", "POST",
           summary="Record a payment made at the branch (cash, with receipt number)",
           auth=RECEIVABLES, body=ManualPayment, status=201, tags=["billing"])
def post_manual_payment(call: Call):
    b = call.body
    return container().payments.post_manual(call.path["bill_id"], amount=b.amount,
                                            receipt_number=b.receipt_number, reason=b.reason,
                                            principal=call.principal)


@api.route("/v1/participants/{participant_id}/jht", "GET",
           summary="JHT balance and its ledger entries", response=JhtBalance, tags=["billing"])
def jht_balance(call: Call):
    return container().billing.jht_balance(call.path["participant_id"], call.principal)


@app.schedule(Cron(*schedule("generate_monthly_bills").cron_args()),
              name="generate_monthly_bills")
def generate_monthly_bills(event):
    return container().billing.generate_monthly_bills(parse_instant(event.time))


@app.on_sqs_message(queue=QUEUES["payments"].name, batch_size=QUEUES["payments"].batch_size,
                    name="on_payment_posted")
def on_payment_posted(event):
    c = container()
    return process_batch(event.to_dict(), lambda message: c.payments.after_payment(
        message["payment_key"], c.registration))


# Unknown paths: API Gateway and chalice local answer 403 "Missing Authentication Token";
# these catch-alls (matched after every concrete route) answer a 404 in the error contract.
def _not_found(**parts):
    path = "/" + "/".join(parts[f"p{i}"] for i in range(1, len(parts) + 1))
    return error_response(404, "ROUTE_NOT_FOUND", f"no such route: {path}")


_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
for _depth in range(1, 7):
    _path = "".join(f"/{{p{i}}}" for i in range(1, _depth + 1))
    app.route(_path, methods=_ALL_METHODS, name=f"not_found_{_depth}")(_not_found)
