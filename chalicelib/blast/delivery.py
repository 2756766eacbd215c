"""The delivery state of one outbound message, driven by provider statuses in any order.

Meta sends sent / delivered / read / failed webhooks in no guaranteed order, may skip
"delivered" when the message is read at once, and retries a webhook for up to 7 days. So a
status is never a transition "from A to B": each state has a rank and applying a status keeps
the higher rank. That makes `apply_status` order-independent and idempotent (it is a max).

Ranks, lowest first: QUEUED < ACCEPTED < SENT < FAILED < DELIVERED < READ.

- ACCEPTED is the HTTP 202 of the send call: the provider took the message, nothing more.
- FAILED outranks SENT: a "sent" arriving after "failed" is older news, not a recovery.
- DELIVERED and READ outrank FAILED: a message that reached a device did reach the person
  (with several linked devices Meta can report a failure for one device and a delivery for
  another). A late failure therefore never triggers an SMS fallback for a delivered message.
- SENDING is our own claim while the provider call is in flight; it ranks with QUEUED, so
  a status that arrives for a send whose worker died before recording it still lands.
- Terminal states outside the ranking, where provider statuses change nothing: the skips
  decided before sending (SKIPPED_OPTED_OUT, SKIPPED_NO_CONSENT: the person never opted in
  on a channel we may use, SKIPPED_NO_CONTACT, SKIPPED_PAID: the bill was paid before its
  reminder went, HELD_OUT: a control group kept out of a campaign,
  CANCELLED: the campaign was cancelled first) and FALLBACK_SMS (this WhatsApp attempt was
  superseded by an SMS attempt).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

from .provider_errors import Action, classify


class DeliveryState(str, Enum):
    QUEUED = "QUEUED"
    SENDING = "SENDING"
    ACCEPTED = "ACCEPTED"
    SENT = "SENT"
    FAILED = "FAILED"
    DELIVERED = "DELIVERED"
    READ = "READ"
    SKIPPED_OPTED_OUT = "SKIPPED_OPTED_OUT"
    SKIPPED_NO_CONTACT = "SKIPPED_NO_CONTACT"
    SKIPPED_PAID = "SKIPPED_PAID"
    SKIPPED_NO_CONSENT = "SKIPPED_NO_CONSENT"
    HELD_OUT = "HELD_OUT"
    CANCELLED = "CANCELLED"
    FALLBACK_SMS = "FALLBACK_SMS"


class ProviderStatus(str, Enum):
    """What a provider can tell us about a message (Meta's webhook `status` values, plus the
    acceptance of the send call itself)."""

    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


_RANK = {
    DeliveryState.QUEUED: 0,
    DeliveryState.SENDING: 0,
    DeliveryState.ACCEPTED: 1,
    DeliveryState.SENT: 2,
    DeliveryState.FAILED: 3,
    DeliveryState.DELIVERED: 4,
    DeliveryState.READ: 5,
}
_STATE_OF = {
    ProviderStatus.ACCEPTED: DeliveryState.ACCEPTED,
    ProviderStatus.SENT: DeliveryState.SENT,
    ProviderStatus.DELIVERED: DeliveryState.DELIVERED,
    ProviderStatus.READ: DeliveryState.READ,
    ProviderStatus.FAILED: DeliveryState.FAILED,
}
TERMINAL_STATES = frozenset({
    DeliveryState.SKIPPED_OPTED_OUT, DeliveryState.SKIPPED_NO_CONTACT,
    DeliveryState.SKIPPED_PAID, DeliveryState.SKIPPED_NO_CONSENT, DeliveryState.HELD_OUT,
    DeliveryState.CANCELLED,
    DeliveryState.FALLBACK_SMS,
})
# States in which the provider has the message and no final answer has come yet.
AWAITING_OUTCOME = frozenset({DeliveryState.ACCEPTED, DeliveryState.SENT})


def parse_status(value: str | ProviderStatus) -> ProviderStatus | None:
    """A provider status, or None for values this model does not track (Meta also sends
    e.g. "deleted" or "warning"); those are ignored, not errors."""
    if isinstance(value, ProviderStatus):
        return value
    if not isinstance(value, str):
        raise TypeError("status must be a str")
    try:
        return ProviderStatus(value.strip().lower())
    except ValueError:
        return None


def rank(state: DeliveryState) -> int | None:
    """Position in the status order; None for the terminal states outside it."""
    return _RANK.get(state)


def apply_status(current: DeliveryState, incoming: str | ProviderStatus) -> DeliveryState:
    """The state after also knowing `incoming`. Order-independent and idempotent: applying
    any set of statuses in any order, any number of times, gives the same state."""
    current = DeliveryState(current)
    status = parse_status(incoming)
    if status is None or current in TERMINAL_STATES:
        return current
    candidate = _STATE_OF[status]
    return candidate if _RANK[candidate] > _RANK[current] else current


def is_changed(current: DeliveryState, incoming: str | ProviderStatus) -> bool:
    """Whether storing `incoming` would change anything (lets the caller skip a write)."""
    return apply_status(current, incoming) != DeliveryState(current)


def should_fall_back(state: DeliveryState, sent_at: datetime | None, now: datetime,
                     timeout: timedelta, *, error_code: int | None = None) -> bool:
    """Whether to send the SMS variant instead of waiting on WhatsApp any longer.

    Yes when WhatsApp reported a failure of the fallback class (131026, undeliverable), or
    when the message was accepted/sent at `sent_at` and nothing better than "sent" came
    within `timeout`. Never because of the 202 acceptance alone, never once delivered or
    read, never for a message that was not sent, never twice (FALLBACK_SMS is terminal).
    """
    state = DeliveryState(state)
    if timeout <= timedelta(0):
        raise ValueError("timeout must be positive")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if state is DeliveryState.FAILED:
        return error_code is not None and classify(error_code=error_code).action is Action.FALLBACK_SMS
    if state in AWAITING_OUTCOME:
        if sent_at is None:
            raise ValueError(f"a {state.value} message needs its sent_at")
        if sent_at.tzinfo is None:
            raise ValueError("sent_at must be an aware datetime")
        return now - sent_at >= timeout
    return False
