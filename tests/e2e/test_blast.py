"""Blast on the local stack over HTTP: the demo branch is billed on 1 December, its BPU
participants opt in at the branch, a receivables officer schedules an overdue reminder for
the day after the due date, and a tick past that day leaves the reminders in the message
history, delivered through the local outbox."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_a_reminder_is_in_the_history_after_a_tick_past_the_due_date(local_stack):
    base = local_stack.base_url
    local_stack.cli("tick", "--at", "2026-12-01T09:00:00+07:00")
    officer = {"Authorization": f"Bearer {local_stack.token('RECEIVABLES', branch='BLT')}"}
    admin = {"Authorization": f"Bearer {local_stack.token('ADMIN')}"}

    bills = requests.get(f"{base}/v1/bills?status=OPEN", headers=officer).json()["items"]
    bpu = [b for b in bills if b["segment"] == "BPU"]
    assert len(bpu) == 3
    for bill in bpu:
        opted = requests.post(f"{base}/v1/messaging-consents", headers=officer, json={
            "recipient_kind": "PARTICIPANT", "kpj": bill["kpj"], "channel": "WHATSAPP",
            "opted_in": True, "evidence": "formulir persetujuan WhatsApp di loket"})
        assert opted.status_code == 201, opted.text

    due = max(date.fromisoformat(b["due_date"]) for b in bpu)
    start = f"{due + timedelta(days=1)}T09:00:00+07:00"
    body = {"name": "Tunggakan BPU Desember", "template": "overdue",
            "audience": {"segment": "BPU", "bill_states": ["OVERDUE"]}, "start_at": start}
    preview = requests.post(f"{base}/v1/campaigns/preview", headers=officer, json=body)
    assert preview.status_code == 200, preview.text
    created = requests.post(f"{base}/v1/campaigns", headers=officer, json=body)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["campaign_id"]
    assert created.json()["status"] == "SCHEDULED"

    out = local_stack.cli("tick", "--at", f"{due + timedelta(days=1)}T10:00:00+07:00")
    assert "release_blast_timers" in out

    # The escalation policy's own reminders, with no campaign: 7, 3 and 1 days before the
    # due date, and "overdue" from the daily check of the day after it (01:00, inside the
    # quiet hours: it waited until 07:00).
    for bill in bpu:
        mine = requests.get(f"{base}/v1/messages?bill_id={bill['bill_id']}",
                            headers=officer).json()["items"]
        policy = [m for m in mine if m["source"] == "policy"]
        templates = sorted(m["template"] for m in policy)
        assert templates == ["overdue"] + ["reminder_before_due"] * 3, templates
        overdue = next(m for m in policy if m["template"] == "overdue")
        assert overdue["state"] == "DELIVERED", overdue
        assert overdue["bill_id"] == bill["bill_id"]
        assert bill["payment_code"] in overdue["text"]
        quiet_end = datetime.fromisoformat(f"{due + timedelta(days=1)}T07:00:00+07:00")
        assert datetime.fromisoformat(overdue["sent_at"]) >= quiet_end

    history = requests.get(f"{base}/v1/messages?campaign_id={campaign_id}",
                           headers=officer).json()["items"]
    assert len(history) == 3
    for message in history:
        assert message["state"] == "DELIVERED" and message["channel"] == "WHATSAPP"
        assert message["template"] == "overdue"
        assert "telah melewati jatuh tempo" in message["text"]
        assert message["phone"].startswith("*********") and len(message["phone"]) == 14
    view = requests.get(f"{base}/v1/campaigns/{campaign_id}", headers=officer).json()
    assert view["status"] == "DISPATCHED" and view["complete"] is True
    assert view["counts"]["delivered"] == 3

    sent = requests.get(f"{base}/v1/outbox?day={due + timedelta(days=1)}",
                        headers=admin).json()["items"]
    ours = [m for m in sent if m["dedupe_key"].startswith(f"campaign:{campaign_id}:")]
    assert len(ours) == 3 and all(m["to"].startswith("+62812345") for m in ours)
