"""The limiter over stored state: a batch at a time, conditional writes, booked slots."""
import random
from datetime import datetime, timedelta

from chalicelib.blast.limiter import Ask, Limiter
from chalicelib.blast.limits import LimitsConfig, MessageKind
from chalicelib.blast.store import LimitRecord
from chalicelib.shared_kernel.calendar import JAKARTA

T0 = datetime(2026, 12, 10, 9, 0, tzinfo=JAKARTA)
BUSINESS = MessageKind.BUSINESS_INITIATED


class Store:
    """limit_items / save_limit_item / their conditions, in memory."""

    def __init__(self):
        self.items: dict[str, LimitRecord] = {}
        self.lose_next_race = 0
        self.reads = self.writes = 0

    def limit_items(self, keys):
        self.reads += 1
        return {k: self.items[k] for k in keys if k in self.items}

    def save_limit_item(self, record, read_version):
        current = self.items.get(record.key)
        if self.lose_next_race or (current.version if current else None) != read_version:
            self.lose_next_race = max(0, self.lose_next_race - 1)
            return False
        record.version = (read_version or 0) + 1
        self.items[record.key] = record
        self.writes += 1
        return True


def limiter(store, rate=4, shards=1, **config):
    return Limiter(store, LimitsConfig(daily_unique_limit=None, **config), sender_id="n1",
                   rate=rate, shards=shards, rng=random.Random(1))


def phones(n):
    return [f"+62812000000{i:02d}" for i in range(n)]


def test_a_burst_over_the_rate_books_later_slots_and_drops_nothing():
    store = Store()
    answers = limiter(store).reserve([Ask(T0, p, BUSINESS) for p in phones(10)])
    assert [a.allowed for a in answers] == [True] * 4 + [False] * 6
    waits = [a.not_before - T0 for a in answers[4:]]
    assert waits == [timedelta(seconds=1)] * 4 + [timedelta(seconds=2)] * 2
    assert all(a.reserved for a in answers[4:])
    # the booked sends are in the stored state: a new job queues behind them
    [later] = limiter(store).reserve([Ask(T0, "+6281299999999", BUSINESS)])
    assert later.not_before == T0 + timedelta(seconds=2)


def test_the_same_number_waits_six_seconds():
    store = Store()
    first, second = limiter(store, rate=0).reserve(
        [Ask(T0, "+6281200000000", BUSINESS)] * 2)
    assert first.allowed and not second.allowed
    assert second.not_before == T0 + timedelta(seconds=6) and second.reserved


def test_quiet_hours_are_not_booked_ahead():
    night = datetime(2026, 12, 10, 22, 0, tzinfo=JAKARTA)
    [answer] = limiter(Store()).reserve([Ask(night, "+6281200000000", BUSINESS)])
    assert answer.reason == "QUIET_HOURS" and not answer.reserved
    assert answer.not_before == datetime(2026, 12, 11, 7, 0, tzinfo=JAKARTA)
    [reply] = limiter(Store()).reserve([Ask(night, "+6281200000000",
                                            MessageKind.SERVICE_REPLY)])
    assert reply.allowed


def test_a_lost_race_reads_again_and_decides_again():
    store = Store()
    store.lose_next_race = 1
    answers = limiter(store).reserve([Ask(T0, p, BUSINESS) for p in phones(2)])
    assert all(a.allowed for a in answers)
    assert store.reads == 2


def test_the_daily_budget_holds_new_recipients_until_an_hour_is_forgotten():
    store = Store()
    limited = Limiter(store, LimitsConfig(daily_unique_limit=3), sender_id="n1", rate=0,
                      shards=1, rng=random.Random(1))
    answers = limited.reserve([Ask(T0, p, BUSINESS) for p in phones(5)])
    assert [a.allowed for a in answers] == [True, True, True, False, False]
    assert answers[3].reason == "DAILY_RECIPIENT_LIMIT" and not answers[3].reserved
    # a number already counted today is not counted again
    [again] = limited.reserve([Ask(T0 + timedelta(minutes=5), phones(1)[0], BUSINESS)])
    assert again.allowed


def test_a_paused_sender_holds_everything_until_the_pause_ends():
    store = Store()
    lim = limiter(store)
    lim.pause(T0 + timedelta(hours=1))
    [answer] = lim.reserve([Ask(T0, "+6281200000000", BUSINESS)])
    assert (answer.allowed, answer.reason, answer.not_before) == (
        False, "SENDER_PAUSED", T0 + timedelta(hours=1))


def test_with_no_limits_only_the_pause_is_read_and_nothing_written():
    store = Store()
    lim = Limiter(store, LimitsConfig(daily_unique_limit=None,
                                      recipient_interval=timedelta(0)),
                  sender_id="n1", rate=0, shards=4)
    assert all(a.allowed for a in lim.reserve([Ask(T0, p, BUSINESS) for p in phones(50)]))
    assert (store.reads, store.writes) == (1, 0)


def test_shards_split_the_rate():
    lim = limiter(Store(), rate=80, shards=8)
    assert lim.config.rate_per_second == 10 and lim.shards == 8
