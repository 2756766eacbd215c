"""What a letter reads from other contexts, through their public services and stores: the
bills (billing: amounts, fines per program, payment codes), the employer (registration:
name, NPP, address) and the branch letterhead (shared branch data). Each is a small adapter
so the letter service can be tested with fakes of its own ports."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Protocol

from chalicelib.shared_kernel.calendar import Period

from .model import ArrearsLine, Branch

OUTSTANDING = ("OPEN", "OVERDUE")


@dataclass(frozen=True)
class BillFacts:
    """What a letter needs of one bill."""

    bill_id: str
    party_key: str
    kind: str
    status: str
    segment: str
    period: str
    due_date: date
    program_totals: dict[str, int]

    @property
    def outstanding(self) -> bool:
        return self.status in OUTSTANDING


@dataclass(frozen=True)
class EmployerFacts:
    employer_id: str
    name: str
    npp: str | None
    address: str
    branch: str


class Arrears(Protocol):
    def bills(self, bill_ids: Iterable[str]) -> list[BillFacts]: ...

    def lines(self, bill: BillFacts, on: date) -> list[ArrearsLine]: ...

    def issue_code(self, bill_ids: list[str], *, valid_from: date, issued_by: str,
                   reason: str) -> str: ...


class Employers(Protocol):
    def employer(self, employer_id: str) -> EmployerFacts: ...


class BillingArrears:
    """Billing's bills, with contribution and fine per program computed for one day by
    billing's own fine rule (fines.fine_for), so a letter and a teller agree to the rupiah."""

    def __init__(self, billing):
        self.billing = billing

    def bills(self, bill_ids: Iterable[str]) -> list[BillFacts]:
        return [BillFacts(r.bill_id, r.party_key, r.kind, r.status, r.segment, r.period,
                          date.fromisoformat(r.due_date), r.program_totals_dict())
                for r in self.billing.store.bills(bill_ids)]

    def lines(self, bill: BillFacts, on: date) -> list[ArrearsLine]:
        from chalicelib.billing.fines import fine_for

        period = Period.parse(bill.period)
        amounts = bill.program_totals
        fines = fine_for(self.billing.rulebook, bill.segment, period, amounts, bill.due_date, on)
        fine_of = {line.program: line.amount for line in fines.lines}
        return [ArrearsLine(period, program, amounts[program], fine_of.get(program, 0))
                for program in amounts if amounts[program] or fine_of.get(program, 0)]

    def issue_code(self, bill_ids: list[str], *, valid_from: date, issued_by: str,
                   reason: str) -> str:
        return self.billing.issue_code_for_bills(bill_ids, valid_from=valid_from,
                                                 issued_by=issued_by, reason=reason)


class RegistrationEmployers:
    def __init__(self, registration_store):
        self.store = registration_store

    def employer(self, employer_id: str) -> EmployerFacts:
        record = self.store.employer(employer_id)
        profile = record.profile_dict()
        return EmployerFacts(employer_id, record.name, record.npp,
                             format_address(profile.get("address") or {}), record.branch)


def format_address(address: dict) -> str:
    """A registration address as one line of a letter's addressee block."""
    from chalicelib.registration.identifiers import province_names

    parts = [address.get("street")]
    if address.get("village"):
        parts.append(f"Kel. {address['village']}")
    if address.get("district"):
        parts.append(f"Kec. {address['district']}")
    parts.append(address.get("city"))
    province = province_names().get(address.get("province_code") or "")
    tail = " ".join(p for p in (province, address.get("postal_code")) if p)
    if tail:
        parts.append(tail)
    return ", ".join(p for p in parts if p)


def letterhead(branch_code: str) -> Branch:
    """The shared branch data as the letters model's Branch (UNKNOWN_BRANCH if unknown)."""
    from chalicelib.shared_kernel.branches import branch

    office = branch(branch_code)
    return Branch(code=office.code, name=office.name, address=office.address,
                  city=office.city, head_name=office.head_name)
