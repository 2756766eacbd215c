"""Compliance figures of a branch for a month, from the bills that fell due in it. Pure.

- share paid on time: bills due in the month paid on or before their due date;
- collection rate: contribution collected on those bills (to date) over contribution billed;
- active participants by segment: PU workers on paid employer bills, BPU participants with a
  paid bill (membership is active on payment, design.md §3);
- receivables total: what the daily check found owed at the end of the month (its snapshot).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

SEGMENTS = ("PU", "BPU")


@dataclass(frozen=True)
class BillFigure:
    segment: str
    due_date: date
    contribution: int
    amount_paid: int
    paid_on: date | None       # Jakarta date of the payment that settled it
    worker_count: int


def _ratio(part: int, whole: int) -> str | None:
    if whole == 0:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def figures(bills: list[BillFigure]) -> dict:
    def summarise(subset: list[BillFigure]) -> dict:
        on_time = sum(1 for b in subset if b.paid_on is not None and b.paid_on <= b.due_date)
        paid = [b for b in subset if b.paid_on is not None]
        billed = sum(b.contribution for b in subset)
        collected = sum(min(b.amount_paid, b.contribution) for b in subset)
        return {"bills": len(subset), "paid": len(paid), "paid_on_time": on_time,
                "share_paid_on_time": _ratio(on_time, len(subset)),
                "contribution_billed": billed, "contribution_collected": collected,
                "collection_rate": _ratio(collected, billed),
                "fines_collected": sum(max(b.amount_paid - b.contribution, 0) for b in paid)}

    out = summarise(bills)
    out["by_segment"] = {seg: summarise([b for b in bills if b.segment == seg])
                         for seg in SEGMENTS}
    out["active_participants"] = {
        "PU": sum(b.worker_count for b in bills if b.segment == "PU" and b.paid_on),
        "BPU": sum(1 for b in bills if b.segment == "BPU" and b.paid_on)}
    return out
