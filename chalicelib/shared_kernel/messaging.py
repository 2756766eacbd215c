"""The message port: how any context asks blast to tell a person something.

A context never calls WhatsApp or SMS itself: it publishes a MessageRequest to the reminders
queue, and blast's `send_reminder` consumer resolves the recipient's phone and consent,
renders the template, applies limits and sends. `dedupe_key` makes the request idempotent:
blast sends at most one message per dedupe_key, however often it is published.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RecipientKind = Literal["PARTICIPANT", "EMPLOYER", "PHONE"]


@dataclass(frozen=True)
class MessageRequest:
    dedupe_key: str                  # e.g. "payment:<payment_id>", "policy:<debtor>:<step>"
    template: str                    # a blast template name (chalicelib/blast/templates)
    recipient_kind: RecipientKind
    recipient_id: str                # participant_id, employer_id, or an E.164 phone for PHONE
    params: dict[str, Any] = field(default_factory=dict)   # ints for amounts, ISO dates
    source: str = "system"           # policy | campaign | registration | payment | letter
    bill_id: str | None = None       # a reminder about a bill is skipped once it is paid
    campaign_id: str | None = None
    branch: str | None = None
    channel_preference: Literal["WHATSAPP", "SMS"] = "WHATSAPP"

    def to_message(self) -> dict:
        return {"type": "message_request", **asdict(self)}

    @classmethod
    def from_message(cls, body: dict) -> "MessageRequest":
        data = {k: v for k, v in body.items() if k != "type"}
        return cls(**data)


def publish(queues, request: MessageRequest) -> None:
    queues.send("reminders", request.to_message())


def publish_many(queues, requests) -> int:
    return queues.send_batch("reminders", (r.to_message() for r in requests))
