"""Reading the rule files (TOML) into a checked RuleBook.

Each file under data/ holds `format_version = 1` and arrays of tables, one array per kind of
rule (see data/README.md). Rates are written as strings of percent ("0.54"), so that no float
ever holds one; amounts are TOML integers of rupiah. Anything unexpected (an unknown field, a
float rate, an overlap, a gap) raises RuleDataError naming the file and the entry.
"""
from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Callable

from chalicelib.shared_kernel.calendar import Period

from .rulebook import (
    PAYERS,
    PROGRAMS,
    SEGMENTS,
    ContributionRule,
    DueDateRule,
    EligibilityCondition,
    FineRule,
    RuleBook,
    RuleDataError,
    Tier,
    TierSchedule,
    Validity,
    WageCap,
)

DATA_DIRECTORY = Path(__file__).parent / "data"
FORMAT_VERSION = 1


def _percent(value: Any, where: str) -> Decimal:
    """ "0.54" (percent, as a string) -> Decimal("0.0054"), exactly."""
    if not isinstance(value, str):
        raise RuleDataError(
            f"{where}: write rates as strings of percent, e.g. \"0.54\"; got {value!r}")
    try:
        percent = Decimal(value)
    except InvalidOperation:
        raise RuleDataError(f"{where}: {value!r} is not a number") from None
    if not percent.is_finite() or not 0 <= percent <= 100:
        raise RuleDataError(f"{where}: {value!r} is not a percentage between 0 and 100")
    return percent.scaleb(-2)  # a decimal shift: exact, no rounding


def _period(value: Any, where: str) -> Period:
    try:
        return Period.parse(value)
    except ValueError as exc:
        raise RuleDataError(f"{where}: {exc}") from None


class _Entry:
    """One table of a rule file. Each field is taken once; fields left over are an error."""

    def __init__(self, raw: Any, origin: str):
        if not isinstance(raw, dict):
            raise RuleDataError(f"{origin}: expected a table, got {raw!r}")
        self._raw = dict(raw)
        self.origin = origin

    def _take(self, name: str, required: bool) -> Any:
        if name not in self._raw:
            if required:
                raise RuleDataError(f"{self.origin}: missing field {name!r}")
            return None
        return self._raw.pop(name)

    def text(self, name: str, *, choices: tuple[str, ...] | None = None,
             required: bool = True) -> Any:
        value = self._take(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise RuleDataError(f"{self.origin}: {name} must be a non-empty string")
        if choices and value not in choices:
            raise RuleDataError(
                f"{self.origin}: {name} {value!r} is not one of {', '.join(choices)}")
        return value

    def integer(self, name: str, *, minimum: int = 0, maximum: int | None = None,
                required: bool = True) -> Any:
        value = self._take(name, required)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise RuleDataError(f"{self.origin}: {name} must be an integer, got {value!r}")
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"{minimum}..{maximum}" if maximum is not None else f"at least {minimum}"
            raise RuleDataError(f"{self.origin}: {name} {value} is not {bounds}")
        return value

    def boolean(self, name: str) -> bool:
        value = self._take(name, True)
        if not isinstance(value, bool):
            raise RuleDataError(f"{self.origin}: {name} must be true or false")
        return value

    def percent(self, name: str, *, required: bool = True) -> Decimal | None:
        value = self._take(name, required)
        return None if value is None else _percent(value, f"{self.origin}: {name}")

    def period(self, name: str, *, required: bool = True) -> Period | None:
        value = self._take(name, required)
        return None if value is None else _period(value, f"{self.origin}: {name}")

    def strings(self, name: str, *, required: bool = True) -> list[str] | None:
        value = self._take(name, required)
        if value is None:
            return None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise RuleDataError(f"{self.origin}: {name} must be a non-empty array of strings")
        return value

    def table(self, name: str) -> dict:
        value = self._take(name, True)
        if not isinstance(value, dict):
            raise RuleDataError(f"{self.origin}: {name} must be a table")
        return value

    def array(self, name: str) -> list:
        value = self._take(name, True)
        if not isinstance(value, list) or not value:
            raise RuleDataError(f"{self.origin}: {name} must be a non-empty array")
        return value

    def validity(self) -> Validity:
        valid_from = self.period("valid_from")
        valid_to = self.period("valid_to", required=False)
        if valid_to is not None and valid_to < valid_from:
            raise RuleDataError(
                f"{self.origin}: valid_to {valid_to} is before valid_from {valid_from}")
        return Validity(valid_from, valid_to)

    def done(self) -> None:
        if self._raw:
            raise RuleDataError(f"{self.origin}: unknown field(s) {', '.join(sorted(self._raw))}")


def _program_rates(raw: dict, where: str) -> dict[str, Decimal]:
    if not raw:
        raise RuleDataError(f"{where}: needs a rate for at least one program")
    unknown = set(raw) - set(PROGRAMS)
    if unknown:
        raise RuleDataError(f"{where}: unknown program(s) {', '.join(sorted(unknown))}")
    return {program: _percent(rate, f"{where}: {program}") for program, rate in raw.items()}


def _condition(entry: _Entry, _conditions: dict) -> EligibilityCondition:
    name = entry.text("name")
    sectors = entry.strings("sectors", required=False)
    condition = EligibilityCondition(
        name=name,
        source=entry.text("source"),
        min_active_workers=entry.integer("min_active_workers", minimum=1, required=False),
        sectors=frozenset(sectors) if sectors is not None else None,
        jkk_paid_through_at_least=entry.period("jkk_paid_through_at_least", required=False),
    )
    if condition.min_active_workers is None and condition.sectors is None \
            and condition.jkk_paid_through_at_least is None:
        raise RuleDataError(f"{entry.origin}: condition {name!r} tests nothing")
    return condition


def _contribution(entry: _Entry, conditions: dict[str, EligibilityCondition]) -> ContributionRule:
    segment = entry.text("segment", choices=SEGMENTS)
    program = entry.text("program", choices=PROGRAMS)
    payer = entry.text("payer", choices=PAYERS)
    risk_class = entry.integer("risk_class", minimum=1, maximum=5, required=False)
    rate = entry.percent("rate_percent", required=False)
    flat_amount = entry.integer("amount", required=False)
    min_amount = entry.integer("min_amount", required=False)
    max_amount = entry.integer("max_amount", required=False)
    condition_name = entry.text("condition", required=False)
    if (rate is None) == (flat_amount is None):
        raise RuleDataError(f"{entry.origin}: give exactly one of rate_percent or amount")
    if rate is None and (min_amount is not None or max_amount is not None):
        raise RuleDataError(
            f"{entry.origin}: min_amount/max_amount bound a rate, not a flat amount")
    if rate == 0 and (min_amount is not None or max_amount is not None):
        raise RuleDataError(f"{entry.origin}: a zero rate cannot have amount bounds")
    if min_amount is not None and max_amount is not None and min_amount > max_amount:
        raise RuleDataError(
            f"{entry.origin}: min_amount {min_amount} exceeds max_amount {max_amount}")
    if condition_name is not None and condition_name not in conditions:
        raise RuleDataError(f"{entry.origin}: unknown condition {condition_name!r}")
    return ContributionRule(
        segment=segment, program=program, payer=payer, risk_class=risk_class,
        rate=rate, flat_amount=flat_amount, min_amount=min_amount, max_amount=max_amount,
        condition=conditions[condition_name] if condition_name else None,
        validity=entry.validity(), source=entry.text("source"), origin=entry.origin,
    )


def _wage_cap(entry: _Entry, _conditions: dict) -> WageCap:
    return WageCap(
        segment=entry.text("segment", choices=SEGMENTS),
        program=entry.text("program", choices=PROGRAMS),
        amount=entry.integer("amount", minimum=1),
        validity=entry.validity(), source=entry.text("source"), origin=entry.origin,
    )


def _tier_schedule(entry: _Entry, _conditions: dict) -> TierSchedule:
    segment = entry.text("segment", choices=SEGMENTS)
    tiers = []
    for number, raw in enumerate(entry.array("tiers"), start=1):
        where = f"{entry.origin}: tier {number}"
        if not isinstance(raw, dict):
            raise RuleDataError(f"{where}: expected a table")
        raw = dict(raw)
        up_to = raw.pop("up_to", None)
        if up_to is not None and (
            not isinstance(up_to, int) or isinstance(up_to, bool) or up_to < 1
        ):
            raise RuleDataError(f"{where}: up_to must be a positive integer of rupiah")
        tiers.append(Tier(up_to=up_to, rates=_program_rates(raw, where)))
    bounds = [tier.up_to for tier in tiers]
    if bounds[-1] is not None or None in bounds[:-1]:
        raise RuleDataError(
            f"{entry.origin}: every tier but the last needs up_to; the last has none")
    if any(lower >= upper for lower, upper in zip(bounds[:-2], bounds[1:-1])):
        raise RuleDataError(f"{entry.origin}: tier up_to values must increase")
    if any(set(tier.rates) != set(tiers[0].rates) for tier in tiers):
        raise RuleDataError(f"{entry.origin}: every tier must rate the same programs")
    return TierSchedule(
        segment=segment, tiers=tuple(tiers),
        validity=entry.validity(), source=entry.text("source"), origin=entry.origin,
    )


def _due_date(entry: _Entry, _conditions: dict) -> DueDateRule:
    return DueDateRule(
        segment=entry.text("segment", choices=SEGMENTS),
        months_after_period=entry.integer("months_after_period", maximum=12),
        # 28 at most: every month has that day, so no rule silently slides into the next month.
        day_of_month=entry.integer("day_of_month", minimum=1, maximum=28),
        validity=entry.validity(), source=entry.text("source"), origin=entry.origin,
    )


def _fine(entry: _Entry, _conditions: dict) -> FineRule:
    return FineRule(
        segment=entry.text("segment", choices=SEGMENTS),
        rates_per_month=_program_rates(entry.table("percent_per_month"),
                                       f"{entry.origin}: percent_per_month"),
        partial_month_counts=entry.boolean("partial_month_counts"),
        validity=entry.validity(), source=entry.text("source"), origin=entry.origin,
    )


# Conditions come first: contributions refer to them by name, from any file.
_PARSERS: dict[str, Callable[[_Entry, dict], Any]] = {
    "condition": _condition,
    "contribution": _contribution,
    "wage_cap": _wage_cap,
    "tier_schedule": _tier_schedule,
    "due_date": _due_date,
    "fine": _fine,
}


def _read_files(directory: Path) -> dict[str, list[_Entry]]:
    if not directory.is_dir():
        raise RuleDataError(f"rule directory {directory} does not exist")
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise RuleDataError(f"rule directory {directory} holds no .toml files")
    entries: dict[str, list[_Entry]] = {kind: [] for kind in _PARSERS}
    for path in files:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise RuleDataError(f"{path.name}: not valid TOML: {exc}") from exc
        version = document.pop("format_version", None)
        if version != FORMAT_VERSION:
            raise RuleDataError(
                f"{path.name}: format_version must be {FORMAT_VERSION}, got {version!r}")
        for kind, tables in document.items():
            if kind not in _PARSERS:
                raise RuleDataError(f"{path.name}: unknown kind of rule {kind!r} "
                                    f"(known: {', '.join(_PARSERS)})")
            if not isinstance(tables, list):
                raise RuleDataError(f"{path.name}: {kind} must be an array of tables ([[{kind}]])")
            entries[kind].extend(
                _Entry(raw, f"{path.name} {kind} #{number}")
                for number, raw in enumerate(tables, start=1)
            )
    return entries


def load_rulebook(directory: str | Path | None = None) -> RuleBook:
    """Read every *.toml rule file in `directory` (default: the data shipped with the code)."""
    entries = _read_files(Path(directory) if directory is not None else DATA_DIRECTORY)
    parsed: dict[str, list] = {kind: [] for kind in _PARSERS}
    conditions: dict[str, EligibilityCondition] = {}
    for kind, parse in _PARSERS.items():
        for entry in entries[kind]:
            rule = parse(entry, conditions)
            entry.done()
            parsed[kind].append(rule)
            if kind == "condition":
                if rule.name in conditions:
                    raise RuleDataError(f"{entry.origin}: condition {rule.name!r} is defined twice")
                conditions[rule.name] = rule
    return RuleBook(
        contributions=parsed["contribution"],
        wage_caps=parsed["wage_cap"],
        tier_schedules=parsed["tier_schedule"],
        due_date_rules=parsed["due_date"],
        fine_rules=parsed["fine"],
    )


@cache
def default_rulebook() -> RuleBook:
    """The shipped rule data, read once per process (a Lambda container keeps it warm)."""
    return load_rulebook()
