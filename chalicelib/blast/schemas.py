"""API models of blast's routes (requests and the responses OpenAPI documents)."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import (AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt,
                      field_validator, model_validator)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Range(_Strict):
    min: StrictInt | None = None
    max: StrictInt | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class AmountRange(Range):
    @model_validator(mode="after")
    def _not_negative(self) -> "AmountRange":
        if (self.min is not None and self.min < 0) or (self.max is not None and self.max < 0):
            raise ValueError("amounts are non-negative rupiah")
        return self


class AudienceIn(_Strict):
    branch: str | None = Field(default=None, pattern=r"^[A-Z]{2,5}$",
                               description="defaults to the officer's branch")
    segment: Literal["PU", "BPU"] | None = None
    bill_states: list[Literal["OPEN", "OVERDUE"]] = Field(default=["OPEN", "OVERDUE"],
                                                          min_length=1, max_length=2)
    days_overdue: Range | None = Field(
        default=None, description="today minus the due date; negative = days before it")
    amount: AmountRange | None = Field(default=None, description="amount due today, rupiah")

    @field_validator("bill_states")
    @classmethod
    def _distinct(cls, value):
        if len(set(value)) != len(value):
            raise ValueError("bill_states lists a state twice")
        return value


class CampaignIn(_Strict):
    name: str = Field(min_length=3, max_length=120)
    template: str = Field(min_length=1, max_length=64)
    channel_preference: Literal["WHATSAPP", "SMS"] = "WHATSAPP"
    start_at: AwareDatetime | None = Field(default=None, description="default: now")
    audience: AudienceIn
    holdout_share: Decimal = Field(default=Decimal("0"), ge=0, le=Decimal("0.5"),
                                   max_digits=5, decimal_places=4,
                                   description="share of recipients kept out, e.g. \"0.1\"")


class CampaignCancel(_Strict):
    reason: str = Field(min_length=3, max_length=500)


class CampaignQuery(_Strict):
    limit: int = Field(default=20, ge=1, le=100)
    next_token: str | None = None


class PaymentFigure(BaseModel):
    recipients: int
    paid: int
    rate: str | None


class CampaignOut(BaseModel):
    campaign_id: str
    name: str
    branch: str
    template: str
    channel_preference: str
    audience: dict
    holdout_share: str
    status: str
    start_at: str
    recipients: int
    held_out: int
    created_by: str
    created_at: str
    dispatched_at: str | None
    cancelled_at: str | None
    cancel_reason: str | None
    counts: dict[str, int] | None = None
    total: int | None = None
    complete: bool | None = None
    payments_within_7_days: dict[str, PaymentFigure] | None = None


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    next_token: str | None


class PreviewSample(BaseModel):
    bill_id: str
    recipient_name: str
    whatsapp_text: str
    sms_text: str
    sms_segments: int
    sms_encoding: str


class PreviewOut(BaseModel):
    template: str
    audience: dict
    recipients: int
    bills: int
    held_out_estimate: int
    to_message_estimate: int
    sample: PreviewSample | None


class MessageQuery(_Strict):
    bill_id: str | None = Field(default=None, max_length=200)
    participant_id: str | None = Field(default=None, max_length=64)
    npp: str | None = Field(default=None, pattern=r"^\d{1,20}$")
    campaign_id: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=50, ge=1, le=100)
    next_token: str | None = None

    @model_validator(mode="after")
    def _one_filter(self) -> "MessageQuery":
        if not any((self.bill_id, self.participant_id, self.npp, self.campaign_id)):
            raise ValueError("give bill_id, participant_id, npp or campaign_id")
        return self


class MessageOut(BaseModel):
    dedupe_key: str
    template: str
    source: str
    state: str
    channel: str | None
    phone: str | None = Field(description="masked to the last 4 digits unless ADMIN")
    recipient_kind: str
    recipient_id: str
    recipient_name: str | None
    bill_id: str | None
    campaign_id: str | None
    npp: str | None
    participant_id: str | None
    attempts: int
    reason: str | None
    error_code: int | None
    fallback_reason: str | None
    waiting_until: str | None
    text: str | None
    created_at: str
    sent_at: str | None
    delivered_at: str | None
    read_at: str | None
    failed_at: str | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_token: str | None


class ConsentIn(_Strict):
    recipient_kind: Literal["PARTICIPANT", "EMPLOYER"]
    recipient_id: str | None = Field(default=None, min_length=1, max_length=64)
    kpj: str | None = Field(default=None, pattern=r"^\d{11}$", description="instead of the id")
    npp: str | None = Field(default=None, pattern=r"^\d{1,20}$", description="instead of the id")
    channel: Literal["WHATSAPP", "SMS"]
    opted_in: StrictBool
    evidence: str = Field(min_length=3, max_length=300,
                          description="how the person said it (form number, call, counter)")

    @model_validator(mode="after")
    def _one_identity(self) -> "ConsentIn":
        given = [v for v in (self.recipient_id, self.kpj, self.npp) if v]
        if len(given) != 1:
            raise ValueError("give exactly one of recipient_id, kpj or npp")
        if self.kpj and self.recipient_kind != "PARTICIPANT":
            raise ValueError("a kpj names a PARTICIPANT")
        if self.npp and self.recipient_kind != "EMPLOYER":
            raise ValueError("an npp names an EMPLOYER")
        return self


class OutboxQuery(_Strict):
    day: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    limit: int = Field(default=50, ge=1, le=200)
    next_token: str | None = None


class FaultsIn(_Strict):
    server_error_rate: float = Field(default=0, ge=0, le=1)
    throttle_rate: float = Field(default=0, ge=0, le=1)
    timeout_rate: float = Field(default=0, ge=0, le=1)
    crash_rate: Literal[0] = 0      # a crash would kill the local pump: tests only
    slow_seconds: float = Field(default=0, ge=0, le=5)
    undeliverable: list[str] = Field(default=[], max_length=100)
    deliver: StrictBool = True

    @model_validator(mode="after")
    def _shares(self) -> "FaultsIn":
        if self.server_error_rate + self.throttle_rate + self.timeout_rate > 1:
            raise ValueError("fault rates together must not exceed 1")
        return self


class RedriveIn(_Strict):
    limit: int = Field(default=100, ge=1, le=1000)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def encode_token(last: dict | None) -> str | None:
    """A page's continuation as an opaque next_token."""
    return base64.urlsafe_b64encode(json.dumps(last).encode()).decode() if last else None


def decode_token(token: str | None) -> dict | None:
    from chalicelib.shared_kernel.errors import ValidationFailed

    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed("next_token is not one this API issued",
                               field="next_token") from exc
    if not isinstance(value, dict):
        raise ValidationFailed("next_token is not one this API issued", field="next_token")
    return value
