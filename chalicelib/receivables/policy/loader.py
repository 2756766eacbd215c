"""Reading escalation policy files (TOML) into a checked PolicyBook.

Anything unexpected (an unknown field, a letter for BPU debtors, two policies in force on the
same day for the same branches, a repeat without a start day) raises PolicyDataError naming
the file and the entry: a policy change is a data change with a test, never a surprise at
01:00 in the daily check.
"""
from __future__ import annotations

import re
import tomllib
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from .model import (CHANNELS, CURRENT, DEACTIVATE, HANDOVER_TARGETS, LETTER, LETTER_TYPES,
                    MESSAGE, MESSAGE_TEMPLATES, SEGMENTS, TAGS, Action, Conditions,
                    PaymentPlanRules, Policy, PolicyBook, PreDue, State)

DATA_DIRECTORY = Path(__file__).parent
FORMAT_VERSION = 1
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")


class PolicyDataError(ValueError):
    pass


class _Table:
    """One TOML table; each field is taken once and leftovers are an error."""

    def __init__(self, raw: Any, where: str):
        if not isinstance(raw, dict):
            raise PolicyDataError(f"{where}: expected a table, got {raw!r}")
        self.raw, self.where = dict(raw), where

    def take(self, name: str, kind: type | tuple, default: Any = None, required=False):
        if name not in self.raw:
            if required:
                raise PolicyDataError(f"{self.where}: missing field {name!r}")
            return default
        value = self.raw.pop(name)
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise PolicyDataError(f"{self.where}: {name} = {value!r} is not {_kind(kind)}")
        return value

    def count(self, name: str, minimum: int = 0) -> int | None:
        value = self.take(name, int)
        if value is not None and value < minimum:
            raise PolicyDataError(f"{self.where}: {name} must be at least {minimum}")
        return value

    def names(self, name: str, allowed: tuple[str, ...]) -> frozenset[str] | None:
        values = self.take(name, list)
        if values is None:
            return None
        unknown = [v for v in values if v not in allowed]
        if unknown or not values:
            raise PolicyDataError(f"{self.where}: {name} must list some of {allowed}, "
                                  f"got {values!r}")
        return frozenset(values)

    def done(self) -> None:
        if self.raw:
            raise PolicyDataError(f"{self.where}: unknown field(s) {sorted(self.raw)}")


def _kind(kind) -> str:
    return " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__


def _day(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise PolicyDataError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def _conditions(raw: Any, where: str) -> Conditions:
    t = _Table(raw or {}, f"{where}.when")
    when = Conditions(
        min_days=t.count("min_days", 1), max_days=t.count("max_days", 1),
        min_amount=t.count("min_amount", 0), max_amount=t.count("max_amount", 0),
        min_unpaid_months=t.count("min_unpaid_months", 1),
        min_consecutive_unpaid_months=t.count("min_consecutive_unpaid_months", 1),
        segments=t.names("segments", SEGMENTS), tags_any=t.names("tags_any", TAGS),
        tags_none=t.names("tags_none", TAGS))
    t.done()
    if when.min_days and when.max_days and when.max_days < when.min_days:
        raise PolicyDataError(f"{where}.when: max_days is below min_days")
    return when


def _action(raw: Any, where: str) -> Action:
    t = _Table(raw, where)
    kind = t.take("kind", str, required=True)
    if kind == MESSAGE:
        template = t.take("template", str, required=True)
        if template not in MESSAGE_TEMPLATES:
            raise PolicyDataError(f"{where}: template {template!r} is not one the escalation "
                                  f"fills ({', '.join(MESSAGE_TEMPLATES)})")
        channel = t.take("channel", str, "WHATSAPP")
        if channel not in CHANNELS:
            raise PolicyDataError(f"{where}: channel must be one of {CHANNELS}")
        action = Action(MESSAGE, template=template, channel=channel)
    elif kind == LETTER:
        letter_type = t.take("letter_type", str, required=True)
        target = t.take("legal_handover_target", str)
        if letter_type not in LETTER_TYPES:
            raise PolicyDataError(f"{where}: letter_type must be one of {LETTER_TYPES}")
        if (letter_type == "LEGAL_HANDOVER") != (target is not None):
            raise PolicyDataError(f"{where}: legal_handover_target is required for "
                                  "LEGAL_HANDOVER letters and only for them")
        if target is not None and target not in HANDOVER_TARGETS:
            raise PolicyDataError(f"{where}: legal_handover_target must be one of "
                                  f"{HANDOVER_TARGETS}")
        action = Action(LETTER, letter_type=letter_type, legal_handover_target=target)
    elif kind == DEACTIVATE:
        action = Action(DEACTIVATE)
    else:
        raise PolicyDataError(f"{where}: kind must be message, letter or deactivate")
    t.done()
    return action


def _state(raw: Any, where: str) -> State:
    t = _Table(raw, where)
    name = t.take("name", str, required=True)
    where = f"{where} ({name})"
    if not _NAME.match(name) or name == CURRENT:
        raise PolicyDataError(f"{where}: state names are UPPER_SNAKE and never {CURRENT}")
    when = _conditions(t.take("when", dict, {}), where)
    actions = tuple(_action(a, f"{where}.actions[{i}]")
                    for i, a in enumerate(t.take("actions", list, [])))
    state = State(name=name, when=when, actions=actions, final=t.take("final", bool, False),
                  pause=t.take("pause", bool, False),
                  repeat_every_days=t.count("repeat_every_days", 1),
                  description=t.take("description", str, ""))
    t.done()
    kinds = [a.kind for a in actions]
    if len(kinds) != len(set(kinds)):
        raise PolicyDataError(f"{where}: at most one action of each kind per state (each "
                              "is enqueued once per debtor, step and anchor)")
    if LETTER in kinds and when.segments != frozenset({"PU"}):
        raise PolicyDataError(f"{where}: letters go to employers: add segments = [\"PU\"]")
    if DEACTIVATE in kinds and when.segments != frozenset({"BPU"}):
        raise PolicyDataError(f"{where}: only BPU memberships are deactivated: add "
                              "segments = [\"BPU\"]")
    if state.pause and (state.final or not when.tags_any):
        raise PolicyDataError(f"{where}: a pause state is held by a tag (tags_any) and is "
                              "never final")
    if state.repeat_every_days and when.min_days is None:
        raise PolicyDataError(f"{where}: repeat_every_days counts from min_days: set it")
    return state


def _policy(raw: Any, where: str) -> Policy:
    t = _Table(raw, where)
    name = t.take("name", str, required=True)
    where = f"{where} ({name})"
    valid_from = _day(t.take("valid_from", (date, str), required=True), f"{where}.valid_from")
    valid_to = t.take("valid_to", (date, str))
    branches = t.take("branches", list)
    pre = _Table(t.take("pre_due", dict, {}), f"{where}.pre_due")
    days_before = pre.take("days_before", list, [7, 3, 1])
    if not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 60
               for d in days_before) or len(set(days_before)) != len(days_before):
        raise PolicyDataError(f"{where}.pre_due: days_before must be distinct days 1..60")
    pre_due = PreDue(days_before=tuple(sorted(days_before, reverse=True)),
                     template=pre.take("template", str, "reminder_before_due"),
                     channel=pre.take("channel", str, "WHATSAPP"),
                     segments=pre.names("segments", SEGMENTS) or frozenset(SEGMENTS))
    pre.done()
    if pre_due.channel not in CHANNELS:
        raise PolicyDataError(f"{where}.pre_due: channel must be one of {CHANNELS}")
    if pre_due.template not in MESSAGE_TEMPLATES:
        raise PolicyDataError(f"{where}.pre_due: template {pre_due.template!r} is not one "
                              f"the escalation fills ({', '.join(MESSAGE_TEMPLATES)})")
    plans_table = _Table(t.take("payment_plans", dict, {}), f"{where}.payment_plans")
    defaults = PaymentPlanRules()
    max_instalments = plans_table.count("max_instalments", 2)
    grace_days = plans_table.count("grace_days", 0)
    first_within = plans_table.count("max_days_to_first_instalment", 1)
    plans = PaymentPlanRules(
        max_instalments=defaults.max_instalments if max_instalments is None
        else max_instalments,
        grace_days=defaults.grace_days if grace_days is None else grace_days,
        max_days_to_first_instalment=defaults.max_days_to_first_instalment
        if first_within is None else first_within)
    plans_table.done()
    states = tuple(_state(s, f"{where}.state[{i}]")
                   for i, s in enumerate(t.take("state", list, [])))
    source = t.take("source", str, "")
    t.done()
    if not states:
        raise PolicyDataError(f"{where}: a policy needs at least one state")
    names = [s.name for s in states]
    if len(names) != len(set(names)):
        raise PolicyDataError(f"{where}: state names must be unique")
    if branches is not None and (not branches or not all(isinstance(b, str) for b in branches)):
        raise PolicyDataError(f"{where}: branches must be a list of branch codes")
    policy = Policy(name=name, valid_from=valid_from,
                    valid_to=_day(valid_to, f"{where}.valid_to") if valid_to else None,
                    branches=frozenset(branches) if branches else None, states=states,
                    pre_due=pre_due, payment_plans=plans, source=source)
    if policy.valid_to is not None and policy.valid_to <= policy.valid_from:
        raise PolicyDataError(f"{where}: valid_to must be after valid_from")
    return policy


def _overlap(a: Policy, b: Policy) -> bool:
    scopes_meet = a.branches is None and b.branches is None or (
        a.branches is not None and b.branches is not None and a.branches & b.branches)
    if not scopes_meet:
        return False
    a_end, b_end = a.valid_to or date.max, b.valid_to or date.max
    return a.valid_from < b_end and b.valid_from < a_end


def parse_policies(text: str, origin: str) -> list[Policy]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyDataError(f"{origin}: not valid TOML: {exc}") from None
    top = _Table(data, origin)
    version = top.take("format_version", int, required=True)
    if version != FORMAT_VERSION:
        raise PolicyDataError(f"{origin}: format_version {version} is not {FORMAT_VERSION}")
    policies = [_policy(p, f"{origin}: policy[{i}]")
                for i, p in enumerate(top.take("policy", list, []))]
    top.done()
    return policies


def load_policies(directory: Path = DATA_DIRECTORY) -> PolicyBook:
    policies: list[Policy] = []
    for path in sorted(directory.glob("*.toml")):
        policies.extend(parse_policies(path.read_text(encoding="utf-8"), path.name))
    for i, a in enumerate(policies):
        for b in policies[i + 1:]:
            if _overlap(a, b):
                raise PolicyDataError(f"policies {a.name!r} and {b.name!r} are both in force "
                                      "on some day for the same branches")
    if not policies:
        raise PolicyDataError(f"no escalation policy under {directory}")
    return PolicyBook(tuple(policies))


@cache
def default_policies() -> PolicyBook:
    return load_policies()
