"""SNAP partner channels' HTTP edge (a blueprint registered by app.py): partner onboarding
(ADMIN), the four SNAP endpoints under /snap, reconciliation, and the daily_reconciliation
schedule.

The SNAP endpoints authenticate themselves (OWN_SCHEME: signatures over the raw body) and
answer SNAP's body shape with SNAP's HTTP status and an X-TIMESTAMP header, errors included;
so they catch SnapError here instead of letting the registry render the project's error
contract. Their request models are declared for the OpenAPI document only: the body is parsed
after the signature over its raw bytes has been checked.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone
from typing import Callable, Literal

from chalice import Blueprint, Cron
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.billing.snap.codes import Service, SnapError
from chalicelib.billing.snap.headers import format_timestamp
from chalicelib.billing.snap.messages import (InquiryRequest, PaymentRequest, SnapModel,
                                              StatusRequest)
from chalicelib.bootstrap import container
from chalicelib.shared_kernel.auth import Role
from chalicelib.shared_kernel.calendar import parse_instant
from chalicelib.shared_kernel.http import OWN_SCHEME, Call, Reply, RouteRegistry
from chalicelib.shared_kernel.resources import schedule


class _SnapRegistry(RouteRegistry):
    """For OWN_SCHEME routes, `body=` documents the request; the view parses the raw body
    itself (after verifying the signature over it), so the registry must not."""

    def _handle(self, op, view, path_params):
        if op.auth == OWN_SCHEME and op.body is not None:
            op = dataclasses.replace(op, body=None)
        return super()._handle(op, view, path_params)


bp = Blueprint(__name__)
api = _SnapRegistry(bp)
ADMINS = (Role.ADMIN,)
FINANCE = (Role.RECEIVABLES, Role.ADMIN)


# ====================================================================== API models
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartnerIn(_Strict):
    client_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,35}$",
                           description="X-CLIENT-KEY and X-PARTNER-ID of the partner")
    name: str = Field(min_length=2, max_length=100)
    channel_id: str = Field(pattern=r"^[A-Za-z0-9]{1,5}$", description="CHANNEL-ID")
    public_key_pem: str = Field(min_length=64, max_length=10_000,
                                description="RSA public key (PEM, at least 2048 bits)")
    company_code: str | None = Field(default=None, pattern=r"^[0-9]{1,8}$",
                                     description="given by the bank; allocated if absent")


class Because(_Strict):
    reason: str = Field(min_length=3, max_length=500)


class KeyReplacement(_Strict):
    public_key_pem: str = Field(min_length=64, max_length=10_000)
    reason: str = Field(min_length=3, max_length=500)


class PartnerOut(BaseModel):
    client_id: str
    name: str
    channel_id: str
    company_code: str
    partner_service_id: str
    status: Literal["ACTIVE", "DISABLED"]
    key_fingerprint: str
    created_at: str
    updated_at: str
    secret_rotated_at: str
    key_rotated_at: str


class PartnerWithSecret(PartnerOut):
    client_secret: str = Field(description="shown only in this answer; stored encrypted")


class PartnerPage(BaseModel):
    items: list[PartnerOut]
    next_token: str | None = None


class ReconciliationQuery(_Strict):
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="Jakarta day, YYYY-MM-DD")
    client_id: str | None = Field(default=None, max_length=36)
    limit: int = Field(default=1000, ge=1, le=5000)
    next_token: str | None = Field(default=None, pattern=r"^\d{1,9}$")


class PaymentRow(BaseModel):
    paid_at: str
    channel: str
    client_id: str | None
    channel_id: str | None
    payment_request_id: str | None
    external_id: str | None
    reference_no: str | None
    virtual_account_no: str | None
    customer_no: str | None
    amount: int
    payment_id: str
    bill_ids: list[str]


class ChannelTotal(BaseModel):
    channel: str
    client_id: str | None
    channel_id: str | None
    count: int
    amount: int


class ImportSummary(BaseModel):
    import_id: str
    uploaded_at: str
    uploaded_by: str
    filename: str | None
    counts: dict[str, int]


class ReconciliationReport(BaseModel):
    date: str
    client_id: str | None
    count: int
    amount: int
    groups: list[ChannelTotal]
    items: list[PaymentRow]
    next_token: str | None
    report_key: str | None
    report_url: str | None
    imports: list[ImportSummary]


class SettlementIn(_Strict):
    client_id: str = Field(max_length=36)
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    csv: str = Field(min_length=1, max_length=5_000_000,
                     description="the partner's settlement file: a header row naming "
                                 "paymentRequestId and amount (customerNo, referenceNo "
                                 "optional), separated by , ; tab or |")
    filename: str | None = Field(default=None, max_length=200)


class SettlementResult(BaseModel):
    import_id: str
    client_id: str
    date: str
    uploaded_at: str
    uploaded_by: str
    filename: str | None
    counts: dict[str, int]
    totals: dict[str, int]
    matched: list[dict]
    amount_differences: list[dict]
    missing_in_smile: list[dict]
    missing_in_partner: list[dict]
    posted_on_other_day: list[dict]
    invalid_rows: list[dict]


class SnapTokenRequest(SnapModel):
    grant_type: Literal["client_credentials"]


class SnapTokenResponse(BaseModel):
    responseCode: str
    responseMessage: str
    accessToken: str
    tokenType: str
    expiresIn: str


class SnapVaResponse(BaseModel):
    responseCode: str = Field(description="HTTP status (3) + service code (2) + case (2)")
    responseMessage: str
    virtualAccountData: dict | None = None
    additionalInfo: dict | None = None


def _day(text: str) -> date:
    from chalicelib.shared_kernel.errors import ValidationFailed

    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(f"date {text!r} is not a calendar day", field="date") from exc


# ====================================================================== partners (ADMIN)
@api.route("/v1/partners", "POST", summary="Onboard a SNAP partner channel (the client "
           "secret is in this answer only)", auth=ADMINS, body=PartnerIn,
           response=PartnerWithSecret, status=201, tags=["partners"])
def onboard_partner(call: Call):
    b = call.body
    return container().snap.onboard(client_id=b.client_id, name=b.name,
                                    channel_id=b.channel_id, public_key_pem=b.public_key_pem,
                                    company_code=b.company_code, principal=call.principal)


@api.route("/v1/partners", "GET", summary="SNAP partner channels", auth=ADMINS,
           response=PartnerPage, tags=["partners"])
def list_partners(call: Call):
    return container().snap.partners()


@api.route("/v1/partners/{client_id}", "GET", summary="A SNAP partner channel", auth=ADMINS,
           response=PartnerOut, tags=["partners"])
def get_partner(call: Call):
    return container().snap.partner(call.path["client_id"])


@api.route("/v1/partners/{client_id}/disable", "POST",
           summary="Disable a partner: its tokens stop working at once", auth=ADMINS,
           body=Because, response=PartnerOut, tags=["partners"])
def disable_partner(call: Call):
    return container().snap.set_status(call.path["client_id"], "DISABLED", call.body.reason,
                                       call.principal)


@api.route("/v1/partners/{client_id}/enable", "POST", summary="Enable a disabled partner",
           auth=ADMINS, body=Because, response=PartnerOut, tags=["partners"])
def enable_partner(call: Call):
    return container().snap.set_status(call.path["client_id"], "ACTIVE", call.body.reason,
                                       call.principal)


@api.route("/v1/partners/{client_id}/secret", "POST",
           summary="Rotate the client secret (the new one is in this answer only; tokens "
           "issued before stop working)", auth=ADMINS, body=Because,
           response=PartnerWithSecret, tags=["partners"])
def rotate_partner_secret(call: Call):
    return container().snap.rotate_secret(call.path["client_id"], call.body.reason,
                                          call.principal)


@api.route("/v1/partners/{client_id}/public-key", "PUT",
           summary="Replace the partner's RSA public key (tokens issued before stop working)",
           auth=ADMINS, body=KeyReplacement, response=PartnerOut, tags=["partners"])
def replace_partner_key(call: Call):
    return container().snap.replace_key(call.path["client_id"], call.body.public_key_pem,
                                        call.body.reason, call.principal)


# ====================================================================== SNAP
def _snap(service: Service, handle: Callable) -> Reply:
    try:
        body, status = handle(container().snap), 200
    except SnapError as error:
        body, status = error.to_body(service), error.status
    except Exception:  # noqa: BLE001 - SNAP's general error, in SNAP's shape, logged
        from chalicelib.shared_kernel.observability import logger

        logger().exception("snap_unhandled", extra={"service": str(service)})
        body, status = SnapError.general_error().to_body(service), 500
    return Reply(body, status, {"X-TIMESTAMP": format_timestamp(_now())})


def _now() -> datetime:
    try:
        return container().clock()
    except Exception:  # noqa: BLE001 - the timestamp header must never fail the answer
        return datetime.now(timezone.utc)


_SNAP_NOTE = " (SNAP; signed, see docs/snap-partner-guide.md)"


@api.route("/snap/v1.0/access-token/b2b", "POST",
           summary="SNAP access token B2B (service 73)" + _SNAP_NOTE, auth=OWN_SCHEME,
           body=SnapTokenRequest, response=SnapTokenResponse, tags=["snap"])
def snap_access_token(call: Call):
    return _snap(Service.ACCESS_TOKEN_B2B,
                 lambda snap: snap.access_token(call.headers, call.raw_body))


@api.route("/snap/v1.0/transfer-va/inquiry", "POST",
           summary="SNAP VA inquiry by payment code (service 24)" + _SNAP_NOTE,
           auth=OWN_SCHEME, body=InquiryRequest, response=SnapVaResponse, tags=["snap"])
def snap_inquiry(call: Call):
    return _snap(Service.VA_INQUIRY, lambda snap: snap.inquiry(
        call.headers, call.raw_body, "/snap/v1.0/transfer-va/inquiry"))


@api.route("/snap/v1.0/transfer-va/payment", "POST",
           summary="SNAP VA payment, posted exactly once (service 25)" + _SNAP_NOTE,
           auth=OWN_SCHEME, body=PaymentRequest, response=SnapVaResponse, tags=["snap"])
def snap_payment(call: Call):
    return _snap(Service.VA_PAYMENT, lambda snap: snap.payment(
        call.headers, call.raw_body, "/snap/v1.0/transfer-va/payment"))


@api.route("/snap/v1.0/transfer-va/status", "POST",
           summary="SNAP VA payment status (service 26)" + _SNAP_NOTE,
           auth=OWN_SCHEME, body=StatusRequest, response=SnapVaResponse, tags=["snap"])
def snap_status(call: Call):
    return _snap(Service.VA_STATUS, lambda snap: snap.status(
        call.headers, call.raw_body, "/snap/v1.0/transfer-va/status"))


# ====================================================================== reconciliation
@api.route("/v1/reconciliation", "GET",
           summary="Payments of a Jakarta day per partner and channel (one partner's with "
           "client_id), with the settlement files imported for it", auth=FINANCE,
           query=ReconciliationQuery, response=ReconciliationReport, tags=["reconciliation"])
def reconciliation_report(call: Call):
    q = call.query
    return container().reconciliation.report(_day(q.date), q.client_id, limit=q.limit,
                                             offset=int(q.next_token or 0))


@api.route("/v1/reconciliation/imports", "POST",
           summary="Compare a partner's settlement file with SMILE's payments of the day",
           auth=FINANCE, body=SettlementIn, response=SettlementResult, status=201,
           tags=["reconciliation"])
def import_settlement(call: Call):
    b = call.body
    return container().reconciliation.import_settlement(b.client_id, _day(b.date), b.csv,
                                                        b.filename, call.principal)


@api.route("/v1/reconciliation/imports/{import_id}", "GET",
           summary="The result of a settlement-file import", auth=FINANCE,
           response=SettlementResult, tags=["reconciliation"])
def get_settlement_import(call: Call):
    return container().reconciliation.settlement_import(call.path["import_id"])


@bp.schedule(Cron(*schedule("daily_reconciliation").cron_args()), name="daily_reconciliation")
def daily_reconciliation(event):
    c = container()
    now = parse_instant(event.time)
    # Payments whose queue message could not be sent stay flagged; re-drive them daily.
    redriven = c.payments.redrive_pending()
    return {**c.reconciliation.run_daily(now), "redriven": redriven}
