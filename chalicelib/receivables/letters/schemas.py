"""Letters at the edges: the queue message receivables sends, and the API's requests and
responses (the OpenAPI document is generated from these)."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LetterTypeName = Literal["REMINDER", "SP1", "SP2", "LEGAL_HANDOVER"]
StatusName = Literal["RENDERING", "DRAFT", "SIGNED", "REJECTED"]


class LetterRequest(BaseModel):
    """The "letters" queue message (receivables' escalation policy produces it)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: Literal["letter_request"]
    dedupe_key: str = Field(min_length=8, max_length=200, pattern=r"^letter:\S+$")
    letter_type: LetterTypeName
    legal_handover_target: Literal["KEJAKSAAN", "KPKNL"] | None = None
    debtor_key: str = Field(pattern=r"^EMP#\S+$")
    employer_id: str = Field(min_length=1, max_length=64)
    npp: str = Field(min_length=1, max_length=20)
    branch: str = Field(pattern=r"^[A-Z0-9]{2,8}$")
    bill_ids: list[str] = Field(min_length=1, max_length=100)
    as_of: date

    @field_validator("bill_ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(v for v in value if v))

    @model_validator(mode="after")
    def _consistent(self) -> "LetterRequest":
        if self.debtor_key != f"EMP#{self.employer_id}":
            raise ValueError("debtor_key must be EMP#<employer_id>")
        if (self.letter_type == "LEGAL_HANDOVER") != (self.legal_handover_target is not None):
            raise ValueError("legal_handover_target is required for LEGAL_HANDOVER and only "
                             "for it")
        return self


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LetterQuery(_Strict):
    branch: str | None = Field(default=None, pattern=r"^[A-Z0-9]{2,8}$")
    status: StatusName | None = Field(default=None,
                                      description="staff: default DRAFT; employers: SIGNED")
    limit: int = Field(default=50, ge=1, le=100)
    next_token: str | None = None


class Rejection(_Strict):
    reason: str = Field(min_length=5, max_length=500)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if len(value.strip()) < 5:
            raise ValueError("a reason of at least 5 characters is required")
        return value.strip()


class VerificationQuery(_Strict):
    c: str | None = Field(default=None, max_length=32, description="the code in the QR URL")
    h: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$",
                          description="SHA-256 of the PDF file held")


class ArrearsLineOut(BaseModel):
    period: str
    program: str
    contribution: int
    fine: int


class LetterOut(BaseModel):
    letter_id: str
    number: str
    letter_type: LetterTypeName
    legal_handover_target: str | None
    status: StatusName
    branch_code: str
    employer_id: str
    npp: str
    employer_name: str
    issued_on: str
    deadline: str
    total: int
    total_contribution: int
    total_fine: int
    payment_code: str
    bill_ids: list[str]
    lines: list[ArrearsLineOut]
    pdf_sha256: str | None
    signed_sha256: str | None
    signed_at: str | None
    signed_by: str | None
    rejected_reason: str | None
    dispatched: bool
    verification_url: str
    created_at: str
    audit: list[dict] | None = None


class LetterPage(BaseModel):
    items: list[LetterOut]
    next_token: str | None


class DownloadOut(BaseModel):
    letter_id: str
    number: str
    document: Literal["signed", "draft"]
    url: str
    expires_in: int
    filename: str
    sha256: str


class RegenerationOut(BaseModel):
    dedupe_key: str
    queued: bool


class VerificationOut(BaseModel):
    number: str
    issued: bool
    signed: bool
    status: str | None = None
    letter_type: str | None = None
    issued_on: str | None = None
    branch_name: str | None = None
    employer_name: str | None = None
    signed_at: str | None = None
    signer: str | None = None
    document_sha256: str | None = None
    hash_matches: bool | None = None
    message: str
