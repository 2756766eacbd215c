"""The hourly release drops timeout checks the consumer would ignore anyway, and keeps
every job that may still have to send something."""
from types import SimpleNamespace

import pytest

from chalicelib.blast.service import _still_needed


class Store:
    def __init__(self, records):
        self.records = records
        self.reads = 0

    def messages(self, keys):
        self.reads += 1
        return {k: self.records[k] for k in keys if k in self.records}


def check(key):
    return {"type": "fallback_check", "dedupe_key": key}


@pytest.mark.parametrize("channel, state, kept", [
    ("WHATSAPP", "ACCEPTED", True),        # no delivery yet: the timeout may fall back
    ("WHATSAPP", "SENT", True),
    ("WHATSAPP", "DELIVERED", False),
    ("WHATSAPP", "READ", False),
    ("WHATSAPP", "FAILED", False),         # the failed webhook's own job falls back
    ("WHATSAPP", "SENDING", False),
    ("SMS", "QUEUED", True),               # switched to SMS, not sent yet: still a carrier
    ("SMS", "SENT", False),
])
def test_a_fallback_check_is_released_only_while_it_can_still_act(channel, state, kept):
    store = Store({"k": SimpleNamespace(channel=channel, state=state)})
    assert _still_needed([check("k")], store) == ([check("k")] if kept else [])


def test_other_jobs_pass_untouched_and_checks_cost_one_batch_read():
    store = Store({"a": SimpleNamespace(channel="WHATSAPP", state="DELIVERED"),
                   "b": SimpleNamespace(channel="WHATSAPP", state="ACCEPTED")})
    deliver = {"type": "deliver", "dedupe_key": "a"}
    jobs = [deliver, check("a"), check("b"), check("missing")]
    assert _still_needed(jobs, store) == [deliver, check("b")]
    assert store.reads == 1
    assert _still_needed([deliver], Store({})) == [deliver]
