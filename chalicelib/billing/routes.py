"""Billing's HTTP edge, schedule and payments consumer (a blueprint registered by app.py)."""
from __future__ import annotations

from chalice import Blueprint, Cron

from chalicelib.billing.calculator import QuoteRequest, QuoteResponse
from chalicelib.billing.schemas import (BillOut, BillPage, BillQuery, CodeReissue, JhtBalance,
                                        ManualPayment, Prepayment, WageReportIn,
                                        WageReportOut)
from chalicelib.bootstrap import container
from chalicelib.shared_kernel.auth import Role
from chalicelib.shared_kernel.calendar import parse_instant
from chalicelib.shared_kernel.errors import ValidationFailed
from chalicelib.shared_kernel.http import PUBLIC, Call, RouteRegistry
from chalicelib.shared_kernel.queues import process_batch
from chalicelib.shared_kernel.resources import QUEUES, schedule

bp = Blueprint(__name__)
api = RouteRegistry(bp)
RECEIVABLES = (Role.RECEIVABLES, Role.ADMIN)


@api.route("/v1/contributions/quote", "POST", summary="What a party owes for one period",
           auth=PUBLIC, body=QuoteRequest, response=QuoteResponse, tags=["billing"])
def quote_contribution(call: Call):
    from chalicelib.billing.calculator import quote_from_request

    return quote_from_request(container().rulebook, call.body).to_dict()


@api.route("/v1/bills", "GET", summary="Bills: a branch's by status, or one party's",
           query=BillQuery, response=BillPage, tags=["billing"])
def list_bills(call: Call):
    q = call.query
    return container().billing.list_bills(call.principal, status=q.status, npp=q.npp,
                                          kpj=q.kpj, period=q.period, limit=q.limit,
                                          next_token=q.next_token)


@api.route("/v1/bills/{bill_id}", "GET", summary="A bill with its lines and amount due",
           response=BillOut, tags=["billing"])
def get_bill(call: Call):
    return container().billing.get_bill(call.path["bill_id"], call.principal)


@api.route("/v1/bills/{bill_id}/payment-code", "POST",
           summary="Issue a new payment code for an unpaid bill (the old one is retired)",
           auth=RECEIVABLES, body=CodeReissue, status=201, tags=["billing"])
def reissue_payment_code(call: Call):
    return container().billing.reissue_code(call.path["bill_id"], call.body.reason,
                                            call.principal)


@api.route("/v1/bills/{bill_id}/payments", "POST",
           summary="Record a payment made at the branch (cash, with receipt number)",
           auth=RECEIVABLES, body=ManualPayment, status=201, tags=["billing"])
def post_manual_payment(call: Call):
    b = call.body
    return container().payments.post_manual(call.path["bill_id"], amount=b.amount,
                                            receipt_number=b.receipt_number, reason=b.reason,
                                            principal=call.principal)


@api.route("/v1/participants/{participant_id}/jht", "GET",
           summary="JHT balance and its ledger entries", response=JhtBalance, tags=["billing"])
def jht_balance(call: Call):
    return container().billing.jht_balance(call.path["participant_id"], call.principal)


@api.route("/v1/participants/{participant_id}/prepayments", "POST",
           summary="BPU: one payment code for 1, 3, 6 or 12 consecutive months",
           body=Prepayment, status=201, tags=["billing"])
def prepay(call: Call):
    return container().billing.prepay(call.path["participant_id"], call.body.months,
                                      call.principal)


@api.route("/v1/employers/{employer_id}/wage-reports", "POST",
           summary="The month's wages (JSON, or CSV with ?period=); the employer id or its NPP "
                   "in the path; a correction of an unpaid bill re-issues it",
           response=WageReportOut, status=201, tags=["billing"],
           content_types=("application/json", "text/csv"))
def submit_wage_report(call: Call):
    from chalicelib.billing.wage_reports import parse_csv
    from chalicelib.shared_kernel.http import parse_json

    content_type = (call.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type == "text/csv":
        try:
            text = call.raw_body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed("CSV harus dalam UTF-8", field="csv",
                                   code="CSV_ENCODING") from exc
        report = parse_csv(text, call.query_params.get("period"))
    else:
        report = WageReportIn.model_validate(parse_json(call.raw_body))
    return container().wage_reports.submit(call.path["employer_id"], report, call.principal)


@api.route("/v1/employers/{employer_id}/wage-reports/{period}", "GET",
           summary="A submitted wage report and what it did", response=WageReportOut,
           tags=["billing"])
def get_wage_report(call: Call):
    return container().wage_reports.get(call.path["employer_id"], call.path["period"],
                                        call.principal)


@bp.schedule(Cron(*schedule("generate_monthly_bills").cron_args()),
              name="generate_monthly_bills")
def generate_monthly_bills(event):
    return container().billing.generate_monthly_bills(parse_instant(event.time))


@bp.on_sqs_message(queue=QUEUES["payments"].name, batch_size=QUEUES["payments"].batch_size,
                    name="on_payment_posted")
def on_payment_posted(event):
    c = container()
    return process_batch(event.to_dict(), lambda message: c.payments.after_payment(
        message["payment_key"], c.registration))
