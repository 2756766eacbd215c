"""Blast on moto: campaigns from preview to delivery, consent, holdout, cancel, history,
quiet hours, rate limits, messages other contexts ask for, and dead letters."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from bench.bench_blast import FakeClock, QueueDriver, seed_audience
from chalicelib.blast.sms import segments
from chalicelib.shared_kernel.calendar import JAKARTA
from tests.integration.factories import drain, post

NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA)
DEC_1 = datetime(2026, 12, 1, 0, 5, tzinfo=JAKARTA)
DEC_10 = datetime(2026, 12, 10, 9, 0, tzinfo=JAKARTA)
NAMES = ("Peserta 0", "Peserta 1", "Peserta 2")


@pytest.fixture
def clock(stack):
    clock = FakeClock(NOV_20)
    stack.clock = clock
    return clock


@pytest.fixture
def officer(auth_header):
    return auth_header("RECEIVABLES", branch="BLT")


@pytest.fixture
def world(client, clock, officer):
    """Branch BLT on 10 December 2026: three BPU participants ("Peserta 0..2", mobile
    numbers +6281200000000..2), two of whom opted in to WhatsApp at the branch, and an
    employer with only a landline. Each has one OPEN bill due 15 December (seeded: the
    registration and billing paths have their own tests; blast is what runs here)."""
    clock.now = DEC_10
    seed_audience(3, consent=())
    employer = seed_employer()
    bpu = [{"participant_id": f"p-{i:06d}", "kpj": f"9{i:010d}"} for i in range(3)]
    for person in bpu[:2]:
        consent(client, officer, person["participant_id"], "WHATSAPP")
    return {"employer": employer, "bpu": bpu}


def seed_employer() -> dict:
    from chalicelib.billing.bills import format_payment_code
    from chalicelib.billing.store import BillRecord, PaymentCodeRecord
    from chalicelib.registration.store import EmployerRecord

    created = DEC_1
    EmployerRecord("emp-landline", status="VERIFIED", branch="BLT", name="UD Tani Makmur",
                   risk_class=1, npp="123456789", phone="+62342123456", profile="{}",
                   created_at=created, updated_at=created).save()
    code = format_payment_code(800_000_001)
    BillRecord("2026-11-emp-landline", kind="EMPLOYER", segment="PU",
               party_key="EMP#emp-landline", party_name="UD Tani Makmur", npp="123456789",
               branch="BLT", period="2026-11", status="OPEN", due_date="2026-12-15",
               contribution=250_000, employer_total=200_000, worker_total=50_000,
               program_totals=json.dumps({"JKK": 6_000, "JKM": 7_500, "JHT": 186_000,
                                          "JP": 50_500}), lines="[]", worker_count=1,
               payment_code=code, created_at=created, branch_status="BLT#OPEN",
               period_sort="2026-11#2026-11-emp-landline").save()
    PaymentCodeRecord(code, bill_ids=["2026-11-emp-landline"], party_key="EMP#emp-landline",
                      status="ACTIVE", expires_on="2027-02-15", issued_at=created,
                      issued_by="seed").save()
    return {"employer_id": "emp-landline", "npp": "123456789"}


def consent(client, headers, participant_id, channel, opted_in=True):
    response = post(client, "/v1/messaging-consents", {
        "recipient_kind": "PARTICIPANT", "recipient_id": participant_id, "channel": channel,
        "opted_in": opted_in, "evidence": "formulir persetujuan di loket"}, headers)
    assert response.status_code == 201, response.body
    return response.json_body


def campaign(client, headers, **overrides) -> dict:
    body = {"name": "Pengingat Desember", "template": "reminder_before_due",
            "audience": {"bill_states": ["OPEN"]}, **overrides}
    response = post(client, "/v1/campaigns", body, headers)
    assert response.status_code == 201, response.body
    return response.json_body


def get(client, path, headers):
    response = client.http.get(path, headers=headers)
    assert response.status_code == 200, response.body
    return response.json_body


def outbox_items(client, auth_header, day="2026-12-10"):
    return get(client, f"/v1/outbox?day={day}&limit=200", auth_header("ADMIN"))["items"]


def test_preview_counts_recipients_and_renders_one_message(client, world, officer):
    response = post(client, "/v1/campaigns/preview", {
        "name": "Pengingat", "template": "reminder_before_due",
        "audience": {"bill_states": ["OPEN"], "segment": "BPU"}, "holdout_share": "0.5"},
        officer)
    assert response.status_code == 200, response.body
    preview = response.json_body
    assert preview["recipients"] == 3 and preview["bills"] == 3
    assert preview["held_out_estimate"] == 2      # half of 3, rounded half-even
    sample = preview["sample"]
    assert sample["whatsapp_text"].split(",")[0] in {f"Yth. {n}" for n in NAMES}
    assert "periode Desember 2026 sebesar Rp" in sample["whatsapp_text"]
    assert "jatuh tempo pada 15 Desember 2026" in sample["whatsapp_text"]
    assert sample["sms_encoding"] == "GSM-7"
    assert sample["sms_segments"] == segments(sample["sms_text"]).segments <= 2


def test_a_campaign_reaches_each_recipient_once_and_ends_everyone_in_a_state(
        client, world, officer, auth_header, clock):
    created = campaign(client, officer)
    assert created["status"] == "SCHEDULED"
    driver = QueueDriver(clock)
    driver.drain()

    view = get(client, f"/v1/campaigns/{created['campaign_id']}", officer)
    assert view["status"] == "DISPATCHED" and view["complete"] is True
    assert view["recipients"] == 4 and view["total"] == 4
    counts = {k: v for k, v in view["counts"].items() if v}
    # two opted in to WhatsApp; one never opted in; the employer has only a landline
    assert counts == {"delivered": 2, "skipped_no_consent": 1, "skipped_no_contact": 1}
    sent = outbox_items(client, auth_header)
    assert sorted(m["to"] for m in sent) == ["+6281200000000", "+6281200000001"]
    assert {m["channel"] for m in sent} == {"WHATSAPP"}
    assert all(m["template"] == "reminder_before_due" for m in sent)

    # SQS delivers every job again: nobody gets a second message.
    from chalicelib.bootstrap import container

    records = get(client, f"/v1/messages?campaign_id={created['campaign_id']}",
                  officer)["items"]
    container().blast.queue.send_many({"type": "deliver", "dedupe_key": r["dedupe_key"]}
                                      for r in records)
    driver.drain()
    assert len(outbox_items(client, auth_header)) == 2


def test_history_masks_numbers_and_shows_what_was_sent(client, world, officer, auth_header,
                                                       clock):
    created = campaign(client, officer)
    QueueDriver(clock).drain()
    participant_id = world["bpu"][0]["participant_id"]
    items = get(client, f"/v1/messages?participant_id={participant_id}", officer)["items"]
    [message] = items
    assert message["phone"] == "**********0000"
    assert message["state"] == "DELIVERED" and message["channel"] == "WHATSAPP"
    assert message["campaign_id"] == created["campaign_id"]
    assert message["text"].startswith("Yth. Peserta 0,")
    admin = get(client, f"/v1/messages?participant_id={participant_id}",
                auth_header("ADMIN"))["items"]
    assert admin[0]["phone"] == "+6281200000000"
    # staff of another branch see nothing of BLT's history
    other = get(client, f"/v1/messages?participant_id={participant_id}",
                auth_header("RECEIVABLES", branch="MDN"))["items"]
    assert other == []
    # the employer's own history, by NPP: its reminder was skipped (landline)
    npp = world["employer"]["npp"]
    mine = get(client, f"/v1/messages?npp={npp}", auth_header("EMPLOYER", npp=npp))["items"]
    assert [m["state"] for m in mine] == ["SKIPPED_NO_CONTACT"]
    refused = client.http.get(f"/v1/messages?npp=99999999",
                              headers=auth_header("EMPLOYER", npp=npp))
    assert refused.status_code == 403
    no_filter = client.http.get("/v1/messages", headers=officer)
    assert no_filter.status_code == 400
    assert no_filter.json_body["error"]["code"] == "VALIDATION_FAILED"


def test_sms_when_only_sms_was_consented_and_opted_out_numbers_are_skipped(
        client, world, officer, clock, auth_header):
    third = world["bpu"][2]["participant_id"]
    consent(client, officer, third, "SMS")
    consent(client, officer, world["bpu"][1]["participant_id"], "WHATSAPP", opted_in=False)
    created = campaign(client, officer, audience={"bill_states": ["OPEN"], "segment": "BPU"})
    QueueDriver(clock).drain()
    records = {r["recipient_id"]: r for r in get(
        client, f"/v1/messages?campaign_id={created['campaign_id']}", officer)["items"]}
    assert records[third]["channel"] == "SMS" and records[third]["state"] == "DELIVERED"
    assert records[third]["text"].startswith("BPJS Ketenagakerjaan: Yth. Peserta 2,")
    said_no = records[world["bpu"][1]["participant_id"]]
    assert said_no["state"] == "SKIPPED_OPTED_OUT"


def test_held_out_recipients_are_recorded_and_payments_compared(client, stack, clock,
                                                               officer, auth_header):
    clock.now = DEC_10
    bill_ids = seed_audience(24)
    created = campaign(client, officer, holdout_share="0.5")
    QueueDriver(clock).drain()
    view = get(client, f"/v1/campaigns/{created['campaign_id']}", officer)
    held, delivered = view["counts"]["held_out"], view["counts"]["delivered"]
    assert held + delivered == 24 and 2 < held < 22
    assert view["held_out"] == held
    assert len(outbox_items(client, auth_header)) == delivered

    records = get(client, f"/v1/messages?campaign_id={created['campaign_id']}&limit=100",
                  officer)["items"]
    messaged = [r["bill_id"] for r in records if r["state"] == "DELIVERED"]
    kept_out = [r["bill_id"] for r in records if r["state"] == "HELD_OUT"]
    clock.now = DEC_10 + timedelta(days=2)
    for bill_id in messaged[:3] + kept_out[:1]:
        paid = post(client, f"/v1/bills/{bill_id}/payments", {
            "amount": 16_800, "receipt_number": f"KW-{bill_id[-6:]}",
            "reason": "setoran tunai di loket"}, officer)
        assert paid.status_code == 201, paid.body
    figures = get(client, f"/v1/campaigns/{created['campaign_id']}",
                  officer)["payments_within_7_days"]
    assert figures["messaged"]["recipients"] == delivered
    assert figures["messaged"]["paid"] == 3
    assert figures["held_out"] == {"recipients": held, "paid": 1,
                                   "rate": f"{1 / held:.4f}"}
    assert set(bill_ids) >= set(messaged + kept_out)


def test_cancel_before_the_start_sends_nothing_and_mid_run_stops_the_rest(
        client, world, officer, clock, auth_header):
    later = campaign(client, officer, start_at=(DEC_10 + timedelta(hours=3)).isoformat())
    cancelled = post(client, f"/v1/campaigns/{later['campaign_id']}/cancel",
                     {"reason": "salah pilih template"}, officer)
    assert cancelled.status_code == 200 and cancelled.json_body["status"] == "CANCELLED"
    again = post(client, f"/v1/campaigns/{later['campaign_id']}/cancel",
                 {"reason": "dua kali"}, officer)
    assert again.status_code == 409
    assert again.json_body["error"]["code"] == "CAMPAIGN_NOT_CANCELLABLE"

    running = campaign(client, officer)
    driver = QueueDriver(clock)
    driver.drain(max_rounds=1, strict=False)     # the fan-out only: jobs queued, none sent
    post(client, f"/v1/campaigns/{running['campaign_id']}/cancel", {"reason": "berhenti"},
         officer)
    driver.settle()
    view = get(client, f"/v1/campaigns/{running['campaign_id']}", officer)
    assert view["counts"]["cancelled"] == 4 and view["total"] == 4
    assert view["complete"] is True
    assert outbox_items(client, auth_header) == []
    assert get(client, f"/v1/campaigns/{later['campaign_id']}", officer)["total"] == 0


def test_a_reminder_for_a_bill_paid_meanwhile_is_not_sent(client, world, officer, clock,
                                                          auth_header):
    running = campaign(client, officer, audience={"bill_states": ["OPEN"], "segment": "BPU"})
    driver = QueueDriver(clock)
    driver.drain(max_rounds=1, strict=False)
    first = world["bpu"][0]["participant_id"]
    [record] = get(client, f"/v1/messages?participant_id={first}", officer)["items"]
    paid = post(client, f"/v1/bills/{record['bill_id']}/payments", {
        "amount": 16_800, "receipt_number": "KW-0001", "reason": "setoran tunai"}, officer)
    assert paid.status_code == 201, paid.body
    driver.drain()
    states = {r["recipient_id"]: r["state"] for r in get(
        client, f"/v1/messages?campaign_id={running['campaign_id']}", officer)["items"]}
    assert states[first] == "SKIPPED_PAID"
    assert states[world["bpu"][1]["participant_id"]] == "DELIVERED"


def test_the_payment_receipt_billing_asks_for_is_delivered(client, world, officer, clock):
    person = world["bpu"][0]
    bills = get(client, f"/v1/bills?kpj={person['kpj']}", officer)["items"]
    paid = post(client, f"/v1/bills/{bills[0]['bill_id']}/payments", {
        "amount": bills[0]["amount_due"], "receipt_number": "KW-0777",
        "reason": "setoran tunai"}, officer)
    assert paid.status_code == 201, paid.body
    drain("payments")
    QueueDriver(clock).drain()
    [receipt] = get(client, f"/v1/messages?participant_id={person['participant_id']}",
                    officer)["items"]
    assert receipt["template"] == "payment_received" and receipt["state"] == "DELIVERED"
    assert "sebesar Rp16.800 telah kami terima pada 10 Desember 2026" in receipt["text"]
    assert receipt["dedupe_key"] == f"receipt:{paid.json_body['payment_id']}"


def test_quiet_hours_hold_a_campaign_until_seven_in_the_morning(client, world, officer,
                                                               clock, auth_header):
    clock.now = datetime(2026, 12, 10, 22, 0, tzinfo=JAKARTA)
    created = campaign(client, officer)
    driver = QueueDriver(clock)
    driver.drain()
    assert get(client, f"/v1/campaigns/{created['campaign_id']}", officer)["total"] == 0
    driver.settle()                               # the hourly release at 07:00 WIB
    sent = outbox_items(client, auth_header, day="2026-12-11")
    assert len(sent) == 2
    assert all(m["at"] >= "2026-12-11T00:00:00+00:00" for m in sent)   # 07:00 WIB


def test_throttled_messages_wait_and_are_never_dropped(client, stack, settings, clock,
                                                      officer, auth_header):
    from chalicelib.bootstrap import Container, override

    throttled = Container(settings.model_copy(update={
        "blast_rate_per_second": 4, "blast_sender_shards": 1}), clock=clock)
    override(throttled)
    clock.now = DEC_10
    seed_audience(16)
    created = campaign(client, officer)
    QueueDriver(clock, step=timedelta(milliseconds=10)).drain()
    assert len(outbox_items(client, auth_header)) == 16
    # On the test stage a waiting job carries its not-before instead of an SQS delay: the
    # records' send instants are the ones the limiter granted.
    records = get(client, f"/v1/messages?campaign_id={created['campaign_id']}&limit=100",
                  officer)["items"]
    sent = sorted(datetime.fromisoformat(r["sent_at"]) for r in records)
    assert len(sent) == 16 and all(r["state"] == "DELIVERED" for r in records)
    for index in range(len(sent) - 4):            # never more than 4 in any second
        assert sent[index + 4] - sent[index] >= timedelta(seconds=1)
    assert sent[-1] - sent[0] >= timedelta(seconds=3)


def test_campaign_requests_are_checked(client, world, officer, auth_header):
    def attempt(headers=officer, **overrides):
        body = {"name": "Pengingat", "template": "overdue",
                "audience": {"bill_states": ["OVERDUE"]}, **overrides}
        return post(client, "/v1/campaigns", body, headers)

    wrong_template = attempt(template="saldo_jht")
    assert wrong_template.status_code == 400
    assert wrong_template.json_body["error"]["code"] == "TEMPLATE_NOT_FOR_AUDIENCE"
    fine_for_bpu = attempt(template="fine_notice", audience={"bill_states": ["OVERDUE"],
                                                             "segment": "BPU"})
    assert fine_for_bpu.json_body["error"]["code"] == "TEMPLATE_NOT_FOR_AUDIENCE"
    other_branch = attempt(audience={"branch": "MDN", "bill_states": ["OVERDUE"]})
    assert other_branch.status_code == 403
    too_many_held = attempt(holdout_share="0.9")
    assert too_many_held.status_code == 400
    bad_range = attempt(audience={"days_overdue": {"min": 10, "max": 1}})
    assert bad_range.status_code == 400
    verifier = attempt(headers=auth_header("VERIFIER", branch="BLT"))
    assert verifier.status_code == 403


def test_messages_that_keep_failing_are_dead_lettered_with_a_reason_and_redriven(
        client, world, officer, clock, auth_header, settings):
    from chalicelib.bootstrap import Container, override

    override(Container(settings.model_copy(update={"blast_max_attempts": 2}), clock=clock))
    admin = auth_header("ADMIN")
    faults = client.http.put("/v1/outbox/faults", body=json.dumps({"server_error_rate": 1.0}),
                             headers=admin)
    assert faults.status_code == 200, faults.body
    from chalicelib.bootstrap import container

    container().blast.providers.whatsapp._cached = None   # re-read the faults now
    created = campaign(client, officer)
    driver = QueueDriver(clock)
    driver.settle()
    records = get(client, f"/v1/messages?campaign_id={created['campaign_id']}",
                  officer)["items"]
    failed = [r for r in records if r["state"] == "FAILED"]
    assert len(failed) == 2
    assert {r["reason"] for r in failed} == {"retries_exhausted:api_service_unavailable"}
    assert all(r["attempts"] == 3 for r in failed)    # the first send and 2 retries

    client.http.put("/v1/outbox/faults", body=json.dumps({}), headers=admin)
    container().blast.providers.whatsapp._cached = None
    redriven = post(client, "/v1/reminders/dead-letters/redrive", {"limit": 10}, admin)
    assert redriven.json_body == {"moved": 2, "records_requeued": 2}
    driver.drain()
    records = get(client, f"/v1/messages?campaign_id={created['campaign_id']}",
                  officer)["items"]
    assert sorted(r["state"] for r in records if r["channel"]) == ["DELIVERED", "DELIVERED"]


def test_a_malformed_job_goes_to_the_dead_letter_queue_at_once(stack, clock):
    from chalicelib.bootstrap import container

    blast = container().blast
    blast.queue.send({"type": "message_request", "dedupe_key": "x"})   # no template etc.
    blast.queue._sqs().send_message(QueueUrl=blast.queue.url(), MessageBody="not json")
    driver = QueueDriver(clock)
    driver.drain()
    reasons = sorted(json.loads(m["Body"])["dead_letter"]["reason"]
                     for m in driver.dead_letters())
    assert reasons == ["invalid: malformed message request", "invalid: message body is not JSON"]
