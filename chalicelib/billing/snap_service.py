"""SNAP partner channels' use cases: onboarding partners, the B2B access token, VA inquiry,
payment and status, and the daily reconciliation with partners' settlement files.

Every SNAP request goes through the same gate before any business work: headers, bearer
token (bound to the partner and its credential version), timestamp within the replay window,
partner active on its channel, HMAC-SHA512 over the raw body as received, and only then the
X-EXTERNAL-ID claim (so unauthenticated junk never burns an id). A refusal at the gate
writes nothing.

Payments post through billing's PaymentService: one DynamoDB transaction keyed by
"<client_id>#<paymentRequestId>". A retry of a posted payment answers the stored original
response; a different payment for a paid bill answers "paid bill"; the same
paymentRequestId with other content answers "inconsistent request".
"""
from __future__ import annotations

import csv
import io
import json
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping

from pynamodb.exceptions import TransactWriteError

from chalicelib.shared_kernel.calendar import JAKARTA, jakarta_today, to_jakarta
from chalicelib.shared_kernel.errors import Conflict, ValidationFailed
from chalicelib.shared_kernel.records import audit_entry, next_value

from .payments import CodeLookup, CodeProblem, PaymentExists, PaymentService, fingerprint
from .snap.codes import Service, SnapError, success_code
from .snap.credentials import AccessTokens, SecretBox, check_public_key, key_fingerprint, \
    new_client_secret
from .snap.headers import (X_CLIENT_KEY, X_PARTNER_ID, TransactionHeaders, check_timestamp,
                           get_header, parse_token_headers, parse_transaction_headers)
from .snap.messages import (BILL_DETAILS_MAX, PAYMENT_FLAG_FAILED, BillDetail, PaymentRequest,
                            Reason, SnapModel, StatusRequest, inquiry_rejection_data,
                            inquiry_response, pad_partner_service_id, parse_inquiry_request,
                            parse_payment_request, parse_request, parse_status_request,
                            payment_rejection_data, payment_response, status_response)
from .snap.signatures import verify_asymmetric_signature, verify_symmetric_signature
from .snap_store import ACTIVE, DISABLED, PartnerRecord, SnapStore, SettlementImportRecord
from .store import BillingStore, PaymentRecord

SNAP_CHANNEL = "SNAP"
RESERVED_CLIENT_IDS = frozenset({"MANUAL"})  # payment keys "MANUAL#..." are the branch's
FIRST_COMPANY_CODE = 88800
POST_ATTEMPTS = 3

# Reasons a channel may show the payer (english, indonesia).
_REASONS = {
    "NOT_FOUND": Reason("Bill not found", "Tagihan tidak ditemukan"),
    "PAID": Reason("Bill has been paid", "Tagihan sudah dibayar"),
    "EXPIRED": Reason("Payment code has expired", "Kode bayar sudah kedaluwarsa"),
    "MALFORMED": Reason("Invalid payment code", "Kode bayar tidak valid"),
    "AMOUNT": Reason("Invalid amount", "Jumlah pembayaran tidak sesuai"),
    "UNPAID": Reason("Not paid", "Belum dibayar"),
}


class TokenRequest(SnapModel):
    grant_type: str


def _refusal(problem: CodeProblem) -> tuple[SnapError, Reason]:
    if problem.reason == "MALFORMED":
        return SnapError.invalid_field_format("customerNo"), _REASONS["MALFORMED"]
    if problem.reason == "PAID":
        return SnapError.paid_bill(), _REASONS["PAID"]
    if problem.reason == "EXPIRED":
        return SnapError.bill_expired(), _REASONS["EXPIRED"]
    return SnapError.bill_not_found(), _REASONS["NOT_FOUND"]


class SnapService:
    def __init__(self, store: SnapStore, billing_store: BillingStore, payments: PaymentService,
                 secrets: Callable[[], SecretBox], clock: Callable[[], datetime], *,
                 replay_window_seconds: int = 300, token_ttl_seconds: int = 900, log=None):
        self.store = store
        self.billing_store = billing_store
        self.payments = payments
        self._secrets = secrets
        self.clock = clock
        self.replay_window = replay_window_seconds
        self.token_ttl = token_ttl_seconds
        self.log = log

    # The stage key is read on first use (a file locally, Secrets Manager when deployed).
    @property
    def box(self) -> SecretBox:
        return self._secrets()

    @property
    def tokens(self) -> AccessTokens:
        return AccessTokens(self.box.token_key, self.token_ttl)

    # ================================================================== partners (ADMIN)
    def onboard(self, *, client_id: str, name: str, channel_id: str, public_key_pem: str,
                company_code: str | None, principal) -> dict:
        if client_id.upper() in RESERVED_CLIENT_IDS:
            raise ValidationFailed(f"client_id {client_id} is reserved", field="client_id")
        pem = _checked_key(public_key_pem)
        if company_code is None:
            company_code = self._next_company_code()
        now = self.clock()
        secret = new_client_secret()
        partner = PartnerRecord(
            client_id, name=name, channel_id=channel_id, company_code=company_code,
            partner_service_id=pad_partner_service_id(company_code), public_key_pem=pem,
            key_fingerprint=key_fingerprint(pem), secret_ciphertext=self.box.encrypt(secret),
            status=ACTIVE, credential_version=1, created_at=now, created_by=principal.subject,
            updated_at=now, secret_rotated_at=now, key_rotated_at=now)
        audit = audit_entry(f"partner#{client_id}", principal.subject, "PARTNER_ONBOARDED",
                            details={"name": name, "channel_id": channel_id,
                                     "company_code": company_code,
                                     "key_fingerprint": partner.key_fingerprint}, at=now)
        self.store.add_partner(partner, audit)
        self._info("snap_partner_onboarded", client_id=client_id)
        return {**partner_view(partner), "client_secret": secret}

    def _next_company_code(self) -> str:
        """The next company code from a counter, skipping codes given explicitly before."""
        for _ in range(50):
            code = str(FIRST_COMPANY_CODE + next_value("snap-company-code"))
            if not self.store.company_code_taken(code):
                return code
        raise Conflict("no free company code found; give company_code explicitly",
                       code="COMPANY_CODE_TAKEN")

    def partners(self) -> dict:
        return {"items": [partner_view(p) for p in self.store.partners()], "next_token": None}

    def partner(self, client_id: str) -> dict:
        return partner_view(self.store.existing_partner(client_id))

    def set_status(self, client_id: str, status: str, reason: str, principal) -> dict:
        partner = self.store.existing_partner(client_id)
        if partner.status == status:  # idempotent: a second click changes nothing
            return partner_view(partner)
        now = self.clock()
        action = "PARTNER_DISABLED" if status == DISABLED else "PARTNER_ENABLED"
        self.store.update_partner(
            partner, [PartnerRecord.status.set(status), PartnerRecord.updated_at.set(now)],
            audit_entry(f"partner#{client_id}", principal.subject, action, reason=reason,
                        at=now))
        self._info("snap_partner_status", client_id=client_id, status=status)
        return partner_view(self.store.existing_partner(client_id))

    def rotate_secret(self, client_id: str, reason: str, principal) -> dict:
        partner = self.store.existing_partner(client_id)
        now = self.clock()
        secret = new_client_secret()
        self.store.update_partner(
            partner, [PartnerRecord.secret_ciphertext.set(self.box.encrypt(secret)),
                      PartnerRecord.secret_rotated_at.set(now),
                      PartnerRecord.updated_at.set(now)],
            audit_entry(f"partner#{client_id}", principal.subject, "PARTNER_SECRET_ROTATED",
                        reason=reason, at=now))
        self._info("snap_partner_secret_rotated", client_id=client_id)
        return {**partner_view(self.store.existing_partner(client_id)), "client_secret": secret}

    def replace_key(self, client_id: str, public_key_pem: str, reason: str, principal) -> dict:
        partner = self.store.existing_partner(client_id)
        pem = _checked_key(public_key_pem)
        now = self.clock()
        fingerprint_ = key_fingerprint(pem)
        self.store.update_partner(
            partner, [PartnerRecord.public_key_pem.set(pem),
                      PartnerRecord.key_fingerprint.set(fingerprint_),
                      PartnerRecord.key_rotated_at.set(now), PartnerRecord.updated_at.set(now)],
            audit_entry(f"partner#{client_id}", principal.subject, "PARTNER_KEY_REPLACED",
                        reason=reason, details={"old": partner.key_fingerprint,
                                                "new": fingerprint_}, at=now))
        self._info("snap_partner_key_replaced", client_id=client_id)
        return partner_view(self.store.existing_partner(client_id))

    # ================================================================== SNAP: token
    def access_token(self, headers: Mapping[str, str], raw_body: bytes) -> dict:
        service = Service.ACCESS_TOKEN_B2B
        try:
            now = self.clock()
            parsed = parse_token_headers(headers)
            check_timestamp(parsed.instant, now, self.replay_window)
            partner = self.store.partner(parsed.client_key)
            if partner is None:
                raise SnapError.unauthorized("Unknown client")
            if partner.status != ACTIVE:
                raise SnapError.unauthorized("Client disabled")
            if not verify_asymmetric_signature(partner.public_key_pem, parsed.client_key,
                                               parsed.timestamp, parsed.signature):
                raise SnapError.unauthorized("Signature")
            request = parse_request(TokenRequest, raw_body, service)
            if request.grant_type != "client_credentials":
                raise SnapError.invalid_field_format("grantType")
            token = self.tokens.issue(partner.client_id, int(partner.credential_version),
                                      now.timestamp())
        except SnapError as error:
            raise self._refused(error, service, headers)
        self._info("snap_token_issued", client_id=partner.client_id)
        return {"responseCode": success_code(service), "responseMessage": "Successful",
                "accessToken": token, "tokenType": "Bearer", "expiresIn": str(self.token_ttl)}

    # ================================================================== SNAP: the gate
    def _authenticate(self, headers: Mapping[str, str], raw_body: bytes, path: str,
                      now: datetime) -> tuple[PartnerRecord, TransactionHeaders]:
        parsed = parse_transaction_headers(headers)
        claims = self.tokens.verify(parsed.access_token, now.timestamp())
        if claims is None or claims.client_id != parsed.partner_id:
            raise SnapError.invalid_token()
        check_timestamp(parsed.instant, now, self.replay_window)
        partner = self.store.partner(parsed.partner_id)
        if partner is None:
            raise SnapError.invalid_token()
        if partner.status != ACTIVE:
            raise SnapError.unauthorized("Client disabled")
        if claims.version != int(partner.credential_version):
            raise SnapError.invalid_token()  # issued before a rotation or a disable
        if parsed.channel_id != partner.channel_id:
            raise SnapError.unauthorized("Unknown CHANNEL-ID")
        if not verify_symmetric_signature(self.box.decrypt(partner.secret_ciphertext), "POST",
                                          path, parsed.access_token, raw_body,
                                          parsed.timestamp, parsed.signature):
            raise SnapError.unauthorized("Signature")
        return partner, parsed

    def _claim_external_id(self, partner: PartnerRecord, parsed: TransactionHeaders) -> None:
        # The day of the signed X-TIMESTAMP (Jakarta): a replay of one signed request always
        # meets its own claim, even across midnight.
        day = parsed.instant.date()
        expires = datetime.combine(day + timedelta(days=2), time(), tzinfo=JAKARTA)
        if not self.store.claim_external_id(partner.client_id, day.isoformat(),
                                            parsed.external_id, expires):
            raise SnapError.conflict()

    @staticmethod
    def _check_service_id(request, partner: PartnerRecord) -> None:
        if request.partner_service_id != partner.partner_service_id:
            raise SnapError.bill_not_found("Unknown partnerServiceId")

    # ================================================================== SNAP: inquiry
    def inquiry(self, headers: Mapping[str, str], raw_body: bytes, path: str) -> dict:
        service = Service.VA_INQUIRY
        try:
            now = self.clock()
            partner, parsed = self._authenticate(headers, raw_body, path, now)
            request = parse_inquiry_request(raw_body)
            self._claim_external_id(partner, parsed)
            self._check_service_id(request, partner)
            try:
                found = self.payments.lookup(request.customer_no, jakarta_today(now))
            except CodeProblem as problem:
                error, reason = _refusal(problem)
                error.virtual_account_data = inquiry_rejection_data(request, reason)
                raise error from problem
            body = inquiry_response(
                partner_service_id=request.partner_service_id,
                customer_no=request.customer_no,
                virtual_account_name=found.bills[0].party_name,
                inquiry_request_id=request.inquiry_request_id,
                total_amount=found.amount_due, bill_details=bill_details(found))
        except SnapError as error:
            raise self._refused(error, service, headers)
        self._info("snap_inquiry", client_id=partner.client_id, amount=found.amount_due)
        return body

    # ================================================================== SNAP: payment
    def payment(self, headers: Mapping[str, str], raw_body: bytes, path: str) -> dict:
        service = Service.VA_PAYMENT
        try:
            now = self.clock()
            partner, parsed = self._authenticate(headers, raw_body, path, now)
            request = parse_payment_request(raw_body)
            self._claim_external_id(partner, parsed)
            key = f"{partner.client_id}#{request.payment_request_id}"
            content = payment_content(request)
            if request.partner_service_id != partner.partner_service_id:
                return self._replay_or_refuse(key, content, SnapError.bill_not_found(
                    "Unknown partnerServiceId"))
            return self._post(partner, parsed, request, key, content, now)
        except SnapError as error:
            raise self._refused(error, service, headers)

    def _post(self, partner: PartnerRecord, parsed: TransactionHeaders,
              request: PaymentRequest, key: str, content: str, now: datetime) -> dict:
        amount = request.paid_amount.value
        for _ in range(POST_ATTEMPTS):
            try:
                found = self.payments.lookup(request.customer_no, jakarta_today(now))
            except CodeProblem as problem:
                error, reason = _refusal(problem)
                error.virtual_account_data = payment_rejection_data(request, reason)
                return self._replay_or_refuse(key, content, error)
            total = request.total_amount.value if request.total_amount else amount
            if amount != found.amount_due or total != found.amount_due:
                error = SnapError.invalid_amount()
                error.virtual_account_data = payment_rejection_data(request, _REASONS["AMOUNT"])
                return self._replay_or_refuse(key, content, error)
            try:
                payment = self.payments.post(
                    payment_key=key, lookup=found, amount=amount, channel=SNAP_CHANNEL,
                    content_fingerprint=content, posted_by=f"snap:{partner.client_id}",
                    client_id=partner.client_id, channel_id=parsed.channel_id,
                    request_id=request.payment_request_id, external_id=parsed.external_id,
                    response_for=lambda p: self._payment_body(request, found, p))
            except PaymentExists:
                # A concurrent copy of this payment won, or the reference was used before.
                return self._replay_or_refuse(key, content, SnapError.inconsistent_request())
            except Conflict as conflict:
                if conflict.code == "AMOUNT_MISMATCH":
                    raise SnapError.invalid_amount() from conflict
                error = SnapError.paid_bill()  # another payment won the bill meanwhile
                error.virtual_account_data = payment_rejection_data(request, _REASONS["PAID"])
                raise error from conflict
            except TransactWriteError:
                # Refused without a condition failing (DynamoDB's TransactionConflict with a
                # concurrent writer): read again and retry; the outcome is decided above.
                continue
            self._info("snap_payment_posted", client_id=partner.client_id,
                       payment_id=payment.payment_id, amount=amount)
            return json.loads(payment.response)
        raise SnapError.general_error()

    def _replay_or_refuse(self, key: str, content: str, refusal: SnapError) -> dict:
        """The original answer if this very payment was posted before; 4042518 if the
        reference was posted with other content; else the refusal."""
        existing = self.billing_store.payment(key)
        if existing is None:
            raise refusal
        if existing.fingerprint == content and existing.response:
            return json.loads(existing.response)
        raise SnapError.inconsistent_request()

    @staticmethod
    def _payment_body(request: PaymentRequest, found: CodeLookup,
                      payment: PaymentRecord) -> dict:
        return payment_response(
            partner_service_id=request.partner_service_id, customer_no=request.customer_no,
            virtual_account_name=found.bills[0].party_name,
            payment_request_id=request.payment_request_id, paid_amount=found.amount_due,
            total_amount=found.amount_due, trx_date_time=request.trx_date_time,
            reference_no=request.reference_no, trx_id=request.trx_id,
            bill_details=bill_details(found),
            additional_info={"paymentId": payment.payment_id})

    # ================================================================== SNAP: status
    def status(self, headers: Mapping[str, str], raw_body: bytes, path: str) -> dict:
        service = Service.VA_STATUS
        try:
            now = self.clock()
            partner, parsed = self._authenticate(headers, raw_body, path, now)
            request = parse_status_request(raw_body)
            self._claim_external_id(partner, parsed)
            self._check_service_id(request, partner)
            return self._status(partner, request)
        except SnapError as error:
            raise self._refused(error, service, headers)

    def _status(self, partner: PartnerRecord, request: StatusRequest) -> dict:
        reference = request.payment_request_id or request.inquiry_request_id
        if reference:
            payment = self.billing_store.payment(f"{partner.client_id}#{reference}")
            if payment is not None and payment.code == request.customer_no:
                return self._status_of(request, payment)
            if request.payment_request_id:
                raise SnapError.transaction_not_found()
        # The virtual account alone: a payment code is paid at most once.
        code = self.billing_store.code(request.customer_no)
        if code is None:
            raise SnapError.bill_not_found()
        identity = dict(partner_service_id=request.partner_service_id,
                        customer_no=request.customer_no,
                        inquiry_request_id=request.inquiry_request_id)
        if code.status == "USED":
            bills = self.billing_store.bills(code.bill_ids)
            paid_at = max((b.paid_at for b in bills if b.paid_at), default=None)
            paid = sum(int(b.amount_paid) for b in bills)
            return status_response(payment_request_id=None, paid_amount=paid,
                                   total_amount=paid, transaction_date=_iso(paid_at),
                                   **identity)
        expired = code.status != "ACTIVE" or \
            date.fromisoformat(code.expires_on) < jakarta_today(self.clock())
        return status_response(payment_request_id=None, payment_flag_status=PAYMENT_FLAG_FAILED,
                               payment_flag_reason=_REASONS["EXPIRED" if expired else "UNPAID"],
                               **identity)

    @staticmethod
    def _status_of(request: StatusRequest, payment: PaymentRecord) -> dict:
        original = json.loads(payment.response).get("virtualAccountData", {}) \
            if payment.response else {}
        return status_response(
            partner_service_id=request.partner_service_id, customer_no=request.customer_no,
            payment_request_id=payment.request_id,
            inquiry_request_id=request.inquiry_request_id or payment.request_id,
            paid_amount=int(payment.amount), total_amount=int(payment.amount),
            trx_date_time=original.get("trxDateTime"), transaction_date=_iso(payment.paid_at),
            reference_no=original.get("referenceNo"))

    # ================================================================== helpers
    def _refused(self, error: SnapError, service: str, headers: Mapping[str, str]) -> SnapError:
        error.for_service(service)
        client = get_header(headers, X_PARTNER_ID) or get_header(headers, X_CLIENT_KEY)
        self._info("snap_refused", response_code=error.response_code(),
                   client_id=(client or "")[:36])
        return error

    def _info(self, event: str, **fields: Any) -> None:
        if self.log:
            self.log.info(event, extra=fields)


def _checked_key(pem: str) -> str:
    try:
        return check_public_key(pem)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="public_key_pem",
                               code="INVALID_PUBLIC_KEY") from exc


def _iso(moment: datetime | None) -> str | None:
    return to_jakarta(moment).replace(microsecond=0).isoformat() if moment else None


def payment_content(request: PaymentRequest) -> str:
    """What makes two payment requests "the same payment": the account and the amounts, and
    the partner's own references. Not trxDateTime: a partner's retry may stamp it again."""
    return fingerprint(request.virtual_account_no, request.paid_amount.value,
                       request.paid_amount.currency,
                       request.total_amount.value if request.total_amount else None,
                       request.reference_no, request.trx_id)


def partner_view(partner: PartnerRecord) -> dict:
    return {"client_id": partner.client_id, "name": partner.name,
            "channel_id": partner.channel_id, "company_code": partner.company_code,
            "partner_service_id": partner.partner_service_id, "status": partner.status,
            "key_fingerprint": partner.key_fingerprint,
            "created_at": partner.created_at.isoformat(),
            "updated_at": partner.updated_at.isoformat(),
            "secret_rotated_at": partner.secret_rotated_at.isoformat(),
            "key_rotated_at": partner.key_rotated_at.isoformat()}


def bill_details(found: CodeLookup) -> list[BillDetail]:
    """billDetails (≤ 24): per bill, one line per program and one for the fine; when that is
    too many (a 12-month BPU prepayment), one line per bill; when even that is, one line."""
    per_program: list[BillDetail] = []
    for bill in found.lines:
        period = bill["period"]
        totals: dict[str, int] = defaultdict(int)
        for line in bill["lines"]:
            totals[line["program"]] += int(line["amount"])
        for program, amount in totals.items():
            per_program.append(BillDetail(
                bill_no=f"{period}-{program}", bill_name=f"Iuran {program} {period}",
                amount=amount, description_english=f"{program} contribution",
                description_indonesia=f"Iuran {program}"))
        if bill["fine"]:
            per_program.append(BillDetail(
                bill_no=f"{period}-DENDA", bill_name=f"Denda {period}", amount=bill["fine"],
                description_english="Late payment fine", description_indonesia="Denda"))
    if len(per_program) <= BILL_DETAILS_MAX and \
            sum(d.amount for d in per_program) == found.amount_due:
        return _numbered(per_program)
    per_bill = [BillDetail(bill_no=bill["period"], bill_name=f"Iuran {bill['period']}",
                           amount=bill["amount"], description_english="Contribution",
                           description_indonesia="Iuran") for bill in found.lines]
    if len(per_bill) <= BILL_DETAILS_MAX:
        return _numbered(per_bill)
    periods = sorted(bill["period"] for bill in found.lines)
    return _numbered([BillDetail(bill_no=f"{periods[0]}", bill_name=f"Iuran {periods[0]}+",
                                 amount=found.amount_due, description_english="Contribution",
                                 description_indonesia="Iuran")])


def _numbered(details: list[BillDetail]) -> list[BillDetail]:
    from dataclasses import replace

    return [replace(d, bill_code=f"{i:02d}") for i, d in enumerate(details, start=1)]


# ====================================================================== reconciliation
CSV_COLUMNS = ("paid_at", "channel", "client_id", "channel_id", "payment_request_id",
               "external_id", "reference_no", "virtual_account_no", "customer_no", "amount",
               "payment_id", "bill_ids")
MAX_SETTLEMENT_ROWS = 100_000

_HEADER_ALIASES = {
    "payment_request_id": ("paymentrequestid", "requestid", "paymentrequest"),
    "amount": ("amount", "paidamount", "paidamountvalue", "amountvalue", "nominal", "jumlah"),
    "customer_no": ("customerno", "paymentcode", "kodebayar"),
    "reference_no": ("referenceno", "reference", "noreferensi"),
}


class ReconciliationService:
    """What SMILE posted per partner and channel for a Jakarta day, as CSV in S3 and through
    the API, and a partner's settlement file compared with it."""

    def __init__(self, store: SnapStore, billing_store: BillingStore,
                 clock: Callable[[], datetime], log=None):
        self.store = store
        self.billing_store = billing_store
        self.clock = clock
        self.log = log

    # ------------------------------------------------------------------ the day's report
    def _payments(self, day: date, client_id: str | None) -> list[PaymentRecord]:
        payments = self.billing_store.payments_of_day(day.isoformat())
        if client_id is not None:
            payments = [p for p in payments
                        if p.channel == SNAP_CHANNEL and p.client_id == client_id]
        return sorted(payments, key=lambda p: (p.paid_at, p.payment_key))

    def report(self, day: date, client_id: str | None, limit: int = 1000,
               offset: int = 0) -> dict:
        if client_id is not None:
            self.store.existing_partner(client_id)
        payments = self._payments(day, client_id)
        rows = [payment_row(p) for p in payments]
        imports = self.store.imports_of(client_id, day.isoformat()) if client_id else []
        key = self.store.report_key(day.isoformat(), f"{client_id or 'summary'}.csv")
        exists = self.store.file_exists(key)
        page = rows[offset:offset + limit]
        following = offset + limit if offset + limit < len(rows) else None
        return {
            "date": day.isoformat(), "client_id": client_id, "count": len(rows),
            "amount": sum(r["amount"] for r in rows), "groups": _groups(rows),
            "items": page, "next_token": str(following) if following is not None else None,
            "report_key": key if exists else None,
            "report_url": self.store.download_url(key) if exists else None,
            "imports": [import_summary(r) for r in imports],
        }

    def run_daily(self, now: datetime) -> dict:
        """Yesterday (Jakarta): one CSV per partner (an empty day too: the partner sees that
        nothing was posted) and a summary CSV per partner and channel. Overwrites: a rerun
        writes the same files."""
        day = jakarta_today(now) - timedelta(days=1)
        rows = [payment_row(p) for p in self._payments(day, None)]
        by_partner: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            if row["channel"] == SNAP_CHANNEL:
                by_partner[row["client_id"]].append(row)
        partners = [p.client_id for p in self.store.partners()]
        for client_id in sorted(set(partners) | set(by_partner)):
            self.store.put_file(self.store.report_key(day.isoformat(), f"{client_id}.csv"),
                                to_csv(by_partner.get(client_id, []), CSV_COLUMNS),
                                "text/csv")
        groups = _groups(rows)
        self.store.put_file(self.store.report_key(day.isoformat(), "summary.csv"),
                            to_csv(groups, ("channel", "client_id", "channel_id", "count",
                                            "amount")), "text/csv")
        result = {"date": day.isoformat(), "partners": len(set(partners) | set(by_partner)),
                  "payments": len(rows), "amount": sum(r["amount"] for r in rows)}
        if self.log:
            self.log.info("reconciliation_written", extra=result)
        return result

    # ------------------------------------------------------------------ settlement files
    def import_settlement(self, client_id: str, day: date, text: str, filename: str | None,
                          principal) -> dict:
        self.store.existing_partner(client_id)
        partner_rows, invalid = parse_settlement(text)
        ours = {p.request_id: p for p in self._payments(day, client_id)}
        now = self.clock()
        import_id = uuid.uuid4().hex
        result = compare(partner_rows, ours, invalid,
                         self.store.payments_by_keys(
                             f"{client_id}#{r['payment_request_id']}" for r in partner_rows
                             if r["payment_request_id"] not in ours))
        result.update({"import_id": import_id, "client_id": client_id,
                       "date": day.isoformat(), "uploaded_at": now.isoformat(),
                       "uploaded_by": principal.subject, "filename": filename})
        file_key = self.store.import_key(client_id, day.isoformat(), import_id, "csv")
        result_key = self.store.import_key(client_id, day.isoformat(), import_id, "json")
        self.store.put_file(file_key, text.encode("utf-8"), "text/csv")
        self.store.put_file(result_key, json.dumps(result).encode("utf-8"), "application/json")
        record = SettlementImportRecord(
            import_id, client_id=client_id, day=day.isoformat(),
            partner_day=f"{client_id}#{day.isoformat()}", uploaded_at=now,
            uploaded_by=principal.subject, filename=filename, file_key=file_key,
            result_key=result_key, counts=json.dumps(result["counts"]))
        self.store.save_import(record, audit_entry(
            f"partner#{client_id}", principal.subject, "SETTLEMENT_IMPORTED",
            details={"import_id": import_id, "date": day.isoformat(), **result["counts"]},
            at=now))
        return result

    def settlement_import(self, import_id: str) -> dict:
        record = self.store.settlement_import(import_id)
        return json.loads(self.store.read_file(record.result_key))


def payment_row(payment: PaymentRecord) -> dict:
    original = json.loads(payment.response).get("virtualAccountData", {}) \
        if payment.response else {}
    return {"paid_at": _iso(payment.paid_at), "channel": payment.channel,
            "client_id": payment.client_id, "channel_id": payment.channel_id,
            "payment_request_id": payment.request_id, "external_id": payment.external_id,
            "reference_no": original.get("referenceNo"),
            "virtual_account_no": original.get("virtualAccountNo"),
            "customer_no": payment.code, "amount": int(payment.amount),
            "payment_id": payment.payment_id, "bill_ids": list(payment.bill_ids)}


def _groups(rows: list[dict]) -> list[dict]:
    totals: dict[tuple, list[int]] = {}
    for row in rows:
        entry = totals.setdefault((row["channel"], row["client_id"] or "",
                                   row["channel_id"] or ""), [0, 0])
        entry[0] += 1
        entry[1] += row["amount"]
    return [{"channel": c, "client_id": k or None, "channel_id": ch or None, "count": n,
             "amount": a} for (c, k, ch), (n, a) in sorted(totals.items())]


def to_csv(rows: list[dict], columns: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("|".join(v) if isinstance(v, list) else
                             "" if v is None else v) for k, v in row.items()})
    return out.getvalue().encode("utf-8")


def import_summary(record: SettlementImportRecord) -> dict:
    return {"import_id": record.import_id, "uploaded_at": record.uploaded_at.isoformat(),
            "uploaded_by": record.uploaded_by, "filename": record.filename,
            "counts": json.loads(record.counts)}


def _normalise_header(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def parse_settlement(text: str) -> tuple[list[dict], list[dict]]:
    """A partner's settlement CSV -> (rows, invalid rows). Needs a header row naming at least
    the paymentRequestId and the amount; ',', ';', tab or '|' separated; amounts as
    "16800.00" or "16800" (whole rupiah)."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ValidationFailed("the settlement file is empty", field="csv",
                               code="SETTLEMENT_EMPTY")
    first_line = text.splitlines()[0]
    delimiter = max(",;\t|", key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [_normalise_header(h) for h in next(reader)]
    columns: dict[str, int] = {}
    for field, aliases in _HEADER_ALIASES.items():
        for index, name in enumerate(header):
            if name in aliases:
                columns.setdefault(field, index)
    missing = [f for f in ("payment_request_id", "amount") if f not in columns]
    if missing:
        raise ValidationFailed(
            "the settlement file's header must name the paymentRequestId and amount columns "
            f"(missing: {', '.join(missing)})", field="csv", code="SETTLEMENT_HEADER")
    rows: list[dict] = []
    invalid: list[dict] = []
    seen: set[str] = set()
    for line_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) + len(invalid) >= MAX_SETTLEMENT_ROWS:
            raise ValidationFailed(f"the settlement file has more than {MAX_SETTLEMENT_ROWS} "
                                   f"rows; split it", field="csv", code="SETTLEMENT_TOO_LARGE")

        def cell(field: str) -> str:
            index = columns.get(field)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        reference = cell("payment_request_id")
        amount = _settlement_amount(cell("amount"))
        if not reference:
            invalid.append({"line": line_no, "message": "paymentRequestId is empty"})
        elif amount is None:
            invalid.append({"line": line_no, "payment_request_id": reference,
                            "message": f"amount {cell('amount')!r} is not whole rupiah "
                                       f"('16800.00' or '16800')"})
        elif reference in seen:
            invalid.append({"line": line_no, "payment_request_id": reference,
                            "message": "paymentRequestId appears twice in the file"})
        else:
            seen.add(reference)
            rows.append({"line": line_no, "payment_request_id": reference, "amount": amount,
                         "customer_no": cell("customer_no") or None,
                         "reference_no": cell("reference_no") or None})
    return rows, invalid


def _settlement_amount(text: str) -> int | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        return None
    return int(value)


def compare(partner_rows: list[dict], ours: dict[str, PaymentRecord], invalid: list[dict],
            elsewhere: dict[str, PaymentRecord]) -> dict:
    """Partner rows against SMILE's payments of the same day and partner, by
    paymentRequestId. A partner row that SMILE posted on another day (a cut-off difference)
    is listed apart from the ones SMILE never received."""
    matched, differences, missing_in_smile, other_day = [], [], [], []
    posted_elsewhere = {p.request_id: p for p in elsewhere.values()}
    theirs = {row["payment_request_id"]: row for row in partner_rows}
    for reference, row in theirs.items():
        payment = ours.get(reference)
        if payment is None:
            found = posted_elsewhere.get(reference)
            if found is not None:
                other_day.append({"payment_request_id": reference, "line": row["line"],
                                  "partner_amount": row["amount"],
                                  "smile_amount": int(found.amount), "smile_date": found.day,
                                  "payment_id": found.payment_id})
            else:
                missing_in_smile.append({"payment_request_id": reference, "line": row["line"],
                                         "amount": row["amount"],
                                         "customer_no": row["customer_no"],
                                         "reference_no": row["reference_no"]})
        elif int(payment.amount) != row["amount"]:
            differences.append({"payment_request_id": reference, "line": row["line"],
                                "smile_amount": int(payment.amount),
                                "partner_amount": row["amount"],
                                "difference": row["amount"] - int(payment.amount),
                                "payment_id": payment.payment_id})
        else:
            matched.append({"payment_request_id": reference, "amount": row["amount"],
                            "payment_id": payment.payment_id})
    missing_in_partner = [payment_row(p) for reference, p in ours.items()
                          if reference not in theirs]
    return {
        "counts": {"partner_rows": len(partner_rows), "smile_payments": len(ours),
                   "matched": len(matched), "amount_differences": len(differences),
                   "missing_in_smile": len(missing_in_smile),
                   "missing_in_partner": len(missing_in_partner),
                   "posted_on_other_day": len(other_day), "invalid_rows": len(invalid)},
        "totals": {"partner_amount": sum(r["amount"] for r in partner_rows),
                   "smile_amount": sum(int(p.amount) for p in ours.values()),
                   "matched_amount": sum(m["amount"] for m in matched)},
        "matched": matched, "amount_differences": differences,
        "missing_in_smile": missing_in_smile, "missing_in_partner": missing_in_partner,
        "posted_on_other_day": other_day, "invalid_rows": invalid,
    }

