"""WhatsApp Cloud API webhooks: the GET handshake, the POST signature, and the payload.

Meta's shape (object "whatsapp_business_account"):
  entry[].changes[] with field "messages" and a value holding metadata.phone_number_id and
  - statuses[]: id (wamid), status, timestamp (epoch seconds as a string), recipient_id,
    errors[{code, title, message, error_data.details}] on failures, biz_opaque_callback_data;
  - messages[]: from, id, timestamp, type, and per type e.g. text.body;
  - errors[]: errors not tied to one message.
Unknown fields are ignored (Meta adds fields over time); a payload that lacks what we rely
on raises `WebhookPayloadError` (a ValueError) naming the field.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..shared_kernel.errors import Forbidden

SIGNATURE_PREFIX = "sha256="


class WebhookPayloadError(ValueError):
    """The webhook body is not the shape Meta documents."""


class HandshakeRejected(Forbidden):
    code = "WEBHOOK_HANDSHAKE_REJECTED"


# --- signature and handshake ---------------------------------------------------------------

def verify_meta_signature(app_secret: str | bytes, raw_body: bytes,
                          header_value: str | None) -> bool:
    """Check X-Hub-Signature-256: "sha256=" + hex(HMAC-SHA256(app secret, raw body)).

    Computed over the bytes as received: re-serialising parsed JSON would change them.
    """
    if not app_secret:
        raise ValueError("the app secret is not configured; refusing to accept any webhook")
    if not isinstance(raw_body, (bytes, bytearray)):
        raise TypeError("raw_body must be the request's bytes")
    if not isinstance(header_value, str) or not header_value.startswith(SIGNATURE_PREFIX):
        return False
    given = header_value[len(SIGNATURE_PREFIX):].strip().lower()
    key = app_secret.encode() if isinstance(app_secret, str) else app_secret
    expected = hmac.new(key, bytes(raw_body), hashlib.sha256).hexdigest()
    try:
        return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))
    except UnicodeEncodeError:
        return False


def handshake(params: Mapping[str, Any] | None, verify_token: str) -> str:
    """Answer Meta's subscription check: return hub.challenge when hub.mode is "subscribe"
    and hub.verify_token matches ours; otherwise raise HandshakeRejected (HTTP 403)."""
    if not verify_token:
        raise ValueError("the webhook verify token is not configured")
    params = params or {}
    mode = params.get("hub.mode")
    token = params.get("hub.verify_token")
    challenge = params.get("hub.challenge")
    if mode != "subscribe":
        raise HandshakeRejected("hub.mode must be 'subscribe'")
    if not isinstance(token, str) or not hmac.compare_digest(
            token.encode("utf-8"), verify_token.encode("utf-8")):
        raise HandshakeRejected("hub.verify_token does not match")
    if not isinstance(challenge, str) or not challenge:
        raise HandshakeRejected("hub.challenge is missing")
    return challenge


# --- events --------------------------------------------------------------------------------

class ProviderError(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: int
    title: str | None = None
    message: str | None = None
    details: str | None = None


class StatusEvent(BaseModel):
    """A status of a message we sent. `status` is kept as sent ("sent", "delivered",
    "read", "failed", or a value added later); delivery.apply_status interprets it."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["status"] = "status"
    message_id: str
    status: str
    timestamp: datetime
    recipient_id: str | None
    phone_number_id: str | None
    callback_data: str | None = None
    errors: tuple[ProviderError, ...] = ()

    @property
    def error_code(self) -> int | None:
        return self.errors[0].code if self.errors else None


class InboundMessage(BaseModel):
    """A message a WhatsApp user sent us. `text` is the typed text for type "text", the
    button label for a quick-reply "button"; None for media and other types."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["message"] = "message"
    message_id: str
    sender: str | None            # the user's number as digits (Meta's "from")
    timestamp: datetime
    type: str
    text: str | None
    phone_number_id: str | None
    reply_to: str | None = None   # wamid of our message this one answers, if any
    errors: tuple[ProviderError, ...] = ()


class ProviderErrorEvent(BaseModel):
    """Errors Meta reports for the phone number as a whole (value.errors)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["error"] = "error"
    phone_number_id: str | None
    errors: tuple[ProviderError, ...]


WebhookEvent = Union[StatusEvent, InboundMessage, ProviderErrorEvent]


# --- Meta's documented shape (only the fields we use; the rest is ignored) -------------------

class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _epoch(value: Any) -> datetime:
    if isinstance(value, bool):
        raise ValueError("timestamp must be epoch seconds")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise ValueError("timestamp must be epoch seconds")
    return datetime.fromtimestamp(value, tz=timezone.utc)


class _ErrorData(_Model):
    details: str | None = None


class _Error(_Model):
    code: int
    title: str | None = None
    message: str | None = None
    error_data: _ErrorData | None = None

    def to_event(self) -> ProviderError:
        details = self.error_data.details if self.error_data else None
        return ProviderError(code=self.code, title=self.title, message=self.message,
                             details=details)


class _Status(_Model):
    id: str = Field(min_length=1)
    status: str = Field(min_length=1)
    timestamp: datetime
    recipient_id: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[_Error] = []

    @field_validator("timestamp", mode="before")
    @classmethod
    def _epoch_seconds(cls, value: Any) -> datetime:
        return _epoch(value)


class _Text(_Model):
    body: str


class _Button(_Model):
    text: str | None = None
    payload: str | None = None


class _Context(_Model):
    id: str | None = None


class _Message(_Model):
    from_: str | None = Field(default=None, alias="from")
    id: str = Field(min_length=1)
    timestamp: datetime
    type: str = Field(min_length=1)
    text: _Text | None = None
    button: _Button | None = None
    context: _Context | None = None
    errors: list[_Error] = []

    @field_validator("timestamp", mode="before")
    @classmethod
    def _epoch_seconds(cls, value: Any) -> datetime:
        return _epoch(value)


class _Metadata(_Model):
    phone_number_id: str | None = None


class _Value(_Model):
    metadata: _Metadata | None = None
    statuses: list[_Status] = []
    messages: list[_Message] = []
    errors: list[_Error] = []


class _Change(_Model):
    field: str | None = None
    value: dict[str, Any]


class _Entry(_Model):
    id: str | None = None
    changes: list[_Change] = []


class _Envelope(_Model):
    object: Literal["whatsapp_business_account"]
    entry: list[_Entry]


def parse_webhook(payload: Mapping[str, Any] | bytes | str) -> list[WebhookEvent]:
    """Every status, inbound message and account error in one webhook POST, in order.

    Changes of other fields (template status updates, account updates...) are skipped.
    """
    if isinstance(payload, (bytes, bytearray, str)):
        try:
            payload = json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise WebhookPayloadError(f"webhook body is not JSON: {exc}") from exc
    if not isinstance(payload, Mapping):
        raise WebhookPayloadError("webhook body must be a JSON object")
    envelope = _validate(_Envelope, payload, "")
    events: list[WebhookEvent] = []
    for e, entry in enumerate(envelope.entry):
        for c, change in enumerate(entry.changes):
            if change.field not in (None, "messages"):
                continue
            value = _validate(_Value, change.value, f"entry.{e}.changes.{c}.value.")
            number = value.metadata.phone_number_id if value.metadata else None
            for status in value.statuses:
                events.append(StatusEvent(
                    message_id=status.id, status=status.status, timestamp=status.timestamp,
                    recipient_id=status.recipient_id, phone_number_id=number,
                    callback_data=status.biz_opaque_callback_data,
                    errors=tuple(err.to_event() for err in status.errors),
                ))
            for message in value.messages:
                events.append(InboundMessage(
                    message_id=message.id, sender=message.from_, timestamp=message.timestamp,
                    type=message.type, text=_text_of(message), phone_number_id=number,
                    reply_to=message.context.id if message.context else None,
                    errors=tuple(err.to_event() for err in message.errors),
                ))
            if value.errors:
                events.append(ProviderErrorEvent(
                    phone_number_id=number,
                    errors=tuple(err.to_event() for err in value.errors),
                ))
    return events


def _text_of(message: _Message) -> str | None:
    if message.type == "text" and message.text is not None:
        return message.text.body
    if message.type == "button" and message.button is not None:
        return message.button.text or message.button.payload
    return None


def _validate(model: type[_Model], data: Any, prefix: str):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:5]:
            where = prefix + ".".join(str(part) for part in error["loc"])
            problems.append(f"{where or '(root)'}: {error['msg']}")
        raise WebhookPayloadError("malformed WhatsApp webhook: " + "; ".join(problems)) from exc
