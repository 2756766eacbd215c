"""Receivables' HTTP edge and schedules (a blueprint registered by app.py): ageing, the
officer's worklist, a debtor's history, payments allocated oldest first, payment plans,
exemptions, compliance figures; the daily due-date check and the pre-due reminders."""
from __future__ import annotations

from chalice import Blueprint, Cron

from chalicelib.bootstrap import container
from chalicelib.receivables.schemas import (AgeingOut, BranchQuery, ComplianceOut,
                                            ComplianceQuery, DebtorOut, DebtorPayment,
                                            ExemptionIn, HistoryOut, PaymentAllocationOut,
                                            PlanOut, PlanPage, PlanRequest, Reason,
                                            WorklistPage, WorklistQuery)
from chalicelib.shared_kernel.auth import Role
from chalicelib.shared_kernel.calendar import parse_instant
from chalicelib.shared_kernel.http import Call, RouteRegistry
from chalicelib.shared_kernel.resources import schedule

bp = Blueprint(__name__)
api = RouteRegistry(bp)
READ = (Role.RECEIVABLES, Role.ADMIN, Role.BRANCH_HEAD)
WRITE = (Role.RECEIVABLES, Role.ADMIN)
TAGS = ["receivables"]


@api.route("/v1/receivables/aging", "GET",
           summary="Ageing of a branch's unpaid bills: buckets by days past due, by segment",
           auth=READ, query=BranchQuery, response=AgeingOut, tags=TAGS)
def receivables_ageing(call: Call):
    return container().receivables.ageing(call.principal, call.query.branch)


@api.route("/v1/receivables/debtors", "GET",
           summary="The officer's worklist: debtors by state, oldest arrears first",
           auth=READ, query=WorklistQuery, response=WorklistPage, tags=TAGS)
def receivables_worklist(call: Call):
    q = call.query
    return container().receivables.worklist(call.principal, q.branch, q.state, q.limit,
                                            q.next_token)


@api.route("/v1/receivables/debtors/{debtor_key}/history", "GET",
           summary="A debtor's history: bills, payments, messages, letters, state changes",
           auth=READ, response=HistoryOut, tags=TAGS)
def receivables_history(call: Call):
    return container().receivables.history(call.path["debtor_key"], call.principal)


@api.route("/v1/receivables/debtors/{debtor_key}/payments", "POST",
           summary="Record a payment at the branch for any amount: oldest month first, "
                   "partial payments and credit", auth=WRITE, body=DebtorPayment,
           response=PaymentAllocationOut, status=201, tags=TAGS)
def receivables_payment(call: Call):
    b = call.body
    return container().receivables.receive_payment(
        call.path["debtor_key"], amount=b.amount, receipt_number=b.receipt_number,
        reason=b.reason, principal=call.principal)


@api.route("/v1/receivables/debtors/{debtor_key}/payment-plans", "POST",
           summary="Agree an instalment plan for an employer's arrears (pauses escalation)",
           auth=WRITE, body=PlanRequest, response=PlanOut, status=201, tags=TAGS)
def receivables_create_plan(call: Call):
    b = call.body
    schedule_ = [(i.due_date, i.amount) for i in b.schedule] if b.schedule else None
    return container().receivables.create_plan(
        call.path["debtor_key"], reason=b.reason, principal=call.principal,
        instalments=b.instalments, first_due_date=b.first_due_date, schedule=schedule_)


@api.route("/v1/receivables/debtors/{debtor_key}/payment-plans", "GET",
           summary="A debtor's payment plans, newest first", auth=READ, response=PlanPage,
           tags=TAGS)
def receivables_plans(call: Call):
    return container().receivables.plans_of(call.path["debtor_key"], call.principal)


@api.route("/v1/receivables/debtors/{debtor_key}/payment-plans/{plan_id}/cancel", "POST",
           summary="Cancel a payment plan in force (escalation resumes)", auth=WRITE,
           body=Reason, response=PlanOut, tags=TAGS)
def receivables_cancel_plan(call: Call):
    return container().receivables.cancel_plan(call.path["debtor_key"], call.path["plan_id"],
                                               call.body.reason, call.principal)


@api.route("/v1/receivables/debtors/{debtor_key}/exemptions", "POST",
           summary="Tag a debtor as disputed (pauses escalation)", auth=WRITE,
           body=ExemptionIn, response=DebtorOut, status=201, tags=TAGS)
def receivables_set_exemption(call: Call):
    return container().receivables.set_exemption(call.path["debtor_key"], call.body.tag,
                                                 call.body.reason, call.principal)


@api.route("/v1/receivables/debtors/{debtor_key}/exemptions/{tag}/lift", "POST",
           summary="Lift a debtor's exemption tag (escalation resumes)", auth=WRITE,
           body=Reason, response=DebtorOut, tags=TAGS)
def receivables_lift_exemption(call: Call):
    return container().receivables.set_exemption(call.path["debtor_key"], call.path["tag"],
                                                 call.body.reason, call.principal, lift=True)


@api.route("/v1/receivables/compliance", "GET",
           summary="Compliance per month: paid on time, collection rate, receivables, "
                   "active participants by segment", auth=READ, query=ComplianceQuery,
           response=ComplianceOut, tags=TAGS)
def receivables_compliance(call: Call):
    q = call.query
    return container().receivables.compliance(call.principal, q.branch, q.from_month,
                                              q.to_month)


@api.route("/v1/receivables/policy", "GET",
           summary="The escalation policy in force for a branch (data, most severe first)",
           auth=READ, query=BranchQuery, tags=TAGS)
def receivables_policy(call: Call):
    return container().receivables.policy_in_force(call.principal, call.query.branch)


@bp.schedule(Cron(*schedule("check_due_dates").cron_args()), name="check_due_dates")
def check_due_dates(event):
    return container().receivables.check_due_dates(parse_instant(event.time))


@bp.schedule(Cron(*schedule("send_pre_due_reminders").cron_args()),
             name="send_pre_due_reminders")
def send_pre_due_reminders(event):
    return container().receivables.send_pre_due_reminders(parse_instant(event.time))
