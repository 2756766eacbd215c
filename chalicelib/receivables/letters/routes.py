"""Collection letters' HTTP edge and the render_letter consumer (a blueprint registered by
app.py). Each view parses, calls one use case of LetterService and returns its answer."""
from __future__ import annotations

import html

from chalice import Blueprint

from chalicelib.bootstrap import container
from chalicelib.shared_kernel.auth import Role
from chalicelib.shared_kernel.http import PUBLIC, Call, Reply, RouteRegistry
from chalicelib.shared_kernel.queues import process_batch
from chalicelib.shared_kernel.resources import QUEUES

from .schemas import (DownloadOut, LetterOut, LetterPage, LetterQuery, RegenerationOut,
                      Rejection, VerificationOut, VerificationQuery)

bp = Blueprint(__name__)
api = RouteRegistry(bp)
HEAD = (Role.BRANCH_HEAD,)
READERS = (Role.BRANCH_HEAD, Role.RECEIVABLES, Role.ADMIN, Role.VERIFIER, Role.EMPLOYER)
TAGS = ["letters"]


@api.route("/v1/letters", "GET",
           summary="Letters of a branch by status (staff), or the employer's signed letters",
           auth=(Role.BRANCH_HEAD, Role.RECEIVABLES, Role.ADMIN, Role.EMPLOYER),
           query=LetterQuery, response=LetterPage, tags=TAGS)
def list_letters(call: Call):
    q = call.query
    return container().letters.list(call.principal, branch=q.branch, status=q.status,
                                    limit=q.limit, next_token=q.next_token)


@api.route("/v1/letters/{letter_id}", "GET", summary="A letter, its arrears and audit trail",
           auth=READERS, response=LetterOut, tags=TAGS)
def get_letter(call: Call):
    return container().letters.get(call.path["letter_id"], call.principal)


@api.route("/v1/letters/{letter_id}/approve", "POST",
           summary="Approve and sign (PAdES) a draft letter: the head of its branch only",
           auth=HEAD, response=LetterOut, tags=TAGS)
def approve_letter(call: Call):
    return container().letters.approve(call.path["letter_id"], call.principal)


@api.route("/v1/letters/{letter_id}/reject", "POST",
           summary="Send a draft letter back with a reason: the head of its branch only",
           auth=HEAD, body=Rejection, response=LetterOut, tags=TAGS)
def reject_letter(call: Call):
    return container().letters.reject(call.path["letter_id"], call.body.reason,
                                      call.principal)


@api.route("/v1/letters/{letter_id}/regenerate", "POST",
           summary="Draft a rejected letter again from today's facts (queued)",
           auth=(Role.BRANCH_HEAD, Role.RECEIVABLES, Role.ADMIN), response=RegenerationOut,
           status=202, tags=TAGS)
def regenerate_letter(call: Call):
    return container().letters.regenerate(call.path["letter_id"], call.principal)


@api.route("/v1/letters/{letter_id}/download", "GET",
           summary="A presigned URL (valid 5 minutes) of the letter's PDF",
           auth=READERS, response=DownloadOut, tags=TAGS)
def download_letter(call: Call):
    return container().letters.download(call.path["letter_id"], call.principal)


@api.route("/v1/letters/verify/{reference}", "GET",
           summary="Verification page of the QR code: was this letter issued and signed?",
           auth=PUBLIC, query=VerificationQuery, response=VerificationOut, tags=TAGS)
def verify_letter(call: Call):
    q = call.query
    result = container().letters.verify(call.path["reference"], q.c, q.h)
    if "text/html" in (call.headers.get("accept") or ""):
        return Reply(verification_page(result),
                     headers={"Content-Type": "text/html; charset=utf-8"})
    return VerificationOut.model_validate(result)


@bp.on_sqs_message(queue=QUEUES["letters"].name, batch_size=QUEUES["letters"].batch_size,
                   name=QUEUES["letters"].consumer)
def render_letter(event):
    letters = container().letters
    return process_batch(event.to_dict(), letters.handle_message)


def verification_page(result: dict) -> str:
    """The QR code opens in a phone's browser: the same answer as a small HTML page."""
    ok = result["issued"] and result.get("hash_matches") is not False
    rows = [("Nomor surat", result["number"]), ("Jenis surat", result.get("letter_type")),
            ("Tanggal surat", result.get("issued_on")), ("Kantor", result.get("branch_name")),
            ("Ditujukan kepada", result.get("employer_name")),
            ("Ditandatangani", result.get("signed_at")), ("Penanda tangan", result.get("signer")),
            ("SHA-256 berkas", result.get("document_sha256"))]
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                    for k, v in rows if v)
    colour = "#00703c" if ok else "#b00020"
    return ("<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            "<title>Verifikasi Surat BPJS Ketenagakerjaan</title></head>"
            "<body style=\"font-family:sans-serif;max-width:40em;margin:2em auto\">"
            "<h1>Verifikasi Surat</h1>"
            f"<p style=\"color:{colour};font-weight:bold\">{html.escape(result['message'])}</p>"
            f"<table>{table}</table></body></html>")
