"""The escalation policy as data: the default file says what the issue lists, and bad data
is refused with the file and entry named."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.receivables.policy import PolicyDataError, default_policies
from chalicelib.receivables.policy.loader import load_policies, parse_policies
from chalicelib.shared_kernel.errors import NoRuleForPeriod

DAY = date(2026, 12, 16)


def test_default_policy_is_ordered_most_severe_first_with_the_issue_timeline():
    policy = default_policies().policy_for("BLT", DAY)
    ladder = [(s.name, s.when.min_days) for s in policy.states]
    assert ladder == [("PAYMENT_PLAN", None), ("DISPUTED", None), ("LEGAL_HANDOVER", 365),
                      ("SP2", 180), ("SP1", 60), ("COLLECTION_LETTER", 30),
                      ("BPU_INACTIVE", None), ("OVERDUE", 1), ("IN_ARREARS", 1)]
    assert policy.pre_due.days_before == (7, 3, 1)
    overdue = policy.state("OVERDUE")
    assert (overdue.repeat_every_days, overdue.when.max_days) == (7, 29)   # weekly, month 1
    assert policy.state("LEGAL_HANDOVER").final
    handover = policy.state("LEGAL_HANDOVER").actions[0]
    assert (handover.letter_type, handover.legal_handover_target) == ("LEGAL_HANDOVER",
                                                                      "KEJAKSAAN")
    assert [a.letter_type for s in ("COLLECTION_LETTER", "SP1", "SP2")
            for a in policy.state(s).actions if a.kind == "letter"] == ["REMINDER", "SP1", "SP2"]
    bpu = policy.state("BPU_INACTIVE")
    assert bpu.when.min_consecutive_unpaid_months == 3 and bpu.when.segments == {"BPU"}
    assert [a.kind for a in bpu.actions] == ["deactivate", "message"]


_HEAD = 'format_version = 1\n[[policy]]\nname = "x"\nvalid_from = 2020-01-01\n'


def _policy(states: str, head: str = _HEAD) -> str:
    return head + states


@pytest.mark.parametrize("states, problem", [
    ('[[policy.state]]\nname = "LATE"\nwhen = { min_days = 1 }\ncolour = "red"\n',
     "unknown field"),
    ('[[policy.state]]\nname = "LATE"\nwhen = { min_days = 1 }\n'
     'actions = [{ kind = "letter", letter_type = "SP1" }]\n', "letters go to employers"),
    ('[[policy.state]]\nname = "LATE"\nwhen = { segments = ["PU"] }\n'
     'actions = [{ kind = "deactivate" }]\n', "only BPU"),
    ('[[policy.state]]\nname = "LATE"\nwhen = { segments = ["PU"] }\n'
     'actions = [{ kind = "letter", letter_type = "LEGAL_HANDOVER" }]\n',
     "legal_handover_target is required"),
    ('[[policy.state]]\nname = "LATE"\nwhen = { min_days = 1 }\n'
     'actions = [{ kind = "message", template = "promo" }]\n', "not one the escalation"),
    ('[[policy.state]]\nname = "LATE"\npause = true\n', "held by a tag"),
    ('[[policy.state]]\nname = "LATE"\nrepeat_every_days = 7\n', "counts from min_days"),
    ('[[policy.state]]\nname = "CURRENT"\n', "never CURRENT"),
    ('[[policy.state]]\nname = "LATE"\nwhen = { min_days = 10, max_days = 5 }\n', "below"),
    ('[[policy.state]]\nname = "LATE"\nwhen = { min_days = "1" }\n', "is not int"),
    ('[[policy.state]]\nname = "LATE"\nwhen = { min_days = 1 }\n'
     'actions = [{ kind = "message", template = "overdue" },'
     ' { kind = "message", template = "fine_notice" }]\n', "at most one action"),
    ('', "at least one state"),
])
def test_bad_policy_data_is_refused_naming_the_entry(states, problem):
    with pytest.raises(PolicyDataError, match=problem):
        parse_policies(_policy(states), "bad.toml")


def test_a_branch_timeline_overrides_the_default_and_dates_select_the_policy(tmp_path):
    state = '[[policy.state]]\nname = "OVERDUE"\nwhen = { min_days = 1 }\n'
    (tmp_path / "a.toml").write_text(
        _policy(state) + '\n[[policy]]\nname = "madiun"\nvalid_from = 2026-01-01\n'
        'branches = ["MDN"]\n' + state.replace("[[policy.state]]", "[[policy.state]]")
        + '\n[[policy]]\nname = "new"\nvalid_from = 2027-01-01\nvalid_to = 2028-01-01\n'
        'branches = ["BLT"]\n' + state)
    book = load_policies(tmp_path)
    assert book.policy_for("MDN", date(2026, 6, 1)).name == "madiun"
    assert book.policy_for("MDN", date(2025, 6, 1)).name == "x"
    assert book.policy_for("BLT", date(2027, 6, 1)).name == "new"
    assert book.policy_for("BLT", date(2028, 1, 1)).name == "x"


def test_two_default_policies_in_force_together_are_refused(tmp_path):
    state = '[[policy.state]]\nname = "LATE"\nwhen = { min_days = 1 }\n'
    (tmp_path / "a.toml").write_text(_policy(state))
    (tmp_path / "b.toml").write_text(_policy(state).replace('"x"', '"y"'))
    with pytest.raises(PolicyDataError, match="both in force"):
        load_policies(tmp_path)


def test_no_policy_for_the_day_is_a_422():
    book = default_policies()
    with pytest.raises(NoRuleForPeriod):
        book.policy_for("BLT", date(2010, 1, 1))
