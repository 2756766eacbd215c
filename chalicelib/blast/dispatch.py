"""The `send_reminder` consumer: every job on the reminders queue, a batch at a time.

Jobs (the message body's "type"):
- message_request: a MessageRequest from another context (shared_kernel/messaging.py); its
  record is created once under its dedupe key, then it is delivered like "deliver".
- deliver: send the record `dedupe_key` (campaign fan-out, retries, waits, re-drives).
- fallback / fallback_check: WhatsApp failed undeliverable, or was not delivered in time:
  the same record goes on by SMS.
- campaign_start / campaign_page: a campaign's fan-out (campaigns.py).

A batch is read at once (records, bills, contacts, consent, campaigns, limiter state: one
BatchGetItem each), each delivery is planned in memory, the limiter decides the batch's
WhatsApp sends together, and then each record runs under powertools' BatchProcessor, which
reports the ones that failed so only they come back.

Exactly once, as far as a provider allows it:
- a record goes QUEUED -> SENDING under a claim (attempt id + lease) by a conditional update,
  so of two workers holding the same job only one sends;
- every later write is conditional on that claim;
- a QUEUED record always has a carrier: the message being processed is acknowledged only
  after the record left QUEUED or a new carrier was sent (retry, wait);
- a claim whose worker died (lease expired) is settled by asking the provider whether the
  attempt reached it (`reconcile`); a provider that cannot tell gets the benefit of the doubt
  (possibly sent; its webhook or the fallback timeout decide), never a second send.
"""
from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from chalicelib.shared_kernel.messaging import MessageRequest

from .delivery import AWAITING_OUTCOME, DeliveryState as S, should_fall_back
from .limiter import Ask, Limiter
from .limits import LimitsConfig, MessageKind, quiet_until
from .provider_errors import Action, RetryPolicy, retry_delay
from .providers import Channel, OutboundMessage, Outcome, Providers, SendResult
from .rendering import RenderError, RenderedMessage, render_json
from .store import BlastStore, MessageRecord, campaign_shard

DELIVERY_JOBS = ("message_request", "deliver", "fallback", "fallback_check")
STOP_PAUSE = timedelta(hours=1)
REPLY_SOURCE = "keyword"
SKIPPED_NO_CONSENT = S.SKIPPED_NO_CONSENT.value


class LeaseHeld(Exception):
    """Another worker holds this record's claim: try again after the visibility timeout."""


class InvalidJob(Exception):
    """A message no retry can fix (not JSON, unknown type, malformed request): it goes to
    the dead-letter queue at once, with the reason."""

    def __init__(self, reason: str, raw: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


@dataclass
class Job:
    message_id: str
    receive_count: int
    body: dict
    type: str
    dedupe_key: str | None = None
    not_before: datetime | None = None


@dataclass
class Plan:
    action: str                          # send | skip | fail | wait | done | inflight
    state: str | None = None
    reason: str | None = None
    channel: Channel | None = None
    phone: str | None = None
    rendered: RenderedMessage | None = None
    kind: MessageKind = MessageKind.BUSINESS_INITIATED
    until: datetime | None = None
    contact: object | None = None
    reserved: bool = False


@dataclass
class Batch:
    now: datetime
    records: dict[str, MessageRecord] = field(default_factory=dict)
    bills: dict = field(default_factory=dict)
    contacts: dict = field(default_factory=dict)
    campaigns: dict = field(default_factory=dict)
    optouts: dict = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)


@dataclass(frozen=True)
class DispatchConfig:
    lease: timedelta = timedelta(seconds=120)
    fallback_timeout: timedelta = timedelta(hours=4)
    retry: RetryPolicy = RetryPolicy()
    max_receive_count: int = 5
    limits: LimitsConfig = LimitsConfig()


def effective_now(batch_now: datetime, job: Job) -> datetime:
    """A job that waited carries its not-before: under the local stack's virtual clock the
    clock does not move while it waits, so the job's own time is the later of the two."""
    return max(batch_now, job.not_before) if job.not_before else batch_now


class Dispatcher:
    def __init__(self, *, store: BlastStore, directory, bills: Callable[[list[str]], list],
                 providers: Providers, queue, limiter: Limiter, campaigns,
                 clock: Callable[[], datetime], config: DispatchConfig = DispatchConfig(),
                 rng: random.Random | None = None, log=None):
        self.store = store
        self.directory = directory
        self.bills = bills
        self.providers = providers
        self.queue = queue
        self.limiter = limiter
        self.campaigns = campaigns
        self.clock = clock
        self.config = config
        self.rng = rng or random.Random()
        self.log = log

    # ================================================================== batch
    def handle_batch(self, event: dict) -> dict:
        from aws_lambda_powertools.utilities.batch import (BatchProcessor, EventType,
                                                           process_partial_response)

        jobs = {r["messageId"]: self._parse(r) for r in event.get("Records", [])}
        batch = self.prepare([j for j in jobs.values() if not isinstance(j, InvalidJob)])

        def handle(record):
            self.run(jobs[record.message_id], batch)

        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(event=event, record_handler=handle,
                                        processor=processor)

    def _parse(self, record: dict) -> Job | InvalidJob:
        count = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        raw = record.get("body") or ""
        try:
            body = json.loads(raw)
        except (TypeError, ValueError):
            return InvalidJob("message body is not JSON", raw)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return InvalidJob("message has no type", raw)
        job = Job(record["messageId"], count, body, body["type"])
        job.dedupe_key = body.get("dedupe_key")
        if body.get("not_before"):
            try:
                job.not_before = datetime.fromisoformat(body["not_before"])
            except (TypeError, ValueError):
                return InvalidJob("not_before is not an ISO instant", raw)
        if job.type in DELIVERY_JOBS and not (isinstance(job.dedupe_key, str)
                                             and 0 < len(job.dedupe_key) <= 1024):
            return InvalidJob("dedupe_key must be a non-empty string of at most 1024 chars",
                              raw)
        if job.type not in DELIVERY_JOBS and job.type not in ("campaign_start",
                                                             "campaign_page"):
            return InvalidJob(f"unknown job type {job.type!r}", raw)
        return job

    def prepare(self, jobs: list[Job]) -> Batch:
        """Read what the batch needs in one batch read per kind, create the records of new
        requests, and plan every delivery (the limiter decides the WhatsApp ones together)."""
        batch = Batch(now=self.clock())
        deliveries = [j for j in jobs if j.type in DELIVERY_JOBS]
        if not deliveries:
            return batch
        batch.records = self.store.messages(j.dedupe_key for j in deliveries)
        for job in deliveries:
            if job.type == "message_request" and job.dedupe_key not in batch.records:
                record = self._record_of_request(job, batch.now)
                if record is None:
                    continue
                if not self.store.create_message(record):
                    record = self.store.message(job.dedupe_key)
                batch.records[job.dedupe_key] = record
        self._load(batch)
        for job in deliveries:
            record = batch.records.get(job.dedupe_key)
            if record is not None and job.type in ("message_request", "deliver"):
                batch.plans[job.message_id] = self.plan(record, batch,
                                                        effective_now(batch.now, job))
        self._apply_limits(deliveries, batch)
        return batch

    def _load(self, batch: Batch) -> None:
        """Bills, contacts, campaigns and opt-outs of the batch's records that may still
        send (one batch read each)."""
        live = [r for r in batch.records.values() if r.state not in _SETTLED]
        bill_ids = [r.bill_id for r in live if r.bill_id and r.state == S.QUEUED.value]
        batch.bills = {b.bill_id: b for b in self.bills(bill_ids)} if bill_ids else {}
        batch.contacts = self.directory.contacts(
            (r.recipient_kind, r.recipient_id) for r in live
            if r.recipient_kind in ("PARTICIPANT", "EMPLOYER"))
        batch.campaigns = self.store.campaigns(r.campaign_id for r in live if r.campaign_id)
        phones = {r.phone for r in live if r.phone}
        phones |= {c.phone for c in batch.contacts.values() if c.phone}
        phones |= {r.recipient_id for r in live if r.recipient_kind == "PHONE"}
        batch.optouts = {key: rec for key, rec in self.store.consents(phones).items()
                         if rec.status == "OPTED_OUT"}

    def _record_of_request(self, job: Job, now: datetime) -> MessageRecord | None:
        try:
            request = MessageRequest.from_message(job.body)
        except TypeError:
            return None
        if request.recipient_kind not in ("PARTICIPANT", "EMPLOYER", "PHONE") or \
                request.channel_preference not in ("WHATSAPP", "SMS") or \
                not isinstance(request.recipient_id, str) or not request.recipient_id or \
                not isinstance(request.template, str) or not isinstance(request.params, dict):
            return None
        return new_record(request, now)

    # ================================================================== planning
    def plan(self, record: MessageRecord, batch: Batch, now: datetime) -> Plan:
        """What to do with a record, from the batch's reads alone (no I/O)."""
        state = record.state
        if state == S.SENDING.value:
            return Plan("inflight")
        if state != S.QUEUED.value:
            return Plan("done")
        campaign = batch.campaigns.get(record.campaign_id) if record.campaign_id else None
        if campaign is not None and campaign.status == "CANCELLED":
            return Plan("skip", S.CANCELLED.value, "campaign_cancelled")
        if record.bill_id:
            bill = batch.bills.get(record.bill_id)
            if bill is None:
                return Plan("fail", S.FAILED.value, "bill_not_found")
            if bill.status not in ("OPEN", "OVERDUE"):
                return Plan("skip", S.SKIPPED_PAID.value, f"bill_{bill.status.lower()}")
        reply = record.source == REPLY_SOURCE
        contact = None
        if record.recipient_kind == "PHONE":
            phone = record.recipient_id
        else:
            contact = batch.contacts.get((record.recipient_kind, record.recipient_id))
            phone = contact.phone if contact else None
        if not phone or not _is_mobile(phone):
            return Plan("skip", S.SKIPPED_NO_CONTACT.value,
                        "recipient_not_found" if record.recipient_kind != "PHONE" and
                        contact is None else "no_mobile_number", contact=contact)
        channel, skip = self._channel(record, contact, phone, batch, reply)
        if channel is None:
            return Plan("skip", skip[0], skip[1], contact=contact)
        try:
            rendered = render_json(record.template, record.params_dict())
        except RenderError as exc:
            return Plan("fail", S.FAILED.value, f"render_error: {exc}"[:300], contact=contact)
        kind = MessageKind.SERVICE_REPLY if reply else MessageKind.BUSINESS_INITIATED
        plan = Plan("send", channel=channel, phone=phone, rendered=rendered, kind=kind,
                    contact=contact)
        if channel is Channel.SMS and kind is MessageKind.BUSINESS_INITIATED:
            quiet_end = quiet_until(now, self.config.limits)
            if quiet_end is not None:
                return Plan("wait", until=quiet_end, reason="QUIET_HOURS", channel=channel)
        return plan

    def _channel(self, record, contact, phone, batch, reply):
        """The channel to use, or (None, (skip state, reason))."""
        def allowed(channel: str) -> bool:
            if reply:
                return True
            if (phone, channel) in batch.optouts:
                return False
            if contact is None:         # a bare number: only an opt-out can stop it
                return True
            return channel in contact.opted_in

        if record.channel:               # already decided (a fallback to SMS)
            chosen = [record.channel]
        elif record.channel_preference == "SMS":
            chosen = ["SMS", "WHATSAPP"]
        else:
            chosen = ["WHATSAPP", "SMS"]
        for channel in chosen:
            if allowed(channel):
                return Channel(channel), None
        said_no = any((phone, c) in batch.optouts for c in chosen) or (
            contact is not None and any(c in contact.opted_out for c in chosen))
        if said_no:
            return None, (S.SKIPPED_OPTED_OUT.value, "opted_out")
        return None, (SKIPPED_NO_CONSENT, "no_opt_in")

    def _apply_limits(self, jobs: list[Job], batch: Batch) -> None:
        asks, owners = [], []
        for job in jobs:
            plan = batch.plans.get(job.message_id)
            if plan is None or plan.action != "send" or plan.channel is not Channel.WHATSAPP:
                continue
            if job.body.get("reserved"):
                continue                  # its slot was booked when it was told to wait
            asks.append(Ask(effective_now(batch.now, job), plan.phone, plan.kind))
            owners.append(job.message_id)
        for owner, answer in zip(owners, self.limiter.reserve(asks)):
            if not answer.allowed:
                plan = batch.plans[owner]
                batch.plans[owner] = Plan("wait", until=answer.not_before, reason=answer.reason,
                                          channel=plan.channel, reserved=answer.reserved)

    # ================================================================== running
    def run(self, job: Job | InvalidJob, batch: Batch) -> None:
        if isinstance(job, InvalidJob):
            self.queue.dead_letter({"type": "invalid", "raw": job.raw[:200_000]},
                                   f"invalid: {job.reason}", batch.now)
            return
        try:
            self._run(job, batch)
        except InvalidJob as exc:
            self._dead_letter(job, batch, f"invalid: {exc.reason}")
        except LeaseHeld:
            if job.receive_count >= self.config.max_receive_count:
                self._dead_letter(job, batch, "lease_never_released")
                return
            raise
        except Exception as exc:
            if job.receive_count >= self.config.max_receive_count:
                self._dead_letter(job, batch, f"{type(exc).__name__}: {exc}"[:300])
                return
            raise

    def _run(self, job: Job, batch: Batch) -> None:
        now = effective_now(batch.now, job)
        if job.type in ("campaign_start", "campaign_page"):
            self.campaigns.run_job(job.type, job.body, now, job.receive_count)
            return
        record = batch.records.get(job.dedupe_key)
        if record is None:
            if job.type == "message_request":
                raise InvalidJob("malformed message request")
            return   # a carrier of a record that does not exist: nothing to deliver
        if job.type == "fallback":
            self._fallback(record, batch, now, reason=job.body.get("reason") or "undeliverable")
            return
        if job.type == "fallback_check":
            self._fallback_check(record, batch, now)
            return
        self._deliver(record, batch.plans[job.message_id], batch, now)

    def _deliver(self, record: MessageRecord, plan: Plan, batch: Batch,
                 now: datetime) -> None:
        if plan.action == "done":
            return
        if plan.action == "inflight":
            self._recover(record, batch, now)
            return
        if plan.action in ("skip", "fail"):
            self._settle_before_send(record, plan, now)
            return
        if plan.action == "wait":
            self._wait(record, plan.until, plan.reason, now, reserved=plan.reserved)
            return
        self._send(record, plan, now)

    def _settle_before_send(self, record, plan: Plan, now: datetime) -> None:
        actions = [MessageRecord.state.set(plan.state), MessageRecord.reason.set(plan.reason),
                   MessageRecord.updated_at.set(now),
                   *_identity(record, plan.contact)]
        if plan.state == S.FAILED.value:
            actions.append(MessageRecord.failed_at.set(now))
        self.store.update_message(record, actions, MessageRecord.state == S.QUEUED.value)

    def _wait(self, record, until: datetime, reason: str, now: datetime,
              reserved: bool = False) -> None:
        """The carrier goes first: if we die after it, the record still has one."""
        body = {"type": "deliver", "dedupe_key": record.dedupe_key}
        if reserved:
            body["reserved"] = True
        self.queue.defer(body, until, now,
                         key=f"deliver:{record.dedupe_key}:{until.isoformat()}")
        self.store.update_message(record, [
            MessageRecord.not_before.set(until), MessageRecord.wait_reason.set(reason),
            MessageRecord.updated_at.set(now)], MessageRecord.state == S.QUEUED.value)

    # ------------------------------------------------------------------ send
    def _send(self, record: MessageRecord, plan: Plan, now: datetime) -> None:
        attempt_id = uuid.uuid4().hex
        contact = plan.contact
        actions = [MessageRecord.state.set(S.SENDING.value),
                   MessageRecord.attempt_id.set(attempt_id),
                   MessageRecord.lease_until.set(now + self.config.lease),
                   MessageRecord.attempts.add(1),
                   MessageRecord.channel.set(plan.channel.value),
                   MessageRecord.phone.set(plan.phone),
                   MessageRecord.body_text.set(plan.rendered.body_text
                                               if plan.channel is Channel.WHATSAPP
                                               else plan.rendered.sms_text),
                   MessageRecord.updated_at.set(now), *_identity(record, contact)]
        claimed = self.store.update_message(record, actions,
                                            MessageRecord.state == S.QUEUED.value)
        if not claimed:
            return   # another worker got it first
        provider = self.providers.for_channel(plan.channel)
        if plan.channel is Channel.WHATSAPP and _needs_timer(provider):
            # Parked before the call, so a send whose answer we never record still gets
            # its timeout check; the check is a no-op for a delivered message.
            self._park_fallback_check(record.dedupe_key, now)
        message = OutboundMessage(record.dedupe_key, attempt_id, plan.channel, plan.phone,
                                  plan.rendered)
        result = provider.send(message)
        if result.outcome is Outcome.UNCERTAIN:
            result = provider.reconcile(record.dedupe_key, attempt_id) or result
        self._record_result(record, attempt_id, plan.channel, result, now, plan)

    def _record_result(self, record, attempt_id: str, channel: Channel, result: SendResult,
                       now: datetime, plan: Plan | None) -> None:
        ours = (MessageRecord.attempt_id == attempt_id) & (
            MessageRecord.state == S.SENDING.value)
        common = [MessageRecord.lease_until.remove(), MessageRecord.updated_at.set(now)]
        if result.outcome in (Outcome.ACCEPTED, Outcome.DELIVERED, Outcome.UNCERTAIN):
            if result.outcome is Outcome.DELIVERED:
                state = S.DELIVERED
            elif channel is Channel.SMS:
                state = S.SENT      # SMS has no delivery event we rely on: accepted is final
            else:
                state = S.ACCEPTED
            actions = common + [MessageRecord.state.set(state.value),
                                MessageRecord.sent_at.set(now)]
            if result.provider_message_id:
                actions.append(MessageRecord.provider_message_id.set(result.provider_message_id))
                if channel is Channel.WHATSAPP:
                    actions.append(MessageRecord.whatsapp_message_id.set(
                        result.provider_message_id))
            if state is S.DELIVERED:
                actions.append(MessageRecord.delivered_at.set(now))
            if result.outcome is Outcome.UNCERTAIN:
                actions.append(MessageRecord.unconfirmed.set(1))
            self.store.update_message(record, actions, ours)
            return
        classification = result.classification()
        action = classification.action
        if action is Action.RETRY:
            attempt = int(record.attempts or 1)   # the claim counted this attempt
            delay = retry_delay(classification, attempt, self.rng.random, self.config.retry)
            if delay is None:
                self._fail(record, ours, common, f"retries_exhausted:{classification.reason}",
                           result, now, dead_letter=True)
                return
            self._release(record, ours, common, now + delay, classification.reason, result, now)
            return
        if action is Action.STOP:
            self.limiter.pause(now + STOP_PAUSE)
            self._release(record, ours, common, now + STOP_PAUSE, classification.reason,
                          result, now)
            return
        if action in (Action.FALLBACK_SMS, Action.REENGAGE) and channel is Channel.WHATSAPP:
            switched = self.store.update_message(record, common + [
                MessageRecord.state.set(S.QUEUED.value), MessageRecord.channel.set("SMS"),
                MessageRecord.attempt_id.remove(),
                MessageRecord.error_code.set(result.error_code),
                MessageRecord.fallback_reason.set(classification.reason)], ours)
            if switched:
                self._continue_by_sms(record.dedupe_key, now)
            return
        self._fail(record, ours, common, classification.reason, result, now, dead_letter=False)

    def _release(self, record, ours, common, until: datetime, reason: str,
                 result: SendResult, now: datetime) -> None:
        self.queue.defer({"type": "deliver", "dedupe_key": record.dedupe_key}, until, now,
                         key=f"deliver:{record.dedupe_key}:{until.isoformat()}")
        self.store.update_message(record, common + [
            MessageRecord.state.set(S.QUEUED.value), MessageRecord.attempt_id.remove(),
            MessageRecord.not_before.set(until), MessageRecord.wait_reason.set(reason),
            *([MessageRecord.error_code.set(result.error_code)] if result.error_code else [])],
            ours)

    def _fail(self, record, ours, common, reason: str, result: SendResult, now: datetime,
              dead_letter: bool) -> None:
        actions = common + [MessageRecord.state.set(S.FAILED.value),
                            MessageRecord.reason.set(reason), MessageRecord.failed_at.set(now)]
        if result.error_code is not None:
            actions.append(MessageRecord.error_code.set(result.error_code))
        if self.store.update_message(record, actions, ours) and dead_letter:
            self.queue.dead_letter({"type": "deliver", "dedupe_key": record.dedupe_key},
                                   reason, now)
            if self.log:
                self.log.warning("reminder_failed", extra={"dedupe_key": record.dedupe_key,
                                                           "reason": reason})

    # ------------------------------------------------------------------ recovery
    def _recover(self, record: MessageRecord, batch: Batch, now: datetime) -> None:
        """A SENDING record: its worker is still at it (lease live: come back later), or
        died. Then the provider says whether that attempt reached it."""
        if record.lease_until is not None and record.lease_until > now:
            raise LeaseHeld(record.dedupe_key)
        old_attempt = record.attempt_id
        new_attempt = uuid.uuid4().hex
        taken = self.store.update_message(record, [
            MessageRecord.attempt_id.set(new_attempt),
            MessageRecord.lease_until.set(now + self.config.lease),
            MessageRecord.updated_at.set(now)],
            (MessageRecord.state == S.SENDING.value)
            & (MessageRecord.attempt_id == old_attempt))
        if not taken:
            return
        channel = Channel(record.channel or "WHATSAPP")
        result = self.providers.for_channel(channel).reconcile(record.dedupe_key, old_attempt)
        if result is None:   # cannot know: possibly sent, never sent twice
            result = SendResult(Outcome.UNCERTAIN, detail="worker died during the send")
        self._record_result(record, new_attempt, channel, result, now, None)

    # ------------------------------------------------------------------ fallback
    def _park_fallback_check(self, dedupe_key: str, now: datetime) -> None:
        due = now + self.config.fallback_timeout
        self.queue.defer({"type": "fallback_check", "dedupe_key": dedupe_key}, due, now,
                         key=f"fallback_check:{dedupe_key}:{due.isoformat()}")

    def _fallback(self, record: MessageRecord, batch: Batch, now: datetime,
                  reason: str) -> None:
        """WhatsApp reported the message failed with a fallback-class error."""
        if record.channel == "SMS":
            if record.state == S.QUEUED.value:
                self._continue_by_sms(record.dedupe_key, now)
            return
        if record.state != S.FAILED.value:
            return
        switched = self.store.update_message(record, [
            MessageRecord.state.set(S.QUEUED.value), MessageRecord.channel.set("SMS"),
            MessageRecord.fallback_reason.set(reason), MessageRecord.updated_at.set(now)],
            (MessageRecord.state == S.FAILED.value) & (MessageRecord.channel == "WHATSAPP"))
        if switched:
            self._continue_by_sms(record.dedupe_key, now)

    def _fallback_check(self, record: MessageRecord, batch: Batch, now: datetime) -> None:
        if record.channel == "SMS":
            if record.state == S.QUEUED.value:
                self._continue_by_sms(record.dedupe_key, now)
            return
        state = S(record.state)
        if state not in AWAITING_OUTCOME or not should_fall_back(
                state, record.sent_at, now, self.config.fallback_timeout):
            return
        switched = self.store.update_message(record, [
            MessageRecord.state.set(S.QUEUED.value), MessageRecord.channel.set("SMS"),
            MessageRecord.fallback_reason.set("not_delivered_in_time"),
            MessageRecord.updated_at.set(now)],
            MessageRecord.state.is_in(*(s.value for s in AWAITING_OUTCOME))
            & (MessageRecord.channel == "WHATSAPP"))
        if switched:
            self._continue_by_sms(record.dedupe_key, now)

    def _continue_by_sms(self, dedupe_key: str, now: datetime) -> None:
        """Send the SMS now, in this job (which stays the record's carrier until done)."""
        record = self.store.message(dedupe_key)
        if record is None or record.state != S.QUEUED.value:
            return
        batch = Batch(now=now, records={dedupe_key: record})
        self._load(batch)
        plan = self.plan(record, batch, now)
        if plan.action == "skip" and record.fallback_reason:
            # WhatsApp could not reach them and SMS may not be used: the WhatsApp outcome
            # stands as the record's end.
            plan = Plan("fail", S.FAILED.value, f"{record.fallback_reason}; sms_{plan.reason}")
        self._deliver(record, plan, batch, now)

    # ------------------------------------------------------------------ dead letters
    def _dead_letter(self, job: Job, batch: Batch, reason: str) -> None:
        """Last receive of a job that keeps failing: its record gets an end state and the
        job goes to the dead-letter queue with the reason, ready to be re-driven."""
        now = effective_now(batch.now, job)
        record = batch.records.get(job.dedupe_key) if job.dedupe_key else None
        if record is not None and record.state == S.QUEUED.value:
            self.store.update_message(record, [
                MessageRecord.state.set(S.FAILED.value),
                MessageRecord.reason.set(f"dead_lettered: {reason}"[:300]),
                MessageRecord.failed_at.set(now), MessageRecord.updated_at.set(now)],
                MessageRecord.state == S.QUEUED.value)
        elif record is not None and record.state == S.SENDING.value:
            # Abandoned in flight: settled as its provider knows it (as after a crash).
            self._recover(record, batch, max(now, record.lease_until or now))
        body = {k: v for k, v in job.body.items() if k != "not_before"}
        self.queue.dead_letter(body, reason, now)
        if self.log:   # ids only: a dedupe key names parties by id, never by phone or NIK
            self.log.warning("reminder_dead_lettered",
                             extra={"job": job.type, "dedupe_key": job.dedupe_key,
                                    "reason": reason[:200]})


_SETTLED = frozenset({S.DELIVERED.value, S.READ.value, S.SKIPPED_OPTED_OUT.value,
                      S.SKIPPED_NO_CONTACT.value, S.SKIPPED_PAID.value, S.HELD_OUT.value,
                      S.CANCELLED.value, SKIPPED_NO_CONSENT})


def _identity(record: MessageRecord, contact) -> list:
    """Who the record is about, for the history's indexes and the branch's view."""
    if contact is None:
        return []
    actions = [MessageRecord.recipient_name.set(contact.name or "-")]
    if contact.kind == "PARTICIPANT" and not record.participant_id:
        actions.append(MessageRecord.participant_id.set(contact.id))
    if contact.npp and not record.npp:
        actions.append(MessageRecord.npp.set(contact.npp))
    if contact.branch and not record.branch:
        actions.append(MessageRecord.branch.set(contact.branch))
    return actions


def _needs_timer(provider) -> bool:
    needs = getattr(provider, "needs_delivery_timer", None)
    return True if needs is None else needs()


def _is_mobile(phone: str) -> bool:
    from chalicelib.registration.identifiers import is_mobile_e164

    return is_mobile_e164(phone)


def new_record(request: MessageRequest, now: datetime, *, page: int | None = None,
               state: str = S.QUEUED.value, npp: str | None = None,
               recipient_name: str | None = None) -> MessageRecord:
    participant = request.recipient_id if request.recipient_kind == "PARTICIPANT" else None
    return MessageRecord(
        request.dedupe_key, template=request.template, recipient_kind=request.recipient_kind,
        recipient_id=request.recipient_id,
        params=json.dumps(request.params, default=str, ensure_ascii=False),
        source=request.source or "system", channel_preference=request.channel_preference,
        bill_id=request.bill_id, campaign_id=request.campaign_id, fanout_page=page,
        campaign_shard=(campaign_shard(request.campaign_id, request.dedupe_key)
                        if request.campaign_id else None),
        branch=request.branch, participant_id=participant, npp=npp,
        recipient_name=recipient_name, state=state, created_at=now,
        created_sort=f"{now.isoformat()}#{request.dedupe_key}", updated_at=now)
