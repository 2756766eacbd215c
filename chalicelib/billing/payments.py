"""Posting payments exactly once, whatever the retries, and what follows a payment.

A payment is one DynamoDB transaction (store.post_payment): the payment under its
idempotency key, every bill it settles OPEN/OVERDUE -> PAID at the version read, and the
payment code ACTIVE -> USED. What follows (JHT ledger, membership status, receipt) runs from
the payments queue, never inside the partner's request; a payment whose message could not be
enqueued stays flagged and is re-driven by the daily reconciliation schedule.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from chalicelib.shared_kernel.calendar import jakarta_today
from chalicelib.shared_kernel.errors import Conflict, NotFound, SmileError
from chalicelib.shared_kernel.records import audit_entry

from .bills import is_well_formed_payment_code
from .store import OUTSTANDING, PAID, BillingStore, BillRecord, PaymentCodeRecord, \
    PaymentRecord, TransactionRefused


class CodeProblem(SmileError):
    """A payment code that cannot be paid: reason NOT_FOUND, MALFORMED, PAID or EXPIRED."""

    status = 404

    def __init__(self, reason: str, message: str):
        super().__init__(message, code=f"CODE_{reason}")
        self.reason = reason


@dataclass
class CodeLookup:
    code: PaymentCodeRecord
    bills: list[BillRecord]
    amount_due: int
    lines: list[dict]


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class PaymentService:
    def __init__(self, store: BillingStore, billing, publish: Callable[[dict], None],
                 clock: Callable[[], datetime], notify: Callable | None = None):
        self.store = store
        self.billing = billing
        self.publish = publish
        self.clock = clock
        self.notify = notify

    # ------------------------------------------------------------------ lookup
    def lookup(self, code: str, on: date) -> CodeLookup:
        """What a payment code asks for today, or why it cannot be paid."""
        if not is_well_formed_payment_code(code):
            raise CodeProblem("MALFORMED", "payment code is mistyped (check digit)")
        record = self.store.code(code)
        if record is None:
            raise CodeProblem("NOT_FOUND", "no bill has this payment code")
        if record.status == "USED":
            raise CodeProblem("PAID", "this payment code has been paid")
        bills = self.store.bills(record.bill_ids)
        if record.status != "ACTIVE" or date.fromisoformat(record.expires_on) < on:
            if bills and all(b.status == PAID for b in bills):
                raise CodeProblem("PAID", "this payment code has been paid")
            raise CodeProblem("EXPIRED", "this payment code has expired; ask the branch for "
                              "a new one")
        if not bills or any(b.status not in OUTSTANDING for b in bills):
            raise CodeProblem("PAID", "the bill of this payment code is already settled")
        total = 0
        lines = []
        for bill in sorted(bills, key=lambda b: b.period):
            owed = self.billing.owed(bill, on)
            total += owed.due
            lines.append({"bill_id": bill.bill_id, "period": bill.period,
                          "contribution": owed.contribution, "fine": owed.fine,
                          "amount": owed.due, "lines": json.loads(bill.lines)})
        return CodeLookup(record, bills, total, lines)

    # ------------------------------------------------------------------ post
    def post(self, *, payment_key: str, lookup: CodeLookup, amount: int, channel: str,
             content_fingerprint: str, posted_by: str, client_id: str | None = None,
             channel_id: str | None = None, request_id: str | None = None,
             external_id: str | None = None, reason: str | None = None,
             response_for: Callable[[PaymentRecord], dict] | None = None) -> PaymentRecord:
        """Post `amount` against the looked-up bills. Raises Conflict(AMOUNT_MISMATCH) when
        the amount is not what is due, Conflict(PAID_BILL) when another payment won."""
        now = self.clock()
        today = jakarta_today(now)
        if amount != lookup.amount_due:
            raise Conflict(f"amount {amount} does not equal the amount due "
                           f"{lookup.amount_due}", code="AMOUNT_MISMATCH")
        for bill in lookup.bills:
            owed = self.billing.owed(bill, today)
            bill.fine, bill.amount_paid = owed.fine, owed.contribution + owed.fine
        payment = PaymentRecord(
            payment_key, payment_id=str(uuid.uuid4()), code=lookup.code.code,
            bill_ids=[b.bill_id for b in lookup.bills], amount=amount, channel=channel,
            client_id=client_id, channel_id=channel_id, request_id=request_id,
            external_id=external_id, fingerprint=content_fingerprint, posted_by=posted_by,
            reason=reason, day=today.isoformat(), paid_at=now, downstream_pending="PENDING")
        if response_for is not None:
            payment.response = json.dumps(response_for(payment))
        extra = []
        if channel == "MANUAL":
            extra.append(audit_entry(f"bill#{lookup.bills[0].bill_id}", posted_by,
                                     "MANUAL_PAYMENT", reason=reason,
                                     details={"amount": amount, "payment_key": payment_key},
                                     at=now))
        try:
            self.store.post_payment(payment, lookup.bills, lookup.code, extra)
        except TransactionRefused as exc:
            if 0 in exc.failed_items:
                raise PaymentExists(payment_key) from exc
            raise Conflict("the bill was paid by another payment", code="PAID_BILL") from exc
        self._hand_over(payment)
        return payment

    def _hand_over(self, payment: PaymentRecord) -> None:
        try:
            self.publish({"payment_key": payment.payment_key, "payment_id": payment.payment_id})
        except Exception:  # noqa: BLE001 - stays flagged; the daily schedule re-drives it
            return
        self.store.mark_downstream_done(payment.payment_key)

    def redrive_pending(self) -> int:
        count = 0
        for key in self.store.payments_pending_downstream():
            payment = self.store.payment(key)
            if payment is not None:
                self._hand_over(payment)
                count += 1
        return count

    # ------------------------------------------------------------------ manual
    def post_manual(self, bill_id: str, *, amount: int, receipt_number: str, reason: str,
                    principal) -> dict:
        """Cash at the branch: the same transaction as a partner payment, with who and why."""
        from chalicelib.shared_kernel.auth import Role

        principal.require_role([Role.RECEIVABLES, Role.ADMIN])
        bill = self.store.bill(bill_id)
        principal.require_branch(bill.branch)
        key = f"MANUAL#{bill.branch}#{receipt_number}"
        existing = self.store.payment(key)
        content = fingerprint(bill_id, amount, receipt_number)
        if existing is not None:
            if existing.fingerprint != content:
                raise Conflict("this receipt number was already used for another payment",
                               code="RECEIPT_REUSED")
            return payment_view(existing)
        if bill.status not in OUTSTANDING or not bill.payment_code:
            raise Conflict(f"bill is {bill.status}", code="PAID_BILL")
        lookup = self.lookup(bill.payment_code, jakarta_today(self.clock()))
        payment = self.post(payment_key=key, lookup=lookup, amount=amount, channel="MANUAL",
                            content_fingerprint=content, posted_by=principal.subject,
                            reason=reason, request_id=receipt_number)
        return payment_view(payment)

    # ------------------------------------------------------------------ downstream
    def after_payment(self, payment_key: str, registration) -> dict:
        """Consumer side, idempotent: JHT credits keyed by bill, status moves forward only."""
        payment = self.store.payment(payment_key)
        if payment is None:
            raise NotFound(f"no payment {payment_key}", code="PAYMENT_NOT_FOUND")
        credited = 0
        for bill in self.store.bills(payment.bill_ids):
            entries = self.billing.jht_entries_for_bill(bill, payment.payment_id, self.clock())
            credited += self.store.credit_jht(entries)
            if bill.kind == "EMPLOYER":
                ids = [w["participant_id"] for w in self.store.bill_details(bill.bill_id)]
            else:
                ids = [bill.party_key.split("#", 1)[1]]
            registration.record_payment(ids, bill.period)
        self._send_receipt(payment)
        return {"payment_id": payment.payment_id, "jht_entries": credited}

    def _send_receipt(self, payment: PaymentRecord) -> None:
        """The payer's receipt (payment_received template), once per payment."""
        if not self.notify:
            return
        from chalicelib.shared_kernel.messaging import MessageRequest

        bills = self.store.bills(payment.bill_ids)
        if not bills:
            return
        first = bills[0]
        kind, party_id = (("EMPLOYER", first.party_key.split("#", 1)[1])
                          if first.kind == "EMPLOYER"
                          else ("PARTICIPANT", first.party_key.split("#", 1)[1]))
        self.notify(MessageRequest(
            dedupe_key=f"receipt:{payment.payment_id}", template="payment_received",
            recipient_kind=kind, recipient_id=party_id, source="payment",
            branch=first.branch,
            params={"nama": first.party_name, "periode": min(b.period for b in bills),
                    "jumlah": int(payment.amount), "tanggal_bayar": payment.day,
                    "kanal": channel_label(payment),
                    "nomor_referensi": payment.request_id or payment.payment_id}))

    # ------------------------------------------------------------------ allocation
    def post_allocated(self, *, payment_key: str, amount: int, settled: list[BillRecord],
                       partial: BillRecord | None, partial_amount: int, channel: str,
                       content_fingerprint: str, posted_by: str, reason: str | None = None,
                       request_id: str | None = None, extra_writes=(),
                       response_for: Callable[[PaymentRecord], dict] | None = None
                       ) -> PaymentRecord:
        """A payment receivables allocated across one party's bills, oldest first: each
        `settled` bill is paid in full at today's amount (contribution + fine - paid before),
        `partial` receives `partial_amount` and stays outstanding, and the remainder is the
        caller's (its credit, among `extra_writes`). Same guarantees as post(): one
        transaction, posted once under `payment_key`; what follows a payment (JHT, membership,
        receipt) runs for the settled bills through the payments queue."""
        now = self.clock()
        today = jakarta_today(now)
        applied = 0
        for bill in settled:
            owed = self.billing.owed(bill, today)
            applied += owed.due
            bill.fine, bill.amount_paid = owed.fine, owed.contribution + owed.fine
        if partial_amount < 0 or applied + partial_amount > amount:
            raise Conflict(f"allocation of {applied + partial_amount} exceeds the payment "
                           f"{amount}", code="ALLOCATION_MISMATCH")
        payment = PaymentRecord(
            payment_key, payment_id=str(uuid.uuid4()), code=None,
            bill_ids=[b.bill_id for b in settled], amount=amount, channel=channel,
            fingerprint=content_fingerprint, posted_by=posted_by, reason=reason,
            request_id=request_id, day=today.isoformat(), paid_at=now,
            downstream_pending="PENDING" if settled else None)
        if response_for is not None:
            payment.response = json.dumps(response_for(payment))
        try:
            self.store.post_allocated_payment(payment, settled, partial, partial_amount,
                                              extra_writes)
        except TransactionRefused as exc:
            if 0 in exc.failed_items:
                raise PaymentExists(payment_key) from exc
            raise Conflict("a bill was paid or changed meanwhile; reload and try again",
                           code="STATE_CHANGED") from exc
        if settled:
            self._hand_over(payment)
        return payment


def channel_label(payment: PaymentRecord) -> str:
    if payment.channel == "MANUAL":
        return "loket kantor cabang"
    return f"mitra pembayaran {payment.client_id}"


class PaymentExists(Exception):
    def __init__(self, payment_key: str):
        super().__init__(payment_key)
        self.payment_key = payment_key


def payment_view(payment: PaymentRecord) -> dict:
    return {"payment_id": payment.payment_id, "bill_ids": list(payment.bill_ids),
            "amount": int(payment.amount), "channel": payment.channel,
            "paid_at": payment.paid_at.isoformat(), "payment_code": payment.code}
