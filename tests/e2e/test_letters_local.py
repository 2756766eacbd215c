"""A collection letter on the real local stack: bills from the monthly schedule, a
letter_request on the letters queue (as receivables' policy sends it), the pump renders it,
the branch head lists and approves it over HTTP, the employer downloads the signed PDF from
the presigned URL, and the QR code's URL confirms it.

Runs its own stack (own ports and state directory): it moves the virtual clock, which the
shared stack's tests expect to control."""
from __future__ import annotations

import hashlib
import json
import time

import pytest
import requests

from tests.e2e.conftest import LocalStack
from tests.unit.registration.builders import a_nik, a_pu_participant, an_employer

pytestmark = pytest.mark.e2e

BILLED = "2026-12-01T01:00:00+07:00"  # after generate_monthly_bills (00:05 WIB on the 1st)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = LocalStack(tmp_path_factory.mktemp("letters-stack"))
    stack.start()
    yield stack
    stack.stop()


def token(stack, role: str, **binding) -> str:
    """As `python -m infra.local token` makes it, without a process per token."""
    from chalicelib.shared_kernel.auth import Role, issue_local_token

    private = (stack.log.parent / "keys" / "jwt_private.pem").read_text()
    return issue_local_token(private, role=Role(role), subject=f"e2e-{role.lower()}",
                             issuer="smile-local", audience="smile-api", **binding)


def call(stack, method, path, token=None, body=None, expect=200):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.request(method, stack.base_url + path, headers=headers,
                                json=body, timeout=30)
    assert response.status_code == expect, (path, response.status_code, response.text)
    return response.json()


def test_a_letter_from_request_to_signed_download(stack):
    verifier = token(stack, "VERIFIER", branch="BLT")
    head = token(stack, "BRANCH_HEAD", branch="BLT")
    receivables = token(stack, "RECEIVABLES", branch="BLT")

    # Given an employer with one worker, billed for November 2026
    employer_id = call(stack, "POST", "/v1/employers", body=an_employer(
        name="PT Surat Uji Coba", npwp="04.567.890.1-234.000", nib="9120009876543",
        branch_code="BLT"), expect=201)["employer_id"]
    npp = call(stack, "POST", f"/v1/employers/{employer_id}/verification", verifier,
               {"decision": "APPROVE"})["npp"]
    worker = call(stack, "POST", "/v1/participants", body=a_pu_participant(
        employer_npp=npp, monthly_wage=5_000_000, nik=a_nik(serial=901)), expect=201)
    call(stack, "POST", f"/v1/participants/{worker['participant_id']}/verification", verifier,
         {"decision": "APPROVE"})
    stack.cli("tick", "--at", BILLED)
    [bill] = call(stack, "GET", f"/v1/bills?npp={npp}", receivables)["items"]

    # When receivables' policy asks for a surat penagihan through the letters queue
    import boto3

    sqs = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{stack.moto_port}",
                       region_name="ap-southeast-3", aws_access_key_id="local",
                       aws_secret_access_key="local")
    url = sqs.get_queue_url(QueueName="smile-letters")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({
        "type": "letter_request", "dedupe_key": f"letter:EMP#{employer_id}:REMINDER:"
                                                f"{bill['due_date']}",
        "letter_type": "REMINDER", "legal_handover_target": None,
        "debtor_key": f"EMP#{employer_id}", "employer_id": employer_id, "npp": npp,
        "branch": "BLT", "bill_ids": [bill["bill_id"]], "as_of": "2026-12-16"}))
    stack.cli("tick", "--at", BILLED)  # drains the queues (the pump would, within a second)

    # Then the branch head finds the draft, approves it, and it is signed
    letter = wait_for_letter(stack, head, employer_id)
    assert letter["number"] == "1/TGH/KC-BLT/XII/2026"
    assert letter["total"] == 477_000 + 9_540  # one month late: 2 % per program
    signed = call(stack, "POST", f"/v1/letters/{letter['letter_id']}/approve", head)
    assert (signed["status"], signed["dispatched"]) == ("SIGNED", True)
    again = call(stack, "POST", f"/v1/letters/{letter['letter_id']}/approve", head)
    assert again["signed_sha256"] == signed["signed_sha256"]

    # And the employer downloads exactly the signed PDF, whose signature validates
    employer_token = token(stack, "EMPLOYER", npp=npp)
    link = call(stack, "GET", f"/v1/letters/{letter['letter_id']}/download", employer_token)
    pdf = requests.get(link["url"], timeout=30).content
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == link["sha256"]
    from chalicelib.receivables.letters.signing import verify_signed_pdf

    ca = (stack.log.parent / "keys" / "signing" / "local-ca.pem").read_bytes()
    result = verify_signed_pdf(pdf, ca)
    assert result.ok, result.problem
    assert result.signer_common_name == "Drs. Hendra Wijaya, M.M."

    # And the QR code's URL says it was issued and signed
    verified = requests.get(signed["verification_url"], timeout=30).json()
    assert (verified["issued"], verified["signed"], verified["employer_name"]) == (
        True, True, "PT Surat Uji Coba")
    assert call(stack, "GET", f"/v1/letters/{letter['letter_id']}/download", receivables,
                expect=200)["document"] == "signed"


def wait_for_letter(stack, token, employer_id, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        items = call(stack, "GET", "/v1/letters?branch=BLT&status=DRAFT", token)["items"]
        mine = [i for i in items if i["employer_id"] == employer_id]
        if mine:
            return mine[0]
        time.sleep(0.5)
    raise AssertionError(f"no draft letter for {employer_id} within {seconds}s: "
                         f"{stack.log.read_text()[-2000:]}")
