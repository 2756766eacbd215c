"""Registration's HTTP edge and work-queue consumer (a Chalice blueprint registered by app.py).

Routes marked "bearer or X-Application-Token" are declared PUBLIC to the registry and
authenticate here: a bearer token when one is sent, otherwise the application token the
registration answered once at creation (access.py explains it).
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.bootstrap import container
from chalicelib.registration.access import HEADER, ApplicationToken, Caller
from chalicelib.registration.schemas import (ContactUpdateBody, DocumentConfirmationBody,
                                             DocumentUploadBody, EmployerContactUpdateBody,
                                             EmployerRegistrationBody, EmploymentEndBody,
                                             ImportStartBody, ImportUploadBody, OptInBody,
                                             PageQueryParams, ParticipantRegistrationBody,
                                             VerificationDecisionBody, WageChangeBody)
from chalicelib.shared_kernel.auth import Role
from chalicelib.shared_kernel.errors import Unauthorized
from chalicelib.shared_kernel.http import PUBLIC, Call, Reply, RouteRegistry, optional_principal
from chalicelib.shared_kernel.queues import process_batch
from chalicelib.shared_kernel.resources import QUEUES

bp = Blueprint(__name__)
api = RouteRegistry(bp)
VERIFIERS = (Role.VERIFIER, Role.ADMIN)
TAGS = ["registration"]
EITHER = " (bearer or X-Application-Token)"


def _caller(call: Call) -> Caller:
    if call.headers.get("authorization"):
        return optional_principal(call)
    token = (call.headers.get(HEADER) or "").strip()
    if token:
        return ApplicationToken(token)
    raise Unauthorized(f"Sertakan token (Authorization: Bearer ...) atau token aplikasi ({HEADER})",
                       code="TOKEN_MISSING")


def _registration():
    return container().registration


# --------------------------------------------------------------------------- employers

@api.route("/v1/employers", "POST", summary="Register an employer (badan usaha)",
           auth=PUBLIC, body=EmployerRegistrationBody, status=201, tags=TAGS)
def register_employer(call: Call):
    return _registration().register_employer(call.body, optional_principal(call))


@api.route("/v1/employers/{employer_id}", "GET", summary="An employer's registration" + EITHER,
           auth=PUBLIC, tags=TAGS)
def get_employer(call: Call):
    return _registration().employer(call.path["employer_id"], _caller(call))


@api.route("/v1/employers/{employer_id}", "PUT",
           summary="Correct and resubmit a rejected employer registration" + EITHER,
           auth=PUBLIC, body=EmployerRegistrationBody, tags=TAGS)
def resubmit_employer(call: Call):
    return _registration().resubmit_employer(call.path["employer_id"], call.body, _caller(call))


@api.route("/v1/employers/{employer_id}/verification", "POST",
           summary="Approve (assigns the NPP) or reject with reasons", auth=VERIFIERS,
           body=VerificationDecisionBody, tags=TAGS)
def verify_employer(call: Call):
    return _registration().verify_employer(call.path["employer_id"], call.body, call.principal)


@api.route("/v1/employers/{employer_id}/contact", "PATCH",
           summary="Update the employer's contact person, phone, e-mail or address" + EITHER,
           auth=PUBLIC, body=EmployerContactUpdateBody, tags=TAGS)
def update_employer_contact(call: Call):
    return _registration().update_employer_contact(call.path["employer_id"], call.body,
                                                   _caller(call))


@api.route("/v1/employers/{employer_id}/consents", "POST",
           summary="Opt in or out of WhatsApp/SMS notices" + EITHER, auth=PUBLIC,
           body=OptInBody, tags=TAGS)
def employer_consent(call: Call):
    return _registration().set_consent("employer", call.path["employer_id"], call.body,
                                       _caller(call))


@api.route("/v1/employers/{employer_id}/workers", "GET",
           summary="The employer's workers and their status (the employer, or its branch)",
           query=PageQueryParams, tags=TAGS)
def employer_workers(call: Call):
    return _registration().workers(call.path["employer_id"], call.principal,
                                   limit=call.query.limit, next_token=call.query.next_token)


@api.route("/v1/employers/{employer_id}/history", "GET",
           summary="Who did what to this registration, when and why (branch staff)", tags=TAGS)
def employer_history(call: Call):
    return _registration().history("employer", call.path["employer_id"], call.principal)


# --------------------------------------------------------------------------- participants

@api.route("/v1/participants", "POST", summary="Register a participant (PU, BPU or JK)",
           auth=PUBLIC, body=ParticipantRegistrationBody, status=201, tags=TAGS)
def register_participant(call: Call):
    return _registration().register_participant(call.body, optional_principal(call))


@api.route("/v1/participants/{participant_id}", "GET",
           summary="A participant's registration" + EITHER, auth=PUBLIC, tags=TAGS)
def get_participant(call: Call):
    return _registration().participant(call.path["participant_id"], _caller(call))


@api.route("/v1/participants/{participant_id}", "PUT",
           summary="Correct and resubmit a rejected participant registration" + EITHER,
           auth=PUBLIC, body=ParticipantRegistrationBody, tags=TAGS)
def resubmit_participant(call: Call):
    return _registration().resubmit_participant(call.path["participant_id"], call.body,
                                                _caller(call))


@api.route("/v1/participants/{participant_id}/verification", "POST",
           summary="Approve (assigns the KPJ) or reject with reasons", auth=VERIFIERS,
           body=VerificationDecisionBody, tags=TAGS)
def verify_participant(call: Call):
    return _registration().verify_participant(call.path["participant_id"], call.body,
                                              call.principal)


@api.route("/v1/participants/{participant_id}/status", "GET",
           summary="Membership status, programs and paid-through period" + EITHER,
           auth=PUBLIC, tags=TAGS)
def participant_status(call: Call):
    return _registration().status(call.path["participant_id"], _caller(call))


@api.route("/v1/participants/{participant_id}/wage-changes", "POST",
           summary="A PU wage effective from a contribution period (employer or branch)",
           body=WageChangeBody, status=201, tags=TAGS)
def change_wage(call: Call):
    return _registration().change_wage(call.path["participant_id"], call.body, call.principal)


@api.route("/v1/participants/{participant_id}/employment-end", "POST",
           summary="A PU worker leaves the employer (not billed after the month of the last "
                   "working day)", body=EmploymentEndBody, tags=TAGS)
def end_employment(call: Call):
    return _registration().end_employment(call.path["participant_id"], call.body,
                                          call.principal)


@api.route("/v1/participants/{participant_id}/contact", "PATCH",
           summary="Update a participant's phone, e-mail or address" + EITHER, auth=PUBLIC,
           body=ContactUpdateBody, tags=TAGS)
def update_contact(call: Call):
    return _registration().update_contact(call.path["participant_id"], call.body,
                                          _caller(call))


@api.route("/v1/participants/{participant_id}/consents", "POST",
           summary="Opt in or out of WhatsApp/SMS notices" + EITHER, auth=PUBLIC,
           body=OptInBody, tags=TAGS)
def participant_consent(call: Call):
    return _registration().set_consent("participant", call.path["participant_id"], call.body,
                                       _caller(call))


@api.route("/v1/participants/{participant_id}/history", "GET",
           summary="Who did what to this registration, when and why (branch staff)", tags=TAGS)
def participant_history(call: Call):
    return _registration().history("participant", call.path["participant_id"],
                                   call.principal)


@api.route("/v1/participants/{participant_id}/card", "GET",
           summary="A short-lived download link of the participation card (PDF)", tags=TAGS)
def participant_card(call: Call):
    return _registration().cards.download(call.path["participant_id"], call.principal)


@api.route("/v1/cards/{card_code}", "GET",
           summary="Public check of a participation card (its QR code points here)",
           auth=PUBLIC, tags=TAGS)
def verify_card(call: Call):
    return _registration().cards.verify(call.path["card_code"])


@api.route("/v1/verification-queue", "GET", summary="Pending applications of my branch",
           auth=VERIFIERS, tags=TAGS)
def verification_queue(call: Call):
    return {"items": _registration().verification_queue(call.principal), "next_token": None}


# --------------------------------------------------------------------------- documents

def _document_routes(kind: str, plural: str, id_name: str) -> None:
    base = f"/v1/{plural}/{{{id_name}}}/documents"

    def named(view, name: str):
        view.__name__ = view.__qualname__ = f"{name}_{kind}"  # unique operation ids
        return view

    def request_upload(call: Call):
        return _registration().request_document_upload(kind, call.path[id_name], call.body,
                                                       _caller(call))

    def confirm_upload(call: Call):
        return _registration().confirm_document(kind, call.path[id_name], call.path["kind"],
                                                call.body.upload_id, _caller(call))

    def list_documents(call: Call):
        return _registration().documents(kind, call.path[id_name], _caller(call))

    def download_document(call: Call):
        return _registration().document_download(kind, call.path[id_name], call.path["kind"],
                                                 _caller(call))

    api.route(base + "/uploads", "POST",
              summary=f"Presigned upload of a supporting document ({kind})" + EITHER,
              auth=PUBLIC, body=DocumentUploadBody, status=201,
              tags=TAGS)(named(request_upload, "request_document_upload"))
    api.route(base + "/{kind}", "PUT",
              summary=f"Attach an uploaded file as this kind's document ({kind})" + EITHER,
              auth=PUBLIC, body=DocumentConfirmationBody,
              tags=TAGS)(named(confirm_upload, "confirm_document"))
    api.route(base, "GET", summary=f"Documents present and missing ({kind})" + EITHER,
              auth=PUBLIC, tags=TAGS)(named(list_documents, "list_documents"))
    api.route(base + "/{kind}", "GET",
              summary=f"A short-lived download link of a document ({kind})" + EITHER,
              auth=PUBLIC, tags=TAGS)(named(download_document, "download_document"))


_document_routes("participant", "participants", "participant_id")
_document_routes("employer", "employers", "employer_id")


# --------------------------------------------------------------------------- worker imports

@api.route("/v1/import-template", "GET",
           summary="The worker-import CSV template (header and one example row)", auth=PUBLIC,
           tags=TAGS)
def import_template(call: Call):
    from chalicelib.registration.bulk import TEMPLATE

    return Response(body=TEMPLATE, status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="templat-impor-pekerja.csv"'})


@api.route("/v1/employers/{employer_id}/imports/uploads", "POST",
           summary="Presigned upload of a worker CSV (the employer, or its branch)",
           body=ImportUploadBody, status=201, tags=TAGS)
def request_import_upload(call: Call):
    return _registration().imports.request_upload(call.path["employer_id"], call.body,
                                                  call.principal)


@api.route("/v1/employers/{employer_id}/imports", "POST",
           summary="Start importing an uploaded worker CSV (202; the same file again: 200 "
                   "with its import)", body=ImportStartBody, status=202, tags=TAGS)
def start_import(call: Call):
    job = _registration().imports.start(call.path["employer_id"], call.body, call.principal)
    return Reply(job, 200 if job["duplicate_upload"] else 202)


@api.route("/v1/employers/{employer_id}/imports", "GET", summary="The employer's imports",
           query=PageQueryParams, tags=TAGS)
def list_imports(call: Call):
    return _registration().imports.list(call.path["employer_id"], call.principal,
                                        limit=call.query.limit, next_token=call.query.next_token)


@api.route("/v1/employers/{employer_id}/imports/{import_id}", "GET",
           summary="Progress of an import: processed/total, accepted, rejected", tags=TAGS)
def import_progress(call: Call):
    return _registration().imports.progress(call.path["employer_id"], call.path["import_id"],
                                            call.principal)


@api.route("/v1/employers/{employer_id}/imports/{import_id}/report", "GET",
           summary="A short-lived download link of the per-row result report (CSV)", tags=TAGS)
def import_report(call: Call):
    return _registration().imports.report(call.path["employer_id"], call.path["import_id"],
                                          call.principal)


@bp.on_sqs_message(queue=QUEUES["imports"].name, batch_size=QUEUES["imports"].batch_size,
                    name=QUEUES["imports"].consumer)
def import_workers(event):
    """Registration's work queue: worker imports (resumable) and participation cards."""
    context = getattr(event, "context", None)

    def remaining_ms() -> int:
        return context.get_remaining_time_in_millis() if context is not None else 900_000

    registration = _registration()
    return process_batch(event.to_dict(),
                         lambda message: registration.handle_work(message, remaining_ms))
