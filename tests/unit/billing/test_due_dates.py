"""Due dates on real 2026/2027 calendars (domain.md §2)."""
from datetime import date

import pytest

from chalicelib.billing.due_dates import due_date
from chalicelib.shared_kernel.calendar import Period, WorkingCalendar
from chalicelib.shared_kernel.errors import NoRuleForPeriod

CALENDAR = WorkingCalendar()


@pytest.mark.parametrize("segment, period, due", [
    # PU: the 15th of the following month
    ("PU", "2026-11", date(2026, 12, 15)),  # Tuesday: unchanged
    ("PU", "2026-12", date(2027, 1, 15)),   # across the year end; Friday
    ("PU", "2026-01", date(2026, 2, 16)),   # Sunday 15 Feb -> Monday
    ("PU", "2026-10", date(2026, 11, 16)),  # Sunday -> Monday
    ("PU", "2026-07", date(2026, 8, 18)),   # Sat 15, Sun 16, Mon 17 Independence Day -> Tue 18
    ("PU", "2027-07", date(2027, 8, 16)),   # Sunday 15 Aug, also the Prophet's Birthday -> Mon
    # BPU: the 15th of the same month
    ("BPU", "2026-11", date(2026, 11, 16)),  # Sunday -> Monday
    ("BPU", "2026-12", date(2026, 12, 15)),
    ("BPU", "2026-08", date(2026, 8, 18)),   # weekend, then Independence Day
    ("BPU", "2027-08", date(2027, 8, 16)),
])
def test_due_date_moves_to_the_next_working_day(rulebook, segment, period, due):
    assert due_date(rulebook, segment, Period.parse(period), CALENDAR) == due


def test_configured_extra_holiday_moves_it_further(rulebook):
    # 16 Feb 2026 configured as collective leave; 17 Feb is Lunar New Year.
    calendar = WorkingCalendar.with_extra(["2026-02-16"])

    assert due_date(rulebook, "PU", Period(2026, 1), calendar) == date(2026, 2, 18)


def test_no_due_date_before_the_data_starts(rulebook):
    with pytest.raises(NoRuleForPeriod):
        due_date(rulebook, "PU", Period(2015, 6), CALENDAR)


def test_jk_has_no_due_date_rule_yet(rulebook):
    with pytest.raises(NoRuleForPeriod, match="JK due date"):
        due_date(rulebook, "JK", Period(2026, 11), CALENDAR)
