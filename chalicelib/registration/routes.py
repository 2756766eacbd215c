"""Registration's HTTP edge and events (a Chalice blueprint registered by app.py)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.bootstrap import container
from chalicelib.registration.schemas import (EmployerRegistration, ParticipantRegistrationBody,
                                             VerificationDecision)
from chalicelib.shared_kernel.auth import Role
from chalicelib.shared_kernel.http import PUBLIC, Call, RouteRegistry, optional_principal

bp = Blueprint(__name__)
api = RouteRegistry(bp)
VERIFIERS = (Role.VERIFIER, Role.ADMIN)


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
