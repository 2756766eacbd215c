"""Rate-limit decisions: throttled messages get a not_before, never a drop."""
from datetime import datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.blast.limits import (
    BusinessState,
    LimitsConfig,
    MessageKind,
    Reason,
    RecipientState,
    SenderState,
    decide,
)
from chalicelib.shared_kernel.calendar import JAKARTA

WIB = JAKARTA
MORNING = datetime(2026, 12, 16, 9, 0, tzinfo=WIB)


def jkt(*args):
    return datetime(*args, tzinfo=WIB)


class Outbox:
    """A sender with its state, as the caller would keep it between decisions."""

    def __init__(self, config=LimitsConfig(daily_unique_limit=None)):
        self.config = config
        self.sender = SenderState()
        self.business = BusinessState()
        self.recipients: dict[str, RecipientState] = {}

    def send(self, at, to, kind=MessageKind.BUSINESS_INITIATED):
        decision = decide(at, sender=self.sender,
                          recipient=self.recipients.get(to, RecipientState()),
                          business=self.business, config=self.config, kind=kind)
        if decision.allowed:
            self.sender, self.business = decision.sender, decision.business
            self.recipients[to] = decision.recipient
        return decision


def test_a_burst_of_81_in_one_second_delays_only_the_81st():
    box = Outbox()
    decisions = [box.send(MORNING, f"62811{i:07d}") for i in range(81)]
    assert all(d.allowed for d in decisions[:80])
    last = decisions[80]
    assert not last.allowed
    assert last.reason is Reason.SENDER_THROUGHPUT
    assert last.not_before == MORNING + timedelta(seconds=1)
    # At not_before it goes.
    assert box.send(last.not_before, "628110000080").allowed


def test_throughput_is_configurable_for_an_upgraded_number():
    box = Outbox(LimitsConfig(rate_per_second=1000, daily_unique_limit=None))
    assert all(box.send(MORNING, f"62811{i:07d}").allowed for i in range(1000))
    assert not box.send(MORNING, "628999999999").allowed


def test_second_message_to_the_same_recipient_waits_six_seconds():
    box = Outbox()
    assert box.send(MORNING, "628123456789").allowed
    second = box.send(MORNING + timedelta(seconds=3), "628123456789")
    assert not second.allowed
    assert second.reason is Reason.RECIPIENT_PACING
    assert second.not_before == MORNING + timedelta(seconds=6)
    assert box.send(second.not_before, "628123456789").allowed


@pytest.mark.parametrize("now, expected", [
    (jkt(2026, 12, 16, 21, 30), jkt(2026, 12, 17, 7, 0)),
    (jkt(2026, 12, 16, 21, 0), jkt(2026, 12, 17, 7, 0)),
    (jkt(2026, 12, 31, 23, 59), jkt(2027, 1, 1, 7, 0)),
    (jkt(2026, 12, 17, 2, 15), jkt(2026, 12, 17, 7, 0)),
    # 22:00 UTC is 05:00 the next morning in Jakarta.
    (datetime(2026, 12, 16, 22, 0, tzinfo=timezone.utc), jkt(2026, 12, 17, 7, 0)),
])
def test_quiet_hours_hold_reminders_until_seven_in_the_morning(now, expected):
    decision = Outbox().send(now, "628123456789")
    assert not decision.allowed
    assert decision.reason is Reason.QUIET_HOURS
    assert decision.not_before == expected


@pytest.mark.parametrize("now", [jkt(2026, 12, 16, 7, 0), jkt(2026, 12, 16, 20, 59, 59)])
def test_outside_quiet_hours_reminders_go(now):
    assert Outbox().send(now, "628123456789").allowed


def test_a_reply_to_a_participant_is_not_held_by_quiet_hours():
    box = Outbox()
    late = jkt(2026, 12, 16, 22, 40)
    assert box.send(late, "628123456789", kind=MessageKind.SERVICE_REPLY).allowed


def test_quiet_hours_are_configurable_including_a_same_day_window():
    config = LimitsConfig(daily_unique_limit=None, quiet_start=time(12), quiet_end=time(13))
    decision = Outbox(config).send(jkt(2026, 12, 16, 12, 30), "628123456789")
    assert decision.not_before == jkt(2026, 12, 16, 13, 0)
    assert Outbox(config).send(jkt(2026, 12, 16, 22, 0), "628123456789").allowed


def test_exhausted_unique_recipient_budget_waits_for_the_next_day():
    box = Outbox(LimitsConfig.for_tier("TIER_250"))
    start = jkt(2026, 12, 16, 8, 0)
    for i in range(250):
        assert box.send(start + timedelta(seconds=i), f"62811{i:07d}").allowed
    refused = box.send(start + timedelta(minutes=30), "628999999999")
    assert not refused.allowed
    assert refused.reason is Reason.DAILY_RECIPIENT_LIMIT
    # The 08:00 hour is forgotten 25 hours after it began: next day, 09:00 Jakarta.
    assert refused.not_before == jkt(2026, 12, 17, 9, 0)
    assert box.send(refused.not_before, "628999999999").allowed


def test_a_recipient_already_counted_today_does_not_count_again():
    box = Outbox(LimitsConfig(daily_unique_limit=2))
    assert box.send(MORNING, "628111111111").allowed
    assert box.send(MORNING + timedelta(seconds=1), "628122222222").allowed
    assert not box.send(MORNING + timedelta(seconds=2), "628133333333").allowed
    again = box.send(MORNING + timedelta(hours=2), "628111111111")
    assert again.allowed
    assert box.business.used(MORNING + timedelta(hours=2)) == 2


def test_a_participant_who_wrote_to_us_is_outside_the_budget():
    box = Outbox(LimitsConfig(daily_unique_limit=1))
    assert box.send(MORNING, "628111111111").allowed
    box.recipients["628122222222"] = RecipientState().with_inbound(MORNING - timedelta(hours=1))
    assert box.send(MORNING + timedelta(seconds=1), "628122222222").allowed
    assert box.business.used(MORNING) == 1


def test_unlimited_tier_never_holds_for_budget():
    box = Outbox(LimitsConfig.for_tier("TIER_UNLIMITED"))
    for i in range(500):
        assert box.send(MORNING + timedelta(seconds=i), f"62811{i:07d}").allowed


def test_not_before_satisfies_every_limit_at_once():
    # Budget frees at 21:00 the next day, which is inside quiet hours: wait until 07:00.
    box = Outbox(LimitsConfig(daily_unique_limit=1))
    assert box.send(jkt(2026, 12, 16, 20, 0), "628111111111").allowed
    refused = box.send(jkt(2026, 12, 16, 20, 30), "628122222222")
    assert refused.reason is Reason.DAILY_RECIPIENT_LIMIT
    assert refused.not_before == jkt(2026, 12, 18, 7, 0)


def test_a_refusal_changes_no_state():
    box = Outbox()
    box.send(MORNING, "628123456789")
    before = (box.sender, box.business, box.recipients["628123456789"])
    refused = decide(MORNING + timedelta(seconds=1), sender=box.sender,
                     recipient=box.recipients["628123456789"], business=box.business,
                     config=box.config)
    assert not refused.allowed
    assert (refused.sender, refused.business, refused.recipient) == before


def test_state_round_trips_through_plain_items():
    box = Outbox(LimitsConfig(daily_unique_limit=10))
    for i in range(3):
        box.send(MORNING + timedelta(milliseconds=7 * i), f"62811{i:07d}")
    recipient = box.recipients["628110000001"]
    assert SenderState.from_item(box.sender.to_item()) == box.sender
    assert BusinessState.from_item(box.business.to_item()) == box.business
    assert RecipientState.from_item(recipient.to_item()) == recipient
    assert SenderState.from_item(None) == SenderState()


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        decide(datetime(2026, 12, 16, 9), sender=SenderState(), recipient=RecipientState(),
               business=BusinessState())


def test_unknown_tier_is_refused():
    with pytest.raises(ValueError, match="unknown messaging tier"):
        LimitsConfig.for_tier("TIER_1K")


# --- properties ---------------------------------------------------------------------------

offsets_ms = st.lists(st.integers(min_value=0, max_value=5_000), min_size=1, max_size=120)


@settings(max_examples=200, deadline=None)
@given(rate=st.integers(min_value=1, max_value=12), offsets=offsets_ms)
def test_never_more_than_rate_sends_in_any_second(rate, offsets):
    box = Outbox(LimitsConfig(rate_per_second=rate, daily_unique_limit=None,
                              recipient_interval=timedelta(0)))
    granted = []
    for i, offset in enumerate(sorted(offsets)):
        at = MORNING + timedelta(milliseconds=offset)
        decision = box.send(at, f"62811{i:07d}")
        if decision.allowed:
            granted.append(at)
        else:
            assert decision.not_before > at          # delayed, never dropped
    for start in granted:
        in_window = [t for t in granted if start <= t < start + timedelta(seconds=1)]
        assert len(in_window) <= rate


@settings(max_examples=100, deadline=None)
@given(rate=st.integers(min_value=1, max_value=8), offsets=offsets_ms)
def test_a_message_retried_at_not_before_is_sent(rate, offsets):
    box = Outbox(LimitsConfig(rate_per_second=rate, daily_unique_limit=None))
    for i, offset in enumerate(sorted(offsets)):
        at = MORNING + timedelta(milliseconds=offset)
        decision = box.send(at, f"62811{i:07d}")
        if not decision.allowed:
            # Nothing else was sent in between, so the promised instant holds.
            assert box.send(decision.not_before, f"62811{i:07d}").allowed
