"""Planning a delivery from what the batch read: skip, fail, wait or send, and on which
channel (no I/O: the dispatcher's plan is a pure function of the batch)."""
import json
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from chalicelib.blast.directory import Contact
from chalicelib.blast.dispatch import Batch, Dispatcher, Job, effective_now, new_record
from chalicelib.blast.providers import Channel
from chalicelib.shared_kernel.calendar import JAKARTA
from chalicelib.shared_kernel.messaging import MessageRequest

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=JAKARTA)
PHONE = "+6281234567890"
PARAMS = {"nama": "Budi Santoso", "periode": "2026-12", "jumlah": 16800,
          "jatuh_tempo": "2026-12-15", "kode_bayar": "880012345678"}


def dispatcher():
    return Dispatcher(store=None, directory=None, bills=None, providers=None, queue=None,
                      limiter=None, campaigns=None, clock=lambda: NOW)


def record(**overrides):
    request = {"dedupe_key": "policy:p-1:H-3", "template": "reminder_before_due",
               "recipient_kind": "PARTICIPANT", "recipient_id": "p-1", "params": PARAMS,
               "source": "policy", "bill_id": "b-1", **overrides}
    return new_record(MessageRequest(**request), NOW)


def batch(rec, *, contact=True, opted_in=("WHATSAPP",), opted_out=(), phone=PHONE,
          bill_status="OPEN", optouts=(), campaign=None):
    b = Batch(now=NOW, records={rec.dedupe_key: rec})
    if contact:
        b.contacts[("PARTICIPANT", "p-1")] = Contact(
            "PARTICIPANT", "p-1", "Budi Santoso", phone, "BLT",
            opted_in=frozenset(opted_in), opted_out=frozenset(opted_out))
    b.bills["b-1"] = SimpleNamespace(bill_id="b-1", status=bill_status)
    b.optouts = {(PHONE, channel): True for channel in optouts}
    if campaign:
        b.campaigns[rec.campaign_id] = SimpleNamespace(status=campaign)
    return b


def plan(rec, b, now=NOW):
    return dispatcher().plan(rec, b, now)


def test_an_opted_in_recipient_gets_whatsapp():
    p = plan(record(), batch(record()))
    assert (p.action, p.channel, p.phone) == ("send", Channel.WHATSAPP, PHONE)
    assert p.rendered.template.name == "reminder_before_due"


@pytest.mark.parametrize("kwargs, expected", [
    ({"opted_in": ("SMS",)}, ("send", Channel.SMS)),
    ({"opted_in": ()}, ("skip", "SKIPPED_NO_CONSENT")),
    ({"opted_in": (), "opted_out": ("WHATSAPP",)}, ("skip", "SKIPPED_OPTED_OUT")),
    ({"optouts": ("WHATSAPP",)}, ("skip", "SKIPPED_OPTED_OUT")),           # sent STOP
    ({"optouts": ("WHATSAPP",), "opted_in": ("WHATSAPP", "SMS")}, ("send", Channel.SMS)),
    ({"phone": "+62342123456"}, ("skip", "SKIPPED_NO_CONTACT")),          # a landline
    ({"phone": None}, ("skip", "SKIPPED_NO_CONTACT")),
    ({"contact": False}, ("skip", "SKIPPED_NO_CONTACT")),
    ({"bill_status": "PAID"}, ("skip", "SKIPPED_PAID")),
])
def test_what_the_batch_read_decides(kwargs, expected):
    rec = record()
    p = plan(rec, batch(rec, **kwargs))
    assert (p.action, p.channel if p.action == "send" else p.state) == expected


def test_sms_preference_is_honoured_and_replies_need_no_consent():
    rec = record(channel_preference="SMS")
    assert plan(rec, batch(rec, opted_in=("WHATSAPP", "SMS"))).channel is Channel.SMS
    reply = new_record(MessageRequest("reply:wamid.1", "bantuan", "PHONE", PHONE, {},
                                      source="keyword"), NOW)
    p = plan(reply, Batch(now=NOW, records={reply.dedupe_key: reply},
                          optouts={(PHONE, "WHATSAPP"): True}))
    assert (p.action, p.channel) == ("send", Channel.WHATSAPP)


def test_a_cancelled_campaign_and_a_bad_template_end_the_record():
    rec = record(campaign_id="c-1")
    assert plan(rec, batch(rec, campaign="CANCELLED")).state == "CANCELLED"
    broken = record(params={"nama": "Budi"})
    p = plan(broken, batch(broken))
    assert p.action == "fail" and p.reason.startswith("render_error: template")


def test_sms_waits_for_the_end_of_quiet_hours():
    rec = record()
    night = datetime(2026, 12, 10, 23, 0, tzinfo=JAKARTA)
    p = plan(rec, batch(rec, opted_in=("SMS",)), now=night)
    assert (p.action, p.until, p.reason) == (
        "wait", datetime(2026, 12, 11, 7, 0, tzinfo=JAKARTA), "QUIET_HOURS")


def test_records_already_taken_or_finished_are_left_alone():
    for state, action in (("SENDING", "inflight"), ("DELIVERED", "done"), ("FAILED", "done")):
        rec = record()
        rec.state = state
        assert plan(rec, batch(rec)).action == action


def test_a_waiting_job_runs_at_its_own_time_under_a_clock_that_stands_still():
    later = NOW + timedelta(seconds=30)
    assert effective_now(NOW, Job("m", 1, {}, "deliver", "k", later)) == later
    assert effective_now(later, Job("m", 1, {}, "deliver", "k", NOW)) == later


def test_malformed_messages_are_recognised_at_once():
    d = dispatcher()
    assert d._parse({"messageId": "1", "body": "not json"}).reason == \
        "message body is not JSON"
    assert d._parse({"messageId": "1", "body": json.dumps({"type": "deliver"})}).reason \
        .startswith("dedupe_key must be")
    assert d._parse({"messageId": "1", "body": json.dumps({"type": "x"})}).reason == \
        "unknown job type 'x'"
    job = d._parse({"messageId": "1", "attributes": {"ApproximateReceiveCount": "3"},
                    "body": json.dumps({"type": "deliver", "dedupe_key": "k",
                                        "not_before": NOW.isoformat()})})
    assert (job.receive_count, job.not_before) == (3, NOW)
