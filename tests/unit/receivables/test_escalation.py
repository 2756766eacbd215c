"""Where a debtor stands on the default policy, day by day: every step once, one step per
evaluation, the anchor as the clock, pauses, the final state."""
from __future__ import annotations

from datetime import date, timedelta

from chalicelib.receivables.escalation import Position, consecutive_run, evaluate
from chalicelib.receivables.policy import DebtorFacts, default_policies

ANCHOR = date(2026, 12, 15)
POLICY = default_policies().policy_for("BLT", ANCHOR)


def facts(day: int, segment="PU", anchor=ANCHOR, tags=(), months=1, consecutive=1,
          amount=477_000) -> DebtorFacts:
    return DebtorFacts(segment=segment, today=anchor + timedelta(days=day), anchor=anchor,
                       amount=amount, unpaid_months=months,
                       consecutive_unpaid_months=consecutive, tags=frozenset(tags))


def walk(days, **kwargs) -> list[tuple[int, str]]:
    """Evaluate on each of `days`, carrying the position as the debtor record would."""
    position, taken = Position(), []
    for day in days:
        decision = evaluate(POLICY, facts(day, **kwargs), position)
        stepped_on = position.stepped_on
        if decision.step:
            taken.append((day, decision.step.step_id))
            stepped_on = ANCHOR + timedelta(days=day)
        position = Position(decision.state, decision.anchor, decision.taken, stepped_on)
    return taken


def test_day_by_day_for_a_year_each_step_once_on_its_day():
    assert walk(range(0, 400)) == [
        (1, "OVERDUE"), (8, "OVERDUE_R1"), (15, "OVERDUE_R2"), (22, "OVERDUE_R3"),
        (29, "OVERDUE_R4"), (30, "COLLECTION_LETTER"), (60, "SP1"), (180, "SP2"),
        (365, "LEGAL_HANDOVER")]


def test_a_check_that_missed_days_climbs_one_step_a_day_never_skipping_one():
    assert walk([25, 200, 201, 202, 203]) == [
        (25, "OVERDUE_R3"), (200, "COLLECTION_LETTER"), (201, "SP1"), (202, "SP2")]


def test_running_again_the_same_day_climbs_no_further():
    assert walk([25, 200, 200, 200, 201, 201]) == [
        (25, "OVERDUE_R3"), (200, "COLLECTION_LETTER"), (201, "SP1")]


def test_the_final_state_stops_re_evaluating_until_paid():
    position = Position("LEGAL_HANDOVER", ANCHOR, ("LEGAL_HANDOVER",))
    later = evaluate(POLICY, facts(500, anchor=date(2027, 3, 15)), position)
    assert (later.state, later.step, later.anchor) == ("LEGAL_HANDOVER", None, ANCHOR)
    paid = DebtorFacts(segment="PU", today=date(2028, 1, 1), anchor=None)
    assert evaluate(POLICY, paid, position).state == "CURRENT"


def test_a_pause_holds_the_debtor_and_keeps_the_steps_taken():
    position = Position("COLLECTION_LETTER", ANCHOR, ("OVERDUE", "COLLECTION_LETTER"))
    paused = evaluate(POLICY, facts(90, tags=["PAYMENT_PLAN"]), position)
    assert (paused.state, paused.step) == ("PAYMENT_PLAN", None)
    assert paused.taken == position.taken and paused.next_step is None
    resumed = evaluate(POLICY, facts(91), Position(paused.state, ANCHOR, paused.taken))
    assert resumed.step.step_id == "SP1"


def test_a_new_anchor_starts_its_own_steps_from_its_position():
    taken = ("OVERDUE", "OVERDUE_R1", "COLLECTION_LETTER", "SP1")
    moved = evaluate(POLICY, facts(37, anchor=date(2027, 1, 15)),
                     Position("SP1", ANCHOR, taken))
    assert (moved.state, moved.step.step_id, moved.taken) == (
        "COLLECTION_LETTER", "COLLECTION_LETTER", ("COLLECTION_LETTER",))


def test_bpu_weekly_then_quiet_then_inactive_on_the_third_unpaid_month():
    assert walk(range(0, 40), segment="BPU") == [
        (1, "OVERDUE"), (8, "OVERDUE_R1"), (15, "OVERDUE_R2"), (22, "OVERDUE_R3"),
        (29, "OVERDUE_R4")]
    quiet = evaluate(POLICY, facts(45, segment="BPU", months=2, consecutive=2), Position())
    assert (quiet.state, quiet.step) == ("IN_ARREARS", None)
    third = evaluate(POLICY, facts(63, segment="BPU", months=3, consecutive=3),
                     Position("IN_ARREARS", ANCHOR, ("OVERDUE",)))
    assert (third.state, third.step.step_id) == ("BPU_INACTIVE", "BPU_INACTIVE")
    gap = evaluate(POLICY, facts(63, segment="BPU", months=3, consecutive=2), Position())
    assert gap.state == "IN_ARREARS"


def test_the_worklist_knows_the_next_step_and_its_day():
    first = evaluate(POLICY, facts(1), Position())
    assert (first.next_step, first.next_step_on) == ("OVERDUE_R1", date(2026, 12, 23))
    letter = evaluate(POLICY, facts(30), Position("OVERDUE", ANCHOR, ("OVERDUE",)))
    assert (letter.next_step, letter.next_step_on) == ("SP1", date(2027, 2, 13))


def test_nothing_overdue_is_current():
    assert evaluate(POLICY, DebtorFacts("PU", ANCHOR, ANCHOR), Position()).state == "CURRENT"


def test_consecutive_unpaid_months():
    assert consecutive_run(["2026-12", "2027-01", "2027-02"]) == 3
    assert consecutive_run(["2026-11", "2027-01", "2027-02"]) == 2
    assert consecutive_run(["2026-12", "2026-12"]) == 1
    assert consecutive_run([]) == 0


def test_amount_and_unpaid_months_are_conditions_too():
    """A branch timeline (data only): KPKNL referral for large arrears of at least 3 months,
    the state attorney below that amount; small debts get letters but never a handover."""
    from chalicelib.receivables.policy.loader import parse_policies

    [policy] = parse_policies('''format_version = 1
[[policy]]
name = "mdn"
valid_from = 2026-01-01
[[policy.state]]
name = "KPKNL"
final = true
when = { segments = ["PU"], min_days = 90, min_amount = 100000000, min_unpaid_months = 3 }
actions = [{ kind = "letter", letter_type = "LEGAL_HANDOVER", legal_handover_target = "KPKNL" }]
[[policy.state]]
name = "ATTORNEY"
final = true
when = { segments = ["PU"], min_days = 90, min_amount = 1000000, max_amount = 99999999 }
actions = [{ kind = "letter", letter_type = "LEGAL_HANDOVER", legal_handover_target = "KEJAKSAAN" }]
[[policy.state]]
name = "LETTER"
when = { segments = ["PU"], min_days = 30 }
actions = [{ kind = "letter", letter_type = "REMINDER" }]
''', "mdn.toml")
    climbed = Position("LETTER", ANCHOR, ("LETTER",))

    def where(amount: int, months: int) -> tuple[str, str | None]:
        decision = evaluate(policy, facts(95, amount=amount, months=months), climbed)
        return decision.state, decision.step.step_id if decision.step else None

    assert where(150_000_000, 3) == ("KPKNL", "KPKNL")
    assert where(150_000_000, 2) == ("LETTER", None)        # large, but two months only
    assert where(5_000_000, 3) == ("ATTORNEY", "ATTORNEY")
    assert where(500_000, 6) == ("LETTER", None)             # small: letters, no handover
