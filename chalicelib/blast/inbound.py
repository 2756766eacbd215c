"""What comes back from WhatsApp (and two-way SMS): delivery statuses and people's replies.

Statuses: Meta sends sent/delivered/read/failed in any order and retries for days. Each is
folded into the record with `delivery.apply_status` (a rank maximum, so order and
repetition do not matter) by a write conditional on the state read. A failure of the
fallback class (131026 undeliverable) puts a fallback job on the queue; that job is
idempotent, so a webhook retried after a partial failure cannot fall back twice.

Replies: STOP/BERHENTI opt the number out of WhatsApp reminders (confirmed once), MULAI/START
opt back in, SALDO/STATUS/TAGIHAN answer from registration and billing, but only to the
number registered for that KPJ or NPP; anyone else, or an unknown number, gets the same
neutral answer (so a reply never reveals whether a KPJ exists). Answers go through the
reminders queue like every message (dedupe key "reply:<wamid>": a retried webhook answers
once).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Callable

from chalicelib.shared_kernel.calendar import jakarta_today
from chalicelib.shared_kernel.errors import BadRequest, Unauthorized
from chalicelib.shared_kernel.messaging import MessageRequest

from .delivery import DeliveryState as S, apply_status, parse_status
from .keywords import BalanceQuery, BillsQuery, Help, OptIn, OptOut, StatusQuery, parse_keyword
from .limits import _micros
from .provider_errors import Action, classify
from .store import BlastStore, MessageRecord
from .webhook import (InboundMessage, ProviderErrorEvent, StatusEvent, WebhookPayloadError,
                      handshake, parse_webhook, verify_meta_signature)

STATUS_LABELS = {"ACTIVE": "AKTIF", "VERIFIED": "TERDAFTAR", "INACTIVE": "TIDAK AKTIF",
                 "PENDING_VERIFICATION": "MENUNGGU VERIFIKASI", "REJECTED": "DITOLAK"}
MAX_BILLS_LISTED = 5
_FALLBACK = (Action.FALLBACK_SMS, Action.REENGAGE)


class SignatureInvalid(Unauthorized):
    code = "WEBHOOK_SIGNATURE_INVALID"


class Inbound:
    def __init__(self, *, store: BlastStore, directory, billing_store, owed: Callable,
                 queue, clock: Callable[[], datetime], app_secret: Callable[[], str | None],
                 verify_token: Callable[[], str | None], log=None):
        self.store = store
        self.directory = directory
        self.billing_store = billing_store
        self.owed = owed
        self.queue = queue
        self.clock = clock
        self._app_secret = app_secret
        self._verify_token = verify_token
        self.log = log

    # ------------------------------------------------------------------ webhook
    def handshake(self, params: dict) -> str:
        token = self._verify_token()
        if not token:
            raise Unauthorized("the webhook verify token is not configured",
                               code="WEBHOOK_NOT_CONFIGURED")
        return handshake(params, token)

    def receive(self, raw_body: bytes, signature: str | None) -> dict:
        secret = self._app_secret()
        if not secret:
            raise Unauthorized("the app secret is not configured", code="WEBHOOK_NOT_CONFIGURED")
        if not verify_meta_signature(secret, raw_body, signature):
            raise SignatureInvalid("X-Hub-Signature-256 does not match the body")
        try:
            events = parse_webhook(raw_body)
        except WebhookPayloadError as exc:
            raise BadRequest(str(exc)[:500], code="WEBHOOK_PAYLOAD_INVALID") from exc
        counts: Counter = Counter()
        for event in events:
            if isinstance(event, StatusEvent):
                counts[f"status_{self.apply_whatsapp_status(event)}"] += 1
            elif isinstance(event, InboundMessage):
                counts[f"message_{self.on_message(event)}"] += 1
            elif isinstance(event, ProviderErrorEvent):
                counts["account_errors"] += 1
                if self.log:
                    self.log.warning("whatsapp_account_error",
                                     extra={"codes": [e.code for e in event.errors]})
        return dict(counts)

    # ------------------------------------------------------------------ statuses
    def apply_whatsapp_status(self, event: StatusEvent) -> str:
        record = self._record_for(event.callback_data, event.message_id)
        if record is None:
            return "unknown"
        if record.channel == "SMS":
            return "superseded"      # fell back to SMS: WhatsApp's news changes nothing
        return self._apply(record, event.status, event.timestamp, event.error_code,
                           event.message_id, whatsapp=True)

    def apply_sms_status(self, provider_message_id: str, status: str, at: datetime,
                         error_code: int | None = None) -> str:
        """SMS delivery events (End User Messaging event destinations, the local outbox)."""
        key = self.store.message_key_by_provider_id(provider_message_id)
        record = self.store.message(key) if key else None
        if record is None or record.channel != "SMS":
            return "unknown"
        return self._apply(record, status, at, error_code, provider_message_id, whatsapp=False)

    def apply_sms_event(self, event: dict) -> str:
        """An EventBridge "Text Message Delivery Status Updated" event of AWS End User
        Messaging SMS (source aws.sms-voice): its detail names the message and its status."""
        parsed = sms_event_status(event.get("detail") or {})
        if parsed is None:
            return "ignored"
        message_id, status, at = parsed
        return self.apply_sms_status(message_id, status, at)

    def _record_for(self, callback: str | None, wamid: str) -> MessageRecord | None:
        record = self.store.message(callback) if callback else None
        if record is not None and record.whatsapp_message_id not in (None, wamid):
            record = None            # callback data of another message: trust the wamid
        if record is None:
            key = self.store.message_key_by_provider_id(wamid)
            record = self.store.message(key) if key else None
        return record

    def _apply(self, record: MessageRecord, status: str, at: datetime, error_code: int | None,
               provider_id: str, *, whatsapp: bool) -> str:
        incoming = parse_status(status)
        if incoming is None:
            return "ignored"
        for _ in range(3):
            current = S(record.state) if record.state in S._value2member_map_ else None
            if current is None:
                return "ignored"
            new = apply_status(current, incoming)
            if new == current:
                outcome = "unchanged"
                break
            actions = [MessageRecord.state.set(new.value),
                       MessageRecord.updated_at.set(self.clock())]
            if not record.provider_message_id:
                actions.append(MessageRecord.provider_message_id.set(provider_id))
            if whatsapp and not record.whatsapp_message_id:
                actions.append(MessageRecord.whatsapp_message_id.set(provider_id))
            stamp = {S.DELIVERED: MessageRecord.delivered_at, S.READ: MessageRecord.read_at,
                     S.FAILED: MessageRecord.failed_at}.get(new)
            if stamp is not None:
                actions.append(stamp.set(at))
            if new is S.SENT and not record.sent_at:
                actions.append(MessageRecord.sent_at.set(at))
            if new is S.FAILED and error_code is not None:
                actions.append(MessageRecord.error_code.set(error_code))
                actions.append(MessageRecord.reason.set(
                    f"provider_failed:{classify(error_code=error_code).reason}"))
            if record.state == S.SENDING.value:
                actions += [MessageRecord.lease_until.remove(), MessageRecord.unconfirmed.set(1)]
            if self.store.update_message(record, actions,
                                         MessageRecord.state == current.value):
                outcome = new.value.lower()
                break
            record = self.store.message(record.dedupe_key)   # changed meanwhile: again
        else:
            raise RuntimeError(f"status of {record.dedupe_key} kept changing")
        if whatsapp and record.state == S.FAILED.value and record.channel == "WHATSAPP":
            code = error_code if error_code is not None else record.error_code
            if code is not None and classify(error_code=int(code)).action in _FALLBACK:
                # Idempotent: the fallback job switches the record to SMS only once.
                self.queue.send({"type": "fallback", "dedupe_key": record.dedupe_key,
                                 "reason": classify(error_code=int(code)).reason})
                outcome = "fallback"
        return outcome

    # ------------------------------------------------------------------ replies
    def on_message(self, event: InboundMessage, channel: str = "WHATSAPP") -> str:
        if not event.sender or not event.sender.isdigit():
            return "ignored"
        return self.on_text("+" + event.sender, event.text, event.message_id,
                            event.timestamp, channel)

    def on_text(self, phone: str, text: str | None, message_id: str, at: datetime,
                channel: str = "WHATSAPP") -> str:
        self.store.note_inbound(phone, _micros(at))
        command = parse_keyword(text)
        now = self.clock()
        actor = f"keyword:{phone[-4:]}"
        params: dict = {}
        template = command.reply_template
        if isinstance(command, OptOut):
            if not self.store.set_consent(phone, channel, "OPTED_OUT", "keyword", actor, now):
                return "opt_out_repeated"           # confirmed once: no second answer
            self._mirror_consent(phone, channel, False, actor, now)
        elif isinstance(command, OptIn):
            if not self.store.set_consent(phone, channel, "OPTED_IN", "keyword", actor, now):
                return "opt_in_repeated"
            self._mirror_consent(phone, channel, True, actor, now)
        elif isinstance(command, (BalanceQuery, StatusQuery)):
            participant = self.directory.participant_by_kpj(command.kpj)
            if participant is None or participant.phone != phone:
                template, params = "kata_kunci_tidak_cocok", {"identitas": f"KPJ {command.kpj}"}
            elif isinstance(command, BalanceQuery):
                entries = self.billing_store.jht_entries(participant.participant_id)
                params = {"kpj": command.kpj, "nama": participant.name,
                          "per_tanggal": jakarta_today(now).isoformat(),
                          "saldo": sum(int(e.employer_amount) + int(e.worker_amount)
                                       for e in entries)}
            else:
                template, params = _status_reply(participant)
        elif isinstance(command, BillsQuery):
            template, params = self._bills_reply(command, phone, now)
        elif not isinstance(command, Help):
            return "ignored"
        self.queue.send(MessageRequest(
            dedupe_key=f"reply:{message_id}", template=template, recipient_kind="PHONE",
            recipient_id=phone, params=params, source="keyword",
            channel_preference="SMS" if channel == "SMS" else "WHATSAPP").to_message())
        return template

    def _mirror_consent(self, phone: str, channel: str, opted_in: bool, actor: str,
                        now: datetime) -> None:
        """The participants registered with this number see the same choice on their
        record (registration keeps opt-ins per channel)."""
        for participant_id in self.directory.participant_ids_by_phone(phone):
            try:
                self.directory.record_consent("PARTICIPANT", participant_id, channel,
                                              opted_in, actor=actor, source="KEYWORD", at=now)
            except Exception as exc:  # noqa: BLE001 - the number-level choice stands anyway
                if self.log:
                    self.log.warning("consent_mirror_failed",
                                     extra={"participant_id": participant_id,
                                            "error": type(exc).__name__})

    def _bills_reply(self, command: BillsQuery, phone: str, now: datetime):
        if command.kpj:
            party = self.directory.participant_by_kpj(command.kpj)
            identity = f"KPJ {command.kpj}"
            party_key = f"PAR#{party.participant_id}" if party else None
        else:
            party = self.directory.employer_by_npp(command.npp)
            identity = f"NPP {command.npp}"
            party_key = f"EMP#{party.employer_id}" if party else None
        if party is None or party.phone != phone:
            return "kata_kunci_tidak_cocok", {"identitas": identity}
        today = jakarta_today(now)
        open_bills = sorted((b for b in self.billing_store.bills_of_party(party_key)
                             if b.status in ("OPEN", "OVERDUE")), key=lambda b: b.period)
        if not open_bills:
            return "tagihan_kosong", {"identitas": identity}
        owed = [(b, self.owed(b, today).due) for b in open_bills]
        listed = owed[:MAX_BILLS_LISTED]
        return "tagihan_list", {
            "identitas": identity, "jumlah_tagihan": len(owed),
            "daftar": [{"periode": b.period, "jumlah": due, "jatuh_tempo": b.due_date,
                        "kode_bayar": b.payment_code or "-"} for b, due in listed],
            "total": sum(due for _, due in owed)}


def _status_reply(participant) -> tuple[str, dict]:
    params = {"kpj": participant.kpj, "nama": participant.name,
              "status": STATUS_LABELS.get(participant.status, participant.status),
              "program": ", ".join(participant.programs or []) or "-"}
    if participant.paid_through:
        return "status_kepesertaan", {**params, "iuran_terakhir": participant.paid_through}
    return "status_kepesertaan_baru", params


# AWS End User Messaging SMS `messageStatus` values (event destinations / EventBridge): the
# carrier's acceptance is "sent", the handset's receipt "delivered", the rest final failures.
# PENDING and QUEUED say nothing we track.
_SMS_SENT = {"SUCCESSFUL"}
_SMS_DELIVERED = {"DELIVERED"}
_SMS_FAILED = {"INVALID", "INVALID_MESSAGE", "UNREACHABLE", "CARRIER_UNREACHABLE", "BLOCKED",
               "CARRIER_BLOCKED", "SPAM", "TTL_EXPIRED", "OPTED_OUT", "UNKNOWN", "VOICE_FAILED",
               "MAX_PRICE_EXCEEDED"}


def sms_event_status(detail: dict) -> tuple[str, str, datetime] | None:
    """(message id, our status, when) from an SMS event's detail, or None to ignore it."""
    message_id = detail.get("messageId")
    status = str(detail.get("messageStatus") or "").upper()
    if not message_id or not isinstance(detail.get("eventTimestamp"), int):
        return None
    ours = ("sent" if status in _SMS_SENT else "delivered" if status in _SMS_DELIVERED
            else "failed" if status in _SMS_FAILED else None)
    if ours is None:
        return None
    at = datetime.fromtimestamp(detail["eventTimestamp"] / 1000, tz=timezone.utc)
    return str(message_id), ours, at
