"""Instalment agreements for an employer's arrears. Pure.

The plan covers the bills overdue when it is agreed. Its total is what those bills would owe
on the last instalment's date (fines keep accruing under the fine rule, so paying earlier
only costs less). An instalment is missed when, `grace_days` after its due date, less than
the instalments due so far has been paid toward the plan's bills; the plan is complete when
every one of its bills is paid.
"""
from __future__ import annotations

import calendar as gregorian
from dataclasses import dataclass
from datetime import date, timedelta

ACTIVE, COMPLETED, BROKEN, CANCELLED = "ACTIVE", "COMPLETED", "BROKEN", "CANCELLED"


@dataclass(frozen=True)
class Instalment:
    number: int
    due_date: date
    amount: int

    def to_dict(self) -> dict:
        return {"number": self.number, "due_date": self.due_date.isoformat(),
                "amount": self.amount}

    @classmethod
    def from_dict(cls, data: dict) -> "Instalment":
        return cls(int(data["number"]), date.fromisoformat(data["due_date"]),
                   int(data["amount"]))


def monthly_dates(first: date, count: int) -> list[date]:
    """`count` dates a month apart from `first`, on the same day (clamped to month end)."""
    dates = []
    for i in range(count):
        index = first.year * 12 + first.month - 1 + i
        year, month = divmod(index, 12)
        month += 1
        dates.append(date(year, month, min(first.day, gregorian.monthrange(year, month)[1])))
    return dates


def equal_instalments(total: int, dates: list[date]) -> list[Instalment]:
    """Equal instalments in whole rupiah; the last one takes the remainder."""
    if total <= 0 or not dates:
        raise ValueError("a plan needs a positive total and at least one date")
    share = total // len(dates)
    amounts = [share] * (len(dates) - 1) + [total - share * (len(dates) - 1)]
    return [Instalment(i + 1, d, a) for i, (d, a) in enumerate(zip(dates, amounts))]


@dataclass(frozen=True)
class Progress:
    status: str                  # ACTIVE | COMPLETED | BROKEN
    paid: int                    # paid toward the plan's bills since it was agreed
    due_so_far: int              # instalments whose grace period has passed
    missed: Instalment | None = None


def progress(instalments: list[Instalment], paid: int, all_bills_paid: bool, today: date,
             grace_days: int) -> Progress:
    if all_bills_paid:
        return Progress(COMPLETED, paid, sum(i.amount for i in instalments))
    due_so_far = 0
    for instalment in sorted(instalments, key=lambda i: i.number):
        if today <= instalment.due_date + timedelta(days=grace_days):
            break
        due_so_far += instalment.amount
        if paid < due_so_far:
            return Progress(BROKEN, paid, due_so_far, instalment)
    last = max(instalments, key=lambda i: i.number)
    if today > last.due_date + timedelta(days=grace_days):
        # every instalment was paid yet a bill is still open (a later partial payment went
        # elsewhere): the agreement is over and what remains is escalated again
        return Progress(BROKEN, paid, due_so_far, last)
    return Progress(ACTIVE, paid, due_so_far)
