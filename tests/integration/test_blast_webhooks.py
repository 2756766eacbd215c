"""Meta's webhook on moto: the handshake, the signature over the raw body, delivery statuses
in any order (payloads shaped like Meta's documented ones), the SMS fallback on 131026 and
on a timeout, and replies to keywords from registered and unregistered numbers."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

import pytest

from bench.bench_blast import FakeClock, QueueDriver, seed_audience
from chalicelib.billing.bills import format_payment_code
from chalicelib.shared_kernel.calendar import JAKARTA
from tests.integration.factories import post

SECRET = "meta-app-secret-for-tests"
VERIFY = "verify-token-for-tests"
DEC_10 = datetime(2026, 12, 10, 9, 0, tzinfo=JAKARTA)
NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
FIRST = "+6281200000000"          # seeded participant p-000000, KPJ 90000000000


@pytest.fixture
def wired(stack, settings, client):
    """A stage with Meta's secrets configured, WhatsApp answering 202 only (statuses come by
    webhook), and three BPU participants opted in to WhatsApp and SMS with OPEN bills."""
    from chalicelib.blast.providers import Channel, Faults, OutboxProvider, Providers
    from chalicelib.blast.service import build_blast_service
    from chalicelib.bootstrap import Container, override

    clock = FakeClock(DEC_10)
    container = Container(settings.model_copy(update={
        "whatsapp_app_secret": SECRET, "whatsapp_verify_token": VERIFY,
        "whatsapp_phone_number_id": NUMBER_ID}), clock=clock)
    override(container)
    store = container.blast.store
    container.__dict__["blast"] = build_blast_service(container, providers=Providers(
        whatsapp=OutboxProvider(store, Channel.WHATSAPP, clock, Faults(deliver=False)),
        sms=OutboxProvider(store, Channel.SMS, clock, Faults(deliver=False))))
    seed_audience(3)
    return {"container": container, "clock": clock, "driver": QueueDriver(clock)}


def signed(body: bytes, secret: str = SECRET) -> dict:
    return {"Content-Type": "application/json", "X-Hub-Signature-256":
            "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def envelope(value: dict) -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "6281100002757",
                               "phone_number_id": NUMBER_ID}, **value},
        "field": "messages"}]}]}


def status(wamid: str, state: str, at: datetime, *, to: str = "6281200000000",
           callback: str | None = None, error: int | None = None) -> dict:
    """One statuses[] entry as Meta documents it."""
    entry = {"id": wamid, "status": state, "timestamp": str(int(at.timestamp())),
             "recipient_id": to}
    if state in ("sent", "delivered"):
        entry["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "utility"}}
        entry["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility"}
    if callback:
        entry["biz_opaque_callback_data"] = callback
    if error:
        entry["errors"] = [{"code": error, "title": "Message undeliverable.",
                            "message": "Message undeliverable.",
                            "error_data": {"details": "Message Undeliverable."},
                            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/"
                                    "support/error-codes/"}]
    return entry


def text_message(sender: str, text: str, message_id: str, at: datetime) -> dict:
    return {"contacts": [{"profile": {"name": "Peserta"}, "wa_id": sender}],
            "messages": [{"from": sender, "id": message_id,
                          "timestamp": str(int(at.timestamp())), "type": "text",
                          "text": {"body": text}}]}


def deliver_webhook(client, payload: dict):
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return client.http.post("/webhooks/whatsapp", body=raw, headers=signed(raw))


def run_campaign(client, auth_header, wired, **audience) -> list[dict]:
    officer = auth_header("RECEIVABLES", branch="BLT")
    created = post(client, "/v1/campaigns", {
        "name": "Pengingat", "template": "reminder_before_due",
        "audience": {"bill_states": ["OPEN"], **audience}}, officer)
    assert created.status_code == 201, created.body
    wired["driver"].drain()
    return records(client, auth_header, campaign_id=created.json_body["campaign_id"])


def records(client, auth_header, **query) -> list[dict]:
    path = "/v1/messages?" + "&".join(f"{k}={v}" for k, v in query.items())
    response = client.http.get(path, headers=auth_header("ADMIN"))
    assert response.status_code == 200, response.body
    return sorted(response.json_body["items"], key=lambda r: r["recipient_id"])


def outbox(client, auth_header) -> list[dict]:
    response = client.http.get("/v1/outbox?day=2026-12-10&limit=200",
                               headers=auth_header("ADMIN"))
    return sorted(response.json_body["items"], key=lambda m: m["at"])   # oldest first


def test_handshake_answers_the_challenge_only_with_our_token(client, wired):
    ok = client.http.get(f"/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={VERIFY}"
                         "&hub.challenge=1158201444")
    assert ok.status_code == 200 and ok.body == b"1158201444"
    wrong = client.http.get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess"
                            "&hub.challenge=1158201444")
    assert wrong.status_code == 403
    assert wrong.json_body["error"]["code"] == "WEBHOOK_HANDSHAKE_REJECTED"


def test_the_signature_is_checked_over_the_raw_bytes(client, wired):
    raw = b'{"object": "whatsapp_business_account",  "entry": []}'
    assert client.http.post("/webhooks/whatsapp", body=raw, headers=signed(raw)).status_code \
        == 200
    # the same JSON re-serialised, or signed with another secret, is refused
    compact = json.dumps(json.loads(raw)).encode()
    refused = client.http.post("/webhooks/whatsapp", body=compact, headers=signed(raw))
    assert refused.status_code == 401
    assert refused.json_body["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"
    assert client.http.post("/webhooks/whatsapp", body=raw,
                            headers=signed(raw, "other")).status_code == 401
    unsigned = client.http.post("/webhooks/whatsapp", body=raw,
                                headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    garbage = b'{"object": "page"}'
    assert client.http.post("/webhooks/whatsapp", body=garbage,
                            headers=signed(garbage)).json_body["error"]["code"] == \
        "WEBHOOK_PAYLOAD_INVALID"


def test_statuses_in_any_order_end_in_the_highest_one_once(client, auth_header, wired):
    first, *_ = run_campaign(client, auth_header, wired)
    assert first["state"] == "ACCEPTED"          # the 202, nothing more
    wamid = next(m["provider_message_id"] for m in outbox(client, auth_header)
                 if m["to"] == FIRST)
    key = first["dedupe_key"]
    t = DEC_10 + timedelta(seconds=5)
    # read arrives first, then delivered, then sent (Meta guarantees no order)
    for state in ("read", "delivered", "sent"):
        response = deliver_webhook(client, envelope({"statuses": [
            status(wamid, state, t, to=first["phone"][1:], callback=key)]}))
        assert response.status_code == 200, response.body
    [after] = [r for r in records(client, auth_header, participant_id="p-000000")]
    assert after["state"] == "READ" and after["read_at"] is not None
    # Meta retries the same webhook for days: nothing changes, nothing is sent again
    again = deliver_webhook(client, envelope({"statuses": [
        status(wamid, "delivered", t, to=first["phone"][1:], callback=key)]}))
    assert again.json_body == {"status_unchanged": 1}
    # a failure reported after the delivery does not undo it, nor fall back to SMS
    late = deliver_webhook(client, envelope({"statuses": [
        status(wamid, "failed", t, callback=key, error=131026)]}))
    assert late.json_body == {"status_unchanged": 1}
    wired["driver"].drain()
    assert [m["channel"] for m in outbox(client, auth_header)].count("SMS") == 0


def test_a_status_without_callback_data_finds_its_message_by_wamid(client, auth_header,
                                                                     wired):
    run_campaign(client, auth_header, wired)
    taken = {m["to"]: m["provider_message_id"] for m in outbox(client, auth_header)}
    response = deliver_webhook(client, envelope({"statuses": [
        status(taken[FIRST], "delivered", DEC_10 + timedelta(seconds=3))]}))
    assert response.json_body == {"status_delivered": 1}
    unknown = deliver_webhook(client, envelope({"statuses": [
        status("wamid.UNKNOWN", "delivered", DEC_10)]}))
    assert unknown.status_code == 200 and unknown.json_body == {"status_unknown": 1}


def test_undeliverable_on_whatsapp_falls_back_to_sms_once(client, auth_header, wired):
    first, *_ = run_campaign(client, auth_header, wired)
    wamid = next(m["provider_message_id"] for m in outbox(client, auth_header)
                 if m["to"] == FIRST)
    failed = envelope({"statuses": [status(wamid, "failed", DEC_10 + timedelta(seconds=2),
                                           callback=first["dedupe_key"], error=131026)]})
    assert deliver_webhook(client, failed).json_body == {"status_fallback": 1}
    assert deliver_webhook(client, failed).json_body == {"status_fallback": 1}  # a retry
    wired["driver"].drain()
    sent = [m for m in outbox(client, auth_header) if m["to"] == FIRST]
    assert sorted(m["channel"] for m in sent) == ["SMS", "WHATSAPP"]
    [after] = records(client, auth_header, participant_id="p-000000")
    assert after["channel"] == "SMS" and after["state"] == "SENT"
    assert after["fallback_reason"] == "undeliverable" and after["error_code"] == 131026
    assert after["text"].startswith("BPJS Ketenagakerjaan: Yth. Peserta 0,")


def sms_event(message_id: str, status: str, at: datetime) -> dict:
    """Shaped like AWS End User Messaging SMS's EventBridge event (docs: Monitoring with
    EventBridge, "Event for a delivered SMS message")."""
    return {"version": "0", "id": "5c0fa4f8-e4ba-ed02-6101-c795472fccd0",
            "detail-type": "Text Message Delivery Status Updated", "source": "aws.sms-voice",
            "account": "111122223333", "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "ap-southeast-3", "resources": [],
            "detail": {"eventType": f"TEXT_{status}", "eventVersion": "1.0",
                       "eventTimestamp": int(at.timestamp() * 1000), "isFinal": True,
                       "originationPhoneNumber": "BPJSTK", "isoCountryCode": "ID",
                       "messageId": message_id, "messageEncoding": "GSM",
                       "messageType": "TRANSACTIONAL", "messageStatus": status,
                       "messageStatusDescription": "Message has been accepted by phone",
                       "totalMessageParts": 1}}


def test_sms_delivery_events_move_the_fallback_sms_to_delivered_once(client, auth_header,
                                                                     wired):
    from tests.integration.factories import CONTEXT, handler

    first, *_ = run_campaign(client, auth_header, wired)
    wamid = next(m["provider_message_id"] for m in outbox(client, auth_header)
                 if m["to"] == FIRST)
    deliver_webhook(client, envelope({"statuses": [
        status(wamid, "failed", DEC_10 + timedelta(seconds=2), callback=first["dedupe_key"],
               error=131026)]}))
    wired["driver"].drain()
    sms_id = next(m["provider_message_id"] for m in outbox(client, auth_header)
                  if m["to"] == FIRST and m["channel"] == "SMS")
    events = handler("sms_delivery_events")
    later = DEC_10 + timedelta(minutes=3)
    assert events(sms_event(sms_id, "DELIVERED", later), CONTEXT) == {"outcome": "delivered"}
    assert events(sms_event(sms_id, "SUCCESSFUL", later), CONTEXT) == {"outcome": "unchanged"}
    assert events(sms_event("not-ours", "DELIVERED", later), CONTEXT) == {"outcome": "unknown"}
    assert events(sms_event(sms_id, "PENDING", later), CONTEXT) == {"outcome": "ignored"}
    [after] = records(client, auth_header, participant_id="p-000000")
    assert (after["channel"], after["state"]) == ("SMS", "DELIVERED")


def test_no_delivery_within_the_timeout_falls_back_to_sms(client, auth_header, wired):
    run_campaign(client, auth_header, wired)
    taken = {m["to"]: m["provider_message_id"] for m in outbox(client, auth_header)}
    # one message is delivered in time; the others hear nothing
    deliver_webhook(client, envelope({"statuses": [
        status(taken[FIRST], "delivered", DEC_10 + timedelta(minutes=1))]}))
    wired["driver"].settle()                     # the hourly release after 4 hours
    states = {r["recipient_id"]: (r["channel"], r["state"], r["fallback_reason"])
              for r in records(client, auth_header, bill_id="2026-12-p-000001")
              + records(client, auth_header, bill_id="2026-12-p-000000")}
    assert states["p-000000"] == ("WHATSAPP", "DELIVERED", None)
    assert states["p-000001"] == ("SMS", "SENT", "not_delivered_in_time")


def reply(client, wired, sender: str, text: str, message_id: str) -> dict:
    at = wired["clock"].now
    response = deliver_webhook(client, envelope(text_message(sender, text, message_id, at)))
    assert response.status_code == 200, response.body
    wired["driver"].drain()
    return response.json_body


def replies_to(client, auth_header, phone: str) -> list[str]:
    return [m["text"] for m in outbox(client, auth_header) if m["to"] == phone]


def test_stop_opts_the_number_out_once_and_mulai_opts_it_back_in(client, auth_header, wired):
    assert reply(client, wired, "6281200000000", "stop", "wamid.IN1") == {
        "message_opt_out_confirmed": 1}
    assert reply(client, wired, "6281200000000", "BERHENTI", "wamid.IN2") == {
        "message_opt_out_repeated": 1}
    assert replies_to(client, auth_header, FIRST) == [
        "Anda tidak akan lagi menerima pengingat dari BPJS Ketenagakerjaan melalui nomor "
        "ini. Ketik MULAI untuk menerimanya kembali."]
    first, second, _ = run_campaign(client, auth_header, wired)
    # WhatsApp is closed for this number; it had consented to SMS as well
    assert (first["channel"], first["state"]) == ("SMS", "SENT")
    assert (second["channel"], second["state"]) == ("WHATSAPP", "ACCEPTED")
    reply(client, wired, "6281200000000", "MULAI", "wamid.IN3")
    assert replies_to(client, auth_header, FIRST)[-1].startswith("Anda kembali menerima")


def test_saldo_and_tagihan_answer_only_the_registered_number(client, auth_header, wired):
    from chalicelib.billing.store import JhtEntryRecord

    JhtEntryRecord("p-000000", "2026-11#2026-11-p-000000", employer_amount=0,
                   worker_amount=20_000, payment_id="pay-1",
                   credited_at=DEC_10 - timedelta(days=20)).save()
    reply(client, wired, "6281200000000", "SALDO 900-0000-0000", "wamid.S1")
    reply(client, wired, "6281299999999", "SALDO 90000000000", "wamid.S2")
    reply(client, wired, "6281200000000", "tagihan 90000000000", "wamid.T1")
    reply(client, wired, "6281200000000", "status 90000000000", "wamid.ST1")
    reply(client, wired, "6281200000000", "apa kabar", "wamid.H1")
    mine = replies_to(client, auth_header, FIRST)
    assert mine[0] == ("Saldo JHT BPJS Ketenagakerjaan\nKPJ: 90000000000\nNama: Peserta 0\n"
                       "Saldo per 10 Desember 2026: Rp20.000\n\nKetik BANTUAN untuk layanan "
                       "lain.")
    code = format_payment_code(900_000_000)           # the seeded bill's code
    assert mine[1] == ("Tagihan terbuka untuk KPJ 90000000000: 1 tagihan.\n"
                       "1) Desember 2026 Rp16.800, jatuh tempo 15 Desember 2026, "
                       f"kode bayar {code}\nTotal: Rp16.800\n\nBayar di bank, kantor pos, "
                       "minimarket, atau dompet digital dengan kode bayar masing-masing.")
    assert "Status: AKTIF" in mine[2] and "Iuran terakhir: belum ada pembayaran" in mine[2]
    assert mine[3].startswith("Layanan pesan BPJS Ketenagakerjaan. Ketik:")
    [stranger] = replies_to(client, auth_header, "+6281299999999")
    assert stranger.startswith("Informasi untuk KPJ 90000000000 hanya dapat dikirim ke nomor "
                               "ponsel yang terdaftar")
    assert "Rp" not in stranger
    # Meta delivers the same inbound message twice: one answer
    reply(client, wired, "6281200000000", "SALDO 90000000000", "wamid.S1")
    assert len(replies_to(client, auth_header, FIRST)) == 4
