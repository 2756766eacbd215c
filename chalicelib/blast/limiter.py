"""The limits of limits.py, kept in DynamoDB and applied to a batch at once.

A batch reads its state in one BatchGetItem (one shard of the sender's throughput state,
the recipients' pacing state, the business budget if the tier has one, the sender's pause),
decides every message in memory in order, and writes back with conditions on the versions
read. A lost race re-reads and decides again; a message that is not allowed gets the
instant from which it would be (never dropped).

Sharding: the sender's `rate` is split over `shards` items of rate/shards each, and each
batch takes one shard at random, so concurrent workers rarely contend for one item (the
deployed figure: 1,000 msg/s over 50 shards of 20/s; see the README's paper design).
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .limits import (BusinessState, LimitsConfig, MessageKind, Reason, RecipientState,
                     SenderState, _from_micros, _micros, decide)

UNLIMITED_RATE = 1_000_000


@dataclass(frozen=True)
class Ask:
    now: datetime
    phone: str
    kind: MessageKind


@dataclass(frozen=True)
class Answer:
    allowed: bool
    not_before: datetime | None = None
    reason: str | None = None
    reserved: bool = False        # the send is already counted at not_before


GRANTED = Answer(True)


class Limiter:
    def __init__(self, store, config: LimitsConfig, *, sender_id: str, rate: int, shards: int,
                 rng: random.Random | None = None, attempts: int = 3,
                 reserve_within: timedelta = timedelta(minutes=15)):
        self.store = store
        self.sender_id = sender_id
        self.rate = rate                          # 0: no throughput limit
        self.shards = max(1, min(shards, rate or 1))
        shard_rate = max(1, rate // self.shards) if rate else UNLIMITED_RATE
        self.config = replace(config, rate_per_second=shard_rate)
        self.rng = rng or random.Random()
        self.attempts = attempts
        self.reserve_within = reserve_within

    @property
    def _paces(self) -> bool:
        return self.config.recipient_interval > timedelta(0) or self._budgeted

    @property
    def _budgeted(self) -> bool:
        return self.config.daily_unique_limit is not None

    @property
    def pause_key(self) -> str:
        return f"PAUSE#{self.sender_id}"

    def reserve(self, asks: list[Ask]) -> list[Answer]:
        if not asks:
            return []
        if not self.rate and not self._paces:   # only quiet hours (and a pause) apply
            return self._decide_pure(asks)
        for _ in range(self.attempts):
            answers = self._try(asks)
            if answers is not None:
                return answers
        # Lost the race every time: everybody waits a second and decides again.
        return [Answer(False, a.now + timedelta(seconds=1), "SENDER_THROUGHPUT") for a in asks]

    def _decide_pure(self, asks: list[Ask]) -> list[Answer]:
        pause = self.store.limit_items([self.pause_key]).get(self.pause_key)
        paused_until = _from_micros(pause.paused_until) if pause and pause.paused_until else None
        out = []
        for ask in asks:
            if paused_until is not None and ask.now < paused_until:
                out.append(Answer(False, paused_until, "SENDER_PAUSED"))
                continue
            d = decide(ask.now, sender=SenderState(), recipient=RecipientState(),
                       business=BusinessState(), config=self.config, kind=ask.kind)
            out.append(GRANTED if d.allowed else Answer(False, d.not_before, d.reason.value))
        return out

    def _try(self, asks: list[Ask]) -> list[Answer] | None:
        from .store import LimitRecord

        shard_key = f"SENDER#{self.sender_id}#{self.rng.randrange(self.shards)}"
        phones = list(dict.fromkeys(a.phone for a in asks)) if self._paces else []
        keys = [self.pause_key] + ([shard_key] if self.rate else []) + (
            ["BUSINESS"] if self._budgeted else []) + [f"RCPT#{p}" for p in phones]
        items = self.store.limit_items(keys)

        def version(key):
            item = items.get(key)
            return None if item is None else int(item.version or 0)

        pause = items.get(self.pause_key)
        paused_until = _from_micros(pause.paused_until) if pause and pause.paused_until else None
        sender = SenderState.from_item(
            {"recent_sends": list(items[shard_key].recent_sends or [])}
            if shard_key in items else None)
        business_item = items.get("BUSINESS")
        business = BusinessState.from_item(
            {"hourly_counts": json.loads(business_item.hourly_counts)}
            if business_item is not None and business_item.hourly_counts else None)
        recipients = {p: _recipient(items.get(f"RCPT#{p}")) for p in phones}
        start_sender, start_business = sender, business
        start_recipients = dict(recipients)

        answers: list[Answer] = []
        for ask in asks:
            if paused_until is not None and ask.now < paused_until:
                answers.append(Answer(False, paused_until, "SENDER_PAUSED"))
                continue
            recipient = recipients.get(ask.phone, RecipientState())
            d = decide(ask.now, sender=sender, recipient=recipient, business=business,
                       config=self.config, kind=ask.kind)
            answer = GRANTED
            if not d.allowed:
                answer = Answer(False, d.not_before, d.reason.value)
                if d.reason in _SHORT and d.not_before - ask.now <= self.reserve_within:
                    # Book the slot now: the job comes back at not_before and goes, instead
                    # of competing for a slot again (and again) with newer jobs.
                    d = decide(d.not_before, sender=sender, recipient=recipient,
                               business=business, config=self.config, kind=ask.kind)
                    if d.allowed:
                        answer = Answer(False, answer.not_before, answer.reason,
                                        reserved=True)
                if not answer.reserved:
                    answers.append(answer)
                    continue
            sender, business = d.sender, d.business
            if self._paces:
                recipients[ask.phone] = d.recipient
            answers.append(answer)

        if self.rate and sender != start_sender:
            record = LimitRecord(shard_key, recent_sends=[_micros(t) for t in sender.recent_sends])
            if not self.store.save_limit_item(record, version(shard_key)):
                return None
        if self._budgeted and business != start_business:
            record = LimitRecord("BUSINESS", hourly_counts=json.dumps(
                business.to_item()["hourly_counts"]))
            if not self.store.save_limit_item(record, version("BUSINESS")):
                return None
        for phone in phones:
            state = recipients[phone]
            if state == start_recipients[phone]:
                continue
            key = f"RCPT#{phone}"
            record = LimitRecord(key, **{k: v for k, v in state.to_item().items()})
            if not self.store.save_limit_item(record, version(key)):
                # Someone else just messaged this number: ours waits one interval.
                answers = [
                    Answer(False, a.now + self.config.recipient_interval, "RECIPIENT_PACING")
                    if a.phone == phone and (ans.allowed or ans.reserved) else ans
                    for a, ans in zip(asks, answers)]
        return answers

    def pause(self, until: datetime) -> None:
        """A STOP-class error (spam/quality limit, blocked account): the sender rests."""
        from .store import LimitRecord

        items = self.store.limit_items([self.pause_key])
        current = items.get(self.pause_key)
        if current is not None and current.paused_until and current.paused_until >= _micros(until):
            return
        record = LimitRecord(self.pause_key, paused_until=_micros(until))
        self.store.save_limit_item(record, None if current is None else int(current.version))


_SHORT = (Reason.SENDER_THROUGHPUT, Reason.RECIPIENT_PACING)


def _recipient(item) -> RecipientState:
    if item is None:
        return RecipientState()
    return RecipientState.from_item({"last_sent_at": item.last_sent_at,
                                     "counted_at": item.counted_at,
                                     "last_inbound_at": item.last_inbound_at})
