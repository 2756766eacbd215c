"""Participation cards on moto: issued once on the first paid contribution, announced
through the message port, downloadable by the participant, verifiable by its QR code."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
import requests

from chalicelib.shared_kernel.calendar import JAKARTA
from tests.integration.factories import Parties, drain, post, run_schedule

NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA)
DEC_1 = datetime(2026, 12, 1, 0, 5, tzinfo=JAKARTA)
DEC_3 = datetime(2026, 12, 3, 9, 0, tzinfo=JAKARTA)


def queued(queue_key: str) -> list[dict]:
    """Every message waiting on a queue (read without consuming it for good)."""
    from chalicelib.bootstrap import container
    from chalicelib.shared_kernel.aws import client
    from chalicelib.shared_kernel.resources import QUEUES

    sqs = client("sqs", container().settings.region)
    url = sqs.get_queue_url(QueueName=QUEUES[queue_key].name)["QueueUrl"]
    bodies = []
    for _ in range(20):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    VisibilityTimeout=0).get("Messages", [])
        new = [m for m in batch if m["MessageId"] not in {b["_id"] for b in bodies}]
        if not new:
            break
        bodies += [{**json.loads(m["Body"]), "_id": m["MessageId"]} for m in new]
    return bodies


@pytest.fixture
def paid_bpu(stack, client, auth_header):
    """A BPU participant registered on 20 November, billed on 1 December and paid at the
    branch on 3 December; the payments queue drained (registration's work not yet)."""
    stack.clock = lambda: NOV_20
    bpu = Parties(client, auth_header).bpu(1_000_000)
    stack.clock = lambda: DEC_1
    run_schedule("generate_monthly_bills", DEC_1)
    stack.clock = lambda: DEC_3
    [bill] = client.http.get(f"/v1/bills?kpj={bpu['kpj']}", headers=auth_header(
        "RECEIVABLES", branch="BLT")).json_body["items"]
    paid = post(client, f"/v1/bills/{bill['bill_id']}/payments",
                {"amount": 16_800, "receipt_number": "KW-CARD-1", "reason": "setor tunai"},
                auth_header("RECEIVABLES", branch="BLT"))
    assert paid.status_code == 201, paid.body
    assert drain("payments") == 1
    return bpu


def card_messages(participant_id: str) -> list[dict]:
    return [m for m in queued("reminders") if m.get("template") == "card_issued"
            and m["recipient_id"] == participant_id]


def test_first_payment_issues_one_card_announced_and_downloadable(client, auth_header,
                                                                   paid_bpu, stack):
    participant_id = paid_bpu["participant_id"]
    work = queued("imports")
    assert [m["type"] for m in work] == ["issue_cards"]
    assert work[0]["participant_ids"] == [participant_id]
    drain("imports")

    [message] = card_messages(participant_id)
    assert message["dedupe_key"] == f"card:{participant_id}"
    assert message["params"] == {
        "nama": "Budi Santoso", "kpj": paid_bpu["kpj"],
        "tautan": f"{stack.settings.public_base_url}/v1/participants/{participant_id}/card"}

    card = client.http.get(f"/v1/participants/{participant_id}/card", headers=auth_header(
        "PARTICIPANT", branch=None, kpj=paid_bpu["kpj"]))
    assert card.status_code == 200, card.body
    assert "cards/" in card.json_body["url"] and card.json_body["expires_in"] == 300
    pdf = requests.get(card.json_body["url"]).content
    assert pdf.startswith(b"%PDF")
    status = client.http.get(f"/v1/participants/{participant_id}/status", headers=auth_header(
        "PARTICIPANT", branch=None, kpj=paid_bpu["kpj"])).json_body
    assert (status["status"], status["card_issued"]) == ("ACTIVE", True)


def test_qr_code_verifies_publicly_with_masked_data(client, paid_bpu, stack):
    drain("imports")
    record = stack.registration.store.participant(paid_bpu["participant_id"])
    response = client.http.get(f"/v1/cards/{record.card_code}")
    assert response.status_code == 200, response.body
    assert response.json_body == {
        "valid": True, "name": "B*** S******", "kpj": "*******" + paid_bpu["kpj"][-4:],
        "segment": "BPU", "programs": ["JKK", "JKM"], "status": "ACTIVE", "active": True,
        "issued_at": record.card_issued_at.isoformat()}
    for bogus in ("0" * 32, "not-a-code"):
        missing = client.http.get(f"/v1/cards/{bogus}")
        assert missing.status_code == 404
        assert missing.json_body["error"]["code"] == "CARD_NOT_FOUND"


def test_card_is_issued_once_however_often_payments_and_work_are_delivered(paid_bpu, stack):
    participant_id = paid_bpu["participant_id"]
    registration = stack.registration
    registration.record_payment([participant_id], "2026-12")      # a redelivered message
    registration.record_payment([participant_id], "2027-01")      # the next month paid
    drain("imports")
    assert registration.cards.issue([participant_id]) == {"issued": 0, "skipped": 1}
    record = registration.store.participant(participant_id)
    assert record.paid_through == "2027-01"
    assert len(card_messages(participant_id)) == 1
    from chalicelib.shared_kernel.aws import client as aws_client

    listed = aws_client("s3", stack.settings.region).list_objects_v2(
        Bucket=stack.settings.bucket_name, Prefix=f"cards/{participant_id}/")
    assert [o["Key"] for o in listed["Contents"]] == [
        f"cards/{participant_id}/{record.card_code}.pdf"]


def test_a_crash_before_the_card_is_recorded_is_repaired_by_the_retry(paid_bpu, stack,
                                                                      monkeypatch):
    participant_id = paid_bpu["participant_id"]
    store = stack.registration.store
    real = store.mark_card_issued
    calls = []

    def crash_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Lambda killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "mark_card_issued", crash_once)
    [work] = queued("imports")
    with pytest.raises(RuntimeError, match="Lambda killed"):
        stack.registration.handle_work(work, lambda: 900_000)
    assert store.participant(participant_id).card_issued_at is None
    # SQS delivers the message again after its visibility timeout
    assert stack.registration.handle_work(work, lambda: 900_000) == {"issued": 1, "skipped": 0}
    assert store.participant(participant_id).card_issued_at is not None
    keys = {m["dedupe_key"] for m in card_messages(participant_id)}
    assert keys == {f"card:{participant_id}"}  # published twice at most, one dedupe key


def test_download_before_the_first_payment_is_404_and_others_are_refused(client, auth_header,
                                                                         stack, paid_bpu):
    stack.clock = lambda: NOV_20
    other = Parties(client, auth_header)
    other._serial = 500
    unpaid = other.bpu()
    response = client.http.get(f"/v1/participants/{unpaid['participant_id']}/card",
                               headers=auth_header("PARTICIPANT", branch=None,
                                                   kpj=unpaid["kpj"]))
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "CARD_NOT_ISSUED"
    stranger = client.http.get(f"/v1/participants/{paid_bpu['participant_id']}/card",
                               headers=auth_header("PARTICIPANT", branch=None,
                                                   kpj=unpaid["kpj"]))
    assert stranger.status_code == 403


def test_download_issues_a_claimed_card_whose_job_has_not_run(client, auth_header, paid_bpu):
    participant_id = paid_bpu["participant_id"]
    response = client.http.get(f"/v1/participants/{participant_id}/card",
                               headers=auth_header("VERIFIER", branch="BLT"))
    assert response.status_code == 200, response.body
    assert requests.get(response.json_body["url"]).content.startswith(b"%PDF")
    drain("imports")  # the queued job finds it issued
    assert len(card_messages(participant_id)) == 1
