"""Payment allocation: the oldest unpaid month first (domain.md §2). Pure.

A payment settles whole bills, oldest first; what is left pays part of the next bill (a
partial payment: the bill stays outstanding with less owed); what exceeds every bill owed is
the debtor's credit, used for the next bill when it comes.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Owed:
    bill_id: str
    period: str
    due_date: str
    amount: int            # owed today: contribution + fine - already paid


@dataclass(frozen=True)
class Applied:
    bill_id: str
    period: str
    amount: int
    settles: bool          # the bill is paid in full by this payment
    remaining: int         # owed on the bill after this payment


@dataclass(frozen=True)
class Allocation:
    applied: tuple[Applied, ...]
    credit: int            # overpayment left for the debtor's next bill

    @property
    def settled(self) -> list[Applied]:
        return [a for a in self.applied if a.settles]

    @property
    def partial(self) -> Applied | None:
        return next((a for a in self.applied if not a.settles), None)


def oldest_first(bills: list[Owed]) -> list[Owed]:
    return sorted(bills, key=lambda b: (b.period, b.due_date, b.bill_id))


def allocate(amount: int, bills: list[Owed]) -> Allocation:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise ValueError("a payment is a non-negative int of rupiah")
    left = amount
    applied: list[Applied] = []
    for bill in oldest_first([b for b in bills if b.amount > 0]):
        if left == 0:
            break
        paid = min(left, bill.amount)
        applied.append(Applied(bill.bill_id, bill.period, paid, settles=paid == bill.amount,
                               remaining=bill.amount - paid))
        left -= paid
    return Allocation(tuple(applied), credit=left)
