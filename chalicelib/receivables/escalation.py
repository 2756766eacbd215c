"""Where a debtor stands on the escalation policy and which step is due today. Pure.

The debtor's clock is the ANCHOR, the earliest unpaid due date: payments settle the oldest
month first, so a partial payment leaves the anchor where it was and the ladder goes on
from the same step; only settling the oldest month moves the anchor (and the steps start
over for the arrears that remain, each identified by the new anchor).

Rules, in order:
1. Nothing overdue: CURRENT.
2. A final state (legal handover) holds until the arrears are paid in full.
3. The first state, most severe first, whose conditions all hold is where the debtor
   belongs. A pause state (payment plan, dispute) holds it there with no step below.
4. The ladder is climbed one step per day, never skipping one: if a less severe state on
   the debtor's way (every condition but the clock holds) has not been taken for this
   anchor, that step is taken today and the more severe one tomorrow. So a check that did
   not run for a week, or a debtor whose anchor moved, still gets every letter in order,
   and a second run on the same day takes nothing more.
5. Each step has one identity per debtor and anchor (repetitions: NAME_R1, NAME_R2, ...),
   recorded when taken, so it is taken exactly once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .policy.model import CURRENT, FALLBACK_STATE, Conditions, DebtorFacts, Policy, State


@dataclass(frozen=True)
class Position:
    """What the debtor record remembers between evaluations."""

    state: str = CURRENT
    anchor: date | None = None
    taken: tuple[str, ...] = ()   # step ids taken for `anchor`
    stepped_on: date | None = None  # the day of the last step taken


@dataclass(frozen=True)
class Step:
    step_id: str
    state: State


@dataclass(frozen=True)
class Decision:
    state: str
    anchor: date | None
    taken: tuple[str, ...]
    step: Step | None              # the step to take now (at most one)
    next_step: str | None = None   # for the worklist: what comes next, and when
    next_step_on: date | None = None

    @property
    def current(self) -> bool:
        return self.state == CURRENT


_FALLBACK = State(name=FALLBACK_STATE, when=Conditions(min_days=1))


def evaluate(policy: Policy, facts: DebtorFacts, position: Position) -> Decision:
    if not facts.in_arrears:
        return Decision(CURRENT, None, (), None)
    taken = position.taken if position.anchor == facts.anchor else ()
    held = policy.state(position.state)
    if held is not None and held.final:
        # the handover is done; only full payment (rule 1) brings the debtor back
        return Decision(held.name, position.anchor, position.taken, None)

    matched = next((s for s in policy.states if s.when.holds(facts)), _FALLBACK)
    if matched.pause:
        step = _step_if_new(matched, facts, taken)
        return _decision(matched, facts, taken, step, policy)

    rank = policy.rank(matched.name)
    on_the_way = [s for s in reversed(policy.states[rank + 1:])   # least severe first
                  if s.actions and not s.pause
                  and s.when.holds(facts, ignore_min_days=True) and s.name not in taken]
    tomorrow = facts.today + timedelta(days=1)
    if on_the_way:
        target = on_the_way[0]
        if position.stepped_on == facts.today:   # one step a day: this one tomorrow
            return Decision(position.state, facts.anchor, taken, None, target.name, tomorrow)
        step = Step(target.name, target)
        later = on_the_way[1].name if len(on_the_way) > 1 else matched.name
        return Decision(target.name, facts.anchor, taken + (step.step_id,), step, later,
                        tomorrow)
    step = _step_if_new(matched, facts, taken)
    if step is not None and position.stepped_on == facts.today and \
            policy.rank(position.state) > rank:   # climbed today already: tomorrow
        return Decision(position.state, facts.anchor, taken, None, step.step_id, tomorrow)
    return _decision(matched, facts, taken, step, policy)


def _step_if_new(state: State, facts: DebtorFacts, taken: tuple[str, ...]) -> Step | None:
    if not state.actions:
        return None
    step_id = state.step_id(facts.days)
    return None if step_id in taken else Step(step_id, state)


def _decision(state: State, facts: DebtorFacts, taken: tuple[str, ...], step: Step | None,
              policy: Policy) -> Decision:
    new_taken = taken + (step.step_id,) if step else taken
    next_step, next_on = _next(state, facts, policy)
    return Decision(state.name, facts.anchor, new_taken, step, next_step, next_on)


def _next(state: State, facts: DebtorFacts, policy: Policy) -> tuple[str | None, date | None]:
    """The next step the debtor will meet if nothing is paid (the worklist's next action):
    the state's next repetition or the nearest more severe state on its way."""
    if state.pause or state.final:
        return None, None
    candidates: list[tuple[date, str]] = []
    repeat_day = state.next_repeat_day(facts.days) if state.actions else None
    if repeat_day is not None:
        candidates.append((facts.anchor + timedelta(days=repeat_day),
                           state.step_id(repeat_day)))
    for more_severe in policy.states[:policy.rank(state.name)]:
        when = more_severe.when
        if more_severe.pause or not more_severe.actions or when.min_days is None:
            continue
        if when.holds(facts, ignore_min_days=True) and when.min_days > facts.days:
            candidates.append((facts.anchor + timedelta(days=when.min_days),
                               more_severe.name))
    if not candidates:
        return None, None
    on, name = min(candidates)
    return name, on


def consecutive_run(periods: list[str]) -> int:
    """The longest run of consecutive contribution periods ("YYYY-MM") in `periods`."""
    from chalicelib.shared_kernel.calendar import Period

    months = sorted({Period.parse(p) for p in periods})
    best = run = 0
    previous = None
    for month in months:
        run = run + 1 if previous is not None and previous.next() == month else 1
        best = max(best, run)
        previous = month
    return best
