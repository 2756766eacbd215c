"""Billing's data access: bills (with their worker detail), payment codes, payments, the
JHT ledger, wage reports and billing runs. Owns every condition expression and maps
DynamoDB refusals to the project's errors."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Iterable, Iterator

from pynamodb.attributes import (ListAttribute, NumberAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.shared_kernel.errors import Conflict, NotFound
from chalicelib.shared_kernel.resources import table, transact_write

OUTSTANDING_SHARDS = 16
OPEN, OVERDUE, PAID, SUPERSEDED = "OPEN", "OVERDUE", "PAID", "SUPERSEDED"
OUTSTANDING = (OPEN, OVERDUE)


class _ByParty(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_party"
        projection = AllProjection()

    party_key = UnicodeAttribute(hash_key=True)    # "EMP#<employer_id>" / "PAR#<participant_id>"
    period = UnicodeAttribute(range_key=True)


class _ByBranchStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_branch_status"
        projection = AllProjection()

    branch_status = UnicodeAttribute(hash_key=True)       # "BLT#OPEN"
    period_sort = UnicodeAttribute(range_key=True)        # "<period>#<bill_id>"


@table("bills")
class BillRecord(Model):
    class Meta:
        table_name = "bills"

    bill_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()                  # EMPLOYER | PARTICIPANT
    segment = UnicodeAttribute()               # PU | BPU
    party_key = UnicodeAttribute()
    party_name = UnicodeAttribute()
    npp = UnicodeAttribute(null=True)
    kpj = UnicodeAttribute(null=True)
    branch = UnicodeAttribute()
    period = UnicodeAttribute()
    status = UnicodeAttribute()
    due_date = UnicodeAttribute()
    contribution = NumberAttribute()           # sum of rounded lines, rupiah
    employer_total = NumberAttribute()
    worker_total = NumberAttribute()
    program_totals = UnicodeAttribute()        # JSON {"JKK": n, ...}: the base of fines
    lines = UnicodeAttribute()                 # JSON: per program and payer (all workers)
    worker_count = NumberAttribute(default=0)
    detail_chunks = NumberAttribute(default=0)
    fine = NumberAttribute(default=0)          # as of the last daily check
    amount_paid = NumberAttribute(default=0)
    payment_code = UnicodeAttribute(null=True)
    payment_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    paid_at = UTCDateTimeAttribute(null=True)
    version = NumberAttribute(default=0)
    # where the bill sits in the outstanding index (OutstandingBillRecord) while unpaid
    outstanding_shard = UnicodeAttribute(null=True)
    outstanding_sort = UnicodeAttribute(null=True)
    branch_status = UnicodeAttribute()
    period_sort = UnicodeAttribute()
    superseded_by = UnicodeAttribute(null=True)   # the corrected bill (wage report)

    by_party = _ByParty()
    by_branch_status = _ByBranchStatus()

    def program_totals_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in json.loads(self.program_totals).items()}


@table("outstanding-bills")
class OutstandingBillRecord(Model):
    """The sparse index of unpaid bills, kept as its own table (not a GSI) so that reading it
    is a keyed Query of one partition: one item per OPEN/OVERDUE bill, written with the bill
    (before it, in a billing run) and deleted in the transaction that pays it. Sharded so no
    single partition takes every write of a billing run; sorted by due date so the daily
    check and the pre-due reminders read only what is due."""

    class Meta:
        table_name = "outstanding-bills"

    outstanding_shard = UnicodeAttribute(hash_key=True)   # "OUT#<n>"
    outstanding_sort = UnicodeAttribute(range_key=True)   # "<due_date>#<bill_id>"
    bill_id = UnicodeAttribute()

    @classmethod
    def of(cls, bill: "BillRecord") -> "OutstandingBillRecord":
        return cls(bill.outstanding_shard, bill.outstanding_sort, bill_id=bill.bill_id)


def _indexed(bill: BillRecord) -> bool:
    return bool(bill.outstanding_shard and bill.outstanding_sort)


@table("bill-details")
class BillDetailRecord(Model):
    """Per-worker lines of an employer bill, in chunks (a 10,000-worker bill would not fit
    in one 400 KB item)."""

    class Meta:
        table_name = "bill-details"

    bill_id = UnicodeAttribute(hash_key=True)
    chunk = NumberAttribute(range_key=True)
    workers = UnicodeAttribute()   # JSON [{"participant_id","kpj","name","wage","lines":[...]}]


@table("payment-codes")
class PaymentCodeRecord(Model):
    class Meta:
        table_name = "payment-codes"

    code = UnicodeAttribute(hash_key=True)
    bill_ids = ListAttribute(of=UnicodeAttribute)   # several for a BPU prepayment
    party_key = UnicodeAttribute()
    status = UnicodeAttribute()                     # ACTIVE | USED | SUPERSEDED
    expires_on = UnicodeAttribute()                 # ISO date, Asia/Jakarta
    issued_at = UTCDateTimeAttribute()
    issued_by = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    payment_id = UnicodeAttribute(null=True)


class _PaymentsByDay(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)           # Jakarta date of posting
    paid_at = UTCDateTimeAttribute(range_key=True)


class _PendingDownstream(GlobalSecondaryIndex):
    class Meta:
        index_name = "pending_downstream"
        projection = KeysOnlyProjection()

    downstream_pending = UnicodeAttribute(hash_key=True)   # "PENDING" until enqueued


@table("payments")
class PaymentRecord(Model):
    class Meta:
        table_name = "payments"

    payment_key = UnicodeAttribute(hash_key=True)   # "<client_id>#<paymentRequestId>"
    payment_id = UnicodeAttribute()
    code = UnicodeAttribute(null=True)
    bill_ids = ListAttribute(of=UnicodeAttribute)
    amount = NumberAttribute()
    channel = UnicodeAttribute()                    # SNAP | MANUAL
    client_id = UnicodeAttribute(null=True)
    channel_id = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    external_id = UnicodeAttribute(null=True)
    fingerprint = UnicodeAttribute()                # hash of the request content
    response = UnicodeAttribute(null=True)          # the original answer, replayed on retry
    posted_by = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    day = UnicodeAttribute()
    paid_at = UTCDateTimeAttribute()
    downstream_pending = UnicodeAttribute(null=True)

    by_day = _PaymentsByDay()
    pending_downstream = _PendingDownstream()


@table("jht-ledger")
class JhtEntryRecord(Model):
    """Append-only: one entry per participant per paid bill; the key makes a replay a no-op."""

    class Meta:
        table_name = "jht-ledger"

    participant_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)        # "<period>#<bill_id>"
    employer_amount = NumberAttribute()
    worker_amount = NumberAttribute()
    payment_id = UnicodeAttribute()
    credited_at = UTCDateTimeAttribute()


@table("wage-reports")
class WageReportRecord(Model):
    class Meta:
        table_name = "wage-reports"

    employer_id = UnicodeAttribute(hash_key=True)
    period = UnicodeAttribute(range_key=True)
    rows = UnicodeAttribute()                       # JSON [{"kpj", "wage"}]
    submitted_by = UnicodeAttribute()
    submitted_at = UTCDateTimeAttribute()
    summary = UnicodeAttribute(null=True)           # JSON: what the submission answered


@table("billing-runs")
class BillingRunRecord(Model):
    class Meta:
        table_name = "billing-runs"

    run_key = UnicodeAttribute(hash_key=True)       # "<period>#<segment>"
    status = UnicodeAttribute()
    lease_until = UTCDateTimeAttribute()
    created = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    finished_at = UTCDateTimeAttribute(null=True)


def _condition_failed(exc: Exception, deletes: int = 0) -> list[int]:
    """Indexes of the transaction items whose condition failed. PynamoDB sends a
    transaction's deletes before its puts and updates: with `deletes` unconditional deletes
    (the outstanding index's), the indexes are counted from the first put."""
    reasons = (getattr(exc, "cancellation_reasons", None) or [])[deletes:]
    return [i for i, r in enumerate(reasons) if r is not None and r.code == "ConditionalCheckFailed"]


class TransactionRefused(Exception):
    def __init__(self, failed_items: list[int]):
        super().__init__(f"transaction refused by conditions on items {failed_items}")
        self.failed_items = failed_items


class BillingStore:
    # ------------------------------------------------------------------ bills
    def bill(self, bill_id: str) -> BillRecord:
        try:
            return BillRecord.get(bill_id)
        except BillRecord.DoesNotExist as exc:
            raise NotFound(f"no bill {bill_id}", code="BILL_NOT_FOUND") from exc

    def bills(self, bill_ids: Iterable[str]) -> list[BillRecord]:
        ids = list(dict.fromkeys(bill_ids))
        found = {b.bill_id: b for b in BillRecord.batch_get(ids)}
        return [found[i] for i in ids if i in found]

    def existing_bill_ids(self, bill_ids: list[str]) -> set[str]:
        if not bill_ids:
            return set()
        return {b.bill_id for b in BillRecord.batch_get(bill_ids, attributes_to_get=["bill_id"])}

    def bill_details(self, bill_id: str) -> list[dict]:
        workers: list[dict] = []
        for chunk in BillDetailRecord.query(bill_id):
            workers.extend(json.loads(chunk.workers))
        return workers

    def bills_of_party(self, party_key: str, period: str | None = None) -> list[BillRecord]:
        condition = BillRecord.period == period if period else None
        return list(BillRecord.by_party.query(party_key, range_key_condition=condition))

    def bills_of_branch(self, branch: str, status: str, period: str | None = None,
                        limit: int = 100, start: dict | None = None):
        condition = BillRecord.period_sort.startswith(period) if period else None
        result = BillRecord.by_branch_status.query(
            f"{branch}#{status}", range_key_condition=condition, limit=limit,
            last_evaluated_key=start)
        items = list(result)
        return items, result.last_evaluated_key

    def outstanding_due_on_or_before(self, day: str) -> Iterator[BillRecord]:
        """Every OPEN/OVERDUE bill whose due date is on or before `day`: keyed Queries of the
        outstanding index's shards, then the bills by key (BatchGetItem, 100 a call), so the
        cost follows the outstanding bills, not all bills."""
        yield from self._outstanding(OutstandingBillRecord.outstanding_sort <= f"{day}#~")

    def _outstanding(self, condition) -> Iterator[BillRecord]:
        for shard in range(OUTSTANDING_SHARDS):
            ids = [entry.bill_id for entry in OutstandingBillRecord.query(
                f"OUT#{shard}", range_key_condition=condition,
                attributes_to_get=["bill_id"])]
            for start in range(0, len(ids), 100):
                # a bill paid meanwhile, or an entry written ahead of its bill by a billing
                # run still under way, is not outstanding: skipped
                yield from (bill for bill in self.bills(ids[start:start + 100])
                            if bill.status in OUTSTANDING)

    def write_batch(self, items: Iterable[Model]) -> int:
        """New items only (callers checked existence); BatchWriteItem, 25 per call. An
        outstanding bill's index entry is written before any bill, so a run that stops
        midway never leaves an unpaid bill the daily check cannot see (an entry without its
        bill is skipped by the readers, and the resumed run writes the bill)."""
        count = 0
        items = list(items)
        by_model: dict[type, list[Model]] = {OutstandingBillRecord: [
            OutstandingBillRecord.of(item) for item in items
            if isinstance(item, BillRecord) and item.status in OUTSTANDING and _indexed(item)]}
        for item in items:
            by_model.setdefault(type(item), []).append(item)
        count -= len(by_model[OutstandingBillRecord])
        for model_cls, models in by_model.items():
            with model_cls.batch_write() as batch:
                for item in models:
                    batch.save(item)
                    count += 1
        return count

    def update_fine(self, bill: BillRecord, fine: int, status: str) -> bool:
        """Daily check: set the fine and status unless the bill was paid meanwhile."""
        actions = [BillRecord.fine.set(fine), BillRecord.status.set(status),
                   BillRecord.branch_status.set(f"{bill.branch}#{status}")]
        try:
            bill.update(actions=actions,
                        condition=BillRecord.status.is_in(*OUTSTANDING))
            return True
        except Exception as exc:  # noqa: BLE001 - narrowed below
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise

    # ------------------------------------------------------------------ codes
    def code(self, code: str) -> PaymentCodeRecord | None:
        try:
            return PaymentCodeRecord.get(code)
        except PaymentCodeRecord.DoesNotExist:
            return None

    def add_code(self, record: PaymentCodeRecord) -> None:
        try:
            record.save(condition=PaymentCodeRecord.code.does_not_exist())
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            raise Conflict("payment code collision; retry", code="CODE_COLLISION") from exc

    def replace_code(self, bill: BillRecord, old_code: str | None,
                     new: PaymentCodeRecord, audit) -> None:
        """Re-issue: retire the old code and point the bill at the new one, atomically."""
        try:
            with transact_write() as tx:
                tx.save(new, condition=PaymentCodeRecord.code.does_not_exist())
                if old_code:
                    tx.update(PaymentCodeRecord(old_code),
                              actions=[PaymentCodeRecord.status.set("SUPERSEDED")],
                              condition=PaymentCodeRecord.status == "ACTIVE")
                tx.update(bill, actions=[BillRecord.payment_code.set(new.code),
                                         BillRecord.version.add(1)],
                          condition=(BillRecord.status.is_in(*OUTSTANDING))
                          & (BillRecord.version == bill.version))
                tx.save(audit)
        except TransactWriteError as exc:
            raise Conflict("the bill or its code changed meanwhile (paid or re-issued); "
                           "reload and try again", code="STATE_CHANGED") from exc

    def add_prepayment(self, new_bills: list, code: "PaymentCodeRecord",
                       superseded_codes: list[str], repointed: list[BillRecord], audit) -> None:
        """A BPU prepayment, atomically: the future months' bills, one code covering them
        and the open ones, the open bills' old codes retired."""
        try:
            with transact_write() as tx:
                for bill in new_bills:
                    tx.save(bill, condition=BillRecord.bill_id.does_not_exist())
                    if _indexed(bill):
                        tx.save(OutstandingBillRecord.of(bill))
                tx.save(code, condition=PaymentCodeRecord.code.does_not_exist())
                for old in superseded_codes:
                    tx.update(PaymentCodeRecord(old),
                              actions=[PaymentCodeRecord.status.set("SUPERSEDED")],
                              condition=PaymentCodeRecord.status == "ACTIVE")
                for bill in repointed:
                    tx.update(bill, actions=[BillRecord.payment_code.set(code.code),
                                             BillRecord.version.add(1)],
                              condition=(BillRecord.status.is_in(*OUTSTANDING))
                              & (BillRecord.version == bill.version))
                tx.save(audit)
        except TransactWriteError as exc:
            raise Conflict("bills changed meanwhile (paid, billed or re-issued); try again",
                           code="STATE_CHANGED") from exc

    # ------------------------------------------------------------------ payments
    def payment(self, payment_key: str) -> PaymentRecord | None:
        try:
            return PaymentRecord.get(payment_key)
        except PaymentRecord.DoesNotExist:
            return None

    def post_payment(self, payment: PaymentRecord, bills: list[BillRecord],
                     code: PaymentCodeRecord | None, extra_saves: Iterable[Model] = ()) -> None:
        """One transaction: the payment under its idempotency key, each bill OPEN/OVERDUE ->
        PAID at the version read (so the amount it was checked against still holds), the
        code ACTIVE -> USED. Raises TransactionRefused naming the failed items:
        0 = payment key exists, 1..n = bills, n+1 = code."""
        deletes = 0
        try:
            with transact_write() as tx:
                tx.save(payment, condition=PaymentRecord.payment_key.does_not_exist())
                _mark_paid(tx, bills, payment)
                if code is not None:
                    tx.update(code, actions=[PaymentCodeRecord.status.set("USED"),
                                             PaymentCodeRecord.payment_id.set(
                                                 payment.payment_id)],
                              condition=PaymentCodeRecord.status == "ACTIVE")
                for item in extra_saves:
                    tx.save(item)
                deletes = _leave_outstanding_index(tx, bills)
        except TransactWriteError as exc:
            failed = _condition_failed(exc, deletes)
            if failed:
                raise TransactionRefused(failed) from exc
            raise

    def mark_downstream_done(self, payment_key: str) -> None:
        PaymentRecord(payment_key).update(actions=[PaymentRecord.downstream_pending.remove()])

    def payments_pending_downstream(self) -> list[str]:
        return [p.payment_key for p in PaymentRecord.pending_downstream.query("PENDING")]

    def payments_of_day(self, day: str) -> list[PaymentRecord]:
        return list(PaymentRecord.by_day.query(day))

    # ------------------------------------------------------------------ JHT
    def credit_jht(self, entries: list[JhtEntryRecord]) -> int:
        credited = 0
        for entry in entries:
            try:
                entry.save(condition=JhtEntryRecord.entry.does_not_exist())
                credited += 1
            except PutError as exc:
                if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                    raise
        return credited

    def jht_entries(self, participant_id: str) -> list[JhtEntryRecord]:
        return list(JhtEntryRecord.query(participant_id))

    # ------------------------------------------------------------------ wage reports
    def wage_report(self, employer_id: str, period: str) -> WageReportRecord | None:
        try:
            return WageReportRecord.get(employer_id, period)
        except WageReportRecord.DoesNotExist:
            return None

    def save_wage_report(self, record: WageReportRecord) -> None:
        record.save()

    # ------------------------------------------------------------------ runs
    def supersede_bill(self, old: BillRecord, records: list[Model], audit) -> None:
        """A corrected bill replaces an unpaid one, atomically: the old bill SUPERSEDED and out
        of the outstanding index, its code retired; the new bill, its details, its code and
        its index entry written. Refused if the old bill was paid or changed meanwhile."""
        new = records[0]
        try:
            with transact_write() as tx:
                tx.update(old, actions=[
                    BillRecord.status.set(SUPERSEDED),
                    BillRecord.branch_status.set(f"{old.branch}#{SUPERSEDED}"),
                    BillRecord.superseded_by.set(new.bill_id),
                    BillRecord.outstanding_shard.remove(),
                    BillRecord.outstanding_sort.remove(),
                    BillRecord.version.add(1)],
                    condition=BillRecord.status.is_in(*OUTSTANDING)
                    & (BillRecord.amount_paid == 0) & (BillRecord.version == old.version))
                _leave_outstanding_index(tx, [old])
                if old.payment_code:
                    tx.update(PaymentCodeRecord(old.payment_code),
                              actions=[PaymentCodeRecord.status.set(SUPERSEDED)],
                              condition=PaymentCodeRecord.status == "ACTIVE")
                for item in records:
                    if isinstance(item, BillRecord):
                        tx.save(item, condition=BillRecord.bill_id.does_not_exist())
                    elif isinstance(item, PaymentCodeRecord):
                        tx.save(item, condition=PaymentCodeRecord.code.does_not_exist())
                    else:
                        tx.save(item)
                if _indexed(new):
                    tx.save(OutstandingBillRecord.of(new))
                tx.save(audit)
        except TransactWriteError as exc:
            raise Conflict("the bill was paid or changed while the wage report was applied; "
                           "reload the bill", code="STATE_CHANGED") from exc

    def claim_run(self, run_key: str, now: datetime, lease_seconds: int = 900) -> bool:
        """One generation run per period and segment at a time; a crashed run's lease
        expires so the next attempt resumes (bills already written are skipped)."""
        from datetime import timedelta

        record = BillingRunRecord(run_key, status="RUNNING",
                                  lease_until=now + timedelta(seconds=lease_seconds))
        try:
            record.save(condition=(BillingRunRecord.run_key.does_not_exist())
                        | (BillingRunRecord.status == "DONE")
                        | (BillingRunRecord.lease_until < now))
            return True
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise

    def finish_run(self, run_key: str, created: int, skipped: int, failed: int,
                   now: datetime) -> None:
        BillingRunRecord(run_key).update(actions=[
            BillingRunRecord.status.set("DONE"), BillingRunRecord.created.set(created),
            BillingRunRecord.skipped.set(skipped), BillingRunRecord.failed.set(failed),
            BillingRunRecord.finished_at.set(now)])

    def run(self, run_key: str) -> BillingRunRecord | None:
        try:
            return BillingRunRecord.get(run_key)
        except BillingRunRecord.DoesNotExist:
            return None


    # ------------------------------------------------------------------ receivables
    def outstanding_due_between(self, first: str, last: str) -> Iterator[BillRecord]:
        """OPEN/OVERDUE bills due on a day in [first, last] (ISO dates): the pre-due
        reminders' read, keyed on the same sparse index as the daily check."""
        yield from self._outstanding(
            OutstandingBillRecord.outstanding_sort.between(f"{first}#", f"{last}#~"))

    def post_allocated_payment(self, payment: PaymentRecord, settled: list[BillRecord],
                               partial: BillRecord | None, partial_amount: int,
                               extra_writes: Iterable = ()) -> None:
        """A payment allocated across a party's bills, oldest first (receivables): in one
        transaction the payment under its idempotency key, each settled bill OPEN/OVERDUE ->
        PAID at the version read (as post_payment), the next bill's amount_paid raised by
        `partial_amount` (it stays outstanding: a partial payment), and `extra_writes`
        (callables given the transaction: the payer's credit, history, audit). Raises
        TransactionRefused naming the failed items: 0 = payment key exists, 1..n = settled
        bills, n+1 = the partially paid bill."""
        deletes = 0
        try:
            with transact_write() as tx:
                tx.save(payment, condition=PaymentRecord.payment_key.does_not_exist())
                _mark_paid(tx, settled, payment)
                if partial is not None:
                    tx.update(partial, actions=[BillRecord.amount_paid.add(partial_amount),
                                                BillRecord.version.add(1)],
                              condition=(BillRecord.status.is_in(*OUTSTANDING))
                              & (BillRecord.version == partial.version))
                for write in extra_writes:
                    write(tx)
                deletes = _leave_outstanding_index(tx, settled)
        except TransactWriteError as exc:
            failed = _condition_failed(exc, deletes)
            if failed:
                raise TransactionRefused(failed) from exc
            raise


def _mark_paid(tx, bills: Iterable[BillRecord], payment: PaymentRecord) -> None:
    """Each bill OPEN/OVERDUE -> PAID at the version read (so the amount it was checked
    against still holds), with what settled it; it leaves the index's attributes."""
    for bill in bills:
        tx.update(bill, actions=[
            BillRecord.status.set(PAID),
            BillRecord.amount_paid.set(bill.amount_paid),
            BillRecord.fine.set(bill.fine),
            BillRecord.payment_id.set(payment.payment_id),
            BillRecord.paid_at.set(payment.paid_at),
            BillRecord.branch_status.set(f"{bill.branch}#{PAID}"),
            BillRecord.outstanding_shard.remove(),
            BillRecord.outstanding_sort.remove(),
            BillRecord.version.add(1),
        ], condition=(BillRecord.status.is_in(*OUTSTANDING))
            & (BillRecord.version == bill.version))


def _leave_outstanding_index(tx, bills: Iterable[BillRecord]) -> int:
    """A bill that is paid leaves the outstanding index in the transaction that pays it
    (an unconditional delete: it can never be the item that refuses). Returns the number of
    deletes, which PynamoDB places first in the transaction."""
    deletes = 0
    for bill in bills:
        if _indexed(bill):
            tx.delete(OutstandingBillRecord(bill.outstanding_shard, bill.outstanding_sort))
            deletes += 1
    return deletes


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
