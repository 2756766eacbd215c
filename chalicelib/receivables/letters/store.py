"""Letters' data access: the letter records, the requests that produced them (one per
dedupe key), and their numbers. Owns every condition expression of the letter workflow and
turns DynamoDB refusals into the project's errors.

Numbers are gap-free: a letter's number is drawn from a per-branch, per-type, per-year
counter (shared_kernel.records.CounterRecord) in the SAME transaction that writes the
letter, by a conditional update expecting the value read just before (optimistic
concurrency; the caller retries when another letter took the number). A number therefore
exists exactly when its letter does, and no number is ever used twice.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from pynamodb.attributes import (ListAttribute, NumberAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.shared_kernel.errors import Conflict, NotFound
from chalicelib.shared_kernel.records import CounterRecord
from chalicelib.shared_kernel.resources import table, transact_write

# Letter states. RENDERING: number and content fixed, PDF not stored yet (a retry of the
# consumer finishes it); DRAFT: waits for the branch head; SIGNED: immutable; REJECTED: sent
# back with a reason, its number stays used and a new request drafts a new letter.
RENDERING, DRAFT, SIGNED, REJECTED = "RENDERING", "DRAFT", "SIGNED", "REJECTED"
STATUSES = (RENDERING, DRAFT, SIGNED, REJECTED)


class _ByBranchStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_branch_status"
        projection = AllProjection()

    status_key = UnicodeAttribute(hash_key=True)    # "BLT#DRAFT"
    created_sort = UnicodeAttribute(range_key=True)  # "<created iso>#<letter_id>"


class _ByNpp(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_npp"
        projection = AllProjection()

    npp = UnicodeAttribute(hash_key=True)
    created_sort = UnicodeAttribute(range_key=True)


class _ByNumber(GlobalSecondaryIndex):
    """The verification page's lookup: a letter number to its letter."""

    class Meta:
        index_name = "by_number"
        projection = KeysOnlyProjection()

    number = UnicodeAttribute(hash_key=True)


@table("letters")
class LetterRecord(Model):
    class Meta:
        table_name = "letters"

    letter_id = UnicodeAttribute(hash_key=True)
    dedupe_key = UnicodeAttribute()
    attempt = NumberAttribute(default=1)
    letter_type = UnicodeAttribute()
    legal_handover_target = UnicodeAttribute(null=True)
    debtor_key = UnicodeAttribute()
    employer_id = UnicodeAttribute()
    npp = UnicodeAttribute()
    employer_name = UnicodeAttribute()
    branch = UnicodeAttribute()
    number = UnicodeAttribute()
    sequence = NumberAttribute()
    number_scope = UnicodeAttribute()              # "KC-BLT/SP1/2026"
    issued_on = UnicodeAttribute()
    deadline = UnicodeAttribute()
    status = UnicodeAttribute()
    status_key = UnicodeAttribute()
    created_sort = UnicodeAttribute()
    check_code = UnicodeAttribute()                # in the QR URL: proves the reader holds it
    bill_ids = ListAttribute(of=UnicodeAttribute)
    total = NumberAttribute()
    payment_code = UnicodeAttribute()
    content = UnicodeAttribute()                   # JSON: everything the PDF shows
    pdf_key = UnicodeAttribute(null=True)
    pdf_version = UnicodeAttribute(null=True)
    pdf_sha256 = UnicodeAttribute(null=True)
    signed_key = UnicodeAttribute(null=True)
    signed_version = UnicodeAttribute(null=True)
    signed_sha256 = UnicodeAttribute(null=True)
    signed_at = UTCDateTimeAttribute(null=True)
    signed_by = UnicodeAttribute(null=True)
    signer_name = UnicodeAttribute(null=True)
    rejected_reason = UnicodeAttribute(null=True)
    rejected_by = UnicodeAttribute(null=True)
    rejected_at = UTCDateTimeAttribute(null=True)
    dispatched_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = NumberAttribute(default=0)

    by_branch_status = _ByBranchStatus()
    by_npp = _ByNpp()
    by_number = _ByNumber()

    def content_dict(self) -> dict:
        return json.loads(self.content)


@table("letter-requests")
class LetterRequestRecord(Model):
    """One per dedupe key ("letter:<debtor>:<step>:<anchor due date>"): which letter answers
    it now. A rejected letter is replaced by the next attempt under the same key."""

    class Meta:
        table_name = "letter-requests"

    dedupe_key = UnicodeAttribute(hash_key=True)
    outcome = UnicodeAttribute()                   # LETTER | NOTHING_OWED
    letter_id = UnicodeAttribute(null=True)
    attempt = NumberAttribute(default=0)
    request = UnicodeAttribute()                   # the message, JSON (for regeneration)
    updated_at = UTCDateTimeAttribute()


LETTER, NOTHING_OWED = "LETTER", "NOTHING_OWED"


class NumberTaken(Exception):
    """Another letter drew the number this transaction expected: read again and retry."""


class RequestTaken(Exception):
    """Another consumer answered the same request meanwhile."""


def _failed_items(exc: Exception) -> dict[int, str]:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return {i: r.code for i, r in enumerate(reasons) if r is not None and r.code != "None"}


def counter_name(number_scope: str) -> str:
    return f"letter-number:{number_scope}"


class LetterStore:
    # ------------------------------------------------------------------ reads
    def letter(self, letter_id: str) -> LetterRecord:
        try:
            return LetterRecord.get(letter_id, consistent_read=True)
        except LetterRecord.DoesNotExist as exc:
            raise NotFound(f"no letter {letter_id}", code="LETTER_NOT_FOUND") from exc

    def request(self, dedupe_key: str) -> LetterRequestRecord | None:
        try:
            return LetterRequestRecord.get(dedupe_key, consistent_read=True)
        except LetterRequestRecord.DoesNotExist:
            return None

    def last_number(self, number_scope: str) -> int:
        """The last sequence drawn in a scope (0 before the first letter)."""
        try:
            return int(CounterRecord.get(counter_name(number_scope), consistent_read=True).value)
        except CounterRecord.DoesNotExist:
            return 0

    def by_number(self, number: str) -> LetterRecord | None:
        for key in LetterRecord.by_number.query(number, limit=1):
            return self.letter(key.letter_id)
        return None

    def of_branch(self, branch: str, status: str, limit: int, start: dict | None):
        result = LetterRecord.by_branch_status.query(
            f"{branch}#{status}", scan_index_forward=False, limit=limit,
            last_evaluated_key=start)
        return list(result), result.last_evaluated_key

    def of_npp(self, npp: str, status: str, limit: int, start: dict | None):
        # A filter on one employer's letters (a handful a year), not a scan.
        result = LetterRecord.by_npp.query(
            npp, filter_condition=LetterRecord.status == status, scan_index_forward=False,
            limit=limit, last_evaluated_key=start)
        return list(result), result.last_evaluated_key

    # ------------------------------------------------------------------ writes
    def create(self, letter: LetterRecord, *, expected_last: int,
               previous: LetterRequestRecord | None, request_json: str, audit) -> None:
        """One transaction: the scope's counter from `expected_last` to the letter's
        sequence, the letter, the request pointing at it, the audit entry.

        Raises NumberTaken when the counter moved (retry with a fresh read), RequestTaken
        when the request was answered meanwhile (by another delivery of the message)."""
        counter = CounterRecord(counter_name(letter.number_scope))
        if expected_last == 0:
            counter_condition = CounterRecord.name.does_not_exist()
        else:
            counter_condition = CounterRecord.value == expected_last
        now = letter.created_at
        try:
            with transact_write() as tx:
                tx.update(counter, actions=[CounterRecord.value.set(letter.sequence)],
                          condition=counter_condition)
                tx.save(letter, condition=LetterRecord.letter_id.does_not_exist())
                if previous is None:
                    tx.save(LetterRequestRecord(letter.dedupe_key, outcome=LETTER,
                                                letter_id=letter.letter_id,
                                                attempt=letter.attempt, request=request_json,
                                                updated_at=now),
                            condition=LetterRequestRecord.dedupe_key.does_not_exist())
                else:
                    tx.update(previous, actions=[
                        LetterRequestRecord.outcome.set(LETTER),
                        LetterRequestRecord.letter_id.set(letter.letter_id),
                        LetterRequestRecord.attempt.set(letter.attempt),
                        LetterRequestRecord.request.set(request_json),
                        LetterRequestRecord.updated_at.set(now),
                    ], condition=_unchanged_request(previous))
                tx.save(audit)
        except TransactWriteError as exc:
            # PynamoDB sends the puts first, then the updates: letter, [new request], audit,
            # counter, [existing request].
            puts = 3 if previous is None else 2
            counter_at, request_at = puts, (1 if previous is None else puts + 1)
            failed = _failed_items(exc)
            if failed.get(request_at) == "ConditionalCheckFailed":
                raise RequestTaken(letter.dedupe_key) from exc
            if counter_at in failed:  # ConditionalCheckFailed, or TransactionConflict
                raise NumberTaken(letter.number_scope) from exc
            if any(code == "TransactionConflict" for code in failed.values()):
                raise NumberTaken(letter.number_scope) from exc
            raise

    def record_nothing_owed(self, dedupe_key: str, previous: LetterRequestRecord | None,
                            request_json: str, now: datetime) -> None:
        """The request named only settled bills: remembered, so a redelivery is a no-op."""
        try:
            if previous is None:
                LetterRequestRecord(dedupe_key, outcome=NOTHING_OWED, attempt=0,
                                    request=request_json, updated_at=now).save(
                    condition=LetterRequestRecord.dedupe_key.does_not_exist())
            else:
                previous.update(actions=[LetterRequestRecord.outcome.set(NOTHING_OWED),
                                         LetterRequestRecord.updated_at.set(now)],
                                condition=_unchanged_request(previous))
        except Exception as exc:  # noqa: BLE001 - narrowed below
            if _is_condition_failure(exc):
                raise RequestTaken(dedupe_key) from exc
            raise

    def store_draft(self, letter: LetterRecord, *, key: str, version: str | None,
                    sha256: str, now: datetime) -> None:
        """RENDERING -> DRAFT once the PDF is in S3 (a second finisher finds it done)."""
        try:
            letter.update(actions=[
                LetterRecord.pdf_key.set(key), LetterRecord.pdf_version.set(version),
                LetterRecord.pdf_sha256.set(sha256), LetterRecord.status.set(DRAFT),
                LetterRecord.status_key.set(f"{letter.branch}#{DRAFT}"),
                LetterRecord.updated_at.set(now), LetterRecord.version.add(1),
            ], condition=LetterRecord.status == RENDERING)
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise Conflict("the letter was finished meanwhile",
                               code="LETTER_STATE_CHANGED") from exc
            raise

    def sign(self, letter: LetterRecord, *, key: str, version: str | None, sha256: str,
             signed_by: str, signer_name: str, now: datetime, audit) -> None:
        """DRAFT -> SIGNED with the signed PDF's object, and the audit entry, atomically.
        Raises Conflict(LETTER_STATE_CHANGED) when the letter left DRAFT meanwhile."""
        self._transition(letter, [
            LetterRecord.signed_key.set(key), LetterRecord.signed_version.set(version),
            LetterRecord.signed_sha256.set(sha256), LetterRecord.signed_at.set(now),
            LetterRecord.signed_by.set(signed_by), LetterRecord.signer_name.set(signer_name),
            LetterRecord.status.set(SIGNED),
            LetterRecord.status_key.set(f"{letter.branch}#{SIGNED}"),
        ], now, audit)

    def reject(self, letter: LetterRecord, *, reason: str, rejected_by: str, now: datetime,
               audit) -> None:
        self._transition(letter, [
            LetterRecord.rejected_reason.set(reason), LetterRecord.rejected_by.set(rejected_by),
            LetterRecord.rejected_at.set(now), LetterRecord.status.set(REJECTED),
            LetterRecord.status_key.set(f"{letter.branch}#{REJECTED}"),
        ], now, audit)

    def _transition(self, letter: LetterRecord, actions: list, now: datetime, audit) -> None:
        try:
            with transact_write() as tx:
                tx.update(letter, actions=[*actions, LetterRecord.updated_at.set(now),
                                           LetterRecord.version.add(1)],
                          condition=(LetterRecord.status == DRAFT)
                          & (LetterRecord.version == letter.version))
                tx.save(audit)
        except TransactWriteError as exc:
            raise Conflict("the letter changed meanwhile (approved or rejected by another "
                           "request); reload it", code="LETTER_STATE_CHANGED") from exc

    def mark_dispatched(self, letter: LetterRecord, now: datetime) -> None:
        letter.update(actions=[LetterRecord.dispatched_at.set(now)],
                      condition=LetterRecord.status == SIGNED)


def _unchanged_request(previous: LetterRequestRecord):
    if previous.letter_id is None:
        return LetterRequestRecord.letter_id.does_not_exist()
    return LetterRequestRecord.letter_id == previous.letter_id


def _is_condition_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
