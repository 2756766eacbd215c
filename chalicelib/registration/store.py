"""Registration's data access: employers, participants and the uniqueness keys that make
"one active membership per NIK per segment" a database rule, not a read-then-write.

Owns every condition expression and turns DynamoDB's refusals into the project's errors.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from pynamodb.attributes import (ListAttribute, NumberAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.shared_kernel.errors import Conflict, NotFound
from chalicelib.shared_kernel.resources import table, transact_write

BILLING_SHARDS = 8  # spreads the billable-party index over partitions


class _ByNpp(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_npp"
        projection = AllProjection()

    npp = UnicodeAttribute(hash_key=True)


class _EmployerQueue(GlobalSecondaryIndex):
    class Meta:
        index_name = "verification_queue"
        projection = AllProjection()

    queue_key = UnicodeAttribute(hash_key=True)   # "<branch>#PENDING_VERIFICATION"
    created_at = UTCDateTimeAttribute(range_key=True)


class _EmployerBilling(GlobalSecondaryIndex):
    class Meta:
        index_name = "billable"
        projection = AllProjection()

    billing_shard = UnicodeAttribute(hash_key=True)  # "EMP#<n>", only while VERIFIED
    employer_id = UnicodeAttribute(range_key=True)


@table("employers")
class EmployerRecord(Model):
    class Meta:
        table_name = "employers"

    employer_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    branch = UnicodeAttribute()
    name = UnicodeAttribute()
    risk_class = NumberAttribute()
    sector = UnicodeAttribute(null=True)
    npp = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    profile = UnicodeAttribute()                 # the validated registration, JSON
    rejection_reasons = ListAttribute(null=True)
    queue_key = UnicodeAttribute(null=True)
    billing_shard = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = NumberAttribute(default=0)

    by_npp = _ByNpp()
    verification_queue = _EmployerQueue()
    billable = _EmployerBilling()

    def profile_dict(self) -> dict:
        return json.loads(self.profile)


class _ByKpj(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_kpj"
        projection = AllProjection()

    kpj = UnicodeAttribute(hash_key=True)


class _ByEmployer(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_employer"
        projection = AllProjection()

    employer_id = UnicodeAttribute(hash_key=True)
    participant_id = UnicodeAttribute(range_key=True)


class _ParticipantQueue(GlobalSecondaryIndex):
    class Meta:
        index_name = "verification_queue"
        projection = AllProjection()

    queue_key = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class _ParticipantBilling(GlobalSecondaryIndex):
    class Meta:
        index_name = "billable"
        projection = AllProjection()

    billing_shard = UnicodeAttribute(hash_key=True)  # "BPU#<n>" while billable
    participant_id = UnicodeAttribute(range_key=True)


class _ByPhone(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_phone"
        projection = KeysOnlyProjection()

    phone = UnicodeAttribute(hash_key=True)


@table("participants")
class ParticipantRecord(Model):
    class Meta:
        table_name = "participants"

    participant_id = UnicodeAttribute(hash_key=True)
    segment = UnicodeAttribute()
    status = UnicodeAttribute()
    branch = UnicodeAttribute()
    name = UnicodeAttribute()
    nik = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    kpj = UnicodeAttribute(null=True)
    employer_id = UnicodeAttribute(null=True)
    npp = UnicodeAttribute(null=True)
    programs = ListAttribute(of=UnicodeAttribute, null=True)
    wage = NumberAttribute(null=True)             # PU: current monthly wage
    wage_history = UnicodeAttribute(null=True)    # JSON [{"from": "YYYY-MM", "wage": n}]
    declared_income = NumberAttribute(null=True)  # BPU
    left_from = UnicodeAttribute(null=True)       # PU: "YYYY-MM" from which not billed
    paid_through = UnicodeAttribute(null=True)    # last contribution period paid
    profile = UnicodeAttribute()
    rejection_reasons = ListAttribute(null=True)
    queue_key = UnicodeAttribute(null=True)
    billing_shard = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = NumberAttribute(default=0)

    by_kpj = _ByKpj()
    by_employer = _ByEmployer()
    verification_queue = _ParticipantQueue()
    billable = _ParticipantBilling()
    by_phone = _ByPhone()

    def profile_dict(self) -> dict:
        return json.loads(self.profile)

    def wage_for(self, period: str) -> int | None:
        """The wage in force for a contribution period: the latest change effective on or
        before it (unchanged wages carry over)."""
        history = json.loads(self.wage_history) if self.wage_history else []
        applicable = [h for h in history if h["from"] <= period]
        if not applicable:
            return None
        return int(max(applicable, key=lambda h: h["from"])["wage"])


@table("employment")
class EmploymentRecord(Model):
    """A PU worker's employment with one employer: the wages billing reads, keyed by the
    employer so a month's bill reads its workers with one keyed query."""

    class Meta:
        table_name = "employment"

    employer_id = UnicodeAttribute(hash_key=True)
    participant_id = UnicodeAttribute(range_key=True)
    kpj = UnicodeAttribute()
    name = UnicodeAttribute()
    wage_history = UnicodeAttribute()             # JSON [{"from": "YYYY-MM", "wage": n}]
    started = UnicodeAttribute()                  # first contribution period
    left_from = UnicodeAttribute(null=True)       # first period no longer employed

    def wage_for(self, period: str) -> int | None:
        history = json.loads(self.wage_history)
        applicable = [h for h in history if h["from"] <= period]
        if not applicable:
            return None
        return int(max(applicable, key=lambda h: h["from"])["wage"])

    def employed_in(self, period: str) -> bool:
        return self.started <= period and (self.left_from is None or period < self.left_from)


@table("registration-keys")
class UniqueKeyRecord(Model):
    """One item per unique business key: "NIK#<nik>#<segment>", "KPJ#<kpj>", "NPP#<npp>"."""

    class Meta:
        table_name = "registration-keys"

    key = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _was_condition_failure(exc: Exception) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
        return True
    return getattr(exc, "cause_response_code", None) in (
        "ConditionalCheckFailedException", "TransactionCanceledException")


class RegistrationStore:
    """Every read and write of registration's tables."""

    # ------------------------------------------------------------------ employers
    def add_employer(self, record: EmployerRecord) -> None:
        try:
            record.save(condition=EmployerRecord.employer_id.does_not_exist())
        except PutError as exc:
            if _was_condition_failure(exc):
                raise Conflict("employer already exists", code="DUPLICATE") from exc
            raise

    def employer(self, employer_id: str) -> EmployerRecord:
        try:
            return EmployerRecord.get(employer_id)
        except EmployerRecord.DoesNotExist as exc:
            raise NotFound(f"no employer {employer_id}", code="EMPLOYER_NOT_FOUND") from exc

    def employer_by_npp(self, npp: str) -> EmployerRecord:
        for record in EmployerRecord.by_npp.query(npp, limit=1):
            return record
        raise NotFound(f"no employer with NPP {npp}", code="EMPLOYER_NOT_FOUND")

    def billable_employers(self):
        for shard in range(BILLING_SHARDS):
            yield from EmployerRecord.billable.query(f"EMP#{shard}")

    # ------------------------------------------------------------------ participants
    def add_participant(self, record: ParticipantRecord) -> None:
        """Insert with the NIK-per-segment key in one transaction: exactly one wins."""
        nik_key = UniqueKeyRecord(f"NIK#{record.nik}#{record.segment}",
                                  owner=record.participant_id)
        try:
            with transact_write() as tx:
                tx.save(nik_key, condition=UniqueKeyRecord.key.does_not_exist())
                tx.save(record, condition=ParticipantRecord.participant_id.does_not_exist())
        except TransactWriteError as exc:
            if _was_condition_failure(exc):
                raise Conflict("this NIK already has a membership in this segment",
                               code="DUPLICATE_NIK") from exc
            raise

    def participant(self, participant_id: str) -> ParticipantRecord:
        try:
            return ParticipantRecord.get(participant_id)
        except ParticipantRecord.DoesNotExist as exc:
            raise NotFound(f"no participant {participant_id}",
                           code="PARTICIPANT_NOT_FOUND") from exc

    def participant_by_kpj(self, kpj: str) -> ParticipantRecord:
        for record in ParticipantRecord.by_kpj.query(kpj, limit=1):
            return record
        raise NotFound(f"no participant with KPJ {kpj}", code="PARTICIPANT_NOT_FOUND")

    def participant_ids_by_phone(self, phone: str) -> list[str]:
        return [r.participant_id for r in ParticipantRecord.by_phone.query(phone)]

    def workers_of(self, employer_id: str):
        return EmploymentRecord.query(employer_id)

    def billable_bpu(self):
        for shard in range(BILLING_SHARDS):
            yield from ParticipantRecord.billable.query(f"BPU#{shard}")

    def pending(self, branch: str):
        """The branch's verification queue, oldest first (employers and participants)."""
        key = f"{branch}#PENDING_VERIFICATION"
        employers = list(EmployerRecord.verification_queue.query(key))
        participants = list(ParticipantRecord.verification_queue.query(key))
        return sorted(employers + participants, key=lambda r: r.created_at)

    # ------------------------------------------------------------------ transitions
    def transition(self, record, *, expected_status: str, extra_saves=(), extra_keys=()):
        """Save `record` (already changed in memory) only if the stored one still has
        `expected_status` and the version read; with new unique keys and audit entries in
        the same transaction."""
        model = type(record)
        previous_version = record.version
        record.version = previous_version + 1
        record.updated_at = now_utc()
        try:
            with transact_write() as tx:
                tx.save(record, condition=(model.status == expected_status)
                        & (model.version == previous_version))
                for key in extra_keys:
                    tx.save(key, condition=UniqueKeyRecord.key.does_not_exist())
                for item in extra_saves:
                    tx.save(item)
        except TransactWriteError as exc:
            record.version = previous_version
            if _was_condition_failure(exc):
                raise Conflict("the record changed meanwhile or is no longer "
                               f"{expected_status}; reload and try again",
                               code="STATE_CHANGED") from exc
            raise

    def update_participant(self, record: ParticipantRecord, actions) -> None:
        try:
            record.update(actions=actions)
        except UpdateError as exc:
            raise Conflict("participant update refused", code="STATE_CHANGED") from exc

    def record_payment(self, participant_id: str, period: str) -> None:
        """VERIFIED/ACTIVE/INACTIVE -> ACTIVE with paid_through = max(old, period)."""
        record = ParticipantRecord(participant_id)
        try:
            record.update(actions=[ParticipantRecord.status.set("ACTIVE"),
                                   ParticipantRecord.paid_through.set(period),
                                   ParticipantRecord.version.add(1)],
                          condition=(ParticipantRecord.status.is_in("VERIFIED", "ACTIVE",
                                                                    "INACTIVE"))
                          & (ParticipantRecord.paid_through.does_not_exist()
                             | (ParticipantRecord.paid_through < period)))
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise

    def release_nik(self, nik: str, segment: str) -> None:
        UniqueKeyRecord(f"NIK#{nik}#{segment}").delete()
