"""API models of billing routes (requests and the responses OpenAPI documents)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BillQuery(_Strict):
    status: Literal["OPEN", "OVERDUE", "PAID"] | None = None
    npp: str | None = Field(default=None, pattern=r"^\d{1,20}$")
    kpj: str | None = Field(default=None, pattern=r"^\d{11}$")
    period: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    limit: int = Field(default=50, ge=1, le=100)
    next_token: str | None = None


class CodeReissue(_Strict):
    reason: str = Field(min_length=3, max_length=500)


class ManualPayment(_Strict):
    amount: StrictInt = Field(gt=0, le=10**13)
    receipt_number: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9/\-]+$")
    reason: str = Field(min_length=3, max_length=500)


class Prepayment(_Strict):
    months: StrictInt = Field(description="1, 3, 6 or 12")


class BillLine(BaseModel):
    program: str
    payer: str
    base: int
    amount: int
    rate: str | None = None


class BillOut(BaseModel):
    bill_id: str
    status: str
    segment: str
    kind: str
    period: str
    due_date: str
    party_name: str
    npp: str | None
    kpj: str | None
    branch_code: str
    contribution: int
    fine: int
    amount_paid: int
    amount_due: int
    employer_total: int
    worker_total: int
    payment_code: str | None
    lines: list[BillLine]
    worker_count: int
    paid_at: str | None


class BillPage(BaseModel):
    items: list[BillOut]
    next_token: str | None


class JhtEntry(BaseModel):
    period: str
    bill_id: str
    employer_amount: int
    worker_amount: int
    amount: int
    credited_at: str


class JhtBalance(BaseModel):
    participant_id: str
    balance: int
    entries: list[JhtEntry]


class WageRow(_Strict):
    kpj: str = Field(pattern=r"^\d{11}$", description="the worker's 11-digit KPJ")
    wage: StrictInt = Field(gt=0, le=1_000_000_000,
                            description="monthly wage in rupiah (gaji pokok + tunjangan tetap)")


class WageReportIn(_Strict):
    """A month's wages. As JSON, or as CSV (`Content-Type: text/csv`, header `kpj,wage`,
    the period in the query: `?period=2026-11`)."""

    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    rows: list[WageRow] = Field(min_length=1, max_length=10_000)


class WageReportOut(BaseModel):
    employer_id: str
    npp: str
    period: str
    status: str
    rows: list[WageRow]
    workers_reported: int
    workers_carried_over: int
    submitted_by: str
    submitted_at: str
    warnings: list[dict] = []
    bill: dict | None = None
    superseded_bill_id: str | None = None
