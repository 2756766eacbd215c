"""Allocation oldest first, ageing buckets, instalment plans, compliance figures: pure."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.receivables.ageing import AgedBill, ageing, bucket_of
from chalicelib.receivables.allocation import Owed, allocate
from chalicelib.receivables.compliance import BillFigure, figures
from chalicelib.receivables.plans import (BROKEN, COMPLETED, Instalment, equal_instalments,
                                          monthly_dates, progress)

BILLS = [Owed("B-2026-12", "2026-12", "2027-01-15", 477_000),
         Owed("B-2026-11", "2026-11", "2026-12-15", 496_080),
         Owed("B-2027-01", "2027-01", "2027-02-15", 477_000)]


def test_payment_settles_the_oldest_month_first_then_part_of_the_next():
    result = allocate(600_000, BILLS)
    assert [(a.bill_id, a.amount, a.settles, a.remaining) for a in result.applied] == [
        ("B-2026-11", 496_080, True, 0), ("B-2026-12", 103_920, False, 373_080)]
    assert result.credit == 0 and result.partial.bill_id == "B-2026-12"


def test_overpayment_is_credit_and_a_small_payment_is_partial():
    assert allocate(2_000_000, BILLS).credit == 2_000_000 - 1_450_080
    small = allocate(1, BILLS)
    assert [(a.bill_id, a.amount, a.settles) for a in small.applied] == [("B-2026-11", 1, False)]
    assert allocate(500, []).credit == 500


@pytest.mark.parametrize("amount", [-1, 1.5, True, "10"])
def test_allocation_takes_int_rupiah_only(amount):
    with pytest.raises(ValueError):
        allocate(amount, BILLS)


@pytest.mark.parametrize("days, bucket", [(0, "current"), (1, "1-30"), (30, "1-30"),
                                          (31, "31-60"), (60, "31-60"), (61, "61-90"),
                                          (90, "61-90"), (91, "91-180"), (180, "91-180"),
                                          (181, "181-365"), (365, "181-365"), (366, ">365")])
def test_ageing_bucket_edges(days, bucket):
    assert bucket_of(days) == bucket


def test_ageing_counts_and_sums_per_segment():
    today = date(2027, 2, 16)
    report = ageing([AgedBill("PU", date(2026, 12, 15), 505_620),
                     AgedBill("PU", date(2027, 2, 15), 486_540),
                     AgedBill("BPU", date(2027, 2, 15), 16_800),
                     AgedBill("BPU", date(2027, 2, 20), 16_800),
                     AgedBill("BPU", date(2027, 1, 15), 0)], today)
    rows = {b["bucket"]: b for b in report["buckets"]}
    assert rows["current"]["by_segment"]["BPU"] == {"count": 1, "amount": 16_800}
    assert rows["1-30"]["by_segment"] == {"PU": {"count": 1, "amount": 486_540},
                                          "BPU": {"count": 1, "amount": 16_800}}
    assert rows["61-90"]["amount"] == 505_620
    assert report["receivables"] == {"count": 3, "amount": 1_008_960, "by_segment": {
        "PU": {"count": 2, "amount": 992_160}, "BPU": {"count": 1, "amount": 16_800}}}


def test_monthly_instalments_clamp_to_month_end_and_the_last_takes_the_remainder():
    assert monthly_dates(date(2027, 1, 31), 3) == [date(2027, 1, 31), date(2027, 2, 28),
                                                   date(2027, 3, 31)]
    plan = equal_instalments(1_000_001, monthly_dates(date(2027, 1, 25), 3))
    assert [i.amount for i in plan] == [333_333, 333_333, 333_335]


def test_a_plan_breaks_on_a_missed_instalment_after_grace_and_completes_when_paid():
    plan = [Instalment(1, date(2027, 1, 25), 100), Instalment(2, date(2027, 2, 25), 100)]
    assert progress(plan, 100, False, date(2027, 2, 28), 3).status == "ACTIVE"
    missed = progress(plan, 100, False, date(2027, 3, 1), 3)
    assert (missed.status, missed.missed.number) == (BROKEN, 2)
    assert progress(plan, 0, False, date(2027, 1, 29), 3).status == BROKEN
    assert progress(plan, 200, True, date(2027, 2, 1), 3).status == COMPLETED
    # every instalment paid but a bill still open after the last one: over, escalated again
    assert progress(plan, 200, False, date(2027, 3, 1), 3).status == BROKEN


def test_compliance_figures_of_a_month():
    due = date(2026, 12, 15)
    result = figures([
        BillFigure("PU", due, 477_000, 486_540, date(2026, 12, 20), 1),
        BillFigure("PU", due, 1_000_000, 1_000_000, date(2026, 12, 15), 3),
        BillFigure("BPU", due, 16_800, 16_800, date(2026, 12, 1), 1),
        BillFigure("BPU", due, 16_800, 5_000, None, 1)])
    assert (result["bills"], result["paid"], result["paid_on_time"]) == (4, 3, 2)
    assert result["share_paid_on_time"] == "0.5000"
    assert result["contribution_billed"] == 1_510_600
    assert result["contribution_collected"] == 477_000 + 1_000_000 + 16_800 + 5_000
    assert result["collection_rate"] == "0.9922"
    assert result["fines_collected"] == 9_540
    assert result["active_participants"] == {"PU": 4, "BPU": 1}
    assert figures([])["share_paid_on_time"] is None
