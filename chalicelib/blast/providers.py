"""Providers behind one port: WhatsApp Cloud API over HTTPS, SMS through SNS or AWS End User
Messaging SMS, and the local outbox (local stage, tests, benchmarks).

A provider answers one send with a `SendResult`:
- ACCEPTED: the provider took the message (WhatsApp's 200/202, SNS's MessageId). Not
  delivered: delivery comes later, from a webhook, or never (then the fallback timer acts).
- DELIVERED: the provider says the person has it (only the outbox says this at once).
- REJECTED: refused, with the error code / HTTP status / connect timeout that
  `provider_errors.classify` turns into retry, stop, fallback or permanent failure.
- UNCERTAIN: the request went out and no answer came back (read timeout, dropped
  connection): it may or may not have been sent. Retrying could send it twice, so the
  caller asks `reconcile`; a provider that cannot tell (WhatsApp, SNS) answers None and the
  message is treated as possibly sent (its webhook, or the fallback timeout, decides).

`reconcile(dedupe_key, attempt_id)` is the one question a provider with idempotency
knowledge can answer: did this attempt reach you? The outbox can; it makes a worker that
died between the provider call and our write recoverable without a second send.
"""
from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import Enum
from typing import Callable, Protocol

from .provider_errors import Classification, classify
from .rendering import RenderedMessage


class Channel(str, Enum):
    WHATSAPP = "WHATSAPP"
    SMS = "SMS"


class Outcome(str, Enum):
    ACCEPTED = "ACCEPTED"
    DELIVERED = "DELIVERED"
    REJECTED = "REJECTED"
    UNCERTAIN = "UNCERTAIN"


CALLBACK_MAX = 512


@dataclass(frozen=True)
class OutboundMessage:
    dedupe_key: str
    attempt_id: str
    channel: Channel
    to: str                       # E.164, "+6281234567890"
    rendered: RenderedMessage

    @property
    def callback_data(self) -> str | None:
        """Echoed by Meta in every status webhook: the record is found with one GetItem."""
        return self.dedupe_key if len(self.dedupe_key) <= CALLBACK_MAX else None

    def whatsapp_payload(self) -> dict:
        return self.rendered.whatsapp_payload(self.to.lstrip("+"),
                                              callback_data=self.callback_data)

    @property
    def text(self) -> str:
        return self.rendered.sms_text if self.channel is Channel.SMS else self.rendered.body_text


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_message_id: str | None = None
    error_code: int | None = None
    http_status: int | None = None
    timed_out: bool = False
    detail: str | None = None

    def classification(self) -> Classification:
        return classify(error_code=self.error_code, http_status=self.http_status,
                        timed_out=self.timed_out)


class Provider(Protocol):
    channel: Channel
    name: str

    def send(self, message: OutboundMessage) -> SendResult: ...

    def reconcile(self, dedupe_key: str, attempt_id: str) -> SendResult | None: ...


class ConnectFailed(Exception):
    """The request never reached the provider (connect timeout, refused): safe to retry."""


class ResponseLost(Exception):
    """The request went out but no answer came back: it may have been processed."""


# --------------------------------------------------------------------------- WhatsApp

Transport = Callable[[str, dict, bytes, float], tuple[int, dict]]


def urllib_transport(url: str, headers: dict, body: bytes, timeout: float) -> tuple[int, dict]:
    """POST JSON with the standard library (no HTTP client in the Lambda bundle).

    urllib connects and sends inside `urlopen`'s request step, which wraps socket errors in
    URLError; a timeout while waiting for the answer surfaces unwrapped. That is exactly the
    line between "never sent" and "maybe sent"."""
    import socket
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, _json_or_empty(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _json_or_empty(exc.read())
    except urllib.error.URLError as exc:
        raise ConnectFailed(str(exc.reason)) from exc
    except (TimeoutError, socket.timeout, ConnectionError) as exc:
        raise ResponseLost(type(exc).__name__) from exc


def _json_or_empty(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


class WhatsAppCloudProvider:
    """POST /{phone-number-id}/messages with an approved template (or a text reply inside
    the 24-hour window). The token comes from configuration or Secrets Manager, read when
    the first message goes, never at import."""

    channel = Channel.WHATSAPP
    name = "whatsapp_cloud_api"

    def __init__(self, *, phone_number_id: str, token: Callable[[], str], base_url: str,
                 transport: Transport = urllib_transport, timeout_seconds: float = 10.0):
        self.phone_number_id = phone_number_id
        self._token = token
        self.base_url = base_url.rstrip("/")
        self._transport = transport
        self.timeout_seconds = timeout_seconds

    def send(self, message: OutboundMessage) -> SendResult:
        url = f"{self.base_url}/{self.phone_number_id}/messages"
        body = json.dumps(message.whatsapp_payload(), ensure_ascii=False).encode()
        try:
            token = self._token()
        except Exception as exc:  # noqa: BLE001 - nothing was sent: retry later
            return SendResult(Outcome.REJECTED, http_status=503,
                              detail=f"access token unavailable: {type(exc).__name__}")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            status, answer = self._transport(url, headers, body, self.timeout_seconds)
        except ConnectFailed as exc:
            return SendResult(Outcome.REJECTED, timed_out=True, detail=str(exc)[:200])
        except ResponseLost as exc:
            return SendResult(Outcome.UNCERTAIN, detail=str(exc)[:200])
        if 200 <= status < 300:
            messages = answer.get("messages") or [{}]
            wamid = messages[0].get("id")
            if not wamid:
                return SendResult(Outcome.UNCERTAIN, http_status=status,
                                  detail="accepted without a message id")
            return SendResult(Outcome.ACCEPTED, provider_message_id=wamid, http_status=status)
        error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
        code = error.get("code")
        return SendResult(Outcome.REJECTED,
                          error_code=code if isinstance(code, int) else None,
                          http_status=status, detail=str(error.get("message", ""))[:200])

    def reconcile(self, dedupe_key: str, attempt_id: str) -> SendResult | None:
        return None  # the Cloud API has no idempotency key and no lookup by our key

    def needs_delivery_timer(self) -> bool:
        return True  # an accepted message may never be delivered: the timeout decides


# --------------------------------------------------------------------------- SMS (AWS)

_THROTTLING = {"Throttling", "ThrottlingException", "ThrottledException",
               "TooManyRequestsException", "ServiceQuotaExceededException"}


def _aws_failure(exc: Exception) -> SendResult:
    from botocore.exceptions import (ClientError, ConnectionClosedError,
                                     ConnectTimeoutError, EndpointConnectionError,
                                     ReadTimeoutError)

    if isinstance(exc, (ConnectTimeoutError, EndpointConnectionError)):
        return SendResult(Outcome.REJECTED, timed_out=True, detail=type(exc).__name__)
    if isinstance(exc, (ReadTimeoutError, ConnectionClosedError)):
        return SendResult(Outcome.UNCERTAIN, detail=type(exc).__name__)
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400
        if code in _THROTTLING:
            status = 429
        return SendResult(Outcome.REJECTED, http_status=int(status), detail=code[:200])
    raise exc


class SnsSmsProvider:
    """SNS Publish to a phone number, transactional. SNS gives no per-message delivery
    events here (only CloudWatch delivery logs), so an accepted SMS is final."""

    channel = Channel.SMS
    name = "sns"

    def __init__(self, *, region: str, sender_id: str | None = None, client_factory=None):
        self.region = region
        self.sender_id = sender_id
        self._client_factory = client_factory

    def _client(self):
        if self._client_factory is not None:
            return self._client_factory()
        from chalicelib.shared_kernel.aws import client

        return client("sns", self.region)

    def send(self, message: OutboundMessage) -> SendResult:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String",
                                              "StringValue": "Transactional"}}
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String",
                                                  "StringValue": self.sender_id}
        try:
            answer = self._client().publish(PhoneNumber=message.to,
                                            Message=message.rendered.sms_text,
                                            MessageAttributes=attributes)
        except Exception as exc:  # noqa: BLE001 - _aws_failure re-raises what it does not know
            return _aws_failure(exc)
        return SendResult(Outcome.ACCEPTED, provider_message_id=answer["MessageId"])

    def reconcile(self, dedupe_key: str, attempt_id: str) -> SendResult | None:
        return None


class EndUserMessagingSmsProvider:
    """AWS End User Messaging SMS (pinpoint-sms-voice-v2 SendTextMessage). Not in moto: its
    tests use botocore's Stubber. Delivery events go to the configuration set's event
    destination (see BlastService.apply_sms_event)."""

    channel = Channel.SMS
    name = "end_user_messaging"

    def __init__(self, *, region: str, origination_identity: str,
                 configuration_set: str | None = None, client_factory=None):
        self.region = region
        self.origination_identity = origination_identity
        self.configuration_set = configuration_set
        self._client_factory = client_factory

    def _client(self):
        if self._client_factory is not None:
            return self._client_factory()
        from chalicelib.shared_kernel.aws import client

        return client("pinpoint-sms-voice-v2", self.region)

    def send(self, message: OutboundMessage) -> SendResult:
        request = {"DestinationPhoneNumber": message.to,
                   "OriginationIdentity": self.origination_identity,
                   "MessageBody": message.rendered.sms_text, "MessageType": "TRANSACTIONAL",
                   "Context": {"dedupe_key": message.dedupe_key[:512],
                               "attempt_id": message.attempt_id}}
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            answer = self._client().send_text_message(**request)
        except Exception as exc:  # noqa: BLE001 - _aws_failure re-raises what it does not know
            return _aws_failure(exc)
        return SendResult(Outcome.ACCEPTED, provider_message_id=answer["MessageId"])

    def reconcile(self, dedupe_key: str, attempt_id: str) -> SendResult | None:
        return None


# --------------------------------------------------------------------------- local outbox

class SimulatedCrash(BaseException):
    """The worker dies (tests and benchmarks): a BaseException, so no handler catches it,
    as nothing catches a Lambda that runs out of memory or time."""


@dataclass(frozen=True)
class Faults:
    """What the outbox is told to do wrong, as shares of calls (drawn in this order)."""

    server_error_rate: float = 0.0     # HTTP 5xx
    throttle_rate: float = 0.0         # 429 / 130429
    timeout_rate: float = 0.0          # half before the request lands, half after
    crash_rate: float = 0.0            # the worker dies right after the provider took it
    slow_seconds: float = 0.0
    undeliverable: tuple[str, ...] = ()  # numbers without WhatsApp: 131026
    deliver: bool = True               # False: ACCEPTED only (webhooks tell the rest)
    seed: int | None = None

    def __post_init__(self) -> None:
        rates = (self.server_error_rate, self.throttle_rate, self.timeout_rate,
                 self.crash_rate)
        if any(r < 0 or r > 1 for r in rates) or sum(rates) > 1:
            raise ValueError("fault rates are shares between 0 and 1, together at most 1")
        if self.slow_seconds < 0 or self.slow_seconds > 30:
            raise ValueError("slow_seconds must be between 0 and 30")

    def to_dict(self) -> dict:
        return {**asdict(self), "undeliverable": list(self.undeliverable)}

    @classmethod
    def from_dict(cls, data: dict | None) -> "Faults":
        data = dict(data or {})
        data["undeliverable"] = tuple(data.get("undeliverable") or ())
        return cls(**data)


class OutboxProvider:
    """Records every call in the outbox table and answers like a provider would."""

    name = "outbox"

    def __init__(self, store, channel: Channel, clock: Callable[[], datetime],
                 faults: Faults | None = None, sleep: Callable[[float], None] = time.sleep,
                 refresh_seconds: float = 2.0):
        self.store = store
        self.channel = channel
        self.clock = clock
        self._fixed = faults
        self._sleep = sleep
        self._refresh = refresh_seconds
        self._cached: tuple[float, Faults] | None = None
        self._lock = threading.Lock()
        self._random = random.Random(faults.seed if faults else None)

    def faults(self) -> Faults:
        """Fixed faults (tests), else the stage's, set through the API and re-read every few
        seconds (the API, the pump and `tick` run in different processes)."""
        if self._fixed is not None:
            return self._fixed
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self._refresh:
            try:
                faults = Faults.from_dict(self.store.outbox_faults())
            except (TypeError, ValueError):
                faults = Faults()
            self._cached = (now, faults)
        return self._cached[1]

    def needs_delivery_timer(self) -> bool:
        return not self.faults().deliver

    def _draw(self) -> float:
        with self._lock:
            return self._random.random()

    def send(self, message: OutboundMessage) -> SendResult:
        faults = self.faults()
        if faults.slow_seconds:
            self._sleep(faults.slow_seconds)
        draw = self._draw()
        whatsapp = self.channel is Channel.WHATSAPP
        edge = faults.server_error_rate
        if draw < edge:
            return self._record(message, SendResult(
                Outcome.REJECTED, http_status=503, error_code=2 if whatsapp else None,
                detail="simulated 503"))
        edge += faults.throttle_rate
        if draw < edge:
            return self._record(message, SendResult(
                Outcome.REJECTED, http_status=429, error_code=130429 if whatsapp else None,
                detail="simulated throughput limit"))
        edge += faults.timeout_rate
        if draw < edge:
            if draw < edge - faults.timeout_rate / 2:
                return SendResult(Outcome.REJECTED, timed_out=True,
                                  detail="simulated connect timeout")
            self._record(message, self._taken(faults))
            return SendResult(Outcome.UNCERTAIN, detail="simulated read timeout")
        edge += faults.crash_rate
        if draw < edge:
            self._record(message, self._taken(faults))
            raise SimulatedCrash(f"worker died after sending {message.attempt_id}")
        if whatsapp and message.to in faults.undeliverable:
            return self._record(message, SendResult(
                Outcome.REJECTED, http_status=400, error_code=131026,
                detail="simulated undeliverable"))
        return self._record(message, self._taken(faults))

    def _taken(self, faults: Faults) -> SendResult:
        prefix = "wamid.LOCAL" if self.channel is Channel.WHATSAPP else "sms-local"
        return SendResult(Outcome.DELIVERED if faults.deliver else Outcome.ACCEPTED,
                          provider_message_id=f"{prefix}-{uuid.uuid4().hex}")

    def _record(self, message: OutboundMessage, result: SendResult) -> SendResult:
        from .store import OutboxRecord

        now = self.clock()
        payload = (json.dumps(message.whatsapp_payload(), ensure_ascii=False)
                   if self.channel is Channel.WHATSAPP else None)
        self.store.outbox_add(OutboxRecord(
            message.dedupe_key, message.attempt_id, channel=self.channel.value, to=message.to,
            template=message.rendered.template.name, text=message.text, payload=payload,
            outcome=result.outcome.value, error_code=result.error_code,
            http_status=result.http_status, provider_message_id=result.provider_message_id,
            day=_jakarta_day(now), at_sort=f"{now.isoformat()}#{message.attempt_id}", at=now))
        return result

    def reconcile(self, dedupe_key: str, attempt_id: str) -> SendResult | None:
        for attempt in self.store.outbox_attempts(dedupe_key):
            if attempt.attempt_id == attempt_id:
                if attempt.outcome in (Outcome.ACCEPTED.value, Outcome.DELIVERED.value):
                    return SendResult(Outcome(attempt.outcome),
                                      provider_message_id=attempt.provider_message_id)
                return SendResult(Outcome.REJECTED, error_code=attempt.error_code,
                                  http_status=attempt.http_status)
        return SendResult(Outcome.REJECTED, timed_out=True, detail="never reached the outbox")


def _jakarta_day(moment: datetime) -> str:
    from chalicelib.shared_kernel.calendar import jakarta_today

    return jakarta_today(moment).isoformat()


@dataclass
class Providers:
    """The two channels as the stage configured them."""

    whatsapp: Provider
    sms: Provider
    extra: dict = field(default_factory=dict)

    def for_channel(self, channel: Channel) -> Provider:
        return self.whatsapp if channel is Channel.WHATSAPP else self.sms
