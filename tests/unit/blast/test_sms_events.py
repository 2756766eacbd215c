"""SMS delivery events of AWS End User Messaging SMS, mapped to our statuses."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.blast.inbound import sms_event_status

AT_MS = 1_765_350_000_000


@pytest.mark.parametrize("status, ours", [
    ("SUCCESSFUL", "sent"), ("DELIVERED", "delivered"), ("CARRIER_UNREACHABLE", "failed"),
    ("OPTED_OUT", "failed"), ("TTL_EXPIRED", "failed"), ("PENDING", None), ("QUEUED", None),
])
def test_statuses(status, ours):
    parsed = sms_event_status({"messageId": "m-1", "messageStatus": status,
                               "eventTimestamp": AT_MS})
    if ours is None:
        assert parsed is None
    else:
        assert parsed == ("m-1", ours, datetime.fromtimestamp(AT_MS / 1000, tz=timezone.utc))


@pytest.mark.parametrize("detail", [{}, {"messageStatus": "DELIVERED", "eventTimestamp": AT_MS},
                                    {"messageId": "m-1", "messageStatus": "DELIVERED",
                                     "eventTimestamp": "yesterday"}])
def test_events_without_what_we_need_are_ignored(detail):
    assert sms_event_status(detail) is None
