"""Meta webhooks: signature, handshake, and payload parsing."""
import hashlib
import hmac
import json
from datetime import datetime, timezone

import pytest

from chalicelib.blast.webhook import (
    HandshakeRejected,
    InboundMessage,
    ProviderErrorEvent,
    StatusEvent,
    WebhookPayloadError,
    handshake,
    parse_webhook,
    verify_meta_signature,
)

SECRET = "app-secret-for-tests"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def envelope(value: dict, field: str = "messages") -> dict:
    return {"object": "whatsapp_business_account", "entry": [{
        "id": "102290129340398",
        "changes": [{"field": field, "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "6221500910", "phone_number_id": "106540352242922"},
            **value,
        }}],
    }]}


# --- signature ----------------------------------------------------------------------------

@pytest.mark.parametrize("header, body, expected", [
    (sign(BODY), BODY, True),
    (sign(BODY).upper().replace("SHA256=", "sha256="), BODY, True),  # hex case is not meaningful
    (sign(BODY), BODY.replace(b"[]", b"[ ]"), False),                   # tampered body
    (sign(BODY, "another-secret"), BODY, False),                        # wrong secret
    (sign(BODY)[len("sha256="):], BODY, False),                         # missing prefix
    ("sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest(), BODY, False),
    ("sha256=", BODY, False),
    ("sha256=zzzz", BODY, False),
    ("sha256=é", BODY, False),
    (None, BODY, False),
    ("", BODY, False),
])
def test_signature_verification(header, body, expected):
    assert verify_meta_signature(SECRET, body, header) is expected


def test_signature_needs_a_configured_secret():
    with pytest.raises(ValueError, match="not configured"):
        verify_meta_signature("", BODY, sign(BODY))


def test_signature_is_over_raw_bytes_not_reserialised_json():
    raw = b'{"object": "whatsapp_business_account",  "entry": []}'
    assert verify_meta_signature(SECRET, raw, sign(raw))
    reserialised = json.dumps(json.loads(raw)).encode()
    assert not verify_meta_signature(SECRET, reserialised, sign(raw))


# --- handshake ----------------------------------------------------------------------------

def test_handshake_returns_the_challenge():
    params = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"}
    assert handshake(params, "tok") == "1158201444"


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": "tok", "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.verify_token": "tok"},
    {"hub.mode": "subscribe", "hub.challenge": "1"},
    {},
    None,
])
def test_handshake_rejections_are_403(params):
    with pytest.raises(HandshakeRejected) as info:
        handshake(params, "tok")
    assert info.value.status == 403
    assert info.value.code == "WEBHOOK_HANDSHAKE_REJECTED"


# --- payloads -----------------------------------------------------------------------------

def test_statuses_are_parsed_with_their_errors():
    payload = envelope({"statuses": [
        {"id": "wamid.A", "status": "sent", "timestamp": "1750857384",
         "recipient_id": "628123456789", "biz_opaque_callback_data": "delivery#42",
         "conversation": {"id": "c1", "origin": {"type": "utility"}},
         "pricing": {"billable": True, "pricing_model": "CBP", "category": "utility"}},
        {"id": "wamid.B", "status": "failed", "timestamp": "1750857390",
         "recipient_id": "628111111111",
         "errors": [{"code": 131026, "title": "Message undeliverable",
                     "message": "Message undeliverable",
                     "error_data": {"details": "Message Undeliverable."}}]},
    ]})
    sent, failed = parse_webhook(payload)
    assert sent == StatusEvent(
        message_id="wamid.A", status="sent",
        timestamp=datetime(2025, 6, 25, 13, 16, 24, tzinfo=timezone.utc),
        recipient_id="628123456789", phone_number_id="106540352242922",
        callback_data="delivery#42")
    assert failed.status == "failed"
    assert failed.error_code == 131026
    assert failed.errors[0].details == "Message Undeliverable."


def test_an_inbound_text_is_parsed():
    payload = envelope({
        "contacts": [{"profile": {"name": "Budi"}, "wa_id": "628123456789"}],
        "messages": [{"from": "628123456789", "id": "wamid.IN", "timestamp": "1749416383",
                      "type": "text", "text": {"body": "SALDO 12345678901"}}],
    })
    [message] = parse_webhook(json.dumps(payload).encode())
    assert isinstance(message, InboundMessage)
    assert (message.sender, message.text, message.type) == (
        "628123456789", "SALDO 12345678901", "text")
    assert message.timestamp == datetime.fromtimestamp(1749416383, tz=timezone.utc)


def test_quick_reply_buttons_and_media_are_inbound_messages_too():
    payload = envelope({"messages": [
        {"from": "628123456789", "id": "wamid.BTN", "timestamp": "1749416383", "type": "button",
         "button": {"text": "STOP", "payload": "opt-out"}, "context": {"id": "wamid.OURS"}},
        {"from": "628123456789", "id": "wamid.IMG", "timestamp": "1749416384", "type": "image",
         "image": {"id": "123", "mime_type": "image/jpeg"}},
    ]})
    button, image = parse_webhook(payload)
    assert (button.text, button.reply_to) == ("STOP", "wamid.OURS")
    assert (image.type, image.text) == ("image", None)


def test_one_post_can_mix_entries_changes_and_account_errors():
    payload = envelope({"statuses": [{"id": "wamid.A", "status": "read",
                                      "timestamp": 1750857400, "recipient_id": "62811"}]})
    payload["entry"].append(envelope({
        "errors": [{"code": 131000, "title": "Something went wrong"}],
        "messages": [{"from": "62812", "id": "wamid.X", "timestamp": "1", "type": "text",
                      "text": {"body": "stop"}}],
    })["entry"][0])
    payload["entry"].append(envelope({"event": "APPROVED"},
                                     field="message_template_status_update")["entry"][0])
    events = parse_webhook(payload)
    assert [e.kind for e in events] == ["status", "message", "error"]
    assert isinstance(events[2], ProviderErrorEvent) and events[2].errors[0].code == 131000


def test_unknown_fields_and_future_status_values_are_tolerated():
    payload = envelope({"statuses": [{"id": "wamid.A", "status": "deleted",
                                      "timestamp": "1750857384", "recipient_id": "62811",
                                      "recipient_identity_key_hash": "abc", "new_field": {}}]})
    payload["brand_new_top_level"] = True
    [event] = parse_webhook(payload)
    assert event.status == "deleted"


@pytest.mark.parametrize("payload, where", [
    (b"not json", "not JSON"),
    ([], "must be a JSON object"),
    ({"entry": []}, "object"),
    ({"object": "page", "entry": []}, "object"),
    ({"object": "whatsapp_business_account"}, "entry"),
    (envelope({"statuses": [{"status": "sent", "timestamp": "1"}]}),
     "entry.0.changes.0.value.statuses.0.id"),
    (envelope({"statuses": [{"id": "wamid.A", "status": "sent", "timestamp": "yesterday"}]}),
     "statuses.0.timestamp"),
    (envelope({"messages": [{"from": "62811", "id": "wamid.B", "type": "text"}]}),
     "messages.0.timestamp"),
    (envelope({"statuses": [{"id": "w", "status": "failed", "timestamp": "1",
                             "errors": [{"title": "no code"}]}]}),
     "statuses.0.errors.0.code"),
])
def test_malformed_payloads_raise_a_clear_value_error(payload, where):
    with pytest.raises(WebhookPayloadError) as info:
        parse_webhook(payload)
    assert isinstance(info.value, ValueError)
    assert where in str(info.value)
