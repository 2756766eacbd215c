"""Blast's use cases behind the routes, the consumer and the schedule, and their wiring
(`build_blast_service`, called once by the composition root)."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Callable

from chalicelib.shared_kernel.auth import Principal, Role
from chalicelib.shared_kernel.calendar import jakarta_today
from chalicelib.shared_kernel.errors import Forbidden, NotFound

from .campaigns import Campaigns
from .dispatch import Dispatcher
from .inbound import Inbound
from .providers import Faults, OutboxProvider, Providers
from .queue import BlastQueue
from .schemas import decode_token, encode_token, iso
from .store import BlastStore, MessageRecord

STAFF = (Role.ADMIN, Role.RECEIVABLES, Role.BRANCH_HEAD, Role.VERIFIER)


@dataclass
class BlastService:
    store: BlastStore
    dispatcher: Dispatcher
    campaigns: Campaigns
    inbound: Inbound
    providers: Providers
    queue: BlastQueue
    directory: object
    clock: Callable[[], datetime]

    # ------------------------------------------------------------------ consumer, schedule
    def consume(self, event: dict) -> dict:
        return self.dispatcher.handle_batch(event)

    def release_timers(self, now: datetime) -> dict:
        """Hourly: send every parked job whose hour has come back to the queue. One keyed
        query when nothing is parked (the usual case), so replays of a year stay cheap."""
        released = 0
        hours = self.store.due_hours(now)
        for hour in hours:
            for page in self.store.parked_in_hour(hour):
                jobs = [json.loads(item.body) for item in page]
                self.queue.send_many(_still_needed(jobs, self.store))
                self.store.unpark(page)
                released += len(page)
            # Cleared last: a release that dies half-way leaves the hour to the next one
            # (its jobs are idempotent, so sending some twice is harmless).
            self.store.clear_hour_marker(hour)
        return {"hours": len(hours), "released": released}

    # ------------------------------------------------------------------ history
    def messages(self, principal: Principal, query) -> dict:
        participant_id = query.participant_id
        npp = query.npp
        if principal.role is Role.EMPLOYER:
            npp = npp or principal.npp
            if npp != principal.npp:
                raise Forbidden("an employer sees only its own messages", code="NPP_FORBIDDEN")
        if principal.role is Role.PARTICIPANT:
            own = self.directory.participant_by_kpj(principal.kpj)
            if own is None or (participant_id or own.participant_id) != own.participant_id:
                raise Forbidden("a participant sees only their own messages",
                                code="KPJ_FORBIDDEN")
            participant_id = own.participant_id
        filters = {"bill_id": query.bill_id, "campaign_id": query.campaign_id,
                   "participant_id": participant_id, "npp": npp}
        index, value = next((k, v) for k, v in filters.items() if v)
        start = decode_token(query.next_token)
        items, last = self.store.messages_by(index, value, query.limit, start)
        visible = [r for r in items if all(getattr(r, k) == v for k, v in filters.items() if v)
                   and self._may_see(principal, r)]
        return {"items": [message_view(r, principal) for r in visible],
                "next_token": encode_token(last)}

    @staticmethod
    def _may_see(principal: Principal, record: MessageRecord) -> bool:
        if principal.role is Role.ADMIN:
            return True
        if principal.is_staff:
            return record.branch == principal.branch
        return True   # employers and participants were narrowed to their own key above

    # ------------------------------------------------------------------ consent (staff)
    def record_consent(self, principal: Principal, body) -> dict:
        """An opt-in or opt-out a person gave at the branch or by phone to staff, recorded
        on their registration (which audits who and how)."""
        principal.require_role(STAFF)
        record_id = body.recipient_id
        if body.kpj:
            found = self.directory.participant_by_kpj(body.kpj)
            record_id = found.participant_id if found else None
        elif body.npp:
            found = self.directory.employer_by_npp(body.npp)
            record_id = found.employer_id if found else None
        contact = self.directory.contacts([(body.recipient_kind, record_id)]).get(
            (body.recipient_kind, record_id)) if record_id else None
        if contact is None:
            raise NotFound(f"no {body.recipient_kind.lower()} "
                           f"{body.recipient_id or body.kpj or body.npp}",
                           code="RECIPIENT_NOT_FOUND")
        principal.require_branch(contact.branch)
        now = self.clock()
        result = self.directory.record_consent(
            body.recipient_kind, record_id, body.channel, body.opted_in,
            actor=principal.subject, source=f"STAFF: {body.evidence}", at=now)
        if contact.phone and body.opted_in:
            # A STOP this number sent earlier is lifted by the person's new opt-in; an
            # opt-out stays on the record (others may share the number).
            self.store.set_consent(contact.phone, body.channel, "OPTED_IN", "staff",
                                   principal.subject, now)
        return {"recipient_kind": body.recipient_kind, "recipient_id": record_id, **result}

    # ------------------------------------------------------------------ outbox (local)
    def _outbox(self) -> OutboxProvider:
        for provider in (self.providers.whatsapp, self.providers.sms):
            if isinstance(provider, OutboxProvider):
                return provider
        raise NotFound("this stage sends through real providers; it has no outbox",
                       code="OUTBOX_DISABLED")

    def outbox(self, principal: Principal, query) -> dict:
        principal.require_role(STAFF)
        self._outbox()
        day = query.day or jakarta_today(self.clock()).isoformat()
        items, last = self.store.outbox_of_day(day, query.limit, decode_token(query.next_token))
        reveal = principal.role is Role.ADMIN
        return {"day": day, "items": [{
            "at": r.at.isoformat(), "channel": r.channel,
            "to": r.to if reveal else mask_phone(r.to), "template": r.template, "text": r.text,
            "outcome": r.outcome, "error_code": r.error_code, "http_status": r.http_status,
            "provider_message_id": r.provider_message_id, "dedupe_key": r.dedupe_key,
            "attempt_id": r.attempt_id} for r in items], "next_token": encode_token(last)}

    def set_outbox_faults(self, principal: Principal, body) -> dict:
        principal.require_role([Role.ADMIN])
        self._outbox()
        faults = Faults(server_error_rate=body.server_error_rate,
                        throttle_rate=body.throttle_rate, timeout_rate=body.timeout_rate,
                        slow_seconds=body.slow_seconds, undeliverable=tuple(body.undeliverable),
                        deliver=body.deliver)
        self.store.set_outbox_faults(faults.to_dict(), self.clock())
        return faults.to_dict()

    # ------------------------------------------------------------------ dead letters
    def redrive(self, principal: Principal, limit: int) -> dict:
        """Move dead-lettered jobs back to the queue; their records become QUEUED again
        (only those that ended FAILED because of the dead-lettering)."""
        principal.require_role([Role.ADMIN])
        moved = records = 0
        now = self.clock()
        while moved < limit:
            messages = self.queue.receive_dead_letters(min(10, limit - moved))
            if not messages:
                break
            for message in messages:
                body = json.loads(message["Body"])
                body.pop("dead_letter", None)
                if body.get("type") == "invalid":
                    continue            # no retry makes it valid: it stays for a person
                key = body.get("dedupe_key")
                record = self.store.message(key) if isinstance(key, str) else None
                if record is not None and record.state == "FAILED":
                    records += self.store.update_message(record, [
                        MessageRecord.state.set("QUEUED"), MessageRecord.attempts.set(0),
                        MessageRecord.reason.remove(), MessageRecord.failed_at.remove(),
                        MessageRecord.attempt_id.remove(), MessageRecord.updated_at.set(now)],
                        MessageRecord.state == "FAILED")
                self.queue.send(body)
                self.queue.delete_dead_letter(message["ReceiptHandle"])
                moved += 1
        return {"moved": moved, "records_requeued": records}


def _still_needed(jobs: list[dict], store: BlastStore) -> list[dict]:
    """Fallback checks of messages delivered (or read, or failed) meanwhile are dropped
    here with one batch read, instead of each costing a queue round trip. Kept: those the
    consumer would still act on (`Dispatcher._fallback_check`): a WhatsApp message still
    awaiting its outcome, or one already switched to SMS and still queued."""
    from .delivery import AWAITING_OUTCOME, DeliveryState

    checks = [j["dedupe_key"] for j in jobs if j.get("type") == "fallback_check"]
    if not checks:
        return jobs
    records = store.messages(checks)
    awaiting = {s.value for s in AWAITING_OUTCOME}
    needed = {k for k, r in records.items()
              if (r.channel == "WHATSAPP" and r.state in awaiting)
              or (r.channel == "SMS" and r.state == DeliveryState.QUEUED.value)}
    return [j for j in jobs if j.get("type") != "fallback_check" or j["dedupe_key"] in needed]


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    return "*" * max(len(phone) - 4, 0) + phone[-4:]


def message_view(record: MessageRecord, principal: Principal) -> dict:
    reveal = principal.role is Role.ADMIN
    return {
        "dedupe_key": record.dedupe_key, "template": record.template, "source": record.source,
        "state": record.state, "channel": record.channel,
        "phone": record.phone if reveal else mask_phone(record.phone),
        "recipient_kind": record.recipient_kind, "recipient_id": record.recipient_id,
        "recipient_name": record.recipient_name, "bill_id": record.bill_id,
        "campaign_id": record.campaign_id, "npp": record.npp,
        "participant_id": record.participant_id, "attempts": int(record.attempts or 0),
        "reason": record.reason,
        "error_code": int(record.error_code) if record.error_code is not None else None,
        "fallback_reason": record.fallback_reason,
        "waiting_until": iso(record.not_before) if record.state == "QUEUED" else None,
        "text": record.body_text, "created_at": record.created_at.isoformat(),
        "sent_at": iso(record.sent_at), "delivered_at": iso(record.delivered_at),
        "read_at": iso(record.read_at), "failed_at": iso(record.failed_at)}


# ====================================================================== wiring
def limits_config(settings):
    from .limits import LimitsConfig

    quiet = settings.blast_quiet_hours.strip()
    if quiet:
        try:
            start_text, end_text = quiet.split("-")
            start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(
                end_text.strip())
        except ValueError as exc:
            raise ValueError(f"blast_quiet_hours {quiet!r} is not 'HH:MM-HH:MM'") from exc
    else:
        start = end = time(0, 0)
    return LimitsConfig.for_tier(
        settings.blast_messaging_tier, rate_per_second=max(settings.blast_rate_per_second, 1),
        recipient_interval=timedelta(seconds=settings.blast_recipient_interval_seconds),
        quiet_start=start, quiet_end=end)


def _secret(settings, value: str | None, name: str) -> Callable[[], str | None]:
    """A configured value, else <secrets_prefix><name> from Secrets Manager (read once)."""
    cache: dict[str, str | None] = {}

    def read() -> str | None:
        if value:
            return value
        if not settings.secrets_prefix:
            return None
        if "v" not in cache:
            from chalicelib.shared_kernel.aws import client

            cache["v"] = client("secretsmanager", settings.region).get_secret_value(
                SecretId=f"{settings.secrets_prefix}{name}")["SecretString"]
        return cache["v"]

    return read


def build_providers(settings, store: BlastStore, clock) -> Providers:
    from .providers import (Channel, EndUserMessagingSmsProvider, SnsSmsProvider,
                            WhatsAppCloudProvider)

    if settings.blast_whatsapp_provider == "cloud_api":
        token = _secret(settings, settings.whatsapp_access_token, "whatsapp-access-token")

        def required_token() -> str:
            value = token()
            if not value:
                raise RuntimeError("no WhatsApp access token configured")
            return value

        whatsapp = WhatsAppCloudProvider(phone_number_id=settings.whatsapp_phone_number_id,
                                         token=required_token,
                                         base_url=settings.whatsapp_api_base_url)
    else:
        whatsapp = OutboxProvider(store, Channel.WHATSAPP, clock)
    if settings.blast_sms_provider == "sns":
        sms = SnsSmsProvider(region=settings.region, sender_id=settings.sms_sender_id)
    elif settings.blast_sms_provider == "end_user_messaging":
        if not settings.sms_origination_identity:
            raise ValueError("End User Messaging SMS needs sms_origination_identity")
        sms = EndUserMessagingSmsProvider(region=settings.region,
                                          origination_identity=settings.sms_origination_identity,
                                          configuration_set=settings.sms_configuration_set)
    else:
        sms = OutboxProvider(store, Channel.SMS, clock)
    return Providers(whatsapp=whatsapp, sms=sms)


def build_blast_service(container, *, providers: Providers | None = None,
                        rng: random.Random | None = None) -> BlastService:
    from chalicelib.billing.store import BillingStore
    from chalicelib.shared_kernel.observability import logger
    from chalicelib.shared_kernel.resources import QUEUES

    from .directory import RegistrationDirectory
    from .dispatch import DispatchConfig
    from .limiter import Limiter
    from .provider_errors import RetryPolicy

    settings = container.settings
    clock = lambda: container.clock()  # noqa: E731 - tests swap container.clock
    store = BlastStore()
    billing_store = BillingStore()
    use_delay = settings.blast_queue_delay
    if use_delay is None:
        use_delay = settings.stage not in ("local", "test")
    queue = BlastQueue(settings.region, use_delay=use_delay,
                       max_wait_seconds=settings.blast_queue_delay_max_seconds,
                       park=store.park)
    limits = limits_config(settings)
    providers = providers or build_providers(settings, store, clock)
    directory = RegistrationDirectory(container.registration)
    owed = lambda bill, day: container.billing.owed(bill, day)  # noqa: E731
    campaigns = Campaigns(store=store, billing_store=billing_store, owed=owed, queue=queue,
                          clock=clock, page_size=settings.blast_campaign_page_size,
                          limits=limits)
    limiter = Limiter(store, limits, sender_id=settings.whatsapp_phone_number_id,
                      rate=settings.blast_rate_per_second, shards=settings.blast_sender_shards,
                      rng=rng, reserve_within=timedelta(
                          seconds=settings.blast_queue_delay_max_seconds))
    config = DispatchConfig(
        lease=timedelta(seconds=settings.blast_lease_seconds),
        fallback_timeout=timedelta(minutes=settings.blast_fallback_timeout_minutes),
        retry=RetryPolicy(max_attempts=settings.blast_max_attempts),
        max_receive_count=QUEUES["reminders"].max_receive_count, limits=limits)
    dispatcher = Dispatcher(store=store, directory=directory, bills=billing_store.bills,
                            providers=providers, queue=queue, limiter=limiter,
                            campaigns=campaigns, clock=clock, config=config, rng=rng,
                            log=logger())
    inbound = Inbound(store=store, directory=directory, billing_store=billing_store, owed=owed,
                      queue=queue, clock=clock,
                      app_secret=_secret(settings, settings.whatsapp_app_secret,
                                         "whatsapp-app-secret"),
                      verify_token=lambda: settings.whatsapp_verify_token, log=logger())
    return BlastService(store=store, dispatcher=dispatcher, campaigns=campaigns,
                        inbound=inbound, providers=providers, queue=queue,
                        directory=directory, clock=clock)
