"""Registration rules that depend on data and on a day: ages, minimum wage, JK deadlines.

The figures live in `data/registration_rules.toml` and `data/minimum_wages.toml` (dated, and
UNCONFIRMED where the files say so). Loaders are lazy and cached; every check also accepts the
rules as an argument so tests and the composition root can pass their own.

A check either returns `RegistrationWarning`s (the request goes on; a verification officer sees
them) or raises `ValidationFailed` with an Indonesian message. No check reads the clock: the
day is always an argument.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field as dataclass_field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from chalicelib.shared_kernel.calendar import Period, WorkingCalendar
from chalicelib.shared_kernel.errors import ValidationFailed

if TYPE_CHECKING:  # pragma: no cover
    from .schemas import ParticipantRegistration

DATA_DIR = Path(__file__).parent / "data"


class RuleMode(StrEnum):
    WARN = "WARN"
    REJECT = "REJECT"


@dataclass(frozen=True)
class RegistrationWarning:
    """Something an officer should look at; not a reason to refuse the request by itself."""

    code: str
    field: str
    message: str
    details: Mapping[str, object] = dataclass_field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"code": self.code, "field": self.field, "message": self.message,
                "details": dict(self.details)}


def _rupiah(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def _load_toml(name: str) -> dict:
    with open(DATA_DIR / name, "rb") as handle:
        return tomllib.load(handle)


# --------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class AgeLimit:
    min_age: int
    warn_below_age: int | None = None
    max_age: int | None = None
    above_max: RuleMode = RuleMode.WARN


@dataclass(frozen=True)
class RegistrationRules:
    age_limits: Mapping[str, AgeLimit]
    bpu_min_declared_income: int
    bpu_max_declared_income: int
    bpu_programs_required: tuple[str, ...]
    bpu_programs_optional: tuple[str, ...]
    jk_registration_deadline_working_days: int
    jk_max_duration_months: int

    @classmethod
    def from_dict(cls, data: Mapping) -> "RegistrationRules":
        limits = {
            segment: AgeLimit(
                min_age=int(raw["min_age"]),
                warn_below_age=raw.get("warn_below_age"),
                max_age=raw.get("max_age"),
                above_max=RuleMode(raw.get("above_max", "WARN")),
            )
            for segment, raw in data["age_limits"].items()
        }
        bpu, jk = data["bpu"], data["jk"]
        return cls(
            age_limits=limits,
            bpu_min_declared_income=int(bpu["min_declared_income"]),
            bpu_max_declared_income=int(bpu["max_declared_income"]),
            bpu_programs_required=tuple(bpu["programs_required"]),
            bpu_programs_optional=tuple(bpu["programs_optional"]),
            jk_registration_deadline_working_days=int(jk["registration_deadline_working_days"]),
            jk_max_duration_months=int(jk["max_duration_months"]),
        )


@lru_cache(maxsize=1)
def load_registration_rules() -> RegistrationRules:
    """The rules shipped in data/registration_rules.toml (read once, on first use)."""
    return RegistrationRules.from_dict(_load_toml("registration_rules.toml"))


@dataclass(frozen=True)
class MinimumWage:
    province_code: str
    amount: int
    valid_from: date


@dataclass(frozen=True)
class MinimumWageTable:
    """Dated UMP figures per province; `default_mode` is the configured WARN/REJECT policy."""

    entries: tuple[MinimumWage, ...]
    default_mode: RuleMode = RuleMode.WARN

    @classmethod
    def from_dict(cls, data: Mapping) -> "MinimumWageTable":
        entries = []
        for table in data.get("tables", []):
            valid_from = table["valid_from"]
            for province, amount in table["amounts"].items():
                if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
                    raise ValueError(f"UMP for {province} from {valid_from} must be positive int rupiah")
                entries.append(MinimumWage(str(province), amount, valid_from))
        mode = RuleMode(data.get("policy", {}).get("mode", "WARN"))
        return cls(tuple(entries), mode)

    def applicable(self, province_code: str, on: date) -> MinimumWage | None:
        """The entry with the latest `valid_from` on or before `on`, or None."""
        candidates = [e for e in self.entries
                      if e.province_code == province_code and e.valid_from <= on]
        return max(candidates, key=lambda e: e.valid_from, default=None)


@lru_cache(maxsize=1)
def load_minimum_wage_table() -> MinimumWageTable:
    return MinimumWageTable.from_dict(_load_toml("minimum_wages.toml"))


# --------------------------------------------------------------------------- checks

def _as_day(on: date | Period) -> date:
    return on.first_day() if isinstance(on, Period) else on


def check_minimum_wage(province_code: str, wage: int, mode: RuleMode | str | None = None, *,
                       on: date | Period, table: MinimumWageTable | None = None,
                       field: str = "monthly_wage") -> list[RegistrationWarning]:
    """Wage against the province's UMP in force on `on` (a day, or a contribution period's
    first day). Below it: a warning in WARN mode, ValidationFailed in REJECT mode. With no figure
    for that province and day the answer is a MINIMUM_WAGE_UNKNOWN warning in either mode:
    a rule we do not have never refuses anyone. `mode=None` uses the table's configured policy.
    """
    table = table or load_minimum_wage_table()
    mode = RuleMode(mode) if mode is not None else table.default_mode
    day = _as_day(on)
    floor = table.applicable(province_code, day)
    if floor is None:
        return [RegistrationWarning(
            "MINIMUM_WAGE_UNKNOWN", field,
            f"Upah minimum provinsi (kode {province_code}) untuk {day.isoformat()} belum "
            "tersedia; upah tidak dapat dibandingkan",
            {"province_code": province_code})]
    if wage >= floor.amount:
        return []
    message = (f"Upah {_rupiah(wage)} di bawah upah minimum provinsi {_rupiah(floor.amount)} "
               f"(berlaku sejak {floor.valid_from.isoformat()})")
    details = {"reason": "BELOW_MINIMUM_WAGE", "province_code": province_code,
               "minimum_wage": floor.amount, "valid_from": floor.valid_from.isoformat()}
    if mode is RuleMode.REJECT:
        raise ValidationFailed(message, field=field, details=details)
    return [RegistrationWarning("BELOW_MINIMUM_WAGE", field, message, details)]


def age_on(birth_date: date, on: date) -> int:
    """Whole years completed on `on` (someone born on 29 February turns a year older on 1 March
    in common years)."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def check_age(birth_date: date, on: date, segment: str, *,
              rules: RegistrationRules | None = None,
              field: str = "birth_date") -> list[RegistrationWarning]:
    """Age limits of the segment (PU, BPU, JK) on `on`: refuses below `min_age` (and a birth
    date after `on`), warns below `warn_below_age`, and above `max_age` warns or refuses."""
    rules = rules or load_registration_rules()
    if birth_date > on:
        raise ValidationFailed("Tanggal lahir tidak boleh setelah tanggal pendaftaran",
                               field=field, details={"reason": "BIRTH_DATE_IN_FUTURE"})
    limit = rules.age_limits.get(segment)
    if limit is None:
        raise ValueError(f"no age limits configured for segment {segment!r}")
    age = age_on(birth_date, on)
    details = {"age": age, "segment": segment}
    if age < limit.min_age:
        raise ValidationFailed(
            f"Usia {age} tahun di bawah batas usia minimal {limit.min_age} tahun untuk "
            f"peserta {segment}", field=field,
            details={**details, "reason": "AGE_BELOW_MINIMUM", "min_age": limit.min_age})
    warnings: list[RegistrationWarning] = []
    if limit.warn_below_age is not None and age < limit.warn_below_age:
        warnings.append(RegistrationWarning(
            "AGE_BELOW_ADULT", field,
            f"Peserta berusia {age} tahun (di bawah {limit.warn_below_age} tahun): pastikan "
            "ketentuan pekerja anak terpenuhi", {**details, "warn_below_age": limit.warn_below_age}))
    if limit.max_age is not None and age > limit.max_age:
        message = (f"Usia {age} tahun melebihi batas usia maksimal {limit.max_age} tahun "
                   f"untuk peserta {segment}")
        if limit.above_max is RuleMode.REJECT:
            raise ValidationFailed(message, field=field, details={
                **details, "reason": "AGE_ABOVE_MAXIMUM", "max_age": limit.max_age})
        warnings.append(RegistrationWarning("AGE_ABOVE_MAXIMUM", field, message,
                                            {**details, "max_age": limit.max_age}))
    return warnings


def check_jk_registration_deadline(work_order_date: date, on: date, calendar: WorkingCalendar,
                                   *, rules: RegistrationRules | None = None,
                                   field: str = "project.work_order_date"
                                   ) -> list[RegistrationWarning]:
    """A JK project is registered within N working days of its work order (SPK). A work order
    dated after `on`, or a late registration, gives a warning (the project is still covered)."""
    rules = rules or load_registration_rules()
    if work_order_date > on:
        return [RegistrationWarning(
            "WORK_ORDER_IN_FUTURE", field,
            "Tanggal SPK berada setelah tanggal pendaftaran: periksa kembali tanggal SPK")]
    days = rules.jk_registration_deadline_working_days
    deadline = calendar.add_working_days(work_order_date, days)
    if on <= deadline:
        return []
    return [RegistrationWarning(
        "LATE_JK_REGISTRATION", field,
        f"Pendaftaran proyek melewati batas {days} hari kerja sejak SPK "
        f"(batas {deadline.isoformat()})", {"deadline": deadline.isoformat()})]


def check_participant_registration(registration: "ParticipantRegistration", *, on: date,
                                   employer_province_code: str | None = None,
                                   wage_floor_mode: RuleMode | str | None = None,
                                   calendar: WorkingCalendar | None = None,
                                   rules: RegistrationRules | None = None,
                                   wage_table: MinimumWageTable | None = None,
                                   ) -> list[RegistrationWarning]:
    """Every data-dependent rule for a validated participant registration, on day `on`.

    PU wages are compared with the UMP of the employer's province (the workplace sets the
    floor, not the worker's home address): pass `employer_province_code`, or the wage check is
    skipped. JK deadlines need the working calendar: pass `calendar`, or that check is skipped.
    """
    warnings = check_age(registration.birth_date, on, registration.segment, rules=rules)
    if registration.segment == "PU" and employer_province_code:
        warnings += check_minimum_wage(employer_province_code, registration.monthly_wage,
                                       wage_floor_mode, on=on, table=wage_table)
    if registration.segment == "JK" and calendar is not None:
        warnings += check_jk_registration_deadline(registration.project.work_order_date, on,
                                                   calendar, rules=rules)
    return warnings
