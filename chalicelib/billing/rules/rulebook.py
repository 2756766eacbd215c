"""The rule book: dated contribution rules and the one question they answer.

The calculator never asks "what is the rate now" but "what applied in this contribution
period for this party" (design.md §7). Every rule carries the contribution periods it is valid
for; a lookup that finds nothing raises NoRuleForPeriod (422) and never falls back to a
neighbouring rule. A RuleBook checks its own data when built, so a bad rule file fails at
load time, not on the first bill that touches it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import Iterable, Mapping, Protocol, Sequence

from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.errors import NoRuleForPeriod
from chalicelib.shared_kernel.money import Rupiah

SEGMENTS = ("PU", "BPU", "JK")
PROGRAMS = ("JKK", "JKM", "JHT", "JP")  # also the order of lines in a quote
PAYERS = ("EMPLOYER", "WORKER", "PARTICIPANT")


class RuleDataError(Exception):
    """The rule files are wrong (bad value, overlap, gap, ambiguity). A data bug, not user input."""


@dataclass(frozen=True)
class Validity:
    """Contribution periods a rule applies to: valid_from..valid_to, both inclusive; None = open."""

    valid_from: Period
    valid_to: Period | None = None

    def covers(self, period: Period) -> bool:
        return self.valid_from <= period and (self.valid_to is None or period <= self.valid_to)

    def __str__(self) -> str:
        return f"{self.valid_from}..{self.valid_to or 'open'}"


@dataclass(frozen=True)
class EmployerProfile:
    """What eligibility conditions may ask about an employer (sector codes as in the rule data)."""

    active_workers: int
    sector: str | None = None
    jkk_paid_through: Period | None = None


@dataclass(frozen=True)
class EligibilityCondition:
    """A named conjunction of tests on an employer; every test that is set must hold."""

    name: str
    source: str
    min_active_workers: int | None = None
    sectors: frozenset[str] | None = None
    jkk_paid_through_at_least: Period | None = None

    def holds_for(self, employer: EmployerProfile | None) -> bool:
        # Without a profile nobody can show eligibility: the standard rule applies.
        if employer is None:
            return False
        if (self.min_active_workers is not None
                and employer.active_workers < self.min_active_workers):
            return False
        if self.sectors is not None and employer.sector not in self.sectors:
            return False
        if self.jkk_paid_through_at_least is not None and (
            employer.jkk_paid_through is None
            or employer.jkk_paid_through < self.jkk_paid_through_at_least
        ):
            return False
        return True


@dataclass(frozen=True)
class ContributionRule:
    """One payer's part of one program: a rate on a base (optionally bounded) or a flat amount."""

    segment: str
    program: str
    payer: str
    validity: Validity
    source: str
    rate: Decimal | None = None  # a fraction of the base: Decimal("0.0054") for 0.54 %
    flat_amount: Rupiah | None = None
    min_amount: Rupiah | None = None
    max_amount: Rupiah | None = None
    risk_class: int | None = None
    condition: EligibilityCondition | None = None
    origin: str = field(default="", compare=False)

    @property
    def series_key(self) -> tuple:
        return (self.segment, self.program, self.payer, self.risk_class,
                self.condition.name if self.condition else None)

    @property
    def mandatory(self) -> bool:
        # A conditional rule (a relief) is an exception for a while; the standard rule is not.
        return self.condition is None


@dataclass(frozen=True)
class WageCap:
    """The highest wage a program's contribution is computed on (the JP cap)."""

    segment: str
    program: str
    amount: Rupiah
    validity: Validity
    source: str
    origin: str = field(default="", compare=False)
    mandatory = True

    @property
    def series_key(self) -> tuple:
        return (self.segment, self.program)


@dataclass(frozen=True)
class Tier:
    """A slice of the base up to `up_to` (None: no upper end), with a rate per program."""

    up_to: Rupiah | None
    rates: Mapping[str, Decimal]


@dataclass(frozen=True)
class TierSchedule:
    """Marginal tiers: each slice of the base is charged at its own tier's rate."""

    segment: str
    tiers: tuple[Tier, ...]
    validity: Validity
    source: str
    origin: str = field(default="", compare=False)
    mandatory = True

    @property
    def series_key(self) -> tuple:
        return (self.segment,)


@dataclass(frozen=True)
class DueDateRule:
    """Contribution for period M is due on `day_of_month` of M + `months_after_period`."""

    segment: str
    months_after_period: int
    day_of_month: int
    validity: Validity
    source: str
    origin: str = field(default="", compare=False)
    mandatory = True

    @property
    def series_key(self) -> tuple:
        return (self.segment,)


@dataclass(frozen=True)
class FineRule:
    """Late fine: a rate per month of delay per program, simple (never compounding)."""

    segment: str
    rates_per_month: Mapping[str, Decimal]
    partial_month_counts: bool
    validity: Validity
    source: str
    origin: str = field(default="", compare=False)
    mandatory = True

    @property
    def series_key(self) -> tuple:
        return (self.segment,)


class _DatedRule(Protocol):
    validity: Validity
    origin: str

    @property
    def series_key(self) -> tuple: ...

    @property
    def mandatory(self) -> bool: ...


def _describe(key: tuple) -> str:
    return " ".join(str(part) for part in key if part is not None)


def _series(kind: str, rules: Iterable[_DatedRule]) -> dict[tuple, tuple]:
    """Group rules by series, ordered by valid_from; refuse overlaps, and gaps where mandatory."""
    grouped: dict[tuple, list] = defaultdict(list)
    for rule in rules:
        grouped[rule.series_key].append(rule)
    for key, series in grouped.items():
        series.sort(key=lambda rule: rule.validity.valid_from)
        for earlier, later in pairwise(series):
            end = earlier.validity.valid_to
            if end is None or end >= later.validity.valid_from:
                raise RuleDataError(
                    f"{kind} {_describe(key)}: {earlier.origin} ({earlier.validity}) overlaps "
                    f"{later.origin} ({later.validity}); "
                    "close the earlier one before the later starts"
                )
            if earlier.mandatory and end.next() != later.validity.valid_from:
                raise RuleDataError(
                    f"{kind} {_describe(key)}: gap from {end.next()} to "
                    f"{later.validity.valid_from.previous()} between {earlier.origin} and "
                    f"{later.origin}; a mandatory rule must apply to every period once it starts"
                )
    return {key: tuple(series) for key, series in grouped.items()}


def _covering(series: Sequence[_DatedRule], period: Period, what: str):
    for rule in series:
        if rule.validity.covers(period):
            return rule
    raise NoRuleForPeriod(
        f"no {what} rule applies to contribution period {period}",
        details={"period": str(period), "rule": what},
    )


class RuleBook:
    """All dated rules, checked for overlaps and gaps, answering lookups by contribution period."""

    def __init__(
        self,
        contributions: Iterable[ContributionRule] = (),
        wage_caps: Iterable[WageCap] = (),
        tier_schedules: Iterable[TierSchedule] = (),
        due_date_rules: Iterable[DueDateRule] = (),
        fine_rules: Iterable[FineRule] = (),
    ):
        contribution_series = _series("contribution", contributions)
        self._contributions: dict[tuple[str, str], list[ContributionRule]] = defaultdict(list)
        for (segment, program, *_), series in contribution_series.items():
            self._contributions[(segment, program)].extend(series)
        self._wage_caps = _series("wage cap", wage_caps)
        self._tier_schedules = _series("tier schedule", tier_schedules)
        self._due_date_rules = _series("due date", due_date_rules)
        self._fine_rules = _series("fine", fine_rules)

    def contributions(
        self,
        segment: str,
        program: str,
        period: Period,
        *,
        risk_class: int | None = None,
        employer: EmployerProfile | None = None,
    ) -> tuple[ContributionRule, ...]:
        """The rule applied to each payer of `program` in `period`, in payer order.

        A conditional rule (a relief) whose condition holds for the employer replaces the
        standard rule for that payer; otherwise the standard rule applies.
        """
        applicable = [
            rule for rule in self._contributions.get((segment, program), ())
            if rule.validity.covers(period) and rule.risk_class in (None, risk_class)
        ]
        chosen = []
        for payer in PAYERS:
            for_payer = [rule for rule in applicable if rule.payer == payer]
            eligible = [rule for rule in for_payer
                        if rule.condition and rule.condition.holds_for(employer)]
            standard = [rule for rule in for_payer if rule.condition is None]
            for candidates in (eligible, standard):
                if len(candidates) > 1:
                    raise RuleDataError(
                        f"ambiguous {segment} {program} {payer} rules in {period}: "
                        + ", ".join(rule.origin for rule in candidates)
                    )
                if candidates:
                    chosen.append(candidates[0])
                    break
        if not chosen:
            what = f"{segment} {program}" + (f" risk class {risk_class}" if risk_class else "")
            raise NoRuleForPeriod(
                f"no {what} contribution rule applies to contribution period {period}",
                details={"period": str(period), "rule": f"{what} contribution"},
            )
        return tuple(chosen)

    def wage_cap(self, segment: str, program: str, period: Period) -> Rupiah | None:
        """The wage cap in force for the period; None when the program has no cap at all."""
        series = self._wage_caps.get((segment, program))
        if series is None:
            return None
        return _covering(series, period, f"{segment} {program} wage cap").amount

    def contract_value_tiers(self, segment: str, period: Period) -> TierSchedule:
        return _covering(self._tier_schedules.get((segment,), ()), period,
                         f"{segment} tier schedule")

    def due_date_rule(self, segment: str, period: Period) -> DueDateRule:
        return _covering(self._due_date_rules.get((segment,), ()), period, f"{segment} due date")

    def fine_rule(self, segment: str, period: Period) -> FineRule:
        return _covering(self._fine_rules.get((segment,), ()), period, f"{segment} fine")
