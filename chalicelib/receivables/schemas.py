"""API models of the receivables routes (requests, and the responses OpenAPI documents)."""
from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

_BRANCH = r"^[A-Z0-9]{2,8}$"
_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BranchQuery(_Strict):
    branch: str | None = Field(default=None, pattern=_BRANCH)


class WorklistQuery(_Strict):
    branch: str | None = Field(default=None, pattern=_BRANCH)
    state: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]{1,39}$")
    limit: int = Field(default=50, ge=1, le=100)
    next_token: str | None = Field(default=None, max_length=2000)


class ComplianceQuery(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    branch: str | None = Field(default=None, pattern=_BRANCH)
    from_month: str = Field(alias="from", pattern=_MONTH, description="first month, YYYY-MM")
    to_month: str | None = Field(default=None, alias="to", pattern=_MONTH,
                                 description="last month (at most 12 months), YYYY-MM")


class DebtorPayment(_Strict):
    amount: StrictInt = Field(gt=0, le=10**13)
    receipt_number: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9/\-]+$")
    reason: str = Field(min_length=3, max_length=500)


class InstalmentIn(_Strict):
    due_date: date
    amount: StrictInt = Field(gt=0, le=10**13)


class PlanRequest(_Strict):
    reason: str = Field(min_length=3, max_length=500)
    instalments: int | None = Field(default=None, ge=2, le=60)
    first_due_date: date | None = None
    schedule: list[InstalmentIn] | None = Field(default=None, min_length=2, max_length=60)

    @model_validator(mode="after")
    def _one_shape(self) -> "PlanRequest":
        equal = self.instalments is not None or self.first_due_date is not None
        if self.schedule is not None and equal:
            raise ValueError("give either instalments with first_due_date, or a schedule")
        if self.schedule is None and (self.instalments is None or self.first_due_date is None):
            raise ValueError("instalments and first_due_date are required (or a schedule)")
        return self


class Reason(_Strict):
    reason: str = Field(min_length=3, max_length=500)


class ExemptionIn(_Strict):
    tag: Literal["DISPUTE"]
    reason: str = Field(min_length=3, max_length=500)


class Figure(BaseModel):
    count: int
    amount: int


class Bucket(BaseModel):
    bucket: str
    min_days: int
    max_days: int | None
    count: int
    amount: int
    by_segment: dict[str, Figure]


class Receivables(BaseModel):
    count: int
    amount: int
    by_segment: dict[str, Figure]


class AgeingOut(BaseModel):
    branch: str
    as_of: str
    buckets: list[Bucket]
    receivables: Receivables


class StepAt(BaseModel):
    step: str | None = None
    state: str | None = None
    kinds: list[str] | None = None
    on: str | None = None


class DebtorOut(BaseModel):
    debtor_key: str
    kind: str
    segment: str
    branch_code: str
    name: str
    npp: str | None
    kpj: str | None
    state: str
    state_since: str | None
    owed_since: str | None
    days_overdue: int
    amount_owed: int
    unpaid_months: int
    consecutive_unpaid_months: int
    oldest_period: str | None
    last_action: StepAt | None
    next_action: StepAt | None
    tags: list[str]
    credit: int
    plan_id: str | None
    evaluated_on: str | None


class WorklistPage(BaseModel):
    items: list[DebtorOut]
    next_token: str | None


class AppliedOut(BaseModel):
    bill_id: str
    period: str
    amount: int
    settled: bool
    remaining: int


class PaymentAllocationOut(BaseModel):
    payment_id: str
    debtor_key: str | None = None
    amount: int
    receipt_number: str | None = None
    paid_at: str | None = None
    allocation: list[AppliedOut] = []
    credit_added: int = 0


class InstalmentOut(BaseModel):
    number: int
    due_date: str
    amount: int


class PlanOut(BaseModel):
    plan_id: str
    debtor_key: str
    status: str
    total: int
    paid: int
    instalments: list[InstalmentOut]
    bill_ids: list[str]
    reason: str
    created_by: str
    created_at: str
    closed_on: str | None
    closed_reason: str | None


class PlanPage(BaseModel):
    items: list[PlanOut]
    next_token: str | None


class HistoryOut(BaseModel):
    debtor: dict[str, Any]
    bills: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    letters: list[dict[str, Any]]
    state_changes: list[dict[str, Any]]
    plans: list[PlanOut]
    events: list[dict[str, Any]]


class SegmentCompliance(BaseModel):
    bills: int
    paid: int
    paid_on_time: int
    share_paid_on_time: str | None
    contribution_billed: int
    contribution_collected: int
    collection_rate: str | None
    fines_collected: int


class ComplianceMonth(SegmentCompliance):
    month: str
    by_segment: dict[str, SegmentCompliance]
    active_participants: dict[str, int]
    receivables: dict[str, Any] | None


class ComplianceOut(BaseModel):
    branch: str
    items: list[ComplianceMonth]
