"""Late fines (denda): a rate per month of delay, simple, per program (domain.md §2).

"Months of delay" counts from the (working-day adjusted) due date. A whole month has passed
on the same day of a later month (clamped to that month's end): due 2026-01-15, paid
2026-02-15 is one whole month. A started month beyond the whole ones counts as one more when
the rule says partial months count (the default, [UNCONFIRMED]): paid 2026-01-16 is 1 month,
2026-02-16 is 2.
"""
from __future__ import annotations

import calendar as gregorian
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Mapping

from chalicelib.billing.rules import PROGRAMS, RuleBook
from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.errors import NoRuleForPeriod
from chalicelib.shared_kernel.money import Rupiah, apply_rate


def _plus_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, gregorian.monthrange(year, month)[1]))


def months_of_delay(due: date, on: date, partial_month_counts: bool) -> int:
    """Months of delay for paying on `on` what was due on `due`; 0 on or before the due date."""
    if on <= due:
        return 0
    whole = (on.year - due.year) * 12 + (on.month - due.month)
    if _plus_months(due, whole) > on:
        whole -= 1
    started_another = _plus_months(due, whole) < on
    return whole + (1 if partial_month_counts and started_another else 0)


@dataclass(frozen=True)
class FineLine:
    program: str
    base: Rupiah  # the late contribution of this program
    rate_per_month: Decimal
    months: int
    amount: Rupiah


@dataclass(frozen=True)
class FineBreakdown:
    segment: str
    period: Period
    months_of_delay: int
    lines: tuple[FineLine, ...]

    @property
    def total(self) -> Rupiah:
        return sum(line.amount for line in self.lines)


def fine_for(
    rulebook: RuleBook,
    segment: str,
    period: Period,
    amounts_by_program: Mapping[str, Rupiah],
    due: date,
    on: date,
) -> FineBreakdown:
    """The fine on each program's late contribution of `period`, paid on `on`.

    Simple, not compounding: contribution × rate × months, rounded half-up once per program.
    The rule is the one in force for the contribution period. BPU's rates are 0: no fine.
    """
    rule = rulebook.fine_rule(segment, period)
    months = months_of_delay(due, on, rule.partial_month_counts)
    lines = []
    for program in sorted(amounts_by_program, key=_program_order):
        amount = amounts_by_program[program]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise ValueError(f"late contribution for {program} must be non-negative int rupiah")
        rate = rule.rates_per_month.get(program)
        if rate is None:
            raise NoRuleForPeriod(
                f"no {segment} fine rate for {program} in contribution period {period}",
                details={"period": str(period), "rule": f"{segment} {program} fine"},
            )
        lines.append(FineLine(program, amount, rate, months, apply_rate(amount, rate * months)))
    return FineBreakdown(segment, period, months, tuple(lines))


def _program_order(program: str) -> tuple[int, str]:
    return (PROGRAMS.index(program) if program in PROGRAMS else len(PROGRAMS), program)
