"""Delivery state: statuses in any order, applied idempotently; when to fall back to SMS."""
from datetime import datetime, timedelta, timezone
from functools import reduce
from itertools import permutations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.blast.delivery import (
    DeliveryState as S,
    ProviderStatus,
    apply_status,
    is_changed,
    should_fall_back,
)

SENT_AT = datetime(2026, 12, 16, 9, 0, tzinfo=timezone.utc)
TIMEOUT = timedelta(hours=6)


def apply_all(statuses, start=S.QUEUED):
    return reduce(apply_status, statuses, start)


@pytest.mark.parametrize("order", list(permutations(["sent", "delivered", "read"])))
def test_every_order_of_sent_delivered_read_ends_in_read(order):
    assert apply_all(order) is S.READ


@pytest.mark.parametrize("order", list(permutations(["accepted", "sent", "delivered", "read",
                                                     "failed"])))
def test_a_read_message_stays_read_whatever_else_arrives(order):
    assert apply_all(order) is S.READ


@pytest.mark.parametrize("current, incoming, expected", [
    (S.QUEUED, "accepted", S.ACCEPTED),
    (S.ACCEPTED, "sent", S.SENT),
    (S.SENT, "delivered", S.DELIVERED),
    (S.SENT, "read", S.READ),                 # read may come without delivered
    (S.READ, "sent", S.READ),                 # a late "sent" never downgrades
    (S.READ, "delivered", S.READ),
    (S.DELIVERED, "sent", S.DELIVERED),
    (S.SENT, "failed", S.FAILED),
    (S.FAILED, "sent", S.FAILED),             # "sent" after "failed" is older news
    (S.ACCEPTED, "failed", S.FAILED),
    (S.FAILED, "delivered", S.DELIVERED),     # it reached a device after all
    (S.DELIVERED, "failed", S.DELIVERED),     # a failure for one device does not undo it
    (S.READ, "failed", S.READ),
    (S.SENT, "SENT", S.SENT),
    (S.SENT, ProviderStatus.DELIVERED, S.DELIVERED),
    (S.SENT, "deleted", S.SENT),              # statuses we do not track are ignored
    (S.SENT, "warning", S.SENT),
])
def test_status_table(current, incoming, expected):
    assert apply_status(current, incoming) is expected


@pytest.mark.parametrize("terminal", [S.SKIPPED_OPTED_OUT, S.SKIPPED_NO_CONTACT, S.HELD_OUT,
                                      S.FALLBACK_SMS])
@pytest.mark.parametrize("incoming", ["accepted", "sent", "delivered", "read", "failed"])
def test_terminal_states_ignore_provider_statuses(terminal, incoming):
    assert apply_status(terminal, incoming) is terminal


statuses = st.lists(st.sampled_from(["accepted", "sent", "delivered", "read", "failed",
                                     "deleted"]), max_size=12)


@given(statuses, st.randoms())
def test_the_outcome_does_not_depend_on_order_or_repetition(events, rnd):
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert apply_all(events) is apply_all(shuffled) is apply_all(events + events)


def test_the_same_status_twice_changes_nothing():
    assert is_changed(S.SENT, "delivered")
    assert not is_changed(S.DELIVERED, "delivered")
    assert not is_changed(S.READ, "sent")


@pytest.mark.parametrize("state, elapsed, error_code, expected", [
    (S.ACCEPTED, timedelta(seconds=1), None, False),    # a 202 is not a delivery failure
    (S.ACCEPTED, timedelta(hours=5), None, False),
    (S.ACCEPTED, TIMEOUT, None, True),                  # accepted, then silence
    (S.SENT, timedelta(hours=7), None, True),           # sent, never delivered
    (S.SENT, timedelta(hours=1), None, False),
    (S.DELIVERED, timedelta(days=3), None, False),
    (S.READ, timedelta(days=3), None, False),
    (S.FAILED, timedelta(seconds=5), 131026, True),     # undeliverable: fall back at once
    (S.FAILED, timedelta(seconds=5), 131049, False),    # ecosystem limit: stop, not SMS
    (S.FAILED, timedelta(seconds=5), 132000, False),    # our template bug: SMS would hide it
    (S.FAILED, timedelta(days=1), None, False),
    (S.QUEUED, timedelta(days=1), None, False),         # never sent
    (S.FALLBACK_SMS, timedelta(days=1), 131026, False), # never twice
    (S.SKIPPED_OPTED_OUT, timedelta(days=1), None, False),
])
def test_fallback_decisions(state, elapsed, error_code, expected):
    now = SENT_AT + elapsed
    assert should_fall_back(state, SENT_AT, now, TIMEOUT, error_code=error_code) is expected


def test_fallback_needs_aware_instants_and_a_positive_timeout():
    with pytest.raises(ValueError):
        should_fall_back(S.SENT, SENT_AT, SENT_AT, timedelta(0))
    with pytest.raises(ValueError):
        should_fall_back(S.SENT, datetime(2026, 12, 16), SENT_AT, TIMEOUT)
    with pytest.raises(ValueError):
        should_fall_back(S.SENT, None, SENT_AT, TIMEOUT)
