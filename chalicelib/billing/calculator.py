"""Contribution quotes: what one party owes for one contribution period, line by line.

Pure Python, no AWS. Each line is computed exactly in Decimal and rounded half-up to whole
rupiah; totals are sums of rounded lines (domain.md §1.4). Every rate, cap, bound and tier
comes from the rule book for the contribution period (design.md §7).

Payers and totals: PU lines are EMPLOYER or WORKER; JK lines are EMPLOYER (the contractor);
BPU lines are PARTICIPANT, the worker paying for themself, so for BPU `worker_total` is the
participant total and `employer_total` is 0. `total` is always the sum of every line.

Errors, one kind per cause:
- the quote_* functions raise ValidationFailed (400) naming the request field ("wage",
  "programs", ...), including a BPU declared income outside the range the period's rules
  accept, which no static model can know.
- `QuoteRequest` raises pydantic's ValidationError (the route layer, shared_kernel/http.py,
  maps it to 400 naming the field); `parse_quote_request` turns it into ValidationFailed for
  callers outside that layer. Field names are the same either way.
- a period the rule data does not cover raises NoRuleForPeriod (422).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Annotated, Any, Iterable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic import ValidationError as PydanticValidationError

from chalicelib.billing.rules import PROGRAMS, ContributionRule, EmployerProfile, RuleBook
from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.errors import ValidationFailed
from chalicelib.shared_kernel.money import Rupiah, apply_rate

__all__ = [
    "EmployerProfile", "Line", "Quote", "QuoteLineResponse", "QuoteRequest", "QuoteResponse",
    "parse_quote_request", "quote_bpu", "quote_from_request", "quote_jk", "quote_pu",
]

Segment = Literal["PU", "BPU", "JK"]
Program = Literal["JKK", "JKM", "JHT", "JP"]
Payer = Literal["EMPLOYER", "WORKER", "PARTICIPANT"]

# Which programs each segment can be quoted for, which it must include, and the default.
# Structural facts of the product, not dated figures, so they live here rather than in data.
SEGMENT_PROGRAMS: dict[str, tuple[str, ...]] = {
    "PU": ("JKK", "JKM", "JHT", "JP"),
    "BPU": ("JKK", "JKM", "JHT"),
    "JK": ("JKK", "JKM"),
}
MANDATORY_PROGRAMS: dict[str, tuple[str, ...]] = {"PU": (), "BPU": ("JKK", "JKM"), "JK": ()}
DEFAULT_PROGRAMS: dict[str, tuple[str, ...]] = {
    "PU": ("JKK", "JKM", "JHT", "JP"),
    "BPU": ("JKK", "JKM"),
    "JK": ("JKK", "JKM"),
}

# Sanity bounds on input, far above any real figure: they catch typos and unit mistakes
# (sen for rupiah), not policy. Policy bounds (BPU income range) come from the rules.
MAX_WAGE = 1_000_000_000  # a month's wage
MAX_DECLARED_INCOME = 1_000_000_000
MAX_PROJECT_AMOUNT = 10**15  # a construction contract value or its total wages


@dataclass(frozen=True)
class Line:
    """One program × payer (× tier, for JK contract value) of a quote."""

    program: str
    payer: str
    base: Rupiah  # what the rate was applied to; for a flat amount, the income it is for
    rate: Decimal | None  # a fraction (0.0054 for 0.54 %); None for a flat amount
    amount: Rupiah

    def to_dict(self) -> dict[str, Any]:
        return {
            "program": self.program,
            "payer": self.payer,
            "base": self.base,
            "rate": rate_text(self.rate) if self.rate is not None else None,
            "amount": self.amount,
        }


@dataclass(frozen=True)
class Quote:
    segment: str
    period: Period
    lines: tuple[Line, ...]

    @property
    def employer_total(self) -> Rupiah:
        return sum(line.amount for line in self.lines if line.payer == "EMPLOYER")

    @property
    def worker_total(self) -> Rupiah:
        return sum(line.amount for line in self.lines if line.payer in ("WORKER", "PARTICIPANT"))

    @property
    def total(self) -> Rupiah:
        return sum(line.amount for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        """The response of POST /v1/contributions/quote (design.md §4)."""
        return {
            "segment": self.segment,
            "period": str(self.period),
            "lines": [line.to_dict() for line in self.lines],
            "employer_total": self.employer_total,
            "worker_total": self.worker_total,
            "total": self.total,
        }


def rate_text(rate: Decimal) -> str:
    """Decimal("0.0030") -> "0.003": plain notation, never an exponent."""
    return format(rate.normalize(), "f")


# --- checks shared by the calculator functions and the request model --------------------

def _programs_problem(segment: str, programs: Iterable[str]) -> str | None:
    if isinstance(programs, str):  # "JKK" would otherwise read as ["J", "K", "K"]
        return "programs must be a list of program codes"
    programs = list(programs)
    if not programs:
        return "programs must not be empty"
    if len(set(programs)) != len(programs):
        return "programs must not repeat"
    allowed = SEGMENT_PROGRAMS[segment]
    not_allowed = [program for program in programs if program not in allowed]
    if not_allowed:
        return (f"{', '.join(not_allowed)} not available for segment {segment} "
                f"(allowed: {', '.join(allowed)})")
    missing = [program for program in MANDATORY_PROGRAMS[segment] if program not in programs]
    if missing:
        return f"segment {segment} must include {', '.join(missing)}"
    return None


def _checked_programs(segment: str, programs: Iterable[str]) -> tuple[str, ...]:
    programs = tuple(programs)
    problem = _programs_problem(segment, programs)
    if problem:
        raise ValidationFailed(problem, field="programs")
    # Canonical order, so the same request in another order gives the same quote.
    return tuple(program for program in PROGRAMS if program in programs)


def _check_amount(value: Any, field: str, maximum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(f"{field} must be whole rupiah (an integer)", field=field)
    if not 1 <= value <= maximum:
        raise ValidationFailed(f"{field} must be between 1 and {maximum:,} rupiah", field=field)


def _check_risk_class(risk_class: Any) -> None:
    if not isinstance(risk_class, int) or isinstance(risk_class, bool) or not 1 <= risk_class <= 5:
        raise ValidationFailed("risk_class must be 1..5 (groups I-V)", field="risk_class")


# --- lines ----------------------------------------------------------------------------------

def _accepted_base_range(rule: ContributionRule) -> tuple[int | None, int | None]:
    """The bases whose exact amount stays within the rule's min/max amount."""
    assert rule.rate is not None and rule.rate > 0  # the loader refuses bounds on a zero rate
    lowest = highest = None
    if rule.min_amount is not None:
        lowest = int((Decimal(rule.min_amount) / rule.rate).to_integral_value(ROUND_CEILING))
    if rule.max_amount is not None:
        highest = int((Decimal(rule.max_amount) / rule.rate).to_integral_value(ROUND_FLOOR))
    return lowest, highest


def _line(rule: ContributionRule, base: Rupiah, base_field: str, period: Period) -> Line:
    if rule.rate is None:
        return Line(rule.program, rule.payer, base, None, rule.flat_amount)
    if rule.min_amount is not None or rule.max_amount is not None:
        lowest, highest = _accepted_base_range(rule)
        if (lowest is not None and base < lowest) or (highest is not None and base > highest):
            accepted = (
                f"between {lowest:,} and {highest:,}" if lowest is not None and highest is not None
                else f"at least {lowest:,}" if lowest is not None else f"at most {highest:,}"
            )
            raise ValidationFailed(
                f"{base_field} must be {accepted} rupiah for {rule.segment} {rule.program} "
                f"in {period}",
                field=base_field,
            )
    return Line(rule.program, rule.payer, base, rule.rate, apply_rate(base, rule.rate))


def _lines_on_base(
    rulebook: RuleBook,
    segment: str,
    period: Period,
    base: Rupiah,
    base_field: str,
    programs: tuple[str, ...],
    *,
    risk_class: int | None = None,
    employer: EmployerProfile | None = None,
) -> tuple[Line, ...]:
    lines = []
    for program in programs:
        cap = rulebook.wage_cap(segment, program, period)
        program_base = base if cap is None else min(base, cap)
        for rule in rulebook.contributions(segment, program, period,
                                           risk_class=risk_class, employer=employer):
            lines.append(_line(rule, program_base, base_field, period))
    return tuple(lines)


# --- quotes -----------------------------------------------------------------------------------

def quote_pu(
    rulebook: RuleBook,
    period: Period,
    wage: Rupiah,
    risk_class: int,
    programs: Iterable[str] = DEFAULT_PROGRAMS["PU"],
    employer: EmployerProfile | None = None,
) -> Quote:
    """One worker's monthly contribution. `employer` is needed only for reliefs with conditions."""
    _check_amount(wage, "wage", MAX_WAGE)
    _check_risk_class(risk_class)
    programs = _checked_programs("PU", programs)
    lines = _lines_on_base(rulebook, "PU", period, wage, "wage", programs,
                           risk_class=risk_class, employer=employer)
    return Quote("PU", period, lines)


def quote_bpu(
    rulebook: RuleBook,
    period: Period,
    declared_income: Rupiah,
    programs: Iterable[str] = DEFAULT_PROGRAMS["BPU"],
) -> Quote:
    """One BPU participant's monthly contribution; JKK and JKM are mandatory, JHT optional."""
    _check_amount(declared_income, "declared_income", MAX_DECLARED_INCOME)
    programs = _checked_programs("BPU", programs)
    lines = _lines_on_base(rulebook, "BPU", period, declared_income, "declared_income", programs)
    return Quote("BPU", period, lines)


def quote_jk(
    rulebook: RuleBook,
    period: Period,
    contract_value: Rupiah | None = None,
    wages: Rupiah | None = None,
    programs: Iterable[str] = DEFAULT_PROGRAMS["JK"],
) -> Quote:
    """A construction project: marginal tiers on the contract value, or a rate on known wages."""
    if (contract_value is None) == (wages is None):
        raise ValidationFailed("give exactly one of contract_value or wages",
                               field="contract_value")
    programs = _checked_programs("JK", programs)
    if wages is not None:
        _check_amount(wages, "wages", MAX_PROJECT_AMOUNT)
        return Quote("JK", period, _lines_on_base(rulebook, "JK", period, wages, "wages", programs))
    _check_amount(contract_value, "contract_value", MAX_PROJECT_AMOUNT)
    schedule = rulebook.contract_value_tiers("JK", period)
    lines = []
    for program in programs:
        lower = 0
        for tier in schedule.tiers:
            upper = contract_value if tier.up_to is None else min(contract_value, tier.up_to)
            if upper <= lower:
                break
            portion = upper - lower
            rate = tier.rates[program]
            lines.append(Line(program, "EMPLOYER", portion, rate, apply_rate(portion, rate)))
            lower = upper
    return Quote("JK", period, tuple(lines))


# --- API input -----------------------------------------------------------------------------

PeriodText = Annotated[str, Field(json_schema_extra={"pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
                                  examples=["2026-11"])]
Wage = Annotated[int, Field(strict=True, ge=1, le=MAX_WAGE)]
DeclaredIncome = Annotated[int, Field(strict=True, ge=1, le=MAX_DECLARED_INCOME)]
ProjectAmount = Annotated[int, Field(strict=True, ge=1, le=MAX_PROJECT_AMOUNT)]
RiskClass = Annotated[int, Field(strict=True, ge=1, le=5)]

# Amount fields each segment needs; JK needs exactly one of its two.
_SEGMENT_FIELDS = {
    "PU": ("risk_class", "wage"),
    "BPU": ("declared_income",),
    "JK": ("wages", "contract_value"),
}


class QuoteRequest(BaseModel):
    """The body of POST /v1/contributions/quote (design.md §4). Amounts are strict integers:
    a float, a string or a boolean is refused rather than converted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    segment: Segment
    period: PeriodText
    programs: tuple[Program, ...] | None = None  # None: the segment's default programs
    risk_class: RiskClass | None = Field(None, validate_default=True)
    wage: Wage | None = Field(None, validate_default=True)
    declared_income: DeclaredIncome | None = Field(None, validate_default=True)
    wages: ProjectAmount | None = Field(None, validate_default=True)
    contract_value: ProjectAmount | None = Field(None, validate_default=True)

    @field_validator("period")
    @classmethod
    def _period_is_a_month(cls, value: str) -> str:
        Period.parse(value)  # its ValueError names the expected form
        return value

    @field_validator("programs")
    @classmethod
    def _programs_fit_segment(cls, value: tuple[str, ...] | None, info: ValidationInfo):
        segment = info.data.get("segment")
        if value is not None and segment is not None:
            problem = _programs_problem(segment, value)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("risk_class", "wage", "declared_income", "wages", "contract_value")
    @classmethod
    def _used_by_segment(cls, value: int | None, info: ValidationInfo):
        segment = info.data.get("segment")
        if segment is None:  # the segment's own error says enough
            return value
        name = info.field_name
        if name not in _SEGMENT_FIELDS[segment]:
            if value is not None:
                raise ValueError(f"{name} is not used for segment {segment}")
        elif segment != "JK":
            if value is None:
                raise ValueError(f"{name} is required for segment {segment}")
        elif name == "contract_value":  # the later of JK's two fields sees the other
            wages = info.data.get("wages")
            if value is None and wages is None:
                raise ValueError("contract_value or wages is required for segment JK")
            if value is not None and wages is not None:
                raise ValueError("give contract_value or wages, not both")
        return value

    @property
    def contribution_period(self) -> Period:
        return Period.parse(self.period)

    @property
    def requested_programs(self) -> tuple[str, ...]:
        return self.programs if self.programs is not None else DEFAULT_PROGRAMS[self.segment]


class QuoteLineResponse(BaseModel):
    program: Program
    payer: Payer
    base: int
    rate: str | None = Field(
        description="a decimal fraction, e.g. \"0.0054\"; null for a flat amount")
    amount: int


class QuoteResponse(BaseModel):
    """The shape of Quote.to_dict(), for the OpenAPI description."""

    segment: Segment
    period: str
    lines: list[QuoteLineResponse]
    employer_total: int
    worker_total: int = Field(description="WORKER lines, plus PARTICIPANT lines for BPU")
    total: int


def _error_message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])  # our own message, without pydantic's prefix
    return str(error["msg"])


def parse_quote_request(payload: Any) -> QuoteRequest:
    """Validate a request body; raises ValidationFailed naming the first bad field, with every
    problem in `details` as [{"field", "message"}]."""
    try:
        return QuoteRequest.model_validate(payload)
    except PydanticValidationError as exc:
        problems = [
            {"field": ".".join(str(part) for part in error["loc"]) or None,
             "message": _error_message(error)}
            for error in exc.errors()
        ]
        first = problems[0]
        raise ValidationFailed(first["message"], field=first["field"], details=problems) from exc


def quote_from_request(
    rulebook: RuleBook, request: QuoteRequest, employer: EmployerProfile | None = None
) -> Quote:
    period = request.contribution_period
    programs = request.requested_programs
    if request.segment == "PU":
        return quote_pu(rulebook, period, request.wage, request.risk_class, programs, employer)
    if request.segment == "BPU":
        return quote_bpu(rulebook, period, request.declared_income, programs)
    return quote_jk(rulebook, period, contract_value=request.contract_value,
                    wages=request.wages, programs=programs)
