"""Receivables' data access: debtors (their position on the escalation policy), the history
of what happened to them, the actions taken (an outbox: each action exactly once per debtor,
step and anchor), payment plans, daily-check runs and the branch snapshots behind the
compliance figures. Owns every condition expression and maps DynamoDB refusals to the
project's errors."""
from __future__ import annotations

import json
import uuid
import zlib
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

from pynamodb.attributes import (ListAttribute, NumberAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.shared_kernel.errors import Conflict
from chalicelib.shared_kernel.resources import table

CURRENT = "CURRENT"
TRACKED_SHARDS = 2     # debtors in play (writes come one at a time), read by every check
# Actions between their write and their hand-over (normally milliseconds; after a crash,
# until the next run): one writer at a time, so one partition takes the load.
PENDING_SHARDS = 1
PENDING, SENT, SKIPPED, CANCELLED = "PENDING", "SENT", "SKIPPED", "CANCELLED"


def _shard(key: str, count: int) -> int:
    return zlib.crc32(key.encode()) % count


class _ByBranchState(GlobalSecondaryIndex):
    """The officer's worklist: a branch's debtors in one state, oldest arrears first.
    Sparse: CURRENT debtors are not in it."""

    class Meta:
        index_name = "by_branch_state"
        projection = AllProjection()

    branch_state = UnicodeAttribute(hash_key=True)    # "BLT#SP1"
    worklist_sort = UnicodeAttribute(range_key=True)  # "<anchor>#<debtor_key>"


class _Tracked(GlobalSecondaryIndex):
    """Debtors the daily check must look at even without an overdue bill today: in arrears
    yesterday (a full payment returns them to CURRENT), with a credit to apply, a tag or a
    plan. Sparse and sharded: its size follows the arrears, not the membership."""

    class Meta:
        index_name = "tracked"
        projection = AllProjection()

    tracked_shard = UnicodeAttribute(hash_key=True)   # "TRK#<n>"
    debtor_key = UnicodeAttribute(range_key=True)


@table("debtors")
class DebtorRecord(Model):
    class Meta:
        table_name = "debtors"

    debtor_key = UnicodeAttribute(hash_key=True)      # "EMP#<employer_id>" / "PAR#<id>"
    kind = UnicodeAttribute()                         # EMPLOYER | PARTICIPANT
    segment = UnicodeAttribute()                      # PU | BPU
    branch = UnicodeAttribute()
    name = UnicodeAttribute()
    npp = UnicodeAttribute(null=True)
    kpj = UnicodeAttribute(null=True)
    state = UnicodeAttribute(default=CURRENT)
    state_since = UnicodeAttribute(null=True)         # ISO date the state was entered
    anchor = UnicodeAttribute(null=True)              # earliest unpaid due date
    anchor_bill_id = UnicodeAttribute(null=True)
    taken = ListAttribute(of=UnicodeAttribute, default=list)  # step ids taken for anchor
    amount_owed = NumberAttribute(default=0)          # overdue, as of evaluated_on
    unpaid_months = NumberAttribute(default=0)
    consecutive_unpaid_months = NumberAttribute(default=0)
    oldest_period = UnicodeAttribute(null=True)
    last_action = UnicodeAttribute(null=True)         # JSON {"step", "kinds", "on"}
    stepped_on = UnicodeAttribute(null=True)          # day of the last step: one a day
    next_action = UnicodeAttribute(null=True)         # JSON {"step", "on"}
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    credit = NumberAttribute(default=0)               # overpayment, rupiah
    plan_id = UnicodeAttribute(null=True)             # the plan in force
    evaluated_on = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    branch_state = UnicodeAttribute(null=True)
    worklist_sort = UnicodeAttribute(null=True)
    tracked_shard = UnicodeAttribute(null=True)

    by_branch_state = _ByBranchState()
    tracked = _Tracked()

    @property
    def party_id(self) -> str:
        return self.debtor_key.split("#", 1)[1]

    def refresh_index_keys(self) -> None:
        """The sparse keys follow the record: in the worklist unless CURRENT; tracked while
        anything is in play."""
        in_play = self.state != CURRENT or int(self.credit or 0) > 0 or bool(self.tags) \
            or self.plan_id is not None
        if self.state != CURRENT:
            self.branch_state = f"{self.branch}#{self.state}"
            self.worklist_sort = f"{self.anchor or '9999-12-31'}#{self.debtor_key}"
        else:
            self.branch_state = self.worklist_sort = None
        self.tracked_shard = (f"TRK#{_shard(self.debtor_key, TRACKED_SHARDS)}"
                              if in_play else None)


@table("debtor-events")
class DebtorEventRecord(Model):
    """A debtor's history: state changes, actions, payments and credits, plans, tags."""

    class Meta:
        table_name = "debtor-events"

    debtor_key = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)      # "<iso instant>#<uuid8>": by time
    kind = UnicodeAttribute()
    actor = UnicodeAttribute()
    details = UnicodeAttribute(null=True)             # JSON; never NIK or phone numbers


class _PendingActions(GlobalSecondaryIndex):
    class Meta:
        index_name = "pending"
        projection = AllProjection()

    pending_shard = UnicodeAttribute(hash_key=True)   # "PEND#<n>" until handed over
    action_key = UnicodeAttribute(range_key=True)


@table("debtor-actions")
class ActionRecord(Model):
    """The outbox of the escalation policy. The key IS the exactly-once rule: one item per
    debtor, anchor, step and kind, written with the debtor's new position in one
    transaction, handed to its queue, then marked SENT."""

    class Meta:
        table_name = "debtor-actions"

    debtor_key = UnicodeAttribute(hash_key=True)
    action_key = UnicodeAttribute(range_key=True)     # "<anchor>#<step_id>#<kind>"
    kind = UnicodeAttribute()                         # message | letter | deactivate
    step_id = UnicodeAttribute()
    state = UnicodeAttribute()
    anchor = UnicodeAttribute()
    status = UnicodeAttribute()                       # PENDING | SENT | SKIPPED | CANCELLED
    dedupe_key = UnicodeAttribute()
    payload = UnicodeAttribute()                      # JSON: the queue message
    result = UnicodeAttribute(null=True)              # JSON: what executing it produced
    created_at = UTCDateTimeAttribute()
    done_at = UTCDateTimeAttribute(null=True)
    pending_shard = UnicodeAttribute(null=True)

    pending = _PendingActions()

    def payload_dict(self) -> dict:
        return json.loads(self.payload)


@table("payment-plans")
class PlanRecord(Model):
    class Meta:
        table_name = "payment-plans"

    debtor_key = UnicodeAttribute(hash_key=True)
    plan_id = UnicodeAttribute(range_key=True)        # "<iso date>#<uuid8>": by time
    branch = UnicodeAttribute()
    status = UnicodeAttribute()                       # ACTIVE | COMPLETED | BROKEN | CANCELLED
    instalments = UnicodeAttribute()                  # JSON [{"number","due_date","amount"}]
    total = NumberAttribute()
    bill_ids = ListAttribute(of=UnicodeAttribute)
    baseline_paid = NumberAttribute()                 # paid on those bills when agreed
    paid = NumberAttribute(default=0)                 # toward the plan, as last checked
    created_by = UnicodeAttribute()
    reason = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    closed_on = UnicodeAttribute(null=True)
    closed_reason = UnicodeAttribute(null=True)

    def instalments_list(self) -> list[dict]:
        return json.loads(self.instalments)


@table("receivables-runs")
class RunRecord(Model):
    class Meta:
        table_name = "receivables-runs"

    run_key = UnicodeAttribute(hash_key=True)         # "check#<day>"
    status = UnicodeAttribute()
    started_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    runs = NumberAttribute(default=0)
    summary = UnicodeAttribute(null=True)


@table("receivables-snapshots")
class SnapshotRecord(Model):
    """What the daily check found owed in a branch on a day (compliance: receivables at the
    end of a month)."""

    class Meta:
        table_name = "receivables-snapshots"

    branch = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)
    figures = UnicodeAttribute()                      # JSON


class EvaluationConflict(Exception):
    """The debtor changed since it was read (a payment, a plan, a tag) or one of the
    actions already exists: re-read and evaluate again."""

    def __init__(self, existing_actions: bool):
        super().__init__("debtor changed meanwhile" if not existing_actions
                         else "an action of this step already exists")
        self.existing_actions = existing_actions


def transact_write():
    """A write transaction on the debtors model's connection: its botocore client is built
    once per process, not once per transaction (a client costs ~10 ms of CPU, and the check
    writes one transaction per debtor that moves)."""
    from pynamodb.transactions import TransactWrite

    return TransactWrite(connection=DebtorRecord._get_connection().connection)


def _reasons(exc: Exception) -> list:
    return list(getattr(exc, "cancellation_reasons", None) or [])


def _condition_failed(exc: Exception) -> bool:
    if any(r is not None and r.code == "ConditionalCheckFailed" for r in _reasons(exc)):
        return True
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def new_event(debtor_key: str, kind: str, actor: str, details: dict | None,
              at: datetime) -> DebtorEventRecord:
    moment = at.astimezone(timezone.utc).isoformat()
    return DebtorEventRecord(debtor_key, f"{moment}#{uuid.uuid4().hex[:8]}", kind=kind,
                             actor=actor,
                             details=json.dumps(details, default=str) if details else None)


class ReceivablesStore:
    # ------------------------------------------------------------------ debtors
    def debtor(self, debtor_key: str) -> DebtorRecord | None:
        try:
            return DebtorRecord.get(debtor_key)
        except DebtorRecord.DoesNotExist:
            return None

    def debtors(self, keys: Iterable[str]) -> dict[str, DebtorRecord]:
        ids = list(dict.fromkeys(keys))
        return {r.debtor_key: r for r in DebtorRecord.batch_get(ids)} if ids else {}

    def tracked_debtors(self) -> Iterator[DebtorRecord]:
        for shard in range(TRACKED_SHARDS):
            yield from DebtorRecord.tracked.query(f"TRK#{shard}")

    def worklist(self, branch: str, state: str, limit: int, start: dict | None):
        result = DebtorRecord.by_branch_state.query(f"{branch}#{state}", limit=limit,
                                                    last_evaluated_key=start)
        items = list(result)
        return items, result.last_evaluated_key

    def save_evaluation(self, record: DebtorRecord, expected_version: int | None,
                        actions: list[ActionRecord], events: list[DebtorEventRecord]) -> None:
        """The debtor's new position, its new actions (each at most once: the key must be
        new) and its history, in one transaction. `expected_version` None: a new debtor."""
        record.refresh_index_keys()
        record.version = (expected_version or 0) + 1
        condition = (DebtorRecord.debtor_key.does_not_exist() if expected_version is None
                     else DebtorRecord.version == expected_version)
        try:
            with transact_write() as tx:
                tx.save(record, condition=condition)
                for action in actions:
                    tx.save(action, condition=ActionRecord.action_key.does_not_exist())
                for event in events:
                    tx.save(event)
        except TransactWriteError as exc:
            record.version = expected_version or 0
            reasons = _reasons(exc)
            failed = [i for i, r in enumerate(reasons)
                      if r is not None and r.code == "ConditionalCheckFailed"]
            if failed:
                raise EvaluationConflict(existing_actions=any(i > 0 for i in failed)) from exc
            raise

    def change_debtor(self, debtor_key: str, actions: list, condition=None,
                      events: Iterable[DebtorEventRecord] = (), extra: Iterable = ()) -> None:
        """A person's change to a debtor (tag, plan): conditional update + history (+ extra
        saves) in one transaction; the version moves so a concurrent check re-reads."""
        try:
            with transact_write() as tx:
                tx.update(DebtorRecord(debtor_key),
                          actions=list(actions) + [DebtorRecord.version.add(1)],
                          condition=condition)
                for event in events:
                    tx.save(event)
                for item in extra:
                    tx.save(item)
        except TransactWriteError as exc:
            if _condition_failed(exc):
                raise Conflict("the debtor changed meanwhile; reload and try again",
                               code="STATE_CHANGED") from exc
            raise

    def reindex(self, debtor_key: str) -> None:
        """Recompute the sparse keys after an additive change (credit, tags)."""
        record = self.debtor(debtor_key)
        if record is None:
            return
        before = (record.branch_state, record.worklist_sort, record.tracked_shard)
        record.refresh_index_keys()
        after = (record.branch_state, record.worklist_sort, record.tracked_shard)
        if before == after:
            return
        actions = [attr.set(value) if value is not None else attr.remove()
                   for attr, value in zip((DebtorRecord.branch_state, DebtorRecord.worklist_sort,
                                           DebtorRecord.tracked_shard), after)]
        try:
            record.update(actions=actions, condition=DebtorRecord.version == record.version)
        except UpdateError as exc:
            if not _condition_failed(exc):
                raise  # a concurrent writer recomputes them itself

    @staticmethod
    def credit_writer(debtor_key: str, amount: int, seed: dict) -> Callable:
        """A transaction step adding `amount` (negative: using it) to a debtor's credit,
        creating the debtor from `seed` when it has no record yet."""

        def write(tx) -> None:
            sets = [getattr(DebtorRecord, name).set(getattr(DebtorRecord, name) | value)
                    for name, value in seed.items() if value is not None]
            condition = None
            if amount < 0:
                condition = DebtorRecord.credit >= -amount
            tx.update(DebtorRecord(debtor_key),
                      actions=sets + [DebtorRecord.credit.add(amount),
                                      DebtorRecord.version.add(1),
                                      DebtorRecord.tracked_shard.set(
                                          f"TRK#{_shard(debtor_key, TRACKED_SHARDS)}")],
                      condition=condition)

        return write

    # ------------------------------------------------------------------ history
    def events(self, debtor_key: str) -> list[DebtorEventRecord]:
        return list(DebtorEventRecord.query(debtor_key))

    def add_events(self, events: list[DebtorEventRecord]) -> None:
        with DebtorEventRecord.batch_write() as batch:
            for event in events:
                batch.save(event)

    # ------------------------------------------------------------------ actions
    @staticmethod
    def new_action(debtor_key: str, *, anchor: str, step_id: str, state: str, kind: str,
                   dedupe_key: str, payload: dict, now: datetime) -> ActionRecord:
        key = f"{anchor}#{step_id}#{kind}"
        return ActionRecord(debtor_key, key, kind=kind, step_id=step_id, state=state,
                            anchor=anchor, status=PENDING, dedupe_key=dedupe_key,
                            payload=json.dumps(payload, default=str), created_at=now,
                            pending_shard=f"PEND#{_shard(debtor_key + key, PENDING_SHARDS)}")

    def actions(self, debtor_key: str, anchor: str | None = None) -> list[ActionRecord]:
        condition = ActionRecord.action_key.startswith(f"{anchor}#") if anchor else None
        return list(ActionRecord.query(debtor_key, range_key_condition=condition))

    def existing_actions(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        if not keys:
            return set()
        found = ActionRecord.batch_get(list(dict.fromkeys(keys)),
                                       attributes_to_get=["debtor_key", "action_key"])
        return {(a.debtor_key, a.action_key) for a in found}

    def add_action(self, action: ActionRecord) -> bool:
        """False when this debtor already has this step (another run wrote it)."""
        try:
            action.save(condition=ActionRecord.action_key.does_not_exist())
            return True
        except PutError as exc:
            if _condition_failed(exc):
                return False
            raise

    def pending_actions(self) -> Iterator[ActionRecord]:
        for shard in range(PENDING_SHARDS):
            yield from ActionRecord.pending.query(f"PEND#{shard}")

    def pending_of(self, debtor_key: str) -> list[ActionRecord]:
        return [a for a in self.actions(debtor_key) if a.status == PENDING]

    def finish_actions(self, actions: list[ActionRecord], status: str, now: datetime) -> None:
        """Hand-over done (or cancelled): whole items rewritten in batches of 25; the
        pending index forgets them."""
        with ActionRecord.batch_write() as batch:
            for action in actions:
                action.status, action.done_at, action.pending_shard = status, now, None
                batch.save(action)

    def record_result(self, action: ActionRecord, result: dict) -> None:
        action.result = json.dumps(result, default=str)
        action.update(actions=[ActionRecord.result.set(action.result)])

    # ------------------------------------------------------------------ plans
    def plans(self, debtor_key: str) -> list[PlanRecord]:
        return list(PlanRecord.query(debtor_key, scan_index_forward=False))

    def plan(self, debtor_key: str, plan_id: str) -> PlanRecord | None:
        try:
            return PlanRecord.get(debtor_key, plan_id)
        except PlanRecord.DoesNotExist:
            return None

    def add_plan(self, plan: PlanRecord, debtor: DebtorRecord, tags: list[str],
                 event: DebtorEventRecord, audit) -> None:
        """The plan, the debtor's PAYMENT_PLAN tag and plan id, at the version read (so
        two officers never agree two plans), with history and audit: one transaction."""
        debtor.tags, debtor.plan_id = tags, plan.plan_id
        debtor.refresh_index_keys()
        try:
            with transact_write() as tx:
                tx.save(plan, condition=PlanRecord.plan_id.does_not_exist())
                tx.update(debtor, actions=[
                    DebtorRecord.tags.set(tags), DebtorRecord.plan_id.set(plan.plan_id),
                    DebtorRecord.tracked_shard.set(debtor.tracked_shard),
                    DebtorRecord.version.add(1)],
                    condition=(DebtorRecord.version == debtor.version)
                    & DebtorRecord.plan_id.does_not_exist())
                tx.save(event)
                tx.save(audit)
        except TransactWriteError as exc:
            if _condition_failed(exc):
                raise Conflict("the debtor changed meanwhile (a plan was agreed or a payment "
                               "arrived); reload and try again", code="STATE_CHANGED") from exc
            raise

    def close_plan(self, plan: PlanRecord, status: str, on: str, reason: str, paid: int,
                   debtor: DebtorRecord, tags: list[str], event: DebtorEventRecord,
                   extra: Iterable = ()) -> None:
        """The plan ends (completed, broken, cancelled) and the debtor loses its tag."""
        try:
            with transact_write() as tx:
                tx.update(plan, actions=[PlanRecord.status.set(status),
                                         PlanRecord.closed_on.set(on),
                                         PlanRecord.closed_reason.set(reason),
                                         PlanRecord.paid.set(paid)],
                          condition=PlanRecord.status == "ACTIVE")
                tx.update(debtor, actions=[DebtorRecord.tags.set(tags),
                                           DebtorRecord.plan_id.remove(),
                                           DebtorRecord.version.add(1)],
                          condition=DebtorRecord.version == debtor.version)
                tx.save(event)
                for item in extra:
                    tx.save(item)
        except TransactWriteError as exc:
            if _condition_failed(exc):
                raise Conflict("the plan or the debtor changed meanwhile",
                               code="STATE_CHANGED") from exc
            raise
        debtor.tags, debtor.plan_id, debtor.version = tags, None, debtor.version + 1

    def update_plan_paid(self, plan: PlanRecord, paid: int) -> None:
        plan.update(actions=[PlanRecord.paid.set(paid)])

    # ------------------------------------------------------------------ runs
    def record_run(self, run_key: str, summary: dict, now: datetime) -> None:
        """What a run did (the last run of a day wins): for operators, never a lock."""
        RunRecord(run_key, status="DONE", started_at=now, finished_at=now, runs=1,
                  summary=json.dumps(summary)).save()

    def run(self, run_key: str) -> RunRecord | None:
        try:
            return RunRecord.get(run_key)
        except RunRecord.DoesNotExist:
            return None

    # ------------------------------------------------------------------ snapshots
    def save_snapshots(self, snapshots: list[SnapshotRecord]) -> None:
        with SnapshotRecord.batch_write() as batch:
            for snapshot in snapshots:
                batch.save(snapshot)

    def snapshot_on_or_before(self, branch: str, day: str) -> SnapshotRecord | None:
        for record in SnapshotRecord.query(branch, range_key_condition=SnapshotRecord.day <= day,
                                           scan_index_forward=False, limit=1):
            return record
        return None
