"""Registration's data access: employers, participants, the uniqueness keys that make
"one active membership per NIK per segment" a database rule (not a read-then-write), worker
imports and participation cards.

Owns every condition expression and turns DynamoDB's refusals into the project's errors.
JSON-in-a-string attributes (profile, documents, consent, ...) keep the records flat; none of
them is ever queried on.
"""
from __future__ import annotations

import base64
import json
import threading
from datetime import datetime, timezone

from pynamodb.attributes import (ListAttribute, NumberAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.shared_kernel.errors import BadRequest, Conflict, NotFound
from chalicelib.shared_kernel.resources import table

BILLING_SHARDS = 8  # spreads the billable-party index over partitions


class DuplicateNik(Conflict):
    """The NIK already holds a membership of this segment (409, participant-facing)."""

    code = "DUPLICATE_NIK"

    def __init__(self, message: str | None = None):
        super().__init__(message or (
            "NIK ini sudah terdaftar pada segmen yang sama. Jika pendaftaran sebelumnya "
            "ditolak, perbaiki dan ajukan kembali pendaftaran tersebut"), code="DUPLICATE_NIK")


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
    queued_at = UTCDateTimeAttribute(range_key=True)  # first submission, or resubmission


class _EmployerBilling(GlobalSecondaryIndex):
    class Meta:
        index_name = "billable"
        projection = AllProjection()

    billing_shard = UnicodeAttribute(hash_key=True)  # "EMP#<n>", only while VERIFIED
    employer_id = UnicodeAttribute(range_key=True)


class _ApplicationFields:
    """Attributes employers and participants share as applications (mixed into both)."""

    queued_at = UTCDateTimeAttribute(null=True)
    access_secret_hash = UnicodeAttribute(null=True)    # SHA-256 of the application token
    access_expires_at = UTCDateTimeAttribute(null=True)
    documents = UnicodeAttribute(null=True)      # JSON {KIND: {key, size_bytes, ...}}
    warnings = UnicodeAttribute(null=True)       # JSON [warning dict] of the last submission
    rejections = UnicodeAttribute(null=True)     # JSON [{at, by, reasons}], oldest first
    submissions = NumberAttribute(default=1)
    consent = UnicodeAttribute(null=True)        # JSON {CHANNEL: {opted_in, at, by, source}}

    def documents_dict(self) -> dict:
        return json.loads(self.documents) if self.documents else {}

    def warnings_list(self) -> list:
        return json.loads(self.warnings) if self.warnings else []

    def rejections_list(self) -> list:
        return json.loads(self.rejections) if self.rejections else []

    def consent_dict(self) -> dict:
        return json.loads(self.consent) if self.consent else {}


@table("employers")
class EmployerRecord(_ApplicationFields, Model):
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
    queued_at = UTCDateTimeAttribute(range_key=True)


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
class ParticipantRecord(_ApplicationFields, Model):
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
    employment_end = UnicodeAttribute(null=True)  # PU: JSON {last_working_day, reason, ...}
    paid_through = UnicodeAttribute(null=True)    # last contribution period paid
    profile = UnicodeAttribute()
    rejection_reasons = ListAttribute(null=True)
    queue_key = UnicodeAttribute(null=True)
    billing_shard = UnicodeAttribute(null=True)
    import_id = UnicodeAttribute(null=True)       # registered by a worker import
    card_code = UnicodeAttribute(null=True)       # set once, by the first payment
    card_key = UnicodeAttribute(null=True)        # S3 key of the issued card PDF
    card_issued_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = NumberAttribute(default=0)
    # BPU: what the monthly run needs, packed and kept by serialize() on every save (name,
    # KPJ, branch, declared income and programs change only through whole-record saves)
    billing_card = UnicodeAttribute(null=True)

    BILLING_ATTRIBUTES = ["participant_id", "status", "billing_card"]

    def serialize(self, null_check: bool = True):
        self.billing_card = json.dumps(
            [self.name, self.kpj, self.branch, int(self.declared_income),
             list(self.programs or [])], separators=(",", ":")) if (
            self.segment == "BPU" and self.declared_income is not None) else None
        return super().serialize(null_check=null_check)

    def unpack_billing_card(self) -> "ParticipantRecord":
        self.segment = "BPU"
        (self.name, self.kpj, self.branch, self.declared_income,
         self.programs) = json.loads(self.billing_card)
        return self

    by_kpj = _ByKpj()
    by_employer = _ByEmployer()
    verification_queue = _ParticipantQueue()
    billable = _ParticipantBilling()
    by_phone = _ByPhone()

    def profile_dict(self) -> dict:
        return json.loads(self.profile)

    def wage_history_list(self) -> list[dict]:
        return json.loads(self.wage_history) if self.wage_history else []

    def wage_for(self, period: str) -> int | None:
        """The wage in force for a contribution period: the latest change effective on or
        before it (unchanged wages carry over)."""
        return _wage_for(self.wage_history_list(), period)


def _wage_for(history: list[dict], period: str) -> int | None:
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
    # kpj, name, started, left_from packed, kept by serialize() on every save: the monthly
    # run reads three attributes a worker instead of seven (reads dominate its cost)
    roster_card = UnicodeAttribute(null=True)

    ROSTER_ATTRIBUTES = ["participant_id", "wage_history", "roster_card"]

    def serialize(self, null_check: bool = True):
        self.roster_card = json.dumps([self.kpj, self.name, self.started, self.left_from],
                                      separators=(",", ":"))
        return super().serialize(null_check=null_check)

    def unpack_roster_card(self, employer_id: str) -> "EmploymentRecord":
        self.employer_id = employer_id
        self.kpj, self.name, self.started, self.left_from = json.loads(self.roster_card)
        return self

    def wage_for(self, period: str) -> int | None:
        return _wage_for(json.loads(self.wage_history), period)

    def employed_in(self, period: str) -> bool:
        return self.started <= period and (self.left_from is None or period < self.left_from)


@table("registration-keys")
class UniqueKeyRecord(Model):
    """One item per unique business key: "NIK#<nik>#<segment>", "KPJ#<kpj>", "NPP#<npp>",
    "CARD#<card code>" (the participation card's public verification code)."""

    class Meta:
        table_name = "registration-keys"

    key = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
    # A NIK key of a PU worker who is leaving: the first period the NIK is no longer held
    # (the worker stays a member through the month of the last working day). From then on a
    # new membership may take the key over, in the same conditional write as always.
    free_from = UnicodeAttribute(null=True)


class _ImportsByEmployer(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_employer"
        projection = AllProjection()

    employer_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


@table("registration-imports")
class ImportRecord(Model):
    """One worker import (a CSV file of one employer). `processed` is the cursor: rows before
    it are committed, with their results in S3 parts; a redelivery continues from it."""

    class Meta:
        table_name = "registration-imports"

    import_id = UnicodeAttribute(hash_key=True)   # from SHA-256(employer id, file SHA-256)
    employer_id = UnicodeAttribute()
    branch = UnicodeAttribute()
    status = UnicodeAttribute()                   # QUEUED, RUNNING, COMPLETED, FAILED
    source_key = UnicodeAttribute()
    file_sha256 = UnicodeAttribute()
    file_name = UnicodeAttribute(null=True)
    total = NumberAttribute()
    chunk_rows = NumberAttribute()
    processed = NumberAttribute(default=0)
    accepted = NumberAttribute(default=0)
    already_registered = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    verified = NumberAttribute(default=0)         # of the accepted: approved by the rule
    pending = NumberAttribute(default=0)          # of the accepted: left to a verifier
    report_key = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    requested_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)

    by_employer = _ImportsByEmployer()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _was_condition_failure(exc: Exception) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
        return True
    return getattr(exc, "cause_response_code", None) in (
        "ConditionalCheckFailedException", "TransactionCanceledException")


def _failed_items(exc: Exception) -> set[int]:
    """Positions of the transaction items whose condition failed."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return {i for i, r in enumerate(reasons) if r is not None and r.code == "ConditionalCheckFailed"}


def encode_page_token(key: dict | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_page_token(token: str | None) -> dict | None:
    if not token:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeError) as exc:
        raise BadRequest("next_token is not one this API issued", code="BAD_PAGE_TOKEN") from exc
    if not isinstance(key, dict):
        raise BadRequest("next_token is not one this API issued", code="BAD_PAGE_TOKEN")
    return key


def nik_key(nik: str, segment: str) -> str:
    return f"NIK#{nik}#{segment}"


def _nik_free(period: str | None):
    """The NIK key may be written: nobody holds it, or its holder left before `period`."""
    if period is None:
        return UniqueKeyRecord.key.does_not_exist()
    return UniqueKeyRecord.key.does_not_exist() | (UniqueKeyRecord.free_from <= period)


class RegistrationStore:
    """Every read and write of registration's tables."""

    def __init__(self):
        self._local = threading.local()

    def _transaction(self):
        """A write transaction on a connection kept per thread: `transact_write()` opens a
        new connection, hence a new botocore client (~30 ms), for every transaction, which a
        worker import pays once per row."""
        from pynamodb.connection import Connection
        from pynamodb.transactions import TransactWrite

        connection = getattr(self._local, "connection", None)
        if connection is None or connection.region != ParticipantRecord.Meta.region:
            connection = self._local.connection = Connection(
                region=ParticipantRecord.Meta.region)
        return TransactWrite(connection=connection)

    # ------------------------------------------------------------------ employers
    def add_employer(self, record: EmployerRecord, extra_saves=()) -> None:
        try:
            if not extra_saves:
                record.save(condition=EmployerRecord.employer_id.does_not_exist())
                return
            with self._transaction() as tx:
                tx.save(record, condition=EmployerRecord.employer_id.does_not_exist())
                for item in extra_saves:
                    tx.save(item)
        except (PutError, TransactWriteError) as exc:
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

    BILLING_EMPLOYER_ATTRIBUTES = ["employer_id", "status", "branch", "name", "risk_class",
                                   "sector", "npp", "billing_shard"]

    def billable_employers(self):
        """Employers to bill, with only what a bill needs (read-only views)."""
        for shard in range(BILLING_SHARDS):
            yield from EmployerRecord.billable.query(
                f"EMP#{shard}", attributes_to_get=self.BILLING_EMPLOYER_ATTRIBUTES)

    # ------------------------------------------------------------------ participants
    def add_participant(self, record: ParticipantRecord, extra_saves=(), *,
                        period: str | None = None) -> None:
        """Insert with the NIK-per-segment key in one transaction: exactly one wins. With
        `period` (the current one), a key whose holder left before it is taken over."""
        key = UniqueKeyRecord(nik_key(record.nik, record.segment), owner=record.participant_id)
        try:
            with self._transaction() as tx:
                tx.save(key, condition=_nik_free(period))
                tx.save(record, condition=ParticipantRecord.participant_id.does_not_exist())
                for item in extra_saves:
                    tx.save(item)
        except TransactWriteError as exc:
            if _was_condition_failure(exc):
                raise DuplicateNik() from exc
            raise

    def add_verified_participant(self, record: ParticipantRecord, *, kpj_key: UniqueKeyRecord,
                                 extra_saves=(), period: str | None = None) -> None:
        """A participant approved on arrival (bulk rule): NIK key, KPJ key, the record and
        its employment and audit, all or nothing."""
        key = UniqueKeyRecord(nik_key(record.nik, record.segment), owner=record.participant_id)
        try:
            with self._transaction() as tx:
                tx.save(key, condition=_nik_free(period))
                tx.save(record, condition=ParticipantRecord.participant_id.does_not_exist())
                tx.save(kpj_key, condition=UniqueKeyRecord.key.does_not_exist())
                for item in extra_saves:
                    tx.save(item)
        except TransactWriteError as exc:
            failed = _failed_items(exc)
            if failed & {0, 1}:
                raise DuplicateNik() from exc
            if failed:
                raise Conflict("KPJ already taken", code="KPJ_TAKEN") from exc
            raise

    def key_owner(self, key: str) -> str | None:
        try:
            return UniqueKeyRecord.get(key).owner
        except UniqueKeyRecord.DoesNotExist:
            return None

    def participant(self, participant_id: str) -> ParticipantRecord:
        try:
            return ParticipantRecord.get(participant_id)
        except ParticipantRecord.DoesNotExist as exc:
            raise NotFound(f"no participant {participant_id}",
                           code="PARTICIPANT_NOT_FOUND") from exc

    def find_participant(self, participant_id: str) -> ParticipantRecord | None:
        try:
            return ParticipantRecord.get(participant_id)
        except ParticipantRecord.DoesNotExist:
            return None

    def participants_batch(self, participant_ids) -> list[ParticipantRecord]:
        return list(ParticipantRecord.batch_get(list(dict.fromkeys(participant_ids))))

    def employers_batch(self, employer_ids) -> list[EmployerRecord]:
        return list(EmployerRecord.batch_get(list(dict.fromkeys(employer_ids))))

    def participant_by_kpj(self, kpj: str) -> ParticipantRecord:
        for record in ParticipantRecord.by_kpj.query(kpj, limit=1):
            return record
        raise NotFound(f"no participant with KPJ {kpj}", code="PARTICIPANT_NOT_FOUND")

    def participant_ids_by_phone(self, phone: str) -> list[str]:
        return [r.participant_id for r in ParticipantRecord.by_phone.query(phone)]

    def workers_of(self, employer_id: str) -> list[EmploymentRecord]:
        """The employer's workers, read through their roster cards (3 attributes each);
        records written before the cards existed are read whole."""
        workers = list(EmploymentRecord.query(
            employer_id, attributes_to_get=EmploymentRecord.ROSTER_ATTRIBUTES))
        if any(w.roster_card is None for w in workers):
            return list(EmploymentRecord.query(employer_id))
        return [w.unpack_roster_card(employer_id) for w in workers]

    def workers_employed_in(self, employer_id: str, period: str):
        """(employment, wage) of each worker of the employer employed in `period` (started
        on or before it, not yet left) with the wage in force for it. One keyed query of the
        employment table's partition for the employer (a base-table query, no index)."""
        for record in EmploymentRecord.query(employer_id):
            wage = record.wage_for(period)
            if wage and record.employed_in(period):
                yield record, wage

    def employment(self, employer_id: str, participant_id: str) -> EmploymentRecord | None:
        try:
            return EmploymentRecord.get(employer_id, participant_id)
        except EmploymentRecord.DoesNotExist:
            return None

    def participants_of_employer(self, employer_id: str, *, limit: int,
                                 next_token: str | None) -> tuple[list[ParticipantRecord],
                                                                  str | None]:
        """A page of the employer's registrations (any status), by participant id."""
        result = ParticipantRecord.by_employer.query(
            employer_id, limit=limit, last_evaluated_key=decode_page_token(next_token))
        items = list(result)
        return items, encode_page_token(result.last_evaluated_key)

    def billable_bpu(self):
        """BPU participants to bill, read through their billing cards (3 attributes each,
        not the whole record): read-only views, never saved back."""
        for shard in range(BILLING_SHARDS):
            page = list(ParticipantRecord.billable.query(
                f"BPU#{shard}", attributes_to_get=ParticipantRecord.BILLING_ATTRIBUTES))
            whole = {p.participant_id: p for p in self.participants_batch(
                p.participant_id for p in page if p.billing_card is None)} if any(
                p.billing_card is None for p in page) else {}
            for participant in page:
                yield (whole.get(participant.participant_id)
                       or participant.unpack_billing_card())

    def pending(self, branch: str):
        """The branch's verification queue, oldest first (employers and participants)."""
        key = f"{branch}#PENDING_VERIFICATION"
        employers = list(EmployerRecord.verification_queue.query(key))
        participants = list(ParticipantRecord.verification_queue.query(key))
        return sorted(employers + participants, key=lambda r: r.queued_at or r.created_at)

    # ------------------------------------------------------------------ transitions
    def transition(self, record, *, expected_status: str | tuple[str, ...], extra_saves=(),
                   extra_keys=(), released_keys=()):
        """Save `record` (already changed in memory) only if the stored one still has the
        expected status (one, or any of several) and the version read; with new unique keys,
        released keys (deleted only if still owned by this record) and audit entries in the
        same transaction."""
        model = type(record)
        record_id = getattr(record, model._hash_keyname)
        statuses = (expected_status,) if isinstance(expected_status, str) else expected_status
        previous_version = record.version
        record.version = previous_version + 1
        record.updated_at = now_utc()
        status_condition = (model.status == statuses[0] if len(statuses) == 1
                            else model.status.is_in(*statuses))
        try:
            with self._transaction() as tx:
                tx.save(record, condition=status_condition & (model.version == previous_version))
                for key in extra_keys:
                    tx.save(key, condition=UniqueKeyRecord.key.does_not_exist())
                for key in released_keys:
                    tx.delete(UniqueKeyRecord(key), condition=UniqueKeyRecord.owner == record_id)
                for item in extra_saves:
                    tx.save(item)
        except TransactWriteError as exc:
            record.version = previous_version
            # PynamoDB sends deletes before puts: released keys, the record, the new keys.
            first_key = len(released_keys) + 1
            failed_keys = [extra_keys[i - first_key].key for i in _failed_items(exc)
                           if first_key <= i < first_key + len(extra_keys)]
            if any(key.startswith("NIK#") for key in failed_keys):
                raise DuplicateNik() from exc
            if failed_keys:
                raise Conflict("a unique number is already taken", code="KEY_TAKEN") from exc
            if _was_condition_failure(exc):
                raise Conflict("the record changed meanwhile or is no longer "
                               f"{' or '.join(statuses)}; reload and try again",
                               code="STATE_CHANGED") from exc
            raise

    def update_participant(self, record: ParticipantRecord, actions) -> None:
        try:
            record.update(actions=actions)
        except UpdateError as exc:
            raise Conflict("participant update refused", code="STATE_CHANGED") from exc

    def record_payment(self, participant_id: str, period: str, *,
                       card_code: str | None = None) -> ParticipantRecord | None:
        """VERIFIED/ACTIVE/INACTIVE -> ACTIVE with paid_through = max(old, period).

        With `card_code`, the same update claims the participation card: the code is set only
        if the record has none, so the first payment's code is the card's for good. Returns
        the record as stored after the update, or None when the update did not apply (not
        verified, or the period is not newer than paid_through)."""
        record = ParticipantRecord(participant_id)
        actions = [ParticipantRecord.status.set("ACTIVE"),
                   ParticipantRecord.paid_through.set(period),
                   ParticipantRecord.version.add(1)]
        if card_code:
            actions.append(ParticipantRecord.card_code.set(
                ParticipantRecord.card_code | card_code))
        try:
            record.update(actions=actions,
                          condition=(ParticipantRecord.status.is_in("VERIFIED", "ACTIVE",
                                                                    "INACTIVE"))
                          & (ParticipantRecord.paid_through.does_not_exist()
                             | (ParticipantRecord.paid_through < period)))
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            return None
        return record

    def mark_card_issued(self, record: ParticipantRecord, *, card_key: str,
                         at: datetime) -> bool:
        """The card of `record.card_code` is in S3: record it with its public code key.
        False when another delivery recorded it first."""
        try:
            with self._transaction() as tx:
                tx.update(ParticipantRecord(record.participant_id),
                          actions=[ParticipantRecord.card_key.set(card_key),
                                   ParticipantRecord.card_issued_at.set(at)],
                          condition=(ParticipantRecord.card_code == record.card_code)
                          & ParticipantRecord.card_issued_at.does_not_exist())
                tx.save(UniqueKeyRecord(f"CARD#{record.card_code}",
                                        owner=record.participant_id))
        except TransactWriteError as exc:
            if _was_condition_failure(exc):
                return False
            raise
        return True

    def set_wage_histories(self, changes: list[tuple[str, str, str, str, int]],
                           audits: list) -> None:
        """A wage report (billing) sets many workers' wage histories at once. `changes` are
        (employer_id, participant_id, history read, new history JSON, wage now in force):
        the participant and its employment record get the same history, each update guarded
        by the history it replaces, so a concurrent wage change is refused (STATE_CHANGED),
        never overwritten. 33 workers per transaction (3 items each with their audit)."""
        per_tx = 33
        for start in range(0, len(changes), per_tx):
            chunk = changes[start:start + per_tx]
            try:
                with self._transaction() as tx:
                    for employer_id, participant_id, old, new, wage_now in chunk:
                        tx.update(ParticipantRecord(participant_id), actions=[
                            ParticipantRecord.wage_history.set(new),
                            ParticipantRecord.wage.set(wage_now),
                            ParticipantRecord.version.add(1)],
                            condition=ParticipantRecord.wage_history == old)
                        tx.update(EmploymentRecord(employer_id, participant_id), actions=[
                            EmploymentRecord.wage_history.set(new)],
                            condition=EmploymentRecord.wage_history == old)
                    for audit in audits[start:start + per_tx]:
                        tx.save(audit)
            except TransactWriteError as exc:
                if _was_condition_failure(exc):
                    raise Conflict("a worker's wage changed while the report was applied; "
                                   "submit the report again", code="STATE_CHANGED") from exc
                raise

    def release_nik(self, nik: str, segment: str) -> None:
        UniqueKeyRecord(nik_key(nik, segment)).delete()

    # ------------------------------------------------------------------ imports
    def create_import(self, record: ImportRecord) -> tuple[ImportRecord, bool]:
        """(the import, True) when new; (the stored one, False) when this file was already
        submitted by this employer."""
        try:
            record.save(condition=ImportRecord.import_id.does_not_exist())
            return record, True
        except PutError as exc:
            if not _was_condition_failure(exc):
                raise
        return self.import_job(record.import_id), False

    def import_job(self, import_id: str) -> ImportRecord:
        try:
            return ImportRecord.get(import_id)
        except ImportRecord.DoesNotExist as exc:
            raise NotFound(f"no import {import_id}", code="IMPORT_NOT_FOUND") from exc

    def imports_of(self, employer_id: str, *, limit: int, next_token: str | None):
        result = ImportRecord.by_employer.query(
            employer_id, scan_index_forward=False, limit=limit,
            last_evaluated_key=decode_page_token(next_token))
        items = list(result)
        return items, encode_page_token(result.last_evaluated_key)

    def start_import(self, job: ImportRecord, at: datetime) -> None:
        """QUEUED -> RUNNING (a redelivery of a running import changes nothing)."""
        try:
            job.update(actions=[ImportRecord.status.set("RUNNING"),
                                ImportRecord.started_at.set(at)],
                       condition=ImportRecord.status == "QUEUED")
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise

    def advance_import(self, job: ImportRecord, *, from_cursor: int, rows: int,
                       counts: dict[str, int]) -> bool:
        """Commit a chunk: the cursor moves from `from_cursor` by `rows` and the counters
        grow, only if no other delivery moved the cursor first (then False)."""
        actions = [ImportRecord.processed.set(from_cursor + rows)]
        actions += [getattr(ImportRecord, name).add(value)
                    for name, value in counts.items() if value]
        try:
            job.update(actions=actions, condition=(ImportRecord.processed == from_cursor)
                       & (ImportRecord.status == "RUNNING"))
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def finish_import(self, job: ImportRecord, *, status: str, at: datetime,
                      report_key: str | None = None, error: str | None = None) -> None:
        actions = [ImportRecord.status.set(status), ImportRecord.finished_at.set(at)]
        if report_key:
            actions.append(ImportRecord.report_key.set(report_key))
        if error:
            actions.append(ImportRecord.error.set(error))
        try:
            job.update(actions=actions, condition=ImportRecord.status.is_in("QUEUED", "RUNNING"))
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise


    # ------------------------------------------------------------------ receivables
    def mark_inactive_for_arrears(self, participant_id: str, oldest_unpaid_period: str,
                                  audit, at: datetime) -> bool:
        """BPU with three consecutive unpaid months (receivables' daily check): VERIFIED or
        ACTIVE -> INACTIVE, unless a payment moved paid_through up to the oldest unpaid
        period meanwhile. With its audit entry, in one transaction. False when the condition
        did not hold (already inactive, paid meanwhile, not BPU). Paying the arrears
        reactivates through record_payment."""
        try:
            with self._transaction() as tx:
                tx.update(ParticipantRecord(participant_id), actions=[
                    ParticipantRecord.status.set("INACTIVE"),
                    ParticipantRecord.updated_at.set(at),
                    ParticipantRecord.version.add(1)],
                    condition=(ParticipantRecord.segment == "BPU")
                    & ParticipantRecord.status.is_in("VERIFIED", "ACTIVE")
                    & (ParticipantRecord.paid_through.does_not_exist()
                       | (ParticipantRecord.paid_through < oldest_unpaid_period)))
                tx.save(audit)
        except TransactWriteError as exc:
            if _was_condition_failure(exc):
                return False
            raise
        return True


__all__ = ["BILLING_SHARDS", "DuplicateNik", "EmployerRecord", "EmploymentRecord",
           "ImportRecord", "ParticipantRecord", "RegistrationStore", "UniqueKeyRecord",
           "DeleteError", "nik_key", "now_utc"]
