"""Dates as the agency lives them: Asia/Jakarta, contribution periods, working days.

Working days come from the `holidays` package's Indonesian calendar (maintained upstream,
including the collective-leave days it knows) plus extra days configured per deployment.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Iterable
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
_PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Period:
    """A contribution month, "YYYY-MM"."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Period":
        if not isinstance(text, str):
            raise ValueError("period must be a string 'YYYY-MM'")
        match = _PERIOD_RE.match(text)
        if not match:
            raise ValueError(f"period {text!r} is not in the form YYYY-MM")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> "Period":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def plus(self, months: int) -> "Period":
        index = self.year * 12 + (self.month - 1) + months
        return Period(index // 12, index % 12 + 1)

    def next(self) -> "Period":
        return self.plus(1)

    def previous(self) -> "Period":
        return self.plus(-1)

    def months_until(self, other: "Period") -> int:
        return (other.year * 12 + other.month) - (self.year * 12 + self.month)

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def day(self, day_of_month: int) -> date:
        return date(self.year, self.month, day_of_month)


def to_jakarta(moment: datetime) -> datetime:
    """An aware instant seen in Asia/Jakarta. Naive datetimes are refused, never guessed."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: an instant needs its time zone")
    return moment.astimezone(JAKARTA)


def parse_instant(text: str) -> datetime:
    """ISO 8601 with offset (EventBridge sends '2026-12-01T00:00:00Z')."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return to_jakarta(moment)


def jakarta_today(moment: datetime) -> date:
    return to_jakarta(moment).date()


@lru_cache(maxsize=64)
def _national_holidays(year: int) -> frozenset[date]:
    import holidays  # imported where used: it is only needed on calendar paths

    return frozenset(holidays.country_holidays("ID", years=year).keys())


@dataclass(frozen=True)
class WorkingCalendar:
    """Weekends, Indonesian national holidays, and configured extra non-working days."""

    extra_holidays: frozenset[date] = frozenset()

    @classmethod
    def with_extra(cls, days: Iterable[date | str]) -> "WorkingCalendar":
        return cls(frozenset(d if isinstance(d, date) else date.fromisoformat(d) for d in days))

    def is_working_day(self, day: date) -> bool:
        if day.weekday() >= 5:
            return False
        if day in self.extra_holidays:
            return False
        return day not in _national_holidays(day.year)

    def on_or_after(self, day: date) -> date:
        """The day itself if it is a working day, else the next working day."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, count: int) -> date:
        current = day
        remaining = count
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current
