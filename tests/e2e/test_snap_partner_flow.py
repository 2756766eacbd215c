"""A partner channel over HTTP against the local stack, with the SNAP client written from
the spec (tests/support/snap_client.py, no chalicelib import): token -> inquiry -> payment ->
status -> duplicate -> paid -> expired, then the day's reconciliation."""
from __future__ import annotations

import json
import random
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from tests.support.snap_client import SnapPartner, generate_rsa_keypair

pytestmark = pytest.mark.e2e

WIB = timezone(timedelta(hours=7))


def _api(stack, token: str):
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}",
                            "Content-Type": "application/json"})

    def call(method: str, path: str, body=None, expect: int = 200):
        response = session.request(method, stack.base_url + path,
                                   data=None if body is None else json.dumps(body), timeout=30)
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response.json()

    return call


def _bpu_participant(stack, verifier, serial: int) -> dict:
    from tests.unit.registration.builders import a_bpu_participant, a_nik

    body = a_bpu_participant(nik=a_nik(serial=serial))
    created = requests.post(stack.base_url + "/v1/participants", json=body, timeout=30)
    assert created.status_code == 201, created.text
    participant_id = created.json()["participant_id"]
    return verifier("POST", f"/v1/participants/{participant_id}/verification",
                    {"decision": "APPROVE"})


def stack_now(stack) -> datetime:
    """The stack's "now": its virtual clock when it runs from SMILE_LOCAL_START_AT (the API,
    the pump and `tick` all read it), else the wall clock."""
    clock_file = Path(stack.env["SMILE_LOCAL_DIR"]) / "clock.json"
    wall = datetime.now(timezone.utc)
    if not clock_file.exists():
        return wall
    virtual = datetime.fromisoformat(json.loads(clock_file.read_text())["last"])
    return virtual if stack.env.get("SMILE_LOCAL_START_AT") else max(wall, virtual)


def _next_billing_instant(stack) -> str:
    """00:10 WIB on the next 1st of a month, so generate_monthly_bills runs."""
    local = stack_now(stack).astimezone(WIB)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, 0, 10, tzinfo=WIB).isoformat()


def _open_bill(receivables, kpj: str) -> dict:
    bills = receivables("GET", f"/v1/bills?kpj={kpj}")["items"]
    [bill] = [b for b in bills if b["status"] == "OPEN"]
    return bill


def test_partner_pays_a_bill_exactly_once_over_snap(local_stack):
    admin = _api(local_stack, local_stack.token("ADMIN"))
    verifier = _api(local_stack, local_stack.token("VERIFIER", branch="BLT"))
    receivables = _api(local_stack, local_stack.token("RECEIVABLES", branch="BLT"))

    # Given two BPU participants billed by the monthly run, and a partner onboarded.
    serials = random.sample(range(2000, 10_000), 2)  # NIKs no other test on the stack uses
    payer, late = (_bpu_participant(local_stack, verifier, serial) for serial in serials)
    local_stack.cli("tick", "--at", _next_billing_instant(local_stack))
    bill, other_bill = _open_bill(receivables, payer["kpj"]), _open_bill(receivables,
                                                                          late["kpj"])
    private_pem, public_pem = generate_rsa_keypair()
    client_id = f"E2E-{uuid.uuid4().hex[:8].upper()}"
    onboarded = admin("POST", "/v1/partners",
                      {"client_id": client_id, "name": "Bank Uji E2E", "channel_id": "95221",
                       "public_key_pem": public_pem}, expect=201)
    partner = SnapPartner(local_stack.base_url, client_id, onboarded["client_secret"],
                          private_pem, onboarded["partner_service_id"], "95221",
                          clock=lambda: stack_now(local_stack))
    code, amount = bill["payment_code"], bill["amount_due"]

    # token
    token = partner.get_token()
    assert (token.status, token.body["responseCode"], token.body["expiresIn"]) == (
        200, "2007300", "900")
    assert token.headers["x-timestamp"].endswith("+07:00")

    # inquiry
    inquiry = partner.inquiry(code, "E2E-INQ-1")
    assert (inquiry.status, inquiry.body["responseCode"]) == (200, "2002400")
    data = inquiry.body["virtualAccountData"]
    assert data["totalAmount"] == {"value": f"{amount}.00", "currency": "IDR"}
    assert data["virtualAccountNo"] == partner.partner_service_id + code
    assert data["virtualAccountName"] == bill["party_name"]
    assert data["inquiryRequestId"] == "E2E-INQ-1"

    # payment
    payment = partner.payment(code, amount, "E2E-INQ-1")
    assert (payment.status, payment.body["responseCode"]) == (200, "2002500")
    assert payment.body["virtualAccountData"]["paymentFlagStatus"] == "00"

    # status
    status = partner.status(code, "E2E-INQ-1")
    assert (status.body["responseCode"],
            status.body["virtualAccountData"]["paymentFlagStatus"]) == ("2002600", "00")
    assert status.body["virtualAccountData"]["paidAmount"]["value"] == f"{amount}.00"

    # duplicate: the original answer, nothing posted twice
    duplicate = partner.payment(code, amount, "E2E-INQ-1")
    assert (duplicate.status, duplicate.body) == (200, payment.body)

    # paid
    assert partner.inquiry(code).body["responseCode"] == "4042414"
    assert partner.payment(code, amount, "E2E-INQ-2").body["responseCode"] == "4042514"

    # expired: a re-issued code retires the old one
    receivables("POST", f"/v1/bills/{other_bill['bill_id']}/payment-code",
                {"reason": "kode hilang"}, expect=201)
    expired = partner.inquiry(other_bill["payment_code"])
    assert (expired.status, expired.body["responseCode"]) == (404, "4042419")
    assert expired.headers["x-timestamp"]

    # The bill is paid once; the pump carries the downstream work (membership active).
    paid = receivables("GET", f"/v1/bills/{bill['bill_id']}")
    assert (paid["status"], paid["amount_paid"]) == ("PAID", amount)
    deadline = time.monotonic() + 20
    while True:
        member = receivables("GET", f"/v1/participants/{payer['participant_id']}/status")
        if member["status"] == "ACTIVE" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert member["status"] == "ACTIVE"

    today = stack_now(local_stack).astimezone(WIB).date().isoformat()
    report = admin("GET", f"/v1/reconciliation?date={today}&client_id={client_id}")
    assert (report["count"], report["amount"]) == (1, amount)
    assert report["items"][0]["payment_request_id"] == "E2E-INQ-1"
