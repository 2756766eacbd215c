"""Shared stores every context uses: counters (never-reused sequence numbers) and the audit
trail (who did what, when and why, for every state change a person makes)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from .resources import table


@table("counters")
class CounterRecord(Model):
    class Meta:
        table_name = "counters"

    name = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)


@table("audit")
class AuditRecord(Model):
    class Meta:
        table_name = "audit"

    subject = UnicodeAttribute(hash_key=True)     # e.g. "participant#<id>", "bill#<id>"
    entry = UnicodeAttribute(range_key=True)      # "<iso time>#<uuid>": ordered by time
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    details = UnicodeAttribute(null=True)         # JSON; never NIK or phone numbers


def next_value(name: str) -> int:
    """Atomically increments a named counter; a value once handed out is never reused."""
    record = CounterRecord(name)
    record.update(actions=[CounterRecord.value.add(1)])
    return int(record.value)


def reserve_block(name: str, size: int) -> range:
    """`size` consecutive values of a counter in one atomic call (bill runs reserve their
    payment codes this way instead of one call per bill)."""
    record = CounterRecord(name)
    record.update(actions=[CounterRecord.value.add(size)])
    last = int(record.value)
    return range(last - size + 1, last + 1)


def audit_entry(subject: str, actor: str, action: str, *, reason: str | None = None,
                details: dict | None = None, at: datetime | None = None) -> AuditRecord:
    """An audit record, not yet saved: callers put it in the same transaction as the change."""
    moment = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return AuditRecord(subject, f"{moment.isoformat()}#{uuid.uuid4().hex[:8]}", actor=actor,
                       action=action, reason=reason,
                       details=json.dumps(details, default=str) if details else None)


def audit_trail(subject: str) -> list[dict]:
    return [{"at": r.entry.split("#")[0], "actor": r.actor, "action": r.action,
             "reason": r.reason, "details": json.loads(r.details) if r.details else None}
            for r in AuditRecord.query(subject)]
