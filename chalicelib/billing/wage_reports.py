"""Monthly wage reports (laporan upah): an employer states the period's wages of its workers.

The wages land in each worker's wage history (registration's data, the one billing reads), so
a worker without a new report keeps the previous month's wage. A report for a period whose
bill is paid (even in part) is refused; a correction of a billed, unpaid period supersedes the
bill with a corrected one under a new payment code (the old code is retired in the same
transaction). A correction of a past period never changes the later periods already billed:
their wage is pinned in the history at the wage they were billed with.

The rules are plain functions (`parse_csv`, `check_rows`, `corrected_history`); the
`WageReports` use case wires them to billing's store and registration's.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import datetime
from typing import Callable

from chalicelib.shared_kernel.auth import Principal, Role
from chalicelib.shared_kernel.calendar import Period, jakarta_today
from chalicelib.shared_kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.shared_kernel.records import audit_entry, reserve_block

from .bills import bill_id_for, format_payment_code
from .schemas import WageReportIn
from .store import OUTSTANDING, PAID, SUPERSEDED, BillingStore, WageReportRecord

MAX_ROWS = 10_000
_KPJ_HEADERS = ("kpj", "no_kpj", "nomor_kpj")
_WAGE_HEADERS = ("wage", "upah")


# ---------------------------------------------------------------------------- pure rules
def parse_csv(text: str, period: str | None) -> WageReportIn:
    """A CSV wage report (header `kpj,wage`; `upah` is accepted for `wage`) as the JSON
    shape. Cells are trimmed; a wage is whole rupiah digits ("4500000")."""
    if not period:
        raise ValidationFailed("Periode laporan wajib diisi sebagai parameter ?period=YYYY-MM",
                               field="period", code="VALIDATION_FAILED")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in next(reader, [])]
    kpj_at = next((header.index(h) for h in _KPJ_HEADERS if h in header), None)
    wage_at = next((header.index(h) for h in _WAGE_HEADERS if h in header), None)
    if kpj_at is None or wage_at is None:
        raise ValidationFailed("Baris pertama CSV harus berisi kolom 'kpj' dan 'wage' (atau "
                               "'upah')", field="csv", code="CSV_HEADER_INVALID")
    rows, errors = [], []
    for number, cells in enumerate(reader, start=1):
        if not any(c.strip() for c in cells):
            continue
        cells = [c.strip() for c in cells] + [""] * (len(header) - len(cells))
        wage = cells[wage_at]
        if not wage.isdigit():
            errors.append({"row": number, "field": "wage",
                           "message": "Upah harus berupa bilangan bulat rupiah tanpa titik"})
            continue
        rows.append({"kpj": cells[kpj_at], "wage": int(wage)})
        if len(rows) > MAX_ROWS:
            raise ValidationFailed(f"Laporan upah paling banyak {MAX_ROWS:,} baris",
                                   field="rows", code="TOO_MANY_ROWS")
    if errors:
        raise ValidationFailed(f"Laporan upah ditolak: {len(errors)} baris salah",
                               field="rows", code="WAGE_REPORT_INVALID", details=errors)
    return WageReportIn.model_validate({"period": period, "rows": rows})


@dataclasses.dataclass(frozen=True)
class Reported:
    row: int
    employment: object        # registration's EmploymentRecord
    wage: int


def check_rows(report: WageReportIn, employments, period: str) -> list[Reported]:
    """Each row names a worker of this employer employed in the period, once."""
    by_kpj = {e.kpj: e for e in employments}
    seen: dict[str, int] = {}
    found, errors = [], []
    for number, row in enumerate(report.rows, start=1):
        employment = by_kpj.get(row.kpj)
        if row.kpj in seen:
            errors.append({"row": number, "kpj": row.kpj, "field": "kpj",
                           "message": f"KPJ sama dengan baris {seen[row.kpj]}"})
        elif employment is None:
            errors.append({"row": number, "kpj": row.kpj, "field": "kpj",
                           "message": "KPJ tidak terdaftar sebagai pekerja perusahaan ini"})
        elif not employment.employed_in(period):
            errors.append({"row": number, "kpj": row.kpj, "field": "kpj",
                           "message": f"Pekerja tidak aktif bekerja pada periode {period}"})
        else:
            found.append(Reported(number, employment, row.wage))
        seen.setdefault(row.kpj, number)
    if errors:
        raise ValidationFailed(f"Laporan upah ditolak: {len(errors)} baris salah",
                               field="rows", code="WAGE_REPORT_INVALID", details=errors)
    return found


def wage_in(history: list[dict], period: str) -> int | None:
    applicable = [h for h in history if h["from"] <= period]
    return int(max(applicable, key=lambda h: h["from"])["wage"]) if applicable else None


def corrected_history(history: list[dict], period: Period, wage: int,
                      billed_through: Period | None) -> list[dict]:
    """The wage from `period` on; a later period already billed keeps the wage it was billed
    with (pinned by an entry of its own), and later changes already recorded stay."""
    entries = {h["from"]: int(h["wage"]) for h in history}
    following = period.next()
    if (billed_through is not None and following <= billed_through
            and str(following) not in entries):
        before = wage_in(history, str(following))
        if before is not None:
            entries[str(following)] = before
    entries[str(period)] = wage
    return [{"from": p, "wage": w} for p, w in sorted(entries.items())]


# ---------------------------------------------------------------------------- use case
class WageReports:
    def __init__(self, store: BillingStore, registration, billing,
                 clock: Callable[[], datetime], notify: Callable | None = None):
        self.store = store
        self.registration = registration          # RegistrationService (reads, wage writes)
        self.billing = billing                    # BillingService (drafting, records)
        self.clock = clock
        self.notify = notify

    def _employer(self, ref: str, principal: Principal):
        """`ref` is the employer id or its NPP (API Gateway cannot hold a sibling `{npp}`
        variable beside `{employer_id}`, so both are accepted in that position)."""
        if ref.isdigit():
            employer = self.registration.employer_by_npp(ref)
        else:
            try:
                employer = self.registration.store.employer(ref)
            except NotFound:
                raise NotFound(f"no employer {ref}", code="EMPLOYER_NOT_FOUND") from None
        if principal.role is Role.EMPLOYER:
            if employer.npp is None or employer.npp != principal.npp:
                raise Forbidden("an employer reports only its own wages", code="NPP_FORBIDDEN")
        else:
            principal.require_role([Role.RECEIVABLES, Role.ADMIN])
            principal.require_branch(employer.branch)
        if employer.status != "VERIFIED" or not employer.npp:
            raise Conflict("the employer is not verified yet; wages are reported once it has "
                           "an NPP", code="EMPLOYER_NOT_VERIFIED")
        return employer

    def get(self, ref: str, period: str, principal: Principal) -> dict:
        employer = self._employer(ref, principal)
        try:
            Period.parse(period)
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="period") from exc
        record = self.store.wage_report(employer.employer_id, period)
        if record is None:
            raise NotFound(f"no wage report for {period}", code="WAGE_REPORT_NOT_FOUND")
        return json.loads(record.summary)

    def submit(self, ref: str, report: WageReportIn, principal: Principal) -> dict:
        employer = self._employer(ref, principal)
        period = Period.parse(report.period)
        now = self.clock()
        if period > Period.of(jakarta_today(now)):
            raise ValidationFailed(f"Periode {period} belum berjalan; laporan upah diajukan "
                                   "untuk periode berjalan atau sebelumnya",
                                   field="period", code="PERIOD_IN_FUTURE")
        bills = [b for b in self.store.bills_of_party(f"EMP#{employer.employer_id}")
                 if b.status != SUPERSEDED]
        of_period = [b for b in bills if b.period == str(period)]
        if any(b.status == PAID or int(b.amount_paid) > 0 for b in of_period):
            raise Conflict(f"Iuran periode {period} sudah dibayar; laporan upah periode itu "
                           "tidak dapat diubah", code="PERIOD_ALREADY_PAID")
        billed = [Period.parse(b.period) for b in bills]
        billed_through = max(billed) if billed else None

        employments = list(self.registration.workers_of(employer.employer_id))
        reported = check_rows(report, employments, str(period))
        warnings = self._minimum_wage_warnings(employer, reported, period)

        today_period = str(Period.of(jakarta_today(now)))
        changes, audits, carried = [], [], len(
            [e for e in employments if e.employed_in(str(period))]) - len(reported)
        for item in reported:
            employment = item.employment
            old = employment.wage_history
            history = corrected_history(json.loads(old), period, item.wage, billed_through)
            new = json.dumps(history)
            if new == old:
                continue
            changes.append((employer.employer_id, employment.participant_id, old, new,
                            wage_in(history, today_period) or item.wage))
            audits.append(audit_entry(
                f"participant#{employment.participant_id}", principal.subject, "WAGE_REPORTED",
                at=now, details={"period": str(period), "wage": item.wage,
                                 "employer_id": employer.employer_id}))
            employment.wage_history = new        # the corrected bill is drafted from these
        self.registration.store.set_wage_histories(changes, audits)

        summary = {
            "employer_id": employer.employer_id, "npp": employer.npp, "period": str(period),
            "status": "APPLIED", "rows": [r.model_dump() for r in report.rows],
            "workers_reported": len(reported), "workers_carried_over": max(carried, 0),
            "submitted_by": principal.subject, "submitted_at": now.isoformat(),
            "warnings": warnings, "bill": None, "superseded_bill_id": None}
        outstanding = [b for b in of_period if b.status in OUTSTANDING]
        if outstanding:
            # compared with a fresh draft, not with `changes`: a report resubmitted after its
            # re-issue failed (the bill changed meanwhile) still corrects the bill
            bill, superseded = self._reissue(employer, period, outstanding[0], employments,
                                             principal, now)
            summary["bill"], summary["superseded_bill_id"] = bill, superseded
        self.store.save_wage_report(WageReportRecord(
            employer.employer_id, str(period), rows=json.dumps(summary["rows"]),
            submitted_by=principal.subject, submitted_at=now,
            summary=json.dumps(summary)))
        return summary

    def _minimum_wage_warnings(self, employer, reported: list[Reported],
                               period: Period) -> list[dict]:
        """The province's minimum wage (registration's table and policy): below it is a
        warning, or the row's refusal when the policy rejects."""
        from chalicelib.registration.validation import check_minimum_wage

        province = (employer.profile_dict().get("address") or {}).get("province_code")
        if not province:
            return []
        warnings, errors = [], []
        for item in reported:
            try:
                found = check_minimum_wage(province, item.wage, on=period,
                                           field=f"rows.{item.row - 1}.wage")
            except ValidationFailed as exc:
                errors.append({"row": item.row, "kpj": item.employment.kpj, "field": "wage",
                               "message": exc.message})
                continue
            warnings.extend({"row": item.row, **w.to_dict()} for w in found
                            if w.code != "MINIMUM_WAGE_UNKNOWN")
        if errors:
            raise ValidationFailed(f"Laporan upah ditolak: {len(errors)} baris salah",
                                   field="rows", code="WAGE_REPORT_INVALID", details=errors)
        return warnings

    def _reissue(self, employer, period: Period, old, employments, principal: Principal,
                 now: datetime) -> tuple[dict | None, str | None]:
        """The corrected bill replaces the unpaid one: same period and due date, new lines,
        new id and payment code; the old bill and code are retired in the same transaction."""
        draft = self.billing.draft_employer_bill(employer, period, employments)
        if draft is None:
            return None, None
        if int(draft.contribution) == int(old.contribution):
            return self.billing.bill_view(old, jakarta_today(now)), None
        revision = sum(1 for b in self.store.bills_of_party(old.party_key, str(period))
                       if b.status == SUPERSEDED) + 1
        draft.bill_id = f"{bill_id_for(period, employer.employer_id)}-K{revision}"
        code = format_payment_code(reserve_block("payment-code", 1)[0])
        records = self.billing.records_for(draft, code, now, issued_by=principal.subject)
        bill = records[0]
        bill.status, bill.branch_status = old.status, f"{old.branch}#{old.status}"
        audit = audit_entry(f"bill#{old.bill_id}", principal.subject, "BILL_SUPERSEDED",
                            reason="wage report correction", at=now,
                            details={"superseded_by": bill.bill_id,
                                     "contribution_before": int(old.contribution),
                                     "contribution_after": int(bill.contribution)})
        self.store.supersede_bill(old, records, audit)
        if self.notify:
            from chalicelib.shared_kernel.messaging import MessageRequest

            self.notify(MessageRequest(
                dedupe_key=f"bill:{bill.bill_id}", template="bill_issued",
                recipient_kind="EMPLOYER", recipient_id=employer.employer_id,
                params={"nama": employer.name, "periode": str(period),
                        "jumlah": int(bill.contribution), "jatuh_tempo": bill.due_date,
                        "kode_bayar": code},
                source="billing", bill_id=bill.bill_id, branch=employer.branch))
        return self.billing.bill_view(bill, jakarta_today(now)), old.bill_id

