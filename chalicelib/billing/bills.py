"""Bills as the domain sees them, without AWS: drafting a month's bill for an employer (per
worker and program) or a BPU participant, payment codes with a check digit, and what a bill
owes on a given day (contribution + fine - paid)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

from chalicelib.shared_kernel.calendar import Period, WorkingCalendar
from chalicelib.shared_kernel.check_digits import has_valid_check_digit, mod11_10_check_digit
from chalicelib.shared_kernel.money import Rupiah

from .calculator import EmployerProfile, Line, quote_bpu, quote_pu
from .due_dates import due_date
from .fines import fine_for
from .rules import RuleBook

PAYMENT_CODE_LENGTH = 12   # 11-digit sequence + MOD 11,10 check digit

# KBLI 2020 divisions/classes of the labour-intensive sectors named by PP 7/2025, mapped to
# the sector codes of the relief condition in rules/data/relief_jkk_2025.toml.
_RELIEF_SECTORS = (
    ("1520", "FOOTWEAR"), ("32401", "TOYS"), ("151", "LEATHER"), ("10", "FOOD_BEVERAGE_TOBACCO"),
    ("11", "FOOD_BEVERAGE_TOBACCO"), ("12", "FOOD_BEVERAGE_TOBACCO"), ("13", "TEXTILE_APPAREL"),
    ("14", "TEXTILE_APPAREL"), ("15", "LEATHER"), ("31", "FURNITURE"),
)


def relief_sector(kbli: str | None) -> str | None:
    if not kbli:
        return None
    for prefix, sector in _RELIEF_SECTORS:  # most specific prefixes first
        if kbli.startswith(prefix):
            return sector
    return None


def format_payment_code(sequence: int) -> str:
    payload = f"{sequence:0{PAYMENT_CODE_LENGTH - 1}d}"
    if len(payload) != PAYMENT_CODE_LENGTH - 1:
        raise ValueError("payment code sequence exhausted")
    return payload + mod11_10_check_digit(payload)


def is_well_formed_payment_code(code: str) -> bool:
    """Checked before any lookup: a mistyped digit at a teller never reaches the database."""
    return len(code) == PAYMENT_CODE_LENGTH and has_valid_check_digit(code)


def bill_id_for(period: Period, party_id: str) -> str:
    """Deterministic: one bill per party per period, so a second run finds the first's."""
    return f"B-{period}-{party_id}"


@dataclass(frozen=True)
class Worker:
    participant_id: str
    kpj: str
    name: str
    wage: Rupiah


@dataclass
class DraftBill:
    bill_id: str
    kind: str                 # EMPLOYER | PARTICIPANT
    segment: str              # PU | BPU
    party_id: str
    party_name: str
    branch: str
    period: Period
    due: date
    npp: str | None = None
    kpj: str | None = None
    lines: list[dict] = field(default_factory=list)        # per program × payer, all workers
    workers: list[dict] = field(default_factory=list)      # per worker detail (PU)
    employer_total: Rupiah = 0
    worker_total: Rupiah = 0

    @property
    def contribution(self) -> Rupiah:
        return self.employer_total + self.worker_total

    @property
    def program_totals(self) -> dict[str, Rupiah]:
        totals: dict[str, Rupiah] = defaultdict(int)
        for line in self.lines:
            totals[line["program"]] += line["amount"]
        return dict(totals)


def _summarise(lines: Iterable[Line]) -> list[dict]:
    summary: dict[tuple[str, str], dict] = {}
    for line in lines:
        key = (line.program, line.payer)
        entry = summary.setdefault(key, {"program": line.program, "payer": line.payer,
                                         "base": 0, "amount": 0})
        entry["base"] += line.base
        entry["amount"] += line.amount
    return list(summary.values())


def draft_employer_bill(rulebook: RuleBook, calendar: WorkingCalendar, *, employer_id: str,
                        name: str, npp: str, branch: str, risk_class: int, sector: str | None,
                        period: Period, workers: list[Worker],
                        jkk_paid_through: Period | None = None) -> DraftBill | None:
    """The employer's bill for `period`: each worker's lines, summed per program × payer."""
    if not workers:
        return None
    profile = EmployerProfile(active_workers=len(workers), sector=relief_sector(sector),
                              jkk_paid_through=jkk_paid_through)
    draft = DraftBill(bill_id=bill_id_for(period, employer_id), kind="EMPLOYER", segment="PU",
                      party_id=employer_id, party_name=name, branch=branch, period=period,
                      due=due_date(rulebook, "PU", period, calendar), npp=npp)
    all_lines: list[Line] = []
    for worker in sorted(workers, key=lambda w: w.kpj):
        quote = quote_pu(rulebook, period, worker.wage, risk_class, employer=profile)
        all_lines.extend(quote.lines)
        draft.workers.append({
            "participant_id": worker.participant_id, "kpj": worker.kpj, "name": worker.name,
            "wage": worker.wage,
            "lines": [[l.program, l.payer, l.base, None if l.rate is None else str(l.rate),
                       l.amount] for l in quote.lines],
        })
        draft.employer_total += quote.employer_total
        draft.worker_total += quote.worker_total
    draft.lines = _summarise(all_lines)
    return draft


def draft_bpu_bill(rulebook: RuleBook, calendar: WorkingCalendar, *, participant_id: str,
                   name: str, kpj: str, branch: str, period: Period, declared_income: Rupiah,
                   programs: Iterable[str]) -> DraftBill:
    quote = quote_bpu(rulebook, period, declared_income, tuple(programs))
    draft = DraftBill(bill_id=bill_id_for(period, participant_id), kind="PARTICIPANT",
                      segment="BPU", party_id=participant_id, party_name=name, branch=branch,
                      period=period, due=due_date(rulebook, "BPU", period, calendar), kpj=kpj)
    draft.lines = [line.to_dict() for line in quote.lines]
    draft.worker_total = quote.worker_total
    draft.employer_total = quote.employer_total
    return draft


@dataclass(frozen=True)
class AmountDue:
    contribution: Rupiah
    fine: Rupiah
    paid: Rupiah

    @property
    def due(self) -> Rupiah:
        return max(self.contribution + self.fine - self.paid, 0)


def amount_due(rulebook: RuleBook, *, segment: str, period: Period, due: date,
               contribution: Rupiah, program_totals: dict[str, Rupiah], paid: Rupiah,
               on: date) -> AmountDue:
    """What a bill owes on day `on` (Asia/Jakarta): the fine is computed for that day, so a
    teller's inquiry and the payment it leads to agree with the daily check."""
    fine = fine_for(rulebook, segment, period, program_totals, due, on).total
    return AmountDue(contribution=contribution, fine=fine, paid=paid)
