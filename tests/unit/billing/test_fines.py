"""Late fines: 2 % per month of delay, simple, per program (domain.md §2)."""
from datetime import date
from decimal import Decimal

import pytest

from chalicelib.billing.fines import fine_for, months_of_delay
from chalicelib.billing.rules import FineRule, RuleBook, Validity
from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.errors import NoRuleForPeriod

DUE = date(2026, 12, 15)  # PU period 2026-11
PU_LATE = {"JKK": 27_000, "JKM": 15_000, "JHT": 285_000, "JP": 150_000}  # 477,000


@pytest.mark.parametrize("due, on, partial_counts, whole_only", [
    (date(2026, 1, 15), date(2026, 1, 14), 0, 0),
    (date(2026, 1, 15), date(2026, 1, 15), 0, 0),
    (date(2026, 1, 15), date(2026, 1, 16), 1, 0),
    (date(2026, 1, 15), date(2026, 2, 14), 1, 0),
    (date(2026, 1, 15), date(2026, 2, 15), 1, 1),
    (date(2026, 1, 15), date(2026, 2, 16), 2, 1),
    (date(2026, 1, 15), date(2027, 1, 15), 12, 12),
    (date(2026, 1, 15), date(2027, 1, 16), 13, 12),
    (date(2026, 1, 30), date(2026, 2, 28), 1, 1),  # a month later is clamped to the month end
    (date(2026, 3, 31), date(2026, 4, 29), 1, 0),
    (date(2026, 3, 31), date(2026, 4, 30), 1, 1),
    (date(2026, 3, 31), date(2026, 5, 1), 2, 1),
])
def test_months_of_delay(due, on, partial_counts, whole_only):
    assert months_of_delay(due, on, partial_month_counts=True) == partial_counts
    assert months_of_delay(due, on, partial_month_counts=False) == whole_only


def test_one_day_late_costs_a_full_month_by_default(rulebook):
    fine = fine_for(rulebook, "PU", Period(2026, 11), PU_LATE, DUE, date(2026, 12, 16))

    assert fine.months_of_delay == 1
    assert [(line.program, line.amount) for line in fine.lines] == [
        ("JKK", 540), ("JKM", 300), ("JHT", 5_700), ("JP", 3_000)]
    assert fine.total == 9_540


def test_on_the_due_date_there_is_no_fine(rulebook):
    assert fine_for(rulebook, "PU", Period(2026, 11), PU_LATE, DUE, DUE).total == 0


def test_fine_is_simple_not_compounding(rulebook):
    fine = fine_for(rulebook, "PU", Period(2026, 11), PU_LATE, DUE, date(2027, 3, 16))

    assert fine.months_of_delay == 4
    assert fine.total == 38_160  # 477,000 x 2 % x 4
    assert fine.total == 4 * 9_540
    # compounding would be 477,000 x (1.02^4 - 1) = 39,318


def test_each_program_is_rounded_once_on_the_exact_fine(rulebook):
    # 27,025 x 2 % = 540.5 per month; x 3 months = 1,621.5 -> 1,622 (not 3 x 541 = 1,623)
    one = fine_for(rulebook, "PU", Period(2026, 11), {"JKK": 27_025}, DUE, date(2026, 12, 16))
    three = fine_for(rulebook, "PU", Period(2026, 11), {"JKK": 27_025}, DUE, date(2027, 2, 16))

    assert one.total == 541
    assert three.months_of_delay == 3
    assert three.total == 1_622


def _rulebook_with_pu_fine(partial_month_counts: bool, jp_percent: str = "2") -> RuleBook:
    rates = {"JKK": Decimal("0.02"), "JP": Decimal(jp_percent).scaleb(-2)}
    return RuleBook(fine_rules=[
        FineRule("PU", rates, partial_month_counts, Validity(Period(2015, 7)), "test"),
    ])


def test_without_partial_months_only_whole_months_are_fined():
    rulebook = _rulebook_with_pu_fine(partial_month_counts=False)

    early = fine_for(rulebook, "PU", Period(2026, 11), {"JKK": 27_000}, DUE, date(2026, 12, 16))
    later = fine_for(rulebook, "PU", Period(2026, 11), {"JKK": 27_000}, DUE, date(2027, 1, 16))

    assert (early.months_of_delay, early.total) == (0, 0)
    assert (later.months_of_delay, later.total) == (1, 540)


def test_jp_fine_rate_is_data_and_can_differ():
    rulebook = _rulebook_with_pu_fine(partial_month_counts=True, jp_percent="0.5")

    fine = fine_for(rulebook, "PU", Period(2026, 11), {"JKK": 100_000, "JP": 100_000},
                    DUE, date(2026, 12, 16))

    assert [(line.program, line.amount) for line in fine.lines] == [("JKK", 2_000), ("JP", 500)]


def test_bpu_pays_no_fine(rulebook):
    fine = fine_for(rulebook, "BPU", Period(2026, 8), {"JKK": 10_000, "JKM": 6_800, "JHT": 20_000},
                    date(2026, 8, 18), date(2026, 12, 1))

    assert fine.months_of_delay == 4
    assert fine.total == 0


def test_no_fine_rule_for_jk(rulebook):
    with pytest.raises(NoRuleForPeriod):
        fine_for(rulebook, "JK", Period(2026, 11), {"JKK": 465_000}, DUE, date(2027, 1, 1))


def test_a_program_without_a_fine_rate_has_no_rule(rulebook):
    with pytest.raises(NoRuleForPeriod, match="JP"):
        fine_for(rulebook, "BPU", Period(2026, 11), {"JP": 1_000}, DUE, date(2027, 1, 1))


@pytest.mark.parametrize("amount", [-1, 1.5, True])
def test_late_amounts_must_be_whole_non_negative_rupiah(rulebook, amount):
    with pytest.raises(ValueError):
        fine_for(rulebook, "PU", Period(2026, 11), {"JKK": amount}, DUE, date(2027, 1, 1))
