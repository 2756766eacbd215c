"""When a contribution period is due: the dated rule for the segment, moved to a working day."""
from __future__ import annotations

from datetime import date

from chalicelib.billing.rules import RuleBook
from chalicelib.shared_kernel.calendar import Period, WorkingCalendar


def due_date(rulebook: RuleBook, segment: str, period: Period, calendar: WorkingCalendar) -> date:
    """PU period M: the 15th of M+1; BPU: the 15th of M (per the rule data). A weekend, national
    holiday or configured extra holiday moves it to the next working day (design.md §5)."""
    rule = rulebook.due_date_rule(segment, period)
    nominal = period.plus(rule.months_after_period).day(rule.day_of_month)
    return calendar.on_or_after(nominal)
