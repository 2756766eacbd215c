"""Blast's data access: the message log (one record per recipient of a run, keyed by its
dedupe key), campaigns, consent and opt-outs, limiter state, parked messages (timers) and
the local outbox. Owns every condition expression and turns DynamoDB refusals into answers
(`False`/`None`) or the project's errors.

The message record is the unit of idempotency: a recipient of a run (campaign or policy
step) has exactly one record, created once (`attribute_not_exists`), and every change of its
state is a conditional update on the state (and, while sending, on the claim) it was read
in. Whatever SQS does (duplicates, redeliveries after a crash), at most one worker holds a
record's claim, and a record that left QUEUED never goes back except through an explicit
re-drive.
"""
from __future__ import annotations

import json
import zlib
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator

from pynamodb.attributes import (ListAttribute, NumberAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.shared_kernel.errors import NotFound
from chalicelib.shared_kernel.resources import table, transact_write

TIMER_SHARDS = 8          # parked messages of one hour spread over partitions
CAMPAIGN_SHARDS = 16      # a campaign's records spread over index partitions
HOURS_PARTITION = "HOURS"  # markers: which hours hold parked messages


def _refused(exc: Exception) -> bool:
    if getattr(exc, "cause_response_code", None) in ("ConditionalCheckFailedException",
                                                      "TransactionCanceledException"):
        return True
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


# --------------------------------------------------------------------------- messages

class _ByCampaign(GlobalSecondaryIndex):
    """Write-sharded: a campaign sending 1,000 messages/s changes ~3,000 records/s, more
    than one index partition key takes (1,000 writes/s); 16 keys per campaign spread it."""

    class Meta:
        index_name = "by_campaign"
        projection = AllProjection()

    campaign_shard = UnicodeAttribute(hash_key=True)   # "<campaign_id>#<n>"
    created_sort = UnicodeAttribute(range_key=True)


class _ByBill(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_bill"
        projection = AllProjection()

    bill_id = UnicodeAttribute(hash_key=True)
    created_sort = UnicodeAttribute(range_key=True)


class _ByParticipant(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_participant"
        projection = AllProjection()

    participant_id = UnicodeAttribute(hash_key=True)
    created_sort = UnicodeAttribute(range_key=True)


class _ByNpp(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_npp"
        projection = AllProjection()

    npp = UnicodeAttribute(hash_key=True)
    created_sort = UnicodeAttribute(range_key=True)


class _ByProviderId(GlobalSecondaryIndex):
    """Status events without our callback data (SMS events, old webhooks) find their record
    by the provider's message id."""

    class Meta:
        index_name = "by_provider_id"
        projection = KeysOnlyProjection()

    provider_message_id = UnicodeAttribute(hash_key=True)


@table("blast-messages")
class MessageRecord(Model):
    class Meta:
        table_name = "blast-messages"

    dedupe_key = UnicodeAttribute(hash_key=True)
    template = UnicodeAttribute()
    recipient_kind = UnicodeAttribute()           # PARTICIPANT | EMPLOYER | PHONE
    recipient_id = UnicodeAttribute()
    params = UnicodeAttribute()                   # JSON, as the request carried it
    source = UnicodeAttribute()
    channel_preference = UnicodeAttribute()
    bill_id = UnicodeAttribute(null=True)
    campaign_id = UnicodeAttribute(null=True)
    campaign_shard = UnicodeAttribute(null=True)
    fanout_page = NumberAttribute(null=True)      # the campaign page that created it
    branch = UnicodeAttribute(null=True)
    participant_id = UnicodeAttribute(null=True)
    npp = UnicodeAttribute(null=True)
    recipient_name = UnicodeAttribute(null=True)

    state = UnicodeAttribute()                    # delivery.DeliveryState
    channel = UnicodeAttribute(null=True)         # WHATSAPP | SMS once chosen
    phone = UnicodeAttribute(null=True)           # E.164; masked on the way out
    attempts = NumberAttribute(default=0)
    attempt_id = UnicodeAttribute(null=True)      # the current claim
    lease_until = UTCDateTimeAttribute(null=True)
    not_before = UTCDateTimeAttribute(null=True)  # waiting (limits, retry) until then
    wait_reason = UnicodeAttribute(null=True)
    provider_message_id = UnicodeAttribute(null=True)
    whatsapp_message_id = UnicodeAttribute(null=True)   # kept after a fallback to SMS
    error_code = NumberAttribute(null=True)
    reason = UnicodeAttribute(null=True)          # why it failed / was skipped
    fallback_reason = UnicodeAttribute(null=True)
    unconfirmed = NumberAttribute(null=True)      # 1: the send's outcome was not known
    body_text = UnicodeAttribute(null=True)       # what the recipient reads
    created_at = UTCDateTimeAttribute()
    created_sort = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    sent_at = UTCDateTimeAttribute(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)
    read_at = UTCDateTimeAttribute(null=True)
    failed_at = UTCDateTimeAttribute(null=True)

    by_campaign = _ByCampaign()
    by_bill = _ByBill()
    by_participant = _ByParticipant()
    by_npp = _ByNpp()
    by_provider_id = _ByProviderId()

    def params_dict(self) -> dict:
        return json.loads(self.params)


# --------------------------------------------------------------------------- campaigns

class _CampaignsByBranch(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_branch"
        projection = AllProjection()

    branch = UnicodeAttribute(hash_key=True)
    created_sort = UnicodeAttribute(range_key=True)


@table("blast-campaigns")
class CampaignRecord(Model):
    class Meta:
        table_name = "blast-campaigns"

    campaign_id = UnicodeAttribute(hash_key=True)
    branch = UnicodeAttribute()
    name = UnicodeAttribute()
    template = UnicodeAttribute()
    audience = UnicodeAttribute()                 # JSON of the audience filter
    channel_preference = UnicodeAttribute()
    holdout_share = UnicodeAttribute()            # Decimal as text
    start_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()                   # SCHEDULED | RUNNING | DISPATCHED | CANCELLED
    page = NumberAttribute(default=0)             # next audience page to fan out
    cursor = UnicodeAttribute(null=True)          # JSON: where that page starts
    recipients = NumberAttribute(default=0)
    held_out = NumberAttribute(default=0)
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    created_sort = UnicodeAttribute()
    dispatched_at = UTCDateTimeAttribute(null=True)
    cancelled_at = UTCDateTimeAttribute(null=True)
    cancelled_by = UnicodeAttribute(null=True)
    cancel_reason = UnicodeAttribute(null=True)

    by_branch = _CampaignsByBranch()


# --------------------------------------------------------------------------- consent

@table("blast-consent")
class ConsentRecord(Model):
    """Per phone and channel: the last opt-in or opt-out, with who/when/how."""

    class Meta:
        table_name = "blast-consent"

    phone = UnicodeAttribute(hash_key=True)
    channel = UnicodeAttribute(range_key=True)    # WHATSAPP | SMS
    status = UnicodeAttribute()                   # OPTED_IN | OPTED_OUT
    source = UnicodeAttribute()                   # keyword | staff | participant | registration
    actor = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()


# --------------------------------------------------------------------------- limiter state

@table("blast-limits")
class LimitRecord(Model):
    """Limiter state: "SENDER#<number>#<shard>" (recent sends), "RCPT#<phone>" (pacing,
    budget, service window), "BUSINESS" (unique recipients per hour), "PAUSE#<number>".
    Instants are epoch microseconds; every write is conditional on the version read."""

    class Meta:
        table_name = "blast-limits"

    key = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(default=0)
    recent_sends = ListAttribute(of=NumberAttribute, null=True)
    last_sent_at = NumberAttribute(null=True)
    counted_at = NumberAttribute(null=True)
    last_inbound_at = NumberAttribute(null=True)
    hourly_counts = UnicodeAttribute(null=True)   # JSON {micros: count}
    paused_until = NumberAttribute(null=True)


# --------------------------------------------------------------------------- timers

@table("blast-timers")
class TimerRecord(Model):
    """A queue message parked until an hour (waits longer than SQS can delay: quiet hours,
    the daily budget, fallback timeouts, campaign start times). Released by the hourly
    `release_blast_timers` schedule, which reads only hours that have a marker."""

    class Meta:
        table_name = "blast-timers"

    bucket = UnicodeAttribute(hash_key=True)      # "<YYYY-MM-DDTHH>#<shard>" or "HOURS"
    timer_key = UnicodeAttribute(range_key=True)  # unique per parked job, or the hour
    body = UnicodeAttribute(null=True)            # the queue message, JSON
    due_at = UTCDateTimeAttribute(null=True)


# --------------------------------------------------------------------------- outbox

class _OutboxByDay(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    at_sort = UnicodeAttribute(range_key=True)


@table("blast-outbox")
class OutboxRecord(Model):
    """The local provider's record of every call made to it (one item per attempt)."""

    class Meta:
        table_name = "blast-outbox"

    dedupe_key = UnicodeAttribute(hash_key=True)
    attempt_id = UnicodeAttribute(range_key=True)
    channel = UnicodeAttribute()
    to = UnicodeAttribute()
    template = UnicodeAttribute()
    text = UnicodeAttribute()
    payload = UnicodeAttribute(null=True)         # the WhatsApp API body, JSON
    outcome = UnicodeAttribute()                  # ACCEPTED | DELIVERED | REJECTED
    error_code = NumberAttribute(null=True)
    http_status = NumberAttribute(null=True)
    provider_message_id = UnicodeAttribute(null=True)
    day = UnicodeAttribute()
    at_sort = UnicodeAttribute()
    at = UTCDateTimeAttribute()

    by_day = _OutboxByDay()


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def campaign_shard(campaign_id: str, dedupe_key: str) -> str:
    return f"{campaign_id}#{zlib.crc32(dedupe_key.encode()) % CAMPAIGN_SHARDS}"


def timer_hour(due: datetime) -> datetime:
    """The hour whose release sends a job due at `due` (the first top of the hour at or
    after it: a job is never released early)."""
    hour = _hour(due)
    return hour if hour == due.astimezone(timezone.utc) else hour + timedelta(hours=1)


def _hour_label(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%dT%H")


class BlastStore:
    """Every read and write of blast's tables."""

    # ------------------------------------------------------------------ messages
    def message(self, dedupe_key: str) -> MessageRecord | None:
        try:
            return MessageRecord.get(dedupe_key, consistent_read=True)
        except MessageRecord.DoesNotExist:
            return None

    def messages(self, keys: Iterable[str]) -> dict[str, MessageRecord]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        return {m.dedupe_key: m for m in MessageRecord.batch_get(keys, consistent_read=True)}

    def create_message(self, record: MessageRecord) -> bool:
        """Insert once: False when a record with this dedupe key exists already."""
        try:
            record.save(condition=MessageRecord.dedupe_key.does_not_exist())
            return True
        except PutError as exc:
            if _refused(exc):
                return False
            raise

    def write_new_messages(self, records: list[MessageRecord]) -> None:
        """Campaign fan-out: records the caller checked are absent (BatchWriteItem)."""
        if not records:
            return
        with MessageRecord.batch_write() as batch:
            for record in records:
                batch.save(record)

    def update_message(self, record: MessageRecord, actions: list, condition) -> bool:
        """A conditional change; False when the record is no longer what was read."""
        try:
            record.update(actions=actions, condition=condition)
            return True
        except UpdateError as exc:
            if _refused(exc):
                return False
            raise

    def message_key_by_provider_id(self, provider_message_id: str) -> str | None:
        for item in MessageRecord.by_provider_id.query(provider_message_id, limit=1):
            return item.dedupe_key
        return None

    def messages_by(self, index: str, value: str, limit: int,
                    start: dict | None = None) -> tuple[list[MessageRecord], dict | None]:
        """A page of a history, newest first (a campaign's: shard by shard). `start` is
        the previous page's continuation."""
        if index == "campaign_id":
            return self._campaign_page(value, limit, start or {})
        gsi = {"bill_id": MessageRecord.by_bill,
               "participant_id": MessageRecord.by_participant,
               "npp": MessageRecord.by_npp}[index]
        result = gsi.query(value, scan_index_forward=False, limit=limit,
                           last_evaluated_key=start)
        items = list(result)
        return items, result.last_evaluated_key

    def _campaign_page(self, campaign_id: str, limit: int, start: dict):
        shard, key = int(start.get("shard", 0)), start.get("key")
        items: list[MessageRecord] = []
        while shard < CAMPAIGN_SHARDS and len(items) < limit:
            result = MessageRecord.by_campaign.query(
                f"{campaign_id}#{shard}", scan_index_forward=False,
                limit=limit - len(items), last_evaluated_key=key)
            items.extend(result)
            key = result.last_evaluated_key
            if key is None:
                shard += 1
        return items, ({"shard": shard, "key": key} if shard < CAMPAIGN_SHARDS else None)

    def campaign_messages(self, campaign_id: str) -> Iterator[MessageRecord]:
        """Every record of a campaign, shard by shard (keyed reads)."""
        for shard in range(CAMPAIGN_SHARDS):
            yield from MessageRecord.by_campaign.query(f"{campaign_id}#{shard}")

    # ------------------------------------------------------------------ campaigns
    def add_campaign(self, record: CampaignRecord, audit) -> None:
        with transact_write() as tx:
            tx.save(record, condition=CampaignRecord.campaign_id.does_not_exist())
            tx.save(audit)

    def campaign(self, campaign_id: str) -> CampaignRecord:
        try:
            return CampaignRecord.get(campaign_id, consistent_read=True)
        except CampaignRecord.DoesNotExist as exc:
            raise NotFound(f"no campaign {campaign_id}", code="CAMPAIGN_NOT_FOUND") from exc

    def campaigns(self, ids: Iterable[str]) -> dict[str, CampaignRecord]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        return {c.campaign_id: c for c in CampaignRecord.batch_get(ids)}

    def campaigns_of_branch(self, branch: str, limit: int, start: dict | None = None):
        result = CampaignRecord.by_branch.query(branch, scan_index_forward=False, limit=limit,
                                                last_evaluated_key=start)
        items = list(result)
        return items, result.last_evaluated_key

    def cancel_campaign(self, campaign: CampaignRecord, actor: str, reason: str,
                        now: datetime, audit) -> bool:
        try:
            with transact_write() as tx:
                tx.update(campaign, actions=[
                    CampaignRecord.status.set("CANCELLED"), CampaignRecord.cancelled_at.set(now),
                    CampaignRecord.cancelled_by.set(actor),
                    CampaignRecord.cancel_reason.set(reason)],
                    condition=CampaignRecord.status.is_in("SCHEDULED", "RUNNING", "DISPATCHED"))
                tx.save(audit)
            return True
        except Exception as exc:  # noqa: BLE001 - narrowed: only a refused condition
            if _refused(exc):
                return False
            raise

    def start_campaign(self, campaign_id: str) -> bool:
        try:
            CampaignRecord(campaign_id).update(
                actions=[CampaignRecord.status.set("RUNNING")],
                condition=CampaignRecord.status == "SCHEDULED")
            return True
        except UpdateError as exc:
            if _refused(exc):
                return False
            raise

    def advance_campaign(self, campaign_id: str, page: int, cursor: dict | None,
                         recipients: int, held_out: int, done: bool, now: datetime) -> bool:
        """Page `page` is fanned out: the next page becomes page + 1, starting at `cursor`
        (once: a redelivered page that finds the campaign further on changes nothing)."""
        actions = [CampaignRecord.page.set(page + 1),
                   (CampaignRecord.cursor.set(json.dumps(cursor)) if cursor
                    else CampaignRecord.cursor.remove()),
                   CampaignRecord.recipients.add(recipients),
                   CampaignRecord.held_out.add(held_out)]
        if done:
            actions += [CampaignRecord.status.set("DISPATCHED"),
                        CampaignRecord.dispatched_at.set(now)]
        try:
            CampaignRecord(campaign_id).update(
                actions=actions,
                condition=(CampaignRecord.page == page) & (CampaignRecord.status == "RUNNING"))
            return True
        except UpdateError as exc:
            if _refused(exc):
                return False
            raise

    # ------------------------------------------------------------------ consent
    def consents(self, phones: Iterable[str]) -> dict[tuple[str, str], ConsentRecord]:
        keys = [(p, c) for p in dict.fromkeys(phones) for c in ("WHATSAPP", "SMS")]
        if not keys:
            return {}
        return {(r.phone, r.channel): r for r in ConsentRecord.batch_get(keys)}

    def set_consent(self, phone: str, channel: str, status: str, source: str, actor: str,
                    now: datetime, audit=None) -> bool:
        """Record an opt-in or opt-out; False when it was already so (nothing written), so
        a repeated STOP is confirmed once."""
        record = ConsentRecord(phone, channel, status=status, source=source, actor=actor,
                               updated_at=now)
        condition = (ConsentRecord.phone.does_not_exist()) | (ConsentRecord.status != status)
        try:
            if audit is None:
                record.save(condition=condition)
            else:
                with transact_write() as tx:
                    tx.save(record, condition=condition)
                    tx.save(audit)
            return True
        except Exception as exc:  # noqa: BLE001 - narrowed: only a refused condition
            if _refused(exc):
                return False
            raise

    # ------------------------------------------------------------------ limiter state
    def limit_items(self, keys: Iterable[str]) -> dict[str, LimitRecord]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        return {r.key: r for r in LimitRecord.batch_get(keys, consistent_read=True)}

    def save_limit_item(self, record: LimitRecord, read_version: int | None) -> bool:
        """Write limiter state only if nobody changed it since it was read."""
        record.version = (read_version or 0) + 1
        condition = (LimitRecord.key.does_not_exist() if read_version is None
                     else LimitRecord.version == read_version)
        try:
            record.save(condition=condition)
            return True
        except PutError as exc:
            if _refused(exc):
                return False
            raise

    def note_inbound(self, phone: str, at_micros: int) -> None:
        """The participant wrote to us: their 24-hour service window opens."""
        LimitRecord(f"RCPT#{phone}").update(actions=[
            LimitRecord.last_inbound_at.set(at_micros), LimitRecord.version.add(1)])

    # ------------------------------------------------------------------ timers
    def park(self, jobs: list[tuple[str, datetime, dict]]) -> None:
        """Park (timer_key, due, message) triples until their hours. Markers are written
        after the items, so a release never clears a marker of an hour it has not read."""
        if not jobs:
            return
        hours = set()
        with TimerRecord.batch_write() as batch:
            for key, due, body in jobs:
                hour = timer_hour(due)
                hours.add(hour)
                shard = zlib.crc32(key.encode()) % TIMER_SHARDS
                batch.save(TimerRecord(f"{_hour_label(hour)}#{shard}", key,
                                       body=json.dumps(body, default=str), due_at=due))
        with TimerRecord.batch_write() as batch:
            for hour in hours:
                batch.save(TimerRecord(HOURS_PARTITION, _hour_label(hour), due_at=hour))

    def due_hours(self, now: datetime) -> list[str]:
        """Hours with parked jobs whose release time has come (one keyed query)."""
        return [m.timer_key for m in TimerRecord.query(
            HOURS_PARTITION, range_key_condition=TimerRecord.timer_key <= _hour_label(
                _hour(now)), consistent_read=True)]

    def clear_hour_marker(self, hour: str) -> None:
        TimerRecord(HOURS_PARTITION, hour).delete()

    def parked_in_hour(self, hour: str) -> Iterator[list[TimerRecord]]:
        """The parked jobs of an hour, shard by shard, in pages."""
        for shard in range(TIMER_SHARDS):
            page: list[TimerRecord] = []
            for item in TimerRecord.query(f"{hour}#{shard}", consistent_read=True):
                page.append(item)
                if len(page) == 100:
                    yield page
                    page = []
            if page:
                yield page

    def unpark(self, items: list[TimerRecord]) -> None:
        with TimerRecord.batch_write() as batch:
            for item in items:
                batch.delete(item)

    # ------------------------------------------------------------------ outbox
    def outbox_add(self, record: OutboxRecord) -> None:
        record.save()

    def outbox_attempts(self, dedupe_key: str) -> list[OutboxRecord]:
        return list(OutboxRecord.query(dedupe_key, consistent_read=True))

    def outbox_of_day(self, day: str, limit: int, start: dict | None = None):
        result = OutboxRecord.by_day.query(day, scan_index_forward=False, limit=limit,
                                           last_evaluated_key=start)
        items = list(result)
        return items, result.last_evaluated_key

    def outbox_faults(self) -> dict | None:
        try:
            record = OutboxRecord.get("#config", "faults")
        except OutboxRecord.DoesNotExist:
            return None
        return json.loads(record.text)

    def set_outbox_faults(self, faults: dict, now: datetime) -> None:
        OutboxRecord("#config", "faults", channel="-", to="-", template="-",
                     text=json.dumps(faults), outcome="CONFIG", day="#config",
                     at_sort=now.isoformat(), at=now).save()
