"""What an escalation policy says, as plain values (no I/O): states, conditions, actions."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from chalicelib.shared_kernel.errors import NoRuleForPeriod

CURRENT = "CURRENT"           # nothing overdue: implicit, never written in the data
FALLBACK_STATE = "IN_ARREARS"  # overdue but no state of the policy matches

MESSAGE, LETTER, DEACTIVATE = "message", "letter", "deactivate"
LETTER_TYPES = ("REMINDER", "SP1", "SP2", "LEGAL_HANDOVER")
HANDOVER_TARGETS = ("KEJAKSAAN", "KPKNL")
CHANNELS = ("WHATSAPP", "SMS")
SEGMENTS = ("PU", "BPU")
TAGS = ("PAYMENT_PLAN", "DISPUTE")
# Blast templates whose parameters the escalation knows how to fill (receivables/messages.py).
MESSAGE_TEMPLATES = ("overdue", "fine_notice", "bpu_inactive", "reminder_before_due")


@dataclass(frozen=True)
class DebtorFacts:
    """What the policy looks at, for one debtor on one day."""

    segment: str
    today: date
    anchor: date | None               # the earliest unpaid due date among overdue bills
    amount: int = 0                   # owed on overdue bills, rupiah
    unpaid_months: int = 0
    consecutive_unpaid_months: int = 0
    tags: frozenset[str] = frozenset()

    @property
    def days(self) -> int:
        return (self.today - self.anchor).days if self.anchor else 0

    @property
    def in_arrears(self) -> bool:
        return self.anchor is not None and self.anchor < self.today


@dataclass(frozen=True)
class Conditions:
    min_days: int | None = None
    max_days: int | None = None
    min_amount: int | None = None
    max_amount: int | None = None
    min_unpaid_months: int | None = None
    min_consecutive_unpaid_months: int | None = None
    segments: frozenset[str] | None = None
    tags_any: frozenset[str] | None = None
    tags_none: frozenset[str] | None = None

    def holds(self, facts: DebtorFacts, *, ignore_min_days: bool = False) -> bool:
        """All conditions hold. `ignore_min_days`: is this state on the debtor's way up the
        ladder (every condition but the clock holds)?"""
        checks = (
            ignore_min_days or self.min_days is None or facts.days >= self.min_days,
            self.max_days is None or facts.days <= self.max_days,
            self.min_amount is None or facts.amount >= self.min_amount,
            self.max_amount is None or facts.amount <= self.max_amount,
            self.min_unpaid_months is None or facts.unpaid_months >= self.min_unpaid_months,
            self.min_consecutive_unpaid_months is None
            or facts.consecutive_unpaid_months >= self.min_consecutive_unpaid_months,
            self.segments is None or facts.segment in self.segments,
            self.tags_any is None or bool(self.tags_any & facts.tags),
            self.tags_none is None or not (self.tags_none & facts.tags),
        )
        return all(checks)


@dataclass(frozen=True)
class Action:
    kind: str                                 # message | letter | deactivate
    template: str | None = None               # message
    channel: str = "WHATSAPP"                 # message
    letter_type: str | None = None            # letter
    legal_handover_target: str | None = None  # letter LEGAL_HANDOVER


@dataclass(frozen=True)
class State:
    name: str
    when: Conditions
    actions: tuple[Action, ...] = ()
    final: bool = False
    pause: bool = False
    repeat_every_days: int | None = None
    description: str = ""

    def step_id(self, days: int) -> str:
        """The step this state stands for on day `days` of the arrears: the state's name,
        then NAME_R1, NAME_R2... for each repetition (one identity per occurrence, so each
        is taken exactly once)."""
        if not self.repeat_every_days or self.when.min_days is None:
            return self.name
        occurrence = max(days - self.when.min_days, 0) // self.repeat_every_days
        return self.name if occurrence == 0 else f"{self.name}_R{occurrence}"

    def next_repeat_day(self, days: int) -> int | None:
        """The arrears day of this state's next repetition after `days`, if it still falls
        within the state."""
        if not self.repeat_every_days or self.when.min_days is None:
            return None
        occurrence = max(days - self.when.min_days, 0) // self.repeat_every_days + 1
        day = self.when.min_days + occurrence * self.repeat_every_days
        if self.when.max_days is not None and day > self.when.max_days:
            return None
        return day


@dataclass(frozen=True)
class PreDue:
    days_before: tuple[int, ...] = (7, 3, 1)   # descending
    template: str = "reminder_before_due"
    channel: str = "WHATSAPP"
    segments: frozenset[str] = frozenset(SEGMENTS)

    def step_for(self, days_before_due: int) -> int | None:
        """The reminder owed when the due date is `days_before_due` days away: the nearest
        configured offset at or above it (a missed day catches up with the latest reminder,
        never with stale ones)."""
        candidates = [d for d in self.days_before if d >= days_before_due]
        if days_before_due < 1 or not candidates:
            return None
        return min(candidates)

    @property
    def horizon(self) -> int:
        return max(self.days_before) if self.days_before else 0


@dataclass(frozen=True)
class PaymentPlanRules:
    max_instalments: int = 12
    grace_days: int = 3
    max_days_to_first_instalment: int = 45


@dataclass(frozen=True)
class Policy:
    name: str
    valid_from: date
    states: tuple[State, ...]                 # most severe first
    valid_to: date | None = None              # exclusive
    branches: frozenset[str] | None = None    # None: every branch without its own
    pre_due: PreDue = field(default_factory=PreDue)
    payment_plans: PaymentPlanRules = field(default_factory=PaymentPlanRules)
    source: str = ""

    def state(self, name: str) -> State | None:
        return next((s for s in self.states if s.name == name), None)

    def rank(self, name: str) -> int:
        """0 for the most severe state; CURRENT and unknown names rank below every state."""
        for index, state in enumerate(self.states):
            if state.name == name:
                return index
        return len(self.states)

    def applies(self, branch: str | None, day: date) -> bool:
        if day < self.valid_from or (self.valid_to is not None and day >= self.valid_to):
            return False
        return self.branches is None or branch in self.branches


@dataclass(frozen=True)
class PolicyBook:
    policies: tuple[Policy, ...]

    def policy_for(self, branch: str | None, day: date) -> Policy:
        """A branch's own policy in force on `day`, else the default one."""
        own = [p for p in self.policies if p.branches is not None and p.applies(branch, day)]
        if own:
            return own[0]
        default = [p for p in self.policies if p.branches is None and p.applies(branch, day)]
        if default:
            return default[0]
        raise NoRuleForPeriod(f"no escalation policy in force on {day} for branch {branch}",
                              details={"day": day.isoformat(), "branch": branch})

    def state_names(self) -> list[str]:
        names: list[str] = []
        for policy in self.policies:
            names.extend(s.name for s in policy.states if s.name not in names)
        return names
