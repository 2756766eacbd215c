"""Ageing of receivables: each unpaid bill by days past its due date, in the branch's
buckets, counted and summed per segment. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# (label, first day past due, last day past due or None)
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", 0, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-180", 91, 180),
    ("181-365", 181, 365),
    (">365", 366, None),
)
SEGMENTS = ("PU", "BPU")


@dataclass(frozen=True)
class AgedBill:
    segment: str
    due_date: date
    amount: int       # owed today


def bucket_of(days_past_due: int) -> str:
    for label, first, last in BUCKETS:
        if days_past_due >= first and (last is None or days_past_due <= last):
            return label
    return "current"  # not yet due


def ageing(bills: list[AgedBill], today: date) -> dict:
    rows = {label: {seg: {"count": 0, "amount": 0} for seg in SEGMENTS}
            for label, _, _ in BUCKETS}
    for bill in bills:
        if bill.amount <= 0:
            continue
        cell = rows[bucket_of(max((today - bill.due_date).days, 0))].setdefault(
            bill.segment, {"count": 0, "amount": 0})
        cell["count"] += 1
        cell["amount"] += bill.amount
    buckets = []
    for label, first, last in BUCKETS:
        by_segment = rows[label]
        buckets.append({"bucket": label, "min_days": first, "max_days": last,
                        "count": sum(c["count"] for c in by_segment.values()),
                        "amount": sum(c["amount"] for c in by_segment.values()),
                        "by_segment": by_segment})
    overdue = [b for b in buckets if b["bucket"] != "current"]
    totals = {seg: {"count": sum(b["by_segment"].get(seg, {}).get("count", 0) for b in overdue),
                    "amount": sum(b["by_segment"].get(seg, {}).get("amount", 0)
                                  for b in overdue)}
              for seg in {s for b in buckets for s in b["by_segment"]}}
    return {"buckets": buckets,
            "receivables": {"count": sum(b["count"] for b in overdue),
                            "amount": sum(b["amount"] for b in overdue),
                            "by_segment": totals}}
