"""Billing use cases: quotes, monthly bill generation, reading bills, payment codes, wage
reports and the JHT ledger. Payment posting is in payments.py."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

from chalicelib.shared_kernel.auth import Principal, Role
from chalicelib.shared_kernel.calendar import Period, WorkingCalendar, jakarta_today
from chalicelib.shared_kernel.errors import (Conflict, Forbidden, NoRuleForPeriod, NotFound,
                                             ValidationFailed)
from chalicelib.shared_kernel.records import audit_entry, reserve_block

from .bills import (AmountDue, DraftBill, Worker, amount_due, draft_bpu_bill,
                    draft_employer_bill, format_payment_code)
from .rules import RuleBook
from .store import (OPEN, OUTSTANDING, OUTSTANDING_SHARDS, OVERDUE, PAID, BillDetailRecord,
                    BillingStore, BillRecord, JhtEntryRecord, PaymentCodeRecord,
                    WageReportRecord)

DETAIL_CHUNK = 200     # workers per bill-details item
GENERATION_BATCH = 100  # parties per existence check and write batch


def _stable_shard(bill_id: str) -> str:
    import zlib

    return f"OUT#{zlib.crc32(bill_id.encode()) % OUTSTANDING_SHARDS}"


class BillingService:
    def __init__(self, store: BillingStore, registration, rulebook: RuleBook,
                 calendar: WorkingCalendar, clock: Callable[[], datetime],
                 code_valid_days: int = 60, log=None):
        self.store = store
        self.registration = registration
        self.rulebook = rulebook
        self.calendar = calendar
        self.clock = clock
        self.code_valid_days = code_valid_days
        self.log = log

    # ------------------------------------------------------------------ generation
    def generate_monthly_bills(self, now: datetime) -> dict:
        """PU bills for the previous month, BPU bills for this month (Asia/Jakarta).
        Idempotent: a bill already written for a party and period is never written again."""
        today = jakarta_today(now)
        this_month = Period.of(today)
        result = {}
        result["PU"] = self._run(f"{this_month.previous()}#PU", now,
                                 self._employer_drafts(this_month.previous()))
        result["BPU"] = self._run(f"{this_month}#BPU", now, self._bpu_drafts(this_month))
        return {"pu_period": str(this_month.previous()), "bpu_period": str(this_month),
                **{f"{k.lower()}_{m}": v[m] for k, v in result.items() for m in v}}

    def _run(self, run_key: str, now: datetime, drafts: Iterator) -> dict:
        if not self.store.claim_run(run_key, now):
            return {"created": 0, "skipped": 0, "not_billed": 0, "busy": 1}
        created = skipped = not_billed = 0
        batch: list = []

        def flush():
            nonlocal created, skipped, not_billed
            ids = [bill_id for bill_id, _ in batch]
            existing = self.store.existing_bill_ids(ids)
            fresh = [make for bill_id, make in batch if bill_id not in existing]
            skipped += len(batch) - len(fresh)
            # None: no worker employed in the period, or no rule for it (logged)
            drafted = [d for d in (make() for make in fresh) if d is not None]
            not_billed += len(fresh) - len(drafted)
            codes = reserve_block("payment-code", len(drafted)) if drafted else range(0)
            items = []
            for draft, sequence in zip(drafted, codes):
                items.extend(self.records_for(draft, format_payment_code(sequence), now))
            self.store.write_batch(items)
            created += len(drafted)
            batch.clear()

        for bill_id, make in drafts:
            batch.append((bill_id, make))
            if len(batch) >= GENERATION_BATCH:
                flush()
        if batch:
            flush()
        self.store.finish_run(run_key, created, skipped, not_billed, now)
        return {"created": created, "skipped": skipped, "not_billed": not_billed}

    def _employer_drafts(self, period: Period):
        """(bill_id, thunk) pairs: the workers are read only for bills not yet written."""
        from .bills import bill_id_for

        for employer in self.registration.billable_employers():
            yield (bill_id_for(period, employer.employer_id),
                   lambda employer=employer: self.draft_employer_bill(employer, period))

    def draft_employer_bill(self, employer, period: Period,
                            employments=None) -> DraftBill | None:
        """The employer's bill for `period` from its workers employed then, each at the wage
        in force for the period (the last one reported carries over). None, logged, when no
        worker is employed or no rule covers the period."""
        employments = (self.registration.workers_of(employer.employer_id)
                       if employments is None else employments)
        workers = [Worker(w.participant_id, w.kpj, w.name, w.wage_for(str(period)))
                   for w in employments
                   if w.employed_in(str(period)) and w.wage_for(str(period))]
        try:
            return draft_employer_bill(
                self.rulebook, self.calendar, employer_id=employer.employer_id,
                name=employer.name, npp=employer.npp, branch=employer.branch,
                risk_class=int(employer.risk_class), sector=employer.sector,
                period=period, workers=workers)
        except (NoRuleForPeriod, ValidationFailed) as exc:
            self._warn("bill_not_drafted", employer.employer_id, exc)
            return None

    def _bpu_drafts(self, period: Period):
        from .bills import bill_id_for

        for participant in self.registration.billable_bpu_participants():
            if participant.status == "INACTIVE":  # protection stopped; arrears reactivate
                continue

            def make(p=participant):
                try:
                    return draft_bpu_bill(
                        self.rulebook, self.calendar, participant_id=p.participant_id,
                        name=p.name, kpj=p.kpj, branch=p.branch, period=period,
                        declared_income=int(p.declared_income), programs=p.programs)
                except (NoRuleForPeriod, ValidationFailed) as exc:
                    self._warn("bill_not_drafted", p.participant_id, exc)
                    return None
            yield bill_id_for(period, participant.participant_id), make

    def _warn(self, event: str, party_id: str, exc: Exception) -> None:
        if self.log:
            self.log.warning(event, extra={"party_id": party_id, "error": str(exc)})

    def records_for(self, draft: DraftBill, code: str, now: datetime,
                    issued_by: str = "system:generate_monthly_bills") -> list:
        party_key = ("EMP#" if draft.kind == "EMPLOYER" else "PAR#") + draft.party_id
        due = draft.due.isoformat()
        bill = BillRecord(
            draft.bill_id, kind=draft.kind, segment=draft.segment, party_key=party_key,
            party_name=draft.party_name, npp=draft.npp, kpj=draft.kpj, branch=draft.branch,
            period=str(draft.period), status=OPEN, due_date=due,
            contribution=draft.contribution, employer_total=draft.employer_total,
            worker_total=draft.worker_total, program_totals=json.dumps(draft.program_totals),
            lines=json.dumps(draft.lines), worker_count=len(draft.workers),
            detail_chunks=(len(draft.workers) + DETAIL_CHUNK - 1) // DETAIL_CHUNK,
            payment_code=code, created_at=now, outstanding_shard=_stable_shard(draft.bill_id),
            outstanding_sort=f"{due}#{draft.bill_id}", branch_status=f"{draft.branch}#{OPEN}",
            period_sort=f"{draft.period}#{draft.bill_id}")
        records: list = [bill]
        for index in range(0, len(draft.workers), DETAIL_CHUNK):
            records.append(BillDetailRecord(
                draft.bill_id, index // DETAIL_CHUNK,
                workers=json.dumps(draft.workers[index:index + DETAIL_CHUNK],
                                   separators=(",", ":"))))
        records.append(PaymentCodeRecord(
            code, bill_ids=[draft.bill_id], party_key=party_key, status="ACTIVE",
            expires_on=(draft.due + timedelta(days=self.code_valid_days)).isoformat(),
            issued_at=now, issued_by=issued_by))
        return records

    # ------------------------------------------------------------------ reading
    def owed(self, bill: BillRecord, on: date) -> AmountDue:
        if bill.status == PAID:
            return AmountDue(int(bill.contribution), int(bill.fine), int(bill.amount_paid))
        return amount_due(self.rulebook, segment=bill.segment, period=Period.parse(bill.period),
                          due=date.fromisoformat(bill.due_date),
                          contribution=int(bill.contribution),
                          program_totals=bill.program_totals_dict(),
                          paid=int(bill.amount_paid), on=on)

    def bill_view(self, bill: BillRecord, on: date, with_workers: bool = False) -> dict:
        owed = self.owed(bill, on)
        status = bill.status
        if status == OPEN and on > date.fromisoformat(bill.due_date):
            status = OVERDUE  # the daily check may not have run yet today
        view = {
            "bill_id": bill.bill_id, "status": status, "segment": bill.segment,
            "kind": bill.kind, "period": bill.period, "due_date": bill.due_date,
            "party_name": bill.party_name, "npp": bill.npp, "kpj": bill.kpj,
            "branch_code": bill.branch, "contribution": owed.contribution, "fine": owed.fine,
            "amount_paid": owed.paid, "amount_due": owed.due,
            "employer_total": int(bill.employer_total), "worker_total": int(bill.worker_total),
            "payment_code": bill.payment_code if bill.status in OUTSTANDING else None,
            "lines": json.loads(bill.lines), "worker_count": int(bill.worker_count),
            "paid_at": bill.paid_at.isoformat() if bill.paid_at else None,
        }
        if with_workers and bill.kind == "EMPLOYER":
            view["workers"] = [
                {**{k: w[k] for k in ("participant_id", "kpj", "name", "wage")},
                 "lines": [{"program": l[0], "payer": l[1], "base": l[2], "rate": l[3],
                            "amount": l[4]} for l in w["lines"]]}
                for w in self.store.bill_details(bill.bill_id)]
        return view

    def get_bill(self, bill_id: str, principal: Principal) -> dict:
        bill = self.store.bill(bill_id)
        self._may_see(bill, principal)
        return self.bill_view(bill, jakarta_today(self.clock()), with_workers=True)

    def list_bills(self, principal: Principal, *, status: str | None, npp: str | None,
                   kpj: str | None, period: str | None, limit: int = 50,
                   next_token: str | None = None) -> dict:
        today = jakarta_today(self.clock())
        if principal.role is Role.EMPLOYER:
            npp = npp or principal.npp
            if npp != principal.npp:
                raise Forbidden("an employer sees only its own bills", code="NPP_FORBIDDEN")
        if principal.role is Role.PARTICIPANT:
            kpj = kpj or principal.kpj
            if kpj != principal.kpj:
                raise Forbidden("a participant sees only their own bills", code="KPJ_FORBIDDEN")
        if npp or kpj:
            party_key, branch = self._party_of(npp=npp, kpj=kpj)
            if principal.is_staff:
                principal.require_branch(branch)
            bills = self.store.bills_of_party(party_key, period)
            views = [self.bill_view(b, today) for b in bills]
            if status:
                views = [v for v in views if v["status"] == status]
            return {"items": sorted(views, key=lambda v: v["period"]), "next_token": None}
        if not principal.is_staff:
            raise ValidationFailed("npp or kpj is required", field="npp")
        if not status:
            raise ValidationFailed("status is required when listing a branch's bills "
                                   "(OPEN, OVERDUE or PAID)", field="status")
        branch = principal.branch
        if not branch:
            raise ValidationFailed("an ADMIN token needs a branch to list bills", field="branch")
        start = json.loads(_b64d(next_token)) if next_token else None
        bills, last = self.store.bills_of_branch(branch, status, period, limit, start)
        return {"items": [self.bill_view(b, today) for b in bills],
                "next_token": _b64e(json.dumps(last)) if last else None}

    def _party_of(self, *, npp: str | None, kpj: str | None) -> tuple[str, str]:
        if npp:
            employer = self.registration.employer_by_npp(npp)
            return f"EMP#{employer.employer_id}", employer.branch
        participant = self.registration.participant_by_kpj(kpj)
        return f"PAR#{participant.participant_id}", participant.branch

    @staticmethod
    def _may_see(bill: BillRecord, principal: Principal) -> None:
        if principal.role is Role.EMPLOYER:
            if bill.npp != principal.npp:
                raise Forbidden("this bill is not yours", code="NPP_FORBIDDEN")
        elif principal.role is Role.PARTICIPANT:
            if bill.kpj != principal.kpj:
                raise Forbidden("this bill is not yours", code="KPJ_FORBIDDEN")
        else:
            principal.require_branch(bill.branch)

    # ------------------------------------------------------------------ codes
    def reissue_code(self, bill_id: str, reason: str, principal: Principal) -> dict:
        principal.require_role([Role.RECEIVABLES, Role.ADMIN])
        bill = self.store.bill(bill_id)
        principal.require_branch(bill.branch)
        if bill.status not in OUTSTANDING:
            raise Conflict(f"bill is {bill.status}; only unpaid bills get a new code",
                           code="BILL_NOT_OUTSTANDING")
        now = self.clock()
        today = jakarta_today(now)
        code = format_payment_code(reserve_block("payment-code", 1)[0])
        expires = max(date.fromisoformat(bill.due_date), today) + timedelta(
            days=self.code_valid_days)
        record = PaymentCodeRecord(code, bill_ids=[bill.bill_id], party_key=bill.party_key,
                                   status="ACTIVE", expires_on=expires.isoformat(),
                                   issued_at=now, issued_by=principal.subject, reason=reason)
        audit = audit_entry(f"bill#{bill.bill_id}", principal.subject, "PAYMENT_CODE_ISSUED",
                            reason=reason, details={"code": code, "replaces": bill.payment_code},
                            at=now)
        self.store.replace_code(bill, bill.payment_code, record, audit)
        return {"bill_id": bill.bill_id, "payment_code": code, "expires_on": expires.isoformat(),
                "replaces": bill.payment_code}

    # ------------------------------------------------------------------ BPU prepayment
    PREPAYMENT_MONTHS = (1, 3, 6, 12)

    def prepay(self, participant_id: str, months: int, principal: Principal) -> dict:
        """One payment code for `months` consecutive months of a BPU participant: the open
        bills first (oldest first), then the months after the last one billed. Each month
        is its own bill, settled when the code is paid."""
        if months not in self.PREPAYMENT_MONTHS:
            raise ValidationFailed("Pembayaran di muka hanya untuk 1, 3, 6 atau 12 bulan",
                                   field="months", code="PREPAYMENT_MONTHS")
        participant = self.registration.participant_record(participant_id)
        if principal.role is Role.PARTICIPANT:
            if principal.kpj != participant.kpj:
                raise Forbidden("this membership is not yours", code="KPJ_FORBIDDEN")
        elif principal.role is Role.EMPLOYER:
            raise Forbidden("employers do not prepay BPU contributions", code="ROLE_FORBIDDEN")
        else:
            principal.require_branch(participant.branch)
        if participant.segment != "BPU" or participant.status not in ("VERIFIED", "ACTIVE"):
            raise Conflict("Pembayaran di muka hanya untuk peserta BPU yang terverifikasi "
                           "atau aktif", code="NOT_PREPAYABLE")
        now = self.clock()
        party_key = f"PAR#{participant_id}"
        bills = self.store.bills_of_party(party_key)
        open_bills = sorted((b for b in bills if b.status in OUTSTANDING),
                            key=lambda b: b.period)[:months]
        billed_periods = {b.period for b in bills}
        period = Period.of(jakarta_today(now))
        if bills:
            period = max(period, Period.parse(max(billed_periods)).next())
        drafts = []
        while len(open_bills) + len(drafts) < months:
            drafts.append(draft_bpu_bill(
                self.rulebook, self.calendar, participant_id=participant_id,
                name=participant.name, kpj=participant.kpj, branch=participant.branch,
                period=period, declared_income=int(participant.declared_income),
                programs=participant.programs or ("JKK", "JKM")))
            period = period.next()
        code = format_payment_code(reserve_block("payment-code", 1)[0])
        new_records = [self.records_for(d, code, now)[0] for d in drafts]
        covered = open_bills + new_records
        last_due = max(date.fromisoformat(b.due_date) for b in covered)
        first_due = min(date.fromisoformat(b.due_date) for b in covered)
        record = PaymentCodeRecord(
            code, bill_ids=[b.bill_id for b in covered], party_key=party_key, status="ACTIVE",
            expires_on=(max(first_due, jakarta_today(now))
                        + timedelta(days=self.code_valid_days)).isoformat(),
            issued_at=now, issued_by=principal.subject, reason=f"prepayment {months} months")
        audit = audit_entry(f"participant#{participant_id}", principal.subject,
                            "PREPAYMENT_CODE_ISSUED",
                            details={"code": code, "months": months,
                                     "periods": [b.period for b in covered]}, at=now)
        old_codes = [b.payment_code for b in open_bills if b.payment_code]
        self.store.add_prepayment(new_records, record, old_codes, open_bills, audit)
        today = jakarta_today(now)
        amount = sum(self.owed(b, today).due for b in covered)
        return {"participant_id": participant_id, "payment_code": code, "months": months,
                "periods": [b.period for b in covered], "amount_due": amount,
                "expires_on": record.expires_on, "last_due_date": last_due.isoformat()}

    # ------------------------------------------------------------------ JHT
    def jht_balance(self, participant_id: str, principal: Principal) -> dict:
        self.registration.participant(participant_id, principal)  # access check
        entries = self.store.jht_entries(participant_id)
        items = [{"period": e.entry.split("#")[0], "bill_id": e.entry.split("#", 1)[1],
                  "employer_amount": int(e.employer_amount),
                  "worker_amount": int(e.worker_amount),
                  "amount": int(e.employer_amount) + int(e.worker_amount),
                  "credited_at": e.credited_at.isoformat()} for e in entries]
        return {"participant_id": participant_id, "balance": sum(i["amount"] for i in items),
                "entries": items}

    def jht_entries_for_bill(self, bill: BillRecord, payment_id: str,
                             now: datetime) -> list[JhtEntryRecord]:
        """Each worker's JHT shares of a paid bill, as ledger entries keyed by bill."""
        entries = []
        if bill.kind == "EMPLOYER":
            workers = self.store.bill_details(bill.bill_id)
            for worker in workers:
                employer = sum(l[4] for l in worker["lines"] if l[0] == "JHT" and l[1] == "EMPLOYER")
                own = sum(l[4] for l in worker["lines"] if l[0] == "JHT" and l[1] == "WORKER")
                if employer or own:
                    entries.append(JhtEntryRecord(
                        worker["participant_id"], f"{bill.period}#{bill.bill_id}",
                        employer_amount=employer, worker_amount=own, payment_id=payment_id,
                        credited_at=now))
        else:
            own = sum(l["amount"] for l in json.loads(bill.lines) if l["program"] == "JHT")
            if own:
                entries.append(JhtEntryRecord(
                    bill.party_key.split("#", 1)[1], f"{bill.period}#{bill.bill_id}",
                    employer_amount=0, worker_amount=own, payment_id=payment_id,
                    credited_at=now))
        return entries

    # ------------------------------------------------------------------ letters
    def issue_code_for_bills(self, bill_ids: list[str], *, valid_from: date, issued_by: str,
                             reason: str) -> str:
        """One payment code for several outstanding bills of one party: the total a
        collection letter asks for, payable at once. The bills keep their own codes; whichever
        is paid first settles its bills, and the other then answers "paid". Valid
        `code_valid_days` after `valid_from` (the letter's deadline)."""
        ids = list(dict.fromkeys(bill_ids))
        bills = self.store.bills(ids)
        if len(bills) != len(ids) or not bills:
            missing = sorted(set(ids) - {b.bill_id for b in bills})
            raise NotFound(f"no bill {', '.join(missing) or '(none given)'}",
                           code="BILL_NOT_FOUND")
        if len({b.party_key for b in bills}) != 1:
            raise ValidationFailed("a payment code covers the bills of one party only",
                                   field="bill_ids", code="MIXED_PARTIES")
        unpaid = [b for b in bills if b.status in OUTSTANDING]
        if len(unpaid) != len(bills):
            raise Conflict("only unpaid bills get a payment code", code="BILL_NOT_OUTSTANDING")
        now = self.clock()
        code = format_payment_code(reserve_block("payment-code", 1)[0])
        self.store.add_code(PaymentCodeRecord(
            code, bill_ids=ids, party_key=bills[0].party_key, status="ACTIVE",
            expires_on=(valid_from + timedelta(days=self.code_valid_days)).isoformat(),
            issued_at=now, issued_by=issued_by, reason=reason))
        return code


def _b64e(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode()


def _b64d(token: str) -> str:
    import base64
    import binascii

    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed("next_token is not one this API issued",
                               field="next_token") from exc
