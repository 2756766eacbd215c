"""Send-rate decisions, pure: the clock and every piece of state come in, the new state goes
out; the caller stores it (DynamoDB, with a conditional write on the old value).

Four limits, from domain.md section 6 and Meta's documentation:

- **Sender throughput** (per business phone number, default 80 messages/s): at most `rate`
  sends in any window of one second. Think of it as a bucket of `rate` tokens where each
  token comes back exactly one second after it was spent: a burst of 80 goes at once, the
  81st waits until the first token returns. Unlike a refilling token bucket, this never lets
  more than `rate` through in any sliding second (a full refilling bucket can pass nearly
  2 x rate across a second boundary, which is what 130429 punishes). State: the instants
  of the last `rate` sends.
- **Recipient pacing**: about one message per 6 seconds to the same user (error 131056).
- **Unique-recipient budget** of the business portfolio (shared by all its numbers): Meta
  counts unique users reached outside a customer service window in a *moving* 24 hours
  (250 / 2,000 / 10,000 / 100,000 / unlimited). A recipient already counted in the last
  24 hours does not count again, nor does one who wrote to us in the last 24 hours. Counts
  are kept per hour and an hour is only forgotten 25 hours after it began, so the estimate
  never undercounts Meta's window (at most one hour of slack).
- **Quiet hours**, 21:00-07:00 Asia/Jakarta, for business-initiated messages: the next
  allowed instant is 07:00 (the next morning when it is evening). Replies to a participant
  who just wrote to us are not held.

A throttled message is never dropped: `Decision.not_before` is the earliest instant at which
every limit would allow it, given the state passed in (other sends in between may move it
again, so the caller decides again at that time).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, timezone
from enum import Enum
from typing import Callable
from zoneinfo import ZoneInfo

from ..shared_kernel.calendar import JAKARTA

THROUGHPUT_WINDOW = timedelta(seconds=1)
BUDGET_WINDOW = timedelta(hours=24)
SERVICE_WINDOW = timedelta(hours=24)
_BUCKET = timedelta(hours=1)
_MAX_ROUNDS = 16

# Meta's messaging limit tiers (unique users per moving 24 hours); None is unlimited.
MESSAGING_TIERS: dict[str, int | None] = {
    "TIER_250": 250,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}


class MessageKind(str, Enum):
    BUSINESS_INITIATED = "BUSINESS_INITIATED"   # reminders, notices: quiet hours apply
    SERVICE_REPLY = "SERVICE_REPLY"             # answer to a participant's own message


class Reason(str, Enum):
    QUIET_HOURS = "QUIET_HOURS"
    RECIPIENT_PACING = "RECIPIENT_PACING"
    DAILY_RECIPIENT_LIMIT = "DAILY_RECIPIENT_LIMIT"
    SENDER_THROUGHPUT = "SENDER_THROUGHPUT"


@dataclass(frozen=True)
class LimitsConfig:
    rate_per_second: int = 80
    recipient_interval: timedelta = timedelta(seconds=6)
    daily_unique_limit: int | None = 250          # the portfolio's tier; None = unlimited
    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)
    timezone: ZoneInfo = JAKARTA

    def __post_init__(self) -> None:
        if not isinstance(self.rate_per_second, int) or self.rate_per_second < 1:
            raise ValueError("rate_per_second must be a positive int")
        if self.recipient_interval < timedelta(0):
            raise ValueError("recipient_interval cannot be negative")
        if self.daily_unique_limit is not None and self.daily_unique_limit < 1:
            raise ValueError("daily_unique_limit must be positive, or None for unlimited")

    @classmethod
    def for_tier(cls, tier: str, **overrides) -> "LimitsConfig":
        try:
            limit = MESSAGING_TIERS[tier]
        except KeyError:
            raise ValueError(f"unknown messaging tier {tier!r}; known: "
                             f"{', '.join(MESSAGING_TIERS)}") from None
        return cls(daily_unique_limit=limit, **overrides)


# --- state -------------------------------------------------------------------------------

def _micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=int(value))


def _opt(value: int | None) -> datetime | None:
    return None if value is None else _from_micros(value)


@dataclass(frozen=True)
class SenderState:
    """One business phone number: instants of its most recent sends (at most `rate`)."""

    recent_sends: tuple[datetime, ...] = ()

    def to_item(self) -> dict:
        return {"recent_sends": [_micros(t) for t in self.recent_sends]}

    @classmethod
    def from_item(cls, item: dict | None) -> "SenderState":
        item = item or {}
        return cls(tuple(sorted(_from_micros(v) for v in item.get("recent_sends", []))))


@dataclass(frozen=True)
class RecipientState:
    """One participant's phone number as far as WhatsApp limits go."""

    last_sent_at: datetime | None = None       # last business message to them (any kind)
    counted_at: datetime | None = None         # when they last counted against the budget
    last_inbound_at: datetime | None = None    # when they last wrote to us

    def to_item(self) -> dict:
        return {k: (None if v is None else _micros(v)) for k, v in
                (("last_sent_at", self.last_sent_at), ("counted_at", self.counted_at),
                 ("last_inbound_at", self.last_inbound_at))}

    @classmethod
    def from_item(cls, item: dict | None) -> "RecipientState":
        item = item or {}
        return cls(_opt(item.get("last_sent_at")), _opt(item.get("counted_at")),
                   _opt(item.get("last_inbound_at")))

    def with_inbound(self, at: datetime) -> "RecipientState":
        """Record a message from the participant (opens the 24-hour service window)."""
        _aware(at)
        if self.last_inbound_at is not None and self.last_inbound_at >= at:
            return self
        return replace(self, last_inbound_at=at)


@dataclass(frozen=True)
class BusinessState:
    """The portfolio's budget use: newly counted recipients per UTC hour."""

    hourly_counts: tuple[tuple[datetime, int], ...] = field(default=())

    def to_item(self) -> dict:
        return {"hourly_counts": {str(_micros(start)): count
                                  for start, count in self.hourly_counts}}

    @classmethod
    def from_item(cls, item: dict | None) -> "BusinessState":
        counts = (item or {}).get("hourly_counts", {})
        return cls(tuple(sorted((_from_micros(int(k)), int(v)) for k, v in counts.items())))

    def used(self, at: datetime) -> int:
        return sum(count for start, count in self.hourly_counts if _bucket_live(start, at))


def _bucket_live(start: datetime, at: datetime) -> bool:
    # The bucket may hold a send as late as start + 1 h, which Meta counts until 24 h later.
    return start + _BUCKET + BUDGET_WINDOW > at


@dataclass(frozen=True)
class Decision:
    allowed: bool
    not_before: datetime | None          # None when allowed
    reason: Reason | None                # the first limit that held the message at `now`
    sender: SenderState                  # states to store (unchanged when not allowed)
    recipient: RecipientState
    business: BusinessState


# --- the decision ------------------------------------------------------------------------

def decide(now: datetime, *, sender: SenderState, recipient: RecipientState,
           business: BusinessState, config: LimitsConfig = LimitsConfig(),
           kind: MessageKind = MessageKind.BUSINESS_INITIATED) -> Decision:
    """May one message go to this recipient from this sender at `now`? If yes, the returned
    states include the send; if not, `not_before` says when to try again."""
    _aware(now)
    checks: list[tuple[Reason, Callable[[datetime], datetime]]] = []
    if kind is MessageKind.BUSINESS_INITIATED:
        checks.append((Reason.QUIET_HOURS, lambda t: _after_quiet_hours(t, config)))
    checks.append((Reason.RECIPIENT_PACING, lambda t: _after_pacing(t, recipient, config)))
    checks.append((Reason.DAILY_RECIPIENT_LIMIT,
                   lambda t: _after_budget(t, recipient, business, config)))
    checks.append((Reason.SENDER_THROUGHPUT, lambda t: _after_throughput(t, sender, config)))

    blocked = [reason for reason, check in checks if check(now) > now]
    if not blocked:
        return _grant(now, sender, recipient, business, config)

    # Earliest instant every limit accepts: move forward until no check pushes further.
    candidate = now
    for _ in range(_MAX_ROUNDS):
        moved = False
        for _reason, check in checks:
            later = check(candidate)
            if later > candidate:
                candidate, moved = later, True
        if not moved:
            break
    return Decision(False, candidate, blocked[0], sender, recipient, business)


def _grant(now: datetime, sender: SenderState, recipient: RecipientState,
           business: BusinessState, config: LimitsConfig) -> Decision:
    # The newest `rate` sends, whatever `now` is: a send may be granted for a later instant
    # (a booked slot) and then decisions for earlier instants still need the sends before
    # it. A decision that sees fewer than `rate` of these in its window sees all of them.
    recent = tuple(sorted(sender.recent_sends + (now,)))
    new_sender = SenderState(recent[-config.rate_per_second:])
    new_recipient = replace(recipient, last_sent_at=now)
    live = tuple((s, c) for s, c in business.hourly_counts if _bucket_live(s, now))
    new_business = BusinessState(live) if live != business.hourly_counts else business
    if _counts_against_budget(now, recipient):
        new_recipient = replace(new_recipient, counted_at=now)
        hour = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
        counts = dict(new_business.hourly_counts)
        counts[hour] = counts.get(hour, 0) + 1
        new_business = BusinessState(tuple(sorted(counts.items())))
    return Decision(True, None, None, new_sender, new_recipient, new_business)


def quiet_until(now: datetime, config: LimitsConfig = LimitsConfig()) -> datetime | None:
    """The end of the quiet hours `now` falls in, or None outside them (SMS, which has no
    sender or pair limits of its own here, still keeps quiet hours)."""
    _aware(now)
    later = _after_quiet_hours(now, config)
    return later if later > now else None


def _after_quiet_hours(t: datetime, config: LimitsConfig) -> datetime:
    start, end = config.quiet_start, config.quiet_end
    if start == end:
        return t
    local = t.astimezone(config.timezone)
    clock = local.time()
    if start > end:                                  # wraps midnight, e.g. 21:00-07:00
        if clock >= start:
            day = local.date() + timedelta(days=1)
        elif clock < end:
            day = local.date()
        else:
            return t
    else:                                            # same-day window, e.g. 12:00-13:00
        if not start <= clock < end:
            return t
        day = local.date()
    return datetime.combine(day, end, tzinfo=config.timezone)


def _after_pacing(t: datetime, recipient: RecipientState, config: LimitsConfig) -> datetime:
    if recipient.last_sent_at is None:
        return t
    return max(t, recipient.last_sent_at + config.recipient_interval)


def _counts_against_budget(t: datetime, recipient: RecipientState) -> bool:
    if recipient.last_inbound_at is not None and recipient.last_inbound_at > t - SERVICE_WINDOW:
        return False                                 # inside the customer service window
    if recipient.counted_at is not None and recipient.counted_at > t - BUDGET_WINDOW:
        return False                                 # already one of the unique users
    return True


def _after_budget(t: datetime, recipient: RecipientState, business: BusinessState,
                  config: LimitsConfig) -> datetime:
    limit = config.daily_unique_limit
    if limit is None or not _counts_against_budget(t, recipient):
        return t
    live = sorted((s, c) for s, c in business.hourly_counts if _bucket_live(s, t))
    used = sum(c for _s, c in live)
    if used < limit:
        return t
    for start, count in live:                        # oldest hours are forgotten first
        used -= count
        if used < limit:
            return start + _BUCKET + BUDGET_WINDOW
    raise AssertionError("unreachable: forgetting every hour frees the budget")


def _after_throughput(t: datetime, sender: SenderState, config: LimitsConfig) -> datetime:
    recent = sorted(s for s in sender.recent_sends if s > t - THROUGHPUT_WINDOW)
    rate = config.rate_per_second
    if len(recent) < rate:
        return t
    return recent[len(recent) - rate] + THROUGHPUT_WINDOW


def _aware(moment: datetime) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError("limits need aware datetimes (naive instants are never guessed)")
