"""Providers behind the port: what each sends and how each answer is classified."""
import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.blast.provider_errors import Action
from chalicelib.blast.providers import (Channel, ConnectFailed, EndUserMessagingSmsProvider,
                                        Faults, OutboundMessage, Outcome, OutboxProvider,
                                        ResponseLost, SimulatedCrash, SnsSmsProvider,
                                        WhatsAppCloudProvider, urllib_transport)
from chalicelib.blast.rendering import render

NOW = datetime(2026, 12, 10, 2, 0, tzinfo=timezone.utc)
PARAMS = {"nama": "Budi Santoso", "periode": "2026-11", "jumlah": 16800,
          "jatuh_tempo": datetime(2026, 12, 15).date(), "kode_bayar": "880012345678"}


def message(channel=Channel.WHATSAPP, key="campaign:c-1:PAR#p-1") -> OutboundMessage:
    return OutboundMessage(key, "attempt-1", channel, "+6281234567890",
                           render("reminder_before_due", PARAMS))


class Transport:
    def __init__(self, answer=None, raises=None):
        self.answer, self.raises, self.calls = answer, raises, []

    def __call__(self, url, headers, body, timeout):
        self.calls.append((url, headers, json.loads(body), timeout))
        if self.raises:
            raise self.raises
        return self.answer


def cloud(transport, token=lambda: "EAAG-token"):
    return WhatsAppCloudProvider(phone_number_id="106540352242922", token=token,
                                 base_url="https://graph.facebook.com/v21.0/",
                                 transport=transport)


def test_whatsapp_posts_the_template_with_our_callback_data_and_takes_the_wamid():
    transport = Transport((200, {"messaging_product": "whatsapp",
                                 "contacts": [{"input": "6281234567890",
                                               "wa_id": "6281234567890"}],
                                 "messages": [{"id": "wamid.HBgLNjI4MTIz"}]}))
    result = cloud(transport).send(message())
    assert result.outcome is Outcome.ACCEPTED and result.provider_message_id == \
        "wamid.HBgLNjI4MTIz"
    url, headers, body, _ = transport.calls[0]
    assert url == "https://graph.facebook.com/v21.0/106540352242922/messages"
    assert headers["Authorization"] == "Bearer EAAG-token"
    assert body["to"] == "6281234567890" and body["type"] == "template"
    assert body["template"]["name"] == "reminder_before_due"
    assert body["biz_opaque_callback_data"] == "campaign:c-1:PAR#p-1"


@pytest.mark.parametrize("status, code, action, reason", [
    (400, 131026, Action.FALLBACK_SMS, "undeliverable"),
    (400, 130429, Action.RETRY, "throughput_limit"),
    (400, 131056, Action.RETRY, "pair_rate_limit"),
    (400, 131048, Action.STOP, "spam_rate_limit"),
    (500, 131000, Action.RETRY, "something_went_wrong"),
    (400, 132001, Action.PERMANENT, "template_does_not_exist"),
    (502, None, Action.RETRY, "http_502"),
])
def test_whatsapp_errors_are_classified_by_meta_code_then_status(status, code, action, reason):
    error = {"message": "(#%s) ..." % code, "type": "OAuthException", "fbtrace_id": "A"}
    if code:
        error["code"] = code
    result = cloud(Transport((status, {"error": error}))).send(message())
    assert result.outcome is Outcome.REJECTED
    assert (result.classification().action, result.classification().reason) == (action, reason)


def test_a_connect_failure_is_retried_and_a_lost_answer_is_uncertain():
    refused = cloud(Transport(raises=ConnectFailed("timed out"))).send(message())
    assert refused.outcome is Outcome.REJECTED and refused.classification().action is \
        Action.RETRY
    lost = cloud(Transport(raises=ResponseLost("TimeoutError"))).send(message())
    assert lost.outcome is Outcome.UNCERTAIN
    assert cloud(Transport()).reconcile("k", "a") is None   # Meta cannot be asked


def test_no_token_means_nothing_was_sent_and_a_retry_later():
    def broken():
        raise RuntimeError("secrets manager unreachable")

    transport = Transport((200, {}))
    result = cloud(transport, token=broken).send(message())
    assert result.outcome is Outcome.REJECTED and result.http_status == 503
    assert transport.calls == []


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/slow/messages":
            time.sleep(1.0)
        code, body = ((400, {"error": {"code": 131026, "message": "undeliverable"}})
                      if self.path == "/bad/messages" else (200, {"messages": [{"id": "w1"}]}))
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def graph():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_urllib_transport_tells_answers_lost_answers_and_refused_connections_apart(graph):
    assert urllib_transport(f"{graph}/ok/messages", {}, b"{}", 2) == (
        200, {"messages": [{"id": "w1"}]})
    assert urllib_transport(f"{graph}/bad/messages", {}, b"{}", 2)[0] == 400
    with pytest.raises(ResponseLost):
        urllib_transport(f"{graph}/slow/messages", {}, b"{}", 0.2)
    with pytest.raises(ConnectFailed):
        urllib_transport("http://127.0.0.1:9/messages", {}, b"{}", 0.5)


def _stubbed(service):
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(service, region_name="ap-southeast-3", aws_access_key_id="x",
                          aws_secret_access_key="x")
    return client, Stubber(client)


def test_sns_publishes_a_transactional_sms_and_maps_throttling_to_retry():
    client, stub = _stubbed("sns")
    stub.add_response("publish", {"MessageId": "sns-1"}, {
        "PhoneNumber": "+6281234567890", "Message": render(
            "reminder_before_due", PARAMS).sms_text,
        "MessageAttributes": {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
            "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "BPJSTK"}}})
    stub.add_client_error("publish", service_error_code="Throttling", http_status_code=400)
    stub.add_client_error("publish", service_error_code="InvalidParameter",
                          http_status_code=400)
    provider = SnsSmsProvider(region="ap-southeast-3", sender_id="BPJSTK",
                              client_factory=lambda: client)
    with stub:
        sent = provider.send(message(Channel.SMS))
        throttled = provider.send(message(Channel.SMS))
        invalid = provider.send(message(Channel.SMS))
    assert sent.outcome is Outcome.ACCEPTED and sent.provider_message_id == "sns-1"
    assert throttled.classification().action is Action.RETRY
    assert invalid.classification().action is Action.PERMANENT


def test_end_user_messaging_sends_with_our_keys_as_context():
    client, stub = _stubbed("pinpoint-sms-voice-v2")
    stub.add_response("send_text_message", {"MessageId": "eum-1"}, {
        "DestinationPhoneNumber": "+6281234567890", "OriginationIdentity": "pool-1",
        "MessageBody": render("reminder_before_due", PARAMS).sms_text,
        "MessageType": "TRANSACTIONAL", "ConfigurationSetName": "smile",
        "Context": {"dedupe_key": "campaign:c-1:PAR#p-1", "attempt_id": "attempt-1"}})
    provider = EndUserMessagingSmsProvider(region="ap-southeast-3",
                                           origination_identity="pool-1",
                                           configuration_set="smile",
                                           client_factory=lambda: client)
    with stub:
        result = provider.send(message(Channel.SMS))
    assert result.provider_message_id == "eum-1"


class OutboxStore:
    def __init__(self):
        self.items = []

    def outbox_add(self, record):
        self.items.append(record)

    def outbox_attempts(self, key):
        return [r for r in self.items if r.dedupe_key == key]

    def outbox_faults(self):
        return None


def outbox(faults: Faults, store=None, channel=Channel.WHATSAPP):
    return OutboxProvider(store or OutboxStore(), channel, lambda: NOW, faults,
                          sleep=lambda s: None)


def test_the_outbox_records_every_call_and_answers_like_a_provider():
    store = OutboxStore()
    result = outbox(Faults(), store).send(message())
    assert result.outcome is Outcome.DELIVERED
    [item] = store.items
    assert (item.channel, item.to, item.template, item.outcome, item.day) == (
        "WHATSAPP", "+6281234567890", "reminder_before_due", "DELIVERED", "2026-12-10")
    assert json.loads(item.payload)["template"]["name"] == "reminder_before_due"
    accepted = outbox(Faults(deliver=False)).send(message())
    assert accepted.outcome is Outcome.ACCEPTED


def test_told_to_fail_the_outbox_fails_in_the_shares_asked():
    provider = outbox(Faults(server_error_rate=0.2, throttle_rate=0.1, seed=5))
    results = [provider.send(message(key=f"k{i}")) for i in range(2000)]
    codes = [r.error_code for r in results if r.outcome is Outcome.REJECTED]
    assert 330 < codes.count(2) < 470 and 140 < codes.count(130429) < 260


def test_a_lost_answer_can_be_reconciled_and_a_crash_comes_after_the_record():
    store = OutboxStore()
    lost = outbox(Faults(timeout_rate=1.0, seed=1), store)
    outcomes = [lost.send(message(key=f"k{i}")) for i in range(40)]
    uncertain = [i for i, r in enumerate(outcomes) if r.outcome is Outcome.UNCERTAIN]
    never = [i for i, r in enumerate(outcomes) if r.outcome is Outcome.REJECTED]
    assert uncertain and never
    assert lost.reconcile(f"k{uncertain[0]}", "attempt-1").outcome is Outcome.DELIVERED
    assert lost.reconcile(f"k{never[0]}", "attempt-1").classification().action is \
        Action.RETRY
    dying = outbox(Faults(crash_rate=1.0), store)
    with pytest.raises(SimulatedCrash):
        dying.send(message(key="crash"))
    assert dying.reconcile("crash", "attempt-1").outcome is Outcome.DELIVERED


def test_numbers_without_whatsapp_answer_131026():
    result = outbox(Faults(undeliverable=("+6281234567890",))).send(message())
    assert result.error_code == 131026
    assert result.classification().action is Action.FALLBACK_SMS


def test_fault_shares_are_checked():
    with pytest.raises(ValueError):
        Faults(server_error_rate=0.8, throttle_rate=0.3)
    assert Faults.from_dict(Faults(undeliverable=("+62",)).to_dict()) == \
        Faults(undeliverable=("+62",))
