"""Receivables use cases: the daily due-date check (overdue marking, fines, the escalation
policy, BPU deactivation), pre-due reminders, payment allocation with partial payments and
credit, payment plans, exemptions, and the officer's views (ageing, worklist, history,
compliance).

The daily check reads only OUTSTANDING bills (billing's outstanding index: a table of its
own, sharded and sorted by due date, read with keyed Queries, then the bills by key) and the
debtors in play (receivables' sparse, sharded index), so its cost follows the arrears, never
the membership or the paid bills. Every write in it is idempotent: fines are written only when they
change, and each action has one key per debtor, step and anchor, written with the debtor's
new position in one transaction (an outbox) before it is handed to its queue. Running it
twice a day, or again after a crash, takes nothing twice; a bill paid while it runs is left
alone (billing's conditional update) and its debtor is not chased for it.
"""
from __future__ import annotations

import json
import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Iterable
from urllib.parse import unquote

from chalicelib.billing.bills import AmountDue
from chalicelib.billing.payments import PaymentExists, fingerprint
from chalicelib.billing.store import OUTSTANDING, OVERDUE, PAID, BillRecord
from chalicelib.shared_kernel.auth import Principal, Role
from chalicelib.shared_kernel.calendar import Period, jakarta_today
from chalicelib.shared_kernel.errors import (Conflict, NotFound, SmileError, ValidationFailed)
from chalicelib.shared_kernel.messaging import MessageRequest
from chalicelib.shared_kernel.records import audit_entry

from . import plans as plan_rules
from .ageing import AgedBill, ageing
from .allocation import Owed, allocate
from .compliance import BillFigure, figures
from .escalation import Position, Step, consecutive_run, evaluate
from .messages import BillFacts, Debtor, letter_request, message_request
from .policy import CURRENT, FALLBACK_STATE, DebtorFacts, PolicyBook
from .policy.model import DEACTIVATE, LETTER
from .store import (CANCELLED, SENT, SKIPPED, ActionRecord, DebtorRecord, EvaluationConflict,
                    PlanRecord, ReceivablesStore, SnapshotRecord, new_event)

HAND_OVER_CHUNK = 25             # actions per queue batch + one batch write marking them
MAX_BILLS_PER_PAYMENT = 45       # a transaction holds 100 items: each bill, its index entry
READ_ROLES = (Role.RECEIVABLES, Role.ADMIN, Role.BRANCH_HEAD)
WRITE_ROLES = (Role.RECEIVABLES, Role.ADMIN)
SYSTEM = "system:check_due_dates"
_DEBTOR_KEY = re.compile(r"^(EMP|PAR)#[A-Za-z0-9._\-]{1,64}$")


def parse_debtor_key(raw: str) -> str:
    """Path parameter: "EMP#<employer_id>" or "PAR#<participant_id>" ('#' may arrive
    percent-encoded as %23)."""
    key = unquote(raw or "")
    if not _DEBTOR_KEY.match(key):
        raise ValidationFailed("debtor_key must be EMP#<employer_id> or PAR#<participant_id> "
                               "(write # as %23 in a URL)", field="debtor_key",
                               code="BAD_DEBTOR_KEY")
    return key


@dataclass
class _Owed:
    bill: BillRecord
    owed: AmountDue

    @property
    def sort_key(self):
        return (self.bill.period, self.bill.due_date, self.bill.bill_id)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class ReceivablesService:
    def __init__(self, store: ReceivablesStore, *, billing, billing_store, payments,
                 registration_store, policies: PolicyBook,
                 send_batch: Callable[[str, list[dict]], int], clock: Callable[[], datetime],
                 log=None):
        self.store = store
        self.billing = billing                      # BillingService: owed, views, codes
        self.billing_store = billing_store          # BillingStore: keyed reads, fines
        self.payments = payments                    # PaymentService: posting allocations
        self.registration_store = registration_store
        self.policies = policies
        self.send_batch = send_batch
        self.clock = clock
        self.log = log

    # ================================================================== daily check
    def check_due_dates(self, now: datetime) -> dict:
        """No lease is needed: every write is conditional (a fine only on an outstanding
        bill, a debtor at the version read, an action only if its key is new), so a second
        run at the same time, or a retry after a crash, takes nothing twice."""
        today = jakarta_today(now)
        summary = self._check(today, now)
        self.store.record_run(f"check#{today}", summary, now)
        self._info("check_due_dates", summary)
        return summary

    def _check(self, today: date, now: datetime) -> dict:
        counts: Counter = Counter()
        counts["redriven"] = self._hand_over(list(self.store.pending_actions()), now)
        yesterday = (today - timedelta(days=1)).isoformat()
        overdue: dict[str, list[_Owed]] = defaultdict(list)
        for bill in self.billing_store.outstanding_due_on_or_before(yesterday):
            counts["overdue_bills"] += 1
            try:
                owed = self.billing.owed(bill, today)
            except SmileError as exc:   # no fine rule for it: left for an officer, logged
                counts["bills_failed"] += 1
                self._info("bill_not_checked", {"bill_id": bill.bill_id, "error": exc.code})
                continue
            if bill.status != OVERDUE or int(bill.fine) != owed.fine:
                if not self.billing_store.update_fine(bill, owed.fine, OVERDUE):
                    counts["paid_meanwhile"] += 1   # paid since it was read: not chased
                    continue
                bill.status, bill.fine = OVERDUE, owed.fine
                counts["bills_updated"] += 1
            overdue[bill.party_key].append(_Owed(bill, owed))

        tracked = {d.debtor_key: d for d in self.store.tracked_debtors()}
        records = {**self.store.debtors(k for k in overdue if k not in tracked), **tracked}
        actions: list[ActionRecord] = []
        final_bills: dict[str, list[_Owed]] = {}
        for key in sorted(set(overdue) | set(tracked)):
            new, bills = self._settle(key, records.get(key), overdue.get(key, []), today, now,
                                      counts)
            actions.extend(new)
            final_bills[key] = bills
        counts["actions"] = self._hand_over(actions, now)
        if (today + timedelta(days=1)).day == 1:   # month end: compliance's receivables
            self._snapshot(final_bills, today)
        counts["debtors"] = len(final_bills)
        return {"day": today.isoformat(), **dict(counts)}

    def _settle(self, key: str, record: DebtorRecord | None, overdue: list[_Owed], today: date,
                now: datetime, counts: Counter) -> tuple[list[ActionRecord], list[_Owed]]:
        """One debtor, retried on a concurrent change (a payment, a plan, another run). A
        debtor that keeps changing is left for the next run, never failing the others."""
        known: set[tuple[str, str]] = set()
        for _ in range(3):
            try:
                return self._evaluate(key, record, overdue, today, now, counts=counts,
                                      known_steps=known)
            except SmileError as exc:   # bad data on one debtor never stops the others
                counts["debtors_failed"] += 1
                self._info("debtor_not_checked", {"debtor_key": key, "error": exc.code})
                return [], overdue
            except EvaluationConflict as exc:
                counts["retried"] += 1
                record = self.store.debtor(key)
                overdue = self._overdue_of(key, today)
                if exc.existing_actions:   # taken by a run whose position was since lost
                    known = {(a.anchor, a.step_id) for a in self.store.actions(key)}
        counts["debtors_skipped"] += 1
        self._info("debtor_skipped", {"debtor_key": key})
        return [], overdue

    def _evaluate(self, key: str, record: DebtorRecord | None, overdue: list[_Owed],
                  today: date, now: datetime, *, take_steps: bool = True,
                  counts: Counter | None = None,
                  known_steps: set[tuple[str, str]] = frozenset()
                  ) -> tuple[list[ActionRecord], list[_Owed]]:
        counts = counts if counts is not None else Counter()
        info = self._debtor_info(key, record, [o.bill for o in overdue])
        if info is None:
            return [], overdue
        policy = self.policies.policy_for(info.branch, today)
        if take_steps and record is not None and int(record.credit or 0) > 0:
            if self._apply_credit(record, today, now):
                counts["credits_applied"] += 1
                record = self.store.debtor(key)
                overdue = self._overdue_of(key, today)
        if take_steps and record is not None and record.plan_id:
            record = self._check_plan(record, policy.payment_plans.grace_days, today, now,
                                      counts)
        overdue = sorted((o for o in overdue if o.owed.due > 0), key=lambda o: o.sort_key)
        facts = self._facts(info, record, overdue, today)
        position = (Position(record.state, _day(record.anchor), tuple(record.taken or ()),
                             _day(record.stepped_on))
                    if record is not None else Position())
        if known_steps and facts.anchor is not None:
            anchor = facts.anchor.isoformat()
            taken = position.taken if position.anchor == facts.anchor else ()
            extra = tuple(sorted(s for a, s in known_steps if a == anchor and s not in taken))
            position = Position(position.state, facts.anchor, taken + extra,
                                position.stepped_on)
        decision = evaluate(policy, facts, position)
        if record is None and decision.current:
            return [], overdue

        expected = record.version if record is not None else None
        if record is None:
            record = DebtorRecord(key, kind=info.kind, segment=info.segment, branch=info.branch,
                                  name=info.name, npp=info.npp, kpj=info.kpj, taken=[], tags=[])
        before = _position_of(record)
        events = []
        if decision.state != record.state:
            events.append(new_event(key, "STATE_CHANGED", SYSTEM, {
                "from": record.state, "to": decision.state,
                "anchor": decision.anchor, "days_overdue": facts.days,
                "amount_owed": facts.amount, "unpaid_months": facts.unpaid_months}, now))
            record.state_since = today.isoformat()
        record.state = decision.state
        record.anchor = decision.anchor.isoformat() if decision.anchor else None
        # outside the check a step is not taken: it stays due for the next check
        taken = decision.taken if take_steps or decision.step is None else decision.taken[:-1]
        record.taken = list(taken)
        record.next_action = (json.dumps({"step": decision.next_step,
                                          "on": decision.next_step_on.isoformat()})
                              if decision.next_step else None)
        record.anchor_bill_id = overdue[0].bill.bill_id if overdue else None
        record.oldest_period = overdue[0].bill.period if overdue else None
        record.amount_owed = facts.amount
        record.unpaid_months = facts.unpaid_months
        record.consecutive_unpaid_months = facts.consecutive_unpaid_months

        actions: list[ActionRecord] = []
        if take_steps and decision.step is not None:
            actions = self._actions_for(decision.step, info, overdue, facts, today, now)
            record.last_action = json.dumps({"step": decision.step.step_id,
                                             "state": decision.step.state.name,
                                             "kinds": [a.kind for a in actions],
                                             "on": today.isoformat()})
            record.stepped_on = today.isoformat()
            events.append(new_event(key, "ACTION_TAKEN", SYSTEM, {
                "step": decision.step.step_id, "state": decision.step.state.name,
                "anchor": decision.anchor, "actions": [
                    {"kind": a.kind, "dedupe_key": a.dedupe_key, **_action_summary(a)}
                    for a in actions]}, now))
            counts["steps"] += 1
        cancelled: list[ActionRecord] = []
        if decision.current and before[0] != CURRENT:
            cancelled = self.store.pending_of(key)
            events.append(new_event(key, "ARREARS_SETTLED", SYSTEM, {
                "cancelled_actions": [a.dedupe_key for a in cancelled]}, now))
        record.refresh_index_keys()   # e.g. no longer tracked once CURRENT without credit
        if _position_of(record) == before and not actions and not events:
            return [], overdue
        record.evaluated_on = today.isoformat()
        self.store.save_evaluation(record, expected, actions, events)
        if cancelled:
            self.store.finish_actions(cancelled, CANCELLED, now)
        counts["debtors_updated"] += 1
        return actions, overdue

    def _facts(self, info: Debtor, record: DebtorRecord | None, overdue: list[_Owed],
               today: date) -> DebtorFacts:
        periods = [o.bill.period for o in overdue]
        return DebtorFacts(
            segment=info.segment, today=today,
            anchor=min((_day(o.bill.due_date) for o in overdue), default=None),
            amount=sum(o.owed.due for o in overdue), unpaid_months=len(set(periods)),
            consecutive_unpaid_months=consecutive_run(periods),
            tags=frozenset(record.tags or ()) if record is not None else frozenset())

    def _overdue_of(self, key: str, today: date) -> list[_Owed]:
        return [_Owed(b, self.billing.owed(b, today))
                for b in self.billing_store.bills_of_party(key)
                if b.status in OUTSTANDING and _day(b.due_date) < today]

    @staticmethod
    def _debtor_info(key: str, record: DebtorRecord | None,
                     bills: list[BillRecord]) -> Debtor | None:
        if record is not None:
            return Debtor(key, record.kind, record.segment, record.branch, record.name,
                          record.npp, record.kpj)
        if not bills:
            return None
        bill = max(bills, key=lambda b: b.period)   # the latest name and branch
        return Debtor(key, "EMPLOYER" if bill.kind == "EMPLOYER" else "PARTICIPANT",
                      bill.segment, bill.branch, bill.party_name, bill.npp, bill.kpj)

    # ------------------------------------------------------------------ actions
    def _bill_facts(self, item: _Owed, today: date) -> BillFacts:
        from chalicelib.billing.fines import months_of_delay

        bill = item.bill
        try:
            rule = self.billing.rulebook.fine_rule(bill.segment, Period.parse(bill.period))
            months = months_of_delay(_day(bill.due_date), today, rule.partial_month_counts)
        except SmileError:
            months = 0
        return BillFacts(bill.bill_id, bill.period, bill.due_date, item.owed.contribution,
                         item.owed.fine, item.owed.due, bill.payment_code, months)

    def _actions_for(self, step: Step, info: Debtor, overdue: list[_Owed], facts: DebtorFacts,
                     today: date, now: datetime) -> list[ActionRecord]:
        anchor = facts.anchor.isoformat()
        oldest = self._bill_facts(overdue[0], today)
        bill_ids = [o.bill.bill_id for o in overdue]
        arrears_code = None
        out = []
        for action in step.state.actions:
            if action.kind == DEACTIVATE:
                arrears_code = self._arrears_code(bill_ids, today)
                payload = {"participant_id": info.party_id,
                           "oldest_unpaid_period": oldest.period, "bill_ids": bill_ids,
                           "arrears_code": arrears_code}
                dedupe = f"deactivate:{info.debtor_key}:{step.step_id}:{anchor}"
            elif action.kind == LETTER:
                payload = letter_request(action.letter_type, action.legal_handover_target, info,
                                         step_id=step.step_id, anchor=anchor,
                                         bill_ids=bill_ids, as_of=today.isoformat())
                dedupe = payload["dedupe_key"]
            else:
                request = message_request(action.template, action.channel, info, oldest,
                                          step_id=step.step_id, anchor=anchor,
                                          unpaid_months=facts.unpaid_months,
                                          total_owed=facts.amount, arrears_code=arrears_code)
                payload, dedupe = request.to_message(), request.dedupe_key
            out.append(self.store.new_action(
                info.debtor_key, anchor=anchor, step_id=step.step_id, state=step.state.name,
                kind=action.kind, dedupe_key=dedupe, payload=payload, now=now))
        return out

    def _arrears_code(self, bill_ids: list[str], today: date) -> str | None:
        """One code for all the arrears, so a deactivated participant can pay them at once
        at any channel (the bills' own codes may have expired)."""
        try:
            return self.billing.issue_code_for_bills(
                bill_ids, valid_from=today, issued_by=SYSTEM,
                reason="tunggakan BPU: aktivasi kembali")
        except SmileError as exc:   # a bill was paid meanwhile: the message keeps its own code
            self._info("arrears_code_not_issued", {"error": exc.code})
            return None

    def _hand_over(self, actions: list[ActionRecord], now: datetime) -> int:
        """Execute or enqueue written actions, then mark them; a crash in between leaves them
        PENDING for the next run (downstream dedupes on the same key)."""
        handed = 0
        for chunk in _chunks(actions, HAND_OVER_CHUNK):
            messages, letters, done, skipped = [], [], [], []
            letter_ids = [i for a in chunk if a.kind == LETTER
                          for i in a.payload_dict()["bill_ids"]]
            unpaid = ({b.bill_id for b in self.billing_store.bills(letter_ids)
                       if b.status in OUTSTANDING} if letter_ids else set())
            for action in chunk:
                payload = action.payload_dict()
                if action.kind == DEACTIVATE:
                    (done if self._deactivate(payload, now) else skipped).append(action)
                elif action.kind == LETTER:
                    payload["bill_ids"] = [i for i in payload["bill_ids"] if i in unpaid]
                    if not payload["bill_ids"]:
                        skipped.append(action)   # all paid while the check ran
                        continue
                    letters.append(payload)
                    done.append(action)
                else:
                    messages.append(payload)
                    done.append(action)
            if messages:
                self.send_batch("reminders", messages)
            if letters:
                self.send_batch("letters", letters)
            if done:
                self.store.finish_actions(done, SENT, now)
            if skipped:
                self.store.finish_actions(skipped, SKIPPED, now)
            handed += len(done)
        return handed

    def _deactivate(self, payload: dict, now: datetime) -> bool:
        audit = audit_entry(f"participant#{payload['participant_id']}", SYSTEM,
                            "DEACTIVATED_FOR_ARREARS",
                            reason="iuran 3 bulan berturut-turut belum dibayar",
                            details={"oldest_unpaid_period": payload["oldest_unpaid_period"],
                                     "bill_ids": payload["bill_ids"],
                                     "arrears_code": payload.get("arrears_code")}, at=now)
        return self.registration_store.mark_inactive_for_arrears(
            payload["participant_id"], payload["oldest_unpaid_period"], audit, now)

    # ------------------------------------------------------------------ credit and plans
    def _apply_credit(self, record: DebtorRecord, today: date, now: datetime) -> bool:
        """A debtor's overpayment pays its oldest unpaid bills (the next bill when it
        comes), as a CREDIT payment posted once per debtor version."""
        key = record.debtor_key
        bills = [b for b in self.billing_store.bills_of_party(key) if b.status in OUTSTANDING]
        if not bills:
            return False
        by_id = {b.bill_id: b for b in bills}
        owed = [Owed(b.bill_id, b.period, b.due_date, self.billing.owed(b, today).due)
                for b in bills]
        allocation = allocate(int(record.credit), owed)
        used = int(record.credit) - allocation.credit
        if used <= 0:
            return False
        partial = allocation.partial
        event = new_event(key, "CREDIT_APPLIED", SYSTEM, {
            "amount": used, "credit_left": allocation.credit,
            "allocation": [_applied_view(a) for a in allocation.applied]}, now)
        try:
            self.payments.post_allocated(
                payment_key=f"CREDIT#{key}#{record.version}", amount=used,
                settled=[by_id[a.bill_id] for a in allocation.settled],
                partial=by_id[partial.bill_id] if partial else None,
                partial_amount=partial.amount if partial else 0, channel="CREDIT",
                content_fingerprint=fingerprint("credit", key, used, int(record.version)),
                posted_by=SYSTEM, reason="kelebihan bayar (kredit)",
                extra_writes=[self.store.credit_writer(key, -used, {}),
                              lambda tx: tx.save(event)])
        except PaymentExists:
            return True
        except Conflict as exc:
            self._info("credit_not_applied", {"debtor_key": key, "error": exc.code})
            return False
        return True

    def _check_plan(self, record: DebtorRecord, grace_days: int, today: date, now: datetime,
                    counts: Counter) -> DebtorRecord:
        plan = self.store.plan(record.debtor_key, record.plan_id)
        if plan is None or plan.status != plan_rules.ACTIVE:
            return record
        bills = self.billing_store.bills(plan.bill_ids)
        paid = sum(int(b.amount_paid) for b in bills) - int(plan.baseline_paid)
        instalments = [plan_rules.Instalment.from_dict(i) for i in plan.instalments_list()]
        progress = plan_rules.progress(instalments, paid, all(b.status == PAID for b in bills),
                                       today, grace_days)
        if progress.status == plan_rules.ACTIVE:
            if paid != int(plan.paid):
                self.store.update_plan_paid(plan, paid)
            return record
        reason = ("semua tagihan dalam rencana angsuran lunas"
                  if progress.status == plan_rules.COMPLETED else
                  f"angsuran ke-{progress.missed.number} ({progress.missed.due_date}) "
                  "tidak dibayar")
        event = new_event(record.debtor_key, f"PLAN_{progress.status}", SYSTEM, {
            "plan_id": plan.plan_id, "paid": paid, "due_so_far": progress.due_so_far,
            "reason": reason}, now)
        tags = [t for t in (record.tags or []) if t != "PAYMENT_PLAN"]
        try:
            self.store.close_plan(plan, progress.status, today.isoformat(), reason, paid, record,
                                  tags, event)
        except Conflict:
            return self.store.debtor(record.debtor_key) or record
        counts[f"plans_{progress.status.lower()}"] += 1
        return record

    def _snapshot(self, bills_by_debtor: dict[str, list[_Owed]], today: date) -> None:
        from chalicelib.shared_kernel.branches import all_branches

        by_branch: dict[str, list[AgedBill]] = {code: [] for code in all_branches()}
        for items in bills_by_debtor.values():
            for item in items:
                by_branch.setdefault(item.bill.branch, []).append(
                    AgedBill(item.bill.segment, _day(item.bill.due_date), item.owed.due))
        self.store.save_snapshots([
            SnapshotRecord(branch, today.isoformat(), figures=json.dumps(ageing(aged, today)))
            for branch, aged in by_branch.items()])

    # ================================================================== pre-due reminders
    def send_pre_due_reminders(self, now: datetime) -> dict:
        """Reminders 7, 3 and 1 days before the due date (per the policy data), one per bill
        and offset; a missed day catches up with the latest reminder only."""
        # No run lease: each reminder's key is written conditionally, so two runs at once
        # still send it once.
        today = jakarta_today(now)
        summary = self._pre_due(today, now)
        self._info("send_pre_due_reminders", summary)
        return summary

    def _pre_due(self, today: date, now: datetime) -> dict:
        counts: Counter = Counter()
        horizon = max(p.pre_due.horizon for p in self.policies.policies)
        if horizon < 1:
            return {"day": today.isoformat(), "bills": 0}
        due: list[tuple[tuple[str, str], BillRecord, str]] = []
        for bill in self.billing_store.outstanding_due_between(
                (today + timedelta(days=1)).isoformat(),
                (today + timedelta(days=horizon)).isoformat()):
            counts["bills"] += 1
            pre_due = self.policies.policy_for(bill.branch, today).pre_due
            offset = pre_due.step_for((_day(bill.due_date) - today).days)
            if offset is None or bill.segment not in pre_due.segments:
                continue
            step_id = f"PRE_DUE_{offset}"
            due.append(((bill.party_key, f"{bill.due_date}#{step_id}#message"), bill, step_id))
        existing = self.store.existing_actions([k for k, _, _ in due])
        created = []
        for key, bill, step_id in due:
            if key in existing:
                continue
            owed = self.billing.owed(bill, today)
            if owed.due <= 0:
                continue
            pre_due = self.policies.policy_for(bill.branch, today).pre_due
            info = self._debtor_info(bill.party_key, None, [bill])
            facts = BillFacts(bill.bill_id, bill.period, bill.due_date, owed.contribution,
                              owed.fine, owed.due, bill.payment_code)
            request = message_request(pre_due.template, pre_due.channel, info, facts,
                                      step_id=step_id, anchor=bill.due_date)
            action = self.store.new_action(
                bill.party_key, anchor=bill.due_date, step_id=step_id, state="PRE_DUE",
                kind="message", dedupe_key=request.dedupe_key, payload=request.to_message(),
                now=now)
            if self.store.add_action(action):
                created.append(action)
        counts["reminders"] = self._hand_over(created, now)
        return {"day": today.isoformat(), **dict(counts)}

    # ================================================================== payments
    def receive_payment(self, raw_key: str, *, amount: int, receipt_number: str, reason: str,
                        principal: Principal) -> dict:
        """Cash at the branch for any amount: settles the debtor's bills oldest first, pays
        part of the next one, and keeps an overpayment as credit. Posted once per receipt
        number (a retry answers the first result)."""
        principal.require_role(WRITE_ROLES)
        key = parse_debtor_key(raw_key)
        now = self.clock()
        today = jakarta_today(now)
        bills = self.billing_store.bills_of_party(key)
        record = self.store.debtor(key)
        info = self._debtor_info(key, record, bills)
        if info is None:
            raise NotFound(f"no debtor {key}", code="DEBTOR_NOT_FOUND")
        principal.require_branch(info.branch)
        payment_key = f"MANUAL#{info.branch}#{receipt_number}"
        content = fingerprint("allocation", key, amount, receipt_number)
        replay = self._replay(payment_key, content)
        if replay is not None:
            return replay
        outstanding = {b.bill_id: b for b in bills if b.status in OUTSTANDING}
        allocation = allocate(amount, [
            Owed(b.bill_id, b.period, b.due_date, self.billing.owed(b, today).due)
            for b in outstanding.values()])
        if len(allocation.applied) > MAX_BILLS_PER_PAYMENT:
            raise ValidationFailed(f"one payment settles at most {MAX_BILLS_PER_PAYMENT} bills; "
                                   "split it", field="amount", code="TOO_MANY_BILLS")
        partial = allocation.partial
        allocation_view = [_applied_view(a) for a in allocation.applied]
        event = new_event(key, "PAYMENT_RECEIVED", principal.subject, {
            "amount": amount, "receipt_number": receipt_number, "reason": reason,
            "allocation": allocation_view, "credit_added": allocation.credit}, now)
        audit = audit_entry(f"debtor#{key}", principal.subject, "MANUAL_PAYMENT_ALLOCATED",
                            reason=reason, details={"amount": amount, "receipt": receipt_number,
                                                    "allocation": allocation_view,
                                                    "credit_added": allocation.credit}, at=now)
        extra = [lambda tx: tx.save(event), lambda tx: tx.save(audit)]
        if allocation.credit:
            extra.append(self.store.credit_writer(key, allocation.credit, {
                "kind": info.kind, "segment": info.segment, "branch": info.branch,
                "name": info.name, "npp": info.npp, "kpj": info.kpj, "state": CURRENT}))

        def response_for(payment) -> dict:
            return {"payment_id": payment.payment_id, "debtor_key": key, "amount": amount,
                    "receipt_number": receipt_number, "paid_at": payment.paid_at.isoformat(),
                    "allocation": allocation_view, "credit_added": allocation.credit}

        try:
            payment = self.payments.post_allocated(
                payment_key=payment_key, amount=amount,
                settled=[outstanding[a.bill_id] for a in allocation.settled],
                partial=outstanding[partial.bill_id] if partial else None,
                partial_amount=partial.amount if partial else 0, channel="MANUAL",
                content_fingerprint=content, posted_by=principal.subject, reason=reason,
                request_id=receipt_number, extra_writes=extra, response_for=response_for)
        except PaymentExists:
            return self._replay(payment_key, content)
        self._send_receipt(info, payment, allocation, receipt_number, today)
        self.refresh(key)
        return json.loads(payment.response)

    def _replay(self, payment_key: str, content: str) -> dict | None:
        existing = self.billing_store.payment(payment_key)
        if existing is None:
            return None
        if existing.fingerprint != content:
            raise Conflict("this receipt number was already used for another payment",
                           code="RECEIPT_REUSED")
        return json.loads(existing.response) if existing.response else {
            "payment_id": existing.payment_id, "amount": int(existing.amount)}

    def _send_receipt(self, info: Debtor, payment, allocation, receipt: str,
                      today: date) -> None:
        """The payer's receipt, also for a partial payment or a credit (billing's receipt
        for settled bills carries the same dedupe key: blast sends one)."""
        period = (allocation.applied[0].period if allocation.applied
                  else str(Period.of(today)))
        request = MessageRequest(
            dedupe_key=f"receipt:{payment.payment_id}", template="payment_received",
            recipient_kind=info.kind, recipient_id=info.party_id, source="payment",
            branch=info.branch,
            params={"nama": info.name, "periode": period, "jumlah": int(payment.amount),
                    "tanggal_bayar": today.isoformat(), "kanal": "loket kantor cabang",
                    "nomor_referensi": receipt})
        try:
            self.send_batch("reminders", [request.to_message()])
        except Exception as exc:  # noqa: BLE001 - the payment stands; the receipt is a courtesy
            self._info("receipt_not_enqueued", {"error": type(exc).__name__})

    def refresh(self, raw_key: str) -> dict | None:
        """Re-read one debtor after a person changed something (payment, plan, tag): its
        figures, CURRENT when nothing is owed, a pause state; steps stay the check's job."""
        key = parse_debtor_key(raw_key)
        now = self.clock()
        today = jakarta_today(now)
        for _ in range(3):
            record = self.store.debtor(key)
            try:
                self._evaluate(key, record, self._overdue_of(key, today), today, now,
                               take_steps=False)
                break
            except EvaluationConflict:
                continue
        record = self.store.debtor(key)
        return debtor_view(record, today) if record is not None else None

    # ================================================================== plans
    def create_plan(self, raw_key: str, *, reason: str, principal: Principal,
                    instalments: int | None = None, first_due_date: date | None = None,
                    schedule: list[tuple[date, int]] | None = None) -> dict:
        principal.require_role(WRITE_ROLES)
        key = parse_debtor_key(raw_key)
        if not key.startswith("EMP#"):
            raise ValidationFailed("instalment agreements are for employers' arrears (EMP#...)",
                                   field="debtor_key", code="PLAN_FOR_EMPLOYERS_ONLY")
        now = self.clock()
        today = jakarta_today(now)
        bills = self.billing_store.bills_of_party(key)
        overdue = sorted((_Owed(b, self.billing.owed(b, today)) for b in bills
                          if b.status in OUTSTANDING and _day(b.due_date) < today),
                         key=lambda o: o.sort_key)
        record = self.store.debtor(key)
        info = self._debtor_info(key, record, bills)
        if info is None:
            raise NotFound(f"no debtor {key}", code="DEBTOR_NOT_FOUND")
        principal.require_branch(info.branch)
        overdue = [o for o in overdue if o.owed.due > 0]
        if not overdue:
            raise Conflict("nothing is overdue: no arrears to spread", code="NO_ARREARS")
        policy = self.policies.policy_for(info.branch, today)
        rules = policy.payment_plans
        held = policy.state(record.state) if record is not None else None
        if held is not None and held.final:
            raise Conflict("the arrears were handed over for legal collection",
                           code="DEBTOR_HANDED_OVER")
        if record is not None and record.plan_id:
            raise Conflict("the debtor already has a payment plan in force",
                           code="PLAN_EXISTS")
        items = self._schedule(overdue, rules, today, instalments, first_due_date, schedule)
        if record is None:
            self.refresh(key)
            record = self.store.debtor(key)
        plan = PlanRecord(
            key, f"{today.isoformat()}-{uuid.uuid4().hex[:8]}", branch=info.branch,
            status=plan_rules.ACTIVE,
            instalments=json.dumps([i.to_dict() for i in items]),
            total=sum(i.amount for i in items), bill_ids=[o.bill.bill_id for o in overdue],
            baseline_paid=sum(int(o.bill.amount_paid) for o in overdue), paid=0,
            created_by=principal.subject, reason=reason, created_at=now)
        details = {"plan_id": plan.plan_id, "total": int(plan.total),
                   "instalments": [i.to_dict() for i in items],
                   "bill_ids": list(plan.bill_ids)}
        event = new_event(key, "PLAN_AGREED", principal.subject, {**details, "reason": reason},
                          now)
        audit = audit_entry(f"debtor#{key}", principal.subject, "PAYMENT_PLAN_AGREED",
                            reason=reason, details=details, at=now)
        tags = sorted(set(record.tags or []) | {"PAYMENT_PLAN"})
        self.store.add_plan(plan, record, tags, event, audit)
        self.refresh(key)
        return plan_view(plan)

    def _schedule(self, overdue: list[_Owed], rules, today: date, count: int | None,
                  first: date | None, schedule: list[tuple[date, int]] | None):
        def projected(on: date) -> int:
            return sum(self.billing.owed(o.bill, on).due for o in overdue)

        latest_first = today + timedelta(days=rules.max_days_to_first_instalment)
        if schedule:
            dates = [d for d, _ in schedule]
            if len(schedule) > rules.max_instalments:
                raise ValidationFailed(f"at most {rules.max_instalments} instalments",
                                       field="schedule", code="PLAN_TOO_LONG")
            if dates != sorted(set(dates)):
                raise ValidationFailed("instalment dates must be distinct and ascending",
                                       field="schedule", code="PLAN_DATES")
            first = dates[0]
        else:
            if count is None or first is None:
                raise ValidationFailed("give instalments and first_due_date, or a schedule",
                                       field="instalments", code="PLAN_INCOMPLETE")
            if not 2 <= count <= rules.max_instalments:
                raise ValidationFailed(f"instalments must be 2..{rules.max_instalments}",
                                       field="instalments", code="PLAN_TOO_LONG")
        if not today < first <= latest_first:
            raise ValidationFailed(f"the first instalment falls due after today and by "
                                   f"{latest_first.isoformat()}", field="first_due_date",
                                   code="PLAN_DATES")
        if schedule:
            total = projected(schedule[-1][0])
            if sum(a for _, a in schedule) < total:
                raise ValidationFailed(f"the instalments must cover {total} (the arrears with "
                                       f"fines up to the last instalment)", field="schedule",
                                       code="PLAN_TOO_SMALL")
            return [plan_rules.Instalment(i + 1, d, a) for i, (d, a) in enumerate(schedule)]
        dates = plan_rules.monthly_dates(first, count)
        return plan_rules.equal_instalments(projected(dates[-1]), dates)

    def plans_of(self, raw_key: str, principal: Principal) -> dict:
        principal.require_role(READ_ROLES)
        key = parse_debtor_key(raw_key)
        self._branch_of_debtor(key, principal)
        return {"items": [plan_view(p) for p in self.store.plans(key)], "next_token": None}

    def cancel_plan(self, raw_key: str, plan_id: str, reason: str, principal: Principal) -> dict:
        principal.require_role(WRITE_ROLES)
        key = parse_debtor_key(raw_key)
        self._branch_of_debtor(key, principal)
        plan = self.store.plan(key, plan_id)
        record = self.store.debtor(key)
        if plan is None or record is None:
            raise NotFound(f"no plan {plan_id} for {key}", code="PLAN_NOT_FOUND")
        if plan.status != plan_rules.ACTIVE:
            raise Conflict(f"the plan is {plan.status}", code="PLAN_NOT_ACTIVE")
        now = self.clock()
        event = new_event(key, "PLAN_CANCELLED", principal.subject,
                          {"plan_id": plan_id, "reason": reason}, now)
        audit = audit_entry(f"debtor#{key}", principal.subject, "PAYMENT_PLAN_CANCELLED",
                            reason=reason, details={"plan_id": plan_id}, at=now)
        tags = [t for t in (record.tags or []) if t != "PAYMENT_PLAN"]
        self.store.close_plan(plan, plan_rules.CANCELLED, jakarta_today(now).isoformat(), reason,
                              int(plan.paid), record, tags, event, extra=[audit])
        self.store.reindex(key)
        self.refresh(key)
        return plan_view(self.store.plan(key, plan_id))

    # ================================================================== exemptions
    def set_exemption(self, raw_key: str, tag: str, reason: str, principal: Principal,
                      lift: bool = False) -> dict:
        """DISPUTE pauses escalation until lifted (PAYMENT_PLAN follows its plan)."""
        principal.require_role(WRITE_ROLES)
        key = parse_debtor_key(raw_key)
        if tag != "DISPUTE":
            raise ValidationFailed("only DISPUTE is set by hand (PAYMENT_PLAN comes with a "
                                   "plan)", field="tag", code="UNKNOWN_TAG")
        self._branch_of_debtor(key, principal)
        record = self.store.debtor(key)
        if record is None:
            self.refresh(key)
            record = self.store.debtor(key)
        if record is None:
            raise Conflict("nothing is owed: no debtor to exempt", code="NO_ARREARS")
        tags = set(record.tags or [])
        if (tag in tags) != lift:
            raise Conflict(f"{tag} is {'not ' if lift else 'already '}set", code="TAG_UNCHANGED")
        tags = sorted(tags - {tag}) if lift else sorted(tags | {tag})
        now = self.clock()
        action = "EXEMPTION_LIFTED" if lift else "EXEMPTION_SET"
        event = new_event(key, action, principal.subject, {"tag": tag, "reason": reason}, now)
        audit = audit_entry(f"debtor#{key}", principal.subject, action, reason=reason,
                            details={"tag": tag}, at=now)
        self.store.change_debtor(key, [DebtorRecord.tags.set(tags)],
                                 condition=DebtorRecord.version == record.version,
                                 events=[event], extra=[audit])
        self.store.reindex(key)
        return self.refresh(key)

    # ================================================================== views
    def ageing(self, principal: Principal, branch: str | None) -> dict:
        branch = self._branch(principal, branch)
        today = jakarta_today(self.clock())
        return {"branch": branch, "as_of": today.isoformat(),
                **self._live_ageing(branch, today)}

    def _live_ageing(self, branch: str, today: date) -> dict:
        return ageing([AgedBill(b.segment, _day(b.due_date), self.billing.owed(b, today).due)
                       for status in ("OPEN", OVERDUE)
                       for b in self._branch_bills(branch, status)], today)

    def worklist(self, principal: Principal, branch: str | None, state: str | None,
                 limit: int, next_token: str | None) -> dict:
        branch = self._branch(principal, branch)
        today = jakarta_today(self.clock())
        states = list(dict.fromkeys(self.policies.state_names() + [FALLBACK_STATE]))
        if state is not None and state not in states:
            raise ValidationFailed(f"state must be one of {', '.join(states)}", field="state",
                                   code="UNKNOWN_STATE")
        wanted = [state] if state else states
        cursor = _decode_token(next_token) if next_token else {"i": 0, "k": None}
        index, start = int(cursor.get("i", 0)), cursor.get("k")
        items: list[dict] = []
        while index < len(wanted) and len(items) < limit:
            page, last = self.store.worklist(branch, wanted[index], limit - len(items), start)
            items.extend(debtor_view(r, today) for r in page)
            if last:
                start = last
            else:
                index, start = index + 1, None
        more = index < len(wanted)
        return {"items": items,
                "next_token": _encode_token({"i": index, "k": start}) if more else None}

    def history(self, raw_key: str, principal: Principal) -> dict:
        principal.require_role(READ_ROLES)
        key = parse_debtor_key(raw_key)
        today = jakarta_today(self.clock())
        record = self.store.debtor(key)
        bills = sorted(self.billing_store.bills_of_party(key), key=lambda b: b.period)
        info = self._debtor_info(key, record, bills)
        if info is None:
            raise NotFound(f"no debtor {key}", code="DEBTOR_NOT_FOUND")
        principal.require_branch(info.branch)
        events = [{"at": e.event_key.split("#")[0], "kind": e.kind, "actor": e.actor,
                   "details": json.loads(e.details) if e.details else None}
                  for e in self.store.events(key)]
        actions = [action_view(a) for a in sorted(self.store.actions(key),
                                                  key=lambda a: (a.created_at, a.action_key))]
        paid = defaultdict(list)
        for bill in bills:
            if bill.status == PAID and bill.payment_id:
                paid[bill.payment_id].append(bill)
        payments = [{"payment_id": pid, "paid_at": group[0].paid_at.isoformat(),
                     "bill_ids": [b.bill_id for b in group],
                     "amount": sum(int(b.amount_paid) for b in group)}
                    for pid, group in paid.items()]
        payments += [{"payment_id": None, "paid_at": e["at"], "kind": e["kind"],
                      **(e["details"] or {})} for e in events
                     if e["kind"] in ("PAYMENT_RECEIVED", "CREDIT_APPLIED")]
        return {
            "debtor": debtor_view(record, today) if record is not None else {
                "debtor_key": key, "kind": info.kind, "segment": info.segment,
                "branch_code": info.branch, "name": info.name, "npp": info.npp,
                "kpj": info.kpj, "state": CURRENT},
            "bills": [self.billing.bill_view(b, today) for b in bills],
            "payments": sorted(payments, key=lambda p: p["paid_at"]),
            "messages": [a for a in actions if a["kind"] == "message"],
            "letters": [a for a in actions if a["kind"] == "letter"],
            "state_changes": [e for e in events if e["kind"] == "STATE_CHANGED"],
            "plans": [plan_view(p) for p in self.store.plans(key)],
            "events": events,
        }

    def compliance(self, principal: Principal, branch: str | None, first: str,
                   last: str | None) -> dict:
        branch = self._branch(principal, branch)
        start, end = Period.parse(first), Period.parse(last or first)
        if end < start or start.months_until(end) >= 12:
            raise ValidationFailed("from..to spans 1 to 12 months", field="to",
                                   code="BAD_MONTH_RANGE")
        today = jakarta_today(self.clock())
        items = []
        month = start
        while month <= end:
            items.append(self._compliance_month(branch, month, today))
            month = month.next()
        return {"branch": branch, "items": items}

    def _compliance_month(self, branch: str, month: Period, today: date) -> dict:
        """The bills that fell due in `month`: PU bills of the month before, BPU bills of
        the month itself (per the due-date rule data)."""
        rulebook = self.billing.rulebook
        bills: list[BillFigure] = []
        for segment in ("PU", "BPU"):
            try:
                rule = rulebook.due_date_rule(segment, month)
            except SmileError:
                continue
            period = str(month.plus(-rule.months_after_period))
            for status in ("OPEN", OVERDUE, PAID):
                for bill in self._branch_bills(branch, status, period):
                    if bill.segment != segment:
                        continue
                    paid_on = jakarta_today(bill.paid_at) if bill.paid_at else None
                    bills.append(BillFigure(segment, _day(bill.due_date), int(bill.contribution),
                                            int(bill.amount_paid), paid_on,
                                            int(bill.worker_count or 0)))
        month_end = month.next().first_day() - timedelta(days=1)
        receivables = None
        if month_end >= today:        # the month is not over: what is owed now
            receivables = {"as_of": today.isoformat(),
                           **self._live_ageing(branch, today)["receivables"]}
        else:                         # what the check found on the month's last day
            snapshot = self.store.snapshot_on_or_before(branch, month_end.isoformat())
            if snapshot is not None and snapshot.day >= month.first_day().isoformat():
                receivables = {"as_of": snapshot.day,
                               **json.loads(snapshot.figures)["receivables"]}
        return {"month": str(month), **figures(bills), "receivables": receivables}

    def policy_in_force(self, principal: Principal, branch: str | None) -> dict:
        branch = self._branch(principal, branch)
        today = jakarta_today(self.clock())
        return {"branch": branch, "as_of": today.isoformat(),
                **policy_view(self.policies.policy_for(branch, today))}

    # ------------------------------------------------------------------ helpers
    def _branch_bills(self, branch: str, status: str, period: str | None = None):
        start = None
        while True:
            page, start = self.billing_store.bills_of_branch(branch, status, period, 500, start)
            yield from page
            if not start:
                return

    @staticmethod
    def _branch(principal: Principal, branch: str | None) -> str:
        principal.require_role(READ_ROLES)
        branch = branch or principal.branch
        if not branch:
            raise ValidationFailed("branch is required for an ADMIN token", field="branch")
        principal.require_branch(branch)
        return branch

    def _branch_of_debtor(self, key: str, principal: Principal) -> str:
        record = self.store.debtor(key)
        info = self._debtor_info(key, record, [] if record else
                                 self.billing_store.bills_of_party(key))
        if info is None:
            raise NotFound(f"no debtor {key}", code="DEBTOR_NOT_FOUND")
        principal.require_branch(info.branch)
        return info.branch

    def _info(self, event: str, extra: dict) -> None:
        if self.log:
            self.log.info(event, extra=extra)


# ---------------------------------------------------------------------- views
def _position_of(record: DebtorRecord) -> tuple:
    return (record.state, record.anchor, tuple(record.taken or ()), int(record.amount_owed or 0),
            int(record.unpaid_months or 0), int(record.consecutive_unpaid_months or 0),
            record.next_action, record.anchor_bill_id, record.oldest_period,
            record.branch_state, record.worklist_sort, record.tracked_shard)


def _applied_view(applied) -> dict:
    return {"bill_id": applied.bill_id, "period": applied.period, "amount": applied.amount,
            "settled": applied.settles, "remaining": applied.remaining}


def _action_summary(action: ActionRecord) -> dict:
    payload = action.payload_dict()
    if action.kind == "message":
        return {"template": payload.get("template"), "bill_id": payload.get("bill_id")}
    if action.kind == "letter":
        return {"letter_type": payload.get("letter_type"),
                "legal_handover_target": payload.get("legal_handover_target")}
    return {"participant_id": payload.get("participant_id")}


def action_view(action: ActionRecord) -> dict:
    return {"step": action.step_id, "state": action.state, "anchor": action.anchor,
            "kind": action.kind, "status": action.status, "dedupe_key": action.dedupe_key,
            "created_at": action.created_at.isoformat(),
            "done_at": action.done_at.isoformat() if action.done_at else None,
            **_action_summary(action)}


def debtor_view(record: DebtorRecord, today: date) -> dict:
    anchor = _day(record.anchor)
    return {"debtor_key": record.debtor_key, "kind": record.kind, "segment": record.segment,
            "branch_code": record.branch, "name": record.name, "npp": record.npp,
            "kpj": record.kpj, "state": record.state, "state_since": record.state_since,
            "owed_since": record.anchor,
            "days_overdue": (today - anchor).days if anchor and record.state != CURRENT else 0,
            "amount_owed": int(record.amount_owed or 0),
            "unpaid_months": int(record.unpaid_months or 0),
            "consecutive_unpaid_months": int(record.consecutive_unpaid_months or 0),
            "oldest_period": record.oldest_period,
            "last_action": json.loads(record.last_action) if record.last_action else None,
            "next_action": json.loads(record.next_action) if record.next_action else None,
            "tags": list(record.tags or []), "credit": int(record.credit or 0),
            "plan_id": record.plan_id, "evaluated_on": record.evaluated_on}


def plan_view(plan: PlanRecord) -> dict:
    return {"plan_id": plan.plan_id, "debtor_key": plan.debtor_key, "status": plan.status,
            "total": int(plan.total), "paid": int(plan.paid or 0),
            "instalments": plan.instalments_list(), "bill_ids": list(plan.bill_ids),
            "reason": plan.reason, "created_by": plan.created_by,
            "created_at": plan.created_at.isoformat(), "closed_on": plan.closed_on,
            "closed_reason": plan.closed_reason}


def policy_view(policy) -> dict:
    from dataclasses import asdict

    def conditions(when) -> dict:
        return {k: sorted(v) if isinstance(v, frozenset) else v
                for k, v in asdict(when).items() if v is not None}

    return {"name": policy.name, "valid_from": policy.valid_from.isoformat(),
            "valid_to": policy.valid_to.isoformat() if policy.valid_to else None,
            "source": policy.source,
            "pre_due": {"days_before": list(policy.pre_due.days_before),
                        "template": policy.pre_due.template,
                        "channel": policy.pre_due.channel,
                        "segments": sorted(policy.pre_due.segments)},
            "payment_plans": asdict(policy.payment_plans),
            "states": [{"name": s.name, "description": s.description,
                        "when": conditions(s.when), "final": s.final, "pause": s.pause,
                        "repeat_every_days": s.repeat_every_days,
                        "actions": [{k: v for k, v in asdict(a).items() if v is not None}
                                    for a in s.actions]}
                       for s in policy.states]}


def _encode_token(data: dict) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _decode_token(token: str) -> dict:
    import base64
    import binascii

    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
        if not isinstance(data, dict):
            raise ValueError
        return data
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed("next_token is not one this API issued",
                               field="next_token") from exc
