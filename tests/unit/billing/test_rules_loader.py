"""The loader refuses bad rule data loudly, naming the file and the entry."""
from decimal import Decimal
from textwrap import dedent

import pytest

from chalicelib.billing.rules import (
    DATA_DIRECTORY,
    EmployerProfile,
    RuleDataError,
    default_rulebook,
    load_rulebook,
)
from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.errors import NoRuleForPeriod


def write_rules(directory, text, name="rules.toml"):
    (directory / name).write_text("format_version = 1\n" + dedent(text), encoding="utf-8")
    return directory


def jkm(valid_from, valid_to=None, rate="0.30", extra=""):
    until = f'valid_to = "{valid_to}"\n' if valid_to else ""
    return dedent(f"""
        [[contribution]]
        segment = "PU"
        program = "JKM"
        payer = "EMPLOYER"
        rate_percent = "{rate}"
        valid_from = "{valid_from}"
        {until}source = "test"
        {extra}
    """)


def test_the_shipped_data_loads_and_is_cached():
    assert default_rulebook() is default_rulebook()
    assert sorted(path.name for path in DATA_DIRECTORY.glob("*.toml")) == [
        "bpu.toml", "due_dates.toml", "fines.toml", "jk.toml", "jp_wage_cap.toml",
        "pu.toml", "relief_jkk_2025.toml"]


def test_a_new_version_closes_the_old_one(tmp_path):
    write_rules(tmp_path, jkm("2015-07", "2026-12") + jkm("2027-01", rate="0.35"))

    rulebook = load_rulebook(tmp_path)

    (december,) = rulebook.contributions("PU", "JKM", Period(2026, 12))
    (january,) = rulebook.contributions("PU", "JKM", Period(2027, 1))
    assert (december.rate, january.rate) == (Decimal("0.0030"), Decimal("0.0035"))


def test_lookup_outside_every_range_has_no_rule(tmp_path):
    rulebook = load_rulebook(write_rules(tmp_path, jkm("2015-07", "2026-12")))

    for period in (Period(2015, 6), Period(2027, 1)):
        with pytest.raises(NoRuleForPeriod):
            rulebook.contributions("PU", "JKM", period)


def test_overlapping_versions_fail(tmp_path):
    write_rules(tmp_path, jkm("2015-07") + jkm("2027-01", rate="0.35"))

    overlap = r"rules\.toml contribution #1 \(2015-07\.\.open\) overlaps"
    with pytest.raises(RuleDataError, match=overlap):
        load_rulebook(tmp_path)


def test_overlap_across_files_fails(tmp_path):
    write_rules(tmp_path, jkm("2015-07", "2026-12"), name="a.toml")
    write_rules(tmp_path, jkm("2026-12", rate="0.35"), name="b.toml")

    overlap = r"a\.toml contribution #1 .* overlaps b\.toml contribution #1"
    with pytest.raises(RuleDataError, match=overlap):
        load_rulebook(tmp_path)


def test_a_gap_in_a_mandatory_rule_fails(tmp_path):
    write_rules(tmp_path, jkm("2015-07", "2019-12") + jkm("2020-03", rate="0.35"))

    with pytest.raises(RuleDataError, match="gap from 2020-01 to 2020-02"):
        load_rulebook(tmp_path)


def test_a_gap_in_the_wage_cap_history_fails(tmp_path):
    caps = "".join(dedent(f"""
        [[wage_cap]]
        segment = "PU"
        program = "JP"
        amount = {amount}
        valid_from = "{start}"
        valid_to = "{end}"
        source = "test"
    """) for amount, start, end in [
        (7_000_000, "2015-07", "2016-02"),
        (7_335_300, "2016-04", "2017-02"),  # March 2016 is missing
    ])
    write_rules(tmp_path, caps)

    with pytest.raises(RuleDataError, match="wage cap PU JP: gap from 2016-03 to 2016-03"):
        load_rulebook(tmp_path)


CONDITION = """
    [[condition]]
    name = "big"
    min_active_workers = 50
    source = "test"
"""


def relief(valid_from, valid_to, rate="0.15", condition="big"):
    return jkm(valid_from, valid_to, rate=rate, extra=f'condition = "{condition}"')


BIG = EmployerProfile(active_workers=60)


def jkm_rate(rulebook, period, employer=None):
    (rule,) = rulebook.contributions("PU", "JKM", period, employer=employer)
    return rule.rate


def test_a_conditional_rule_may_have_gaps(tmp_path):
    write_rules(tmp_path, CONDITION + jkm("2015-07")
                + relief("2020-01", "2020-06") + relief("2021-01", "2021-06"))

    rulebook = load_rulebook(tmp_path)

    assert jkm_rate(rulebook, Period(2020, 3), BIG) == Decimal("0.0015")
    assert jkm_rate(rulebook, Period(2020, 9), BIG) == Decimal("0.0030")
    assert jkm_rate(rulebook, Period(2020, 3)) == Decimal("0.0030")


def test_a_conditional_rule_may_not_overlap_itself(tmp_path):
    write_rules(tmp_path, CONDITION + jkm("2015-07")
                + relief("2020-01", "2020-06") + relief("2020-06", "2020-09"))

    with pytest.raises(RuleDataError, match="overlaps"):
        load_rulebook(tmp_path)


def test_two_reliefs_for_the_same_employer_and_month_are_ambiguous(tmp_path):
    also_big = CONDITION.replace('"big"', '"also_big"').replace("50", "10")
    write_rules(tmp_path, CONDITION + also_big + jkm("2015-07")
                + relief("2020-01", "2020-06")
                + relief("2020-01", "2020-06", rate="0.10", condition="also_big"))
    rulebook = load_rulebook(tmp_path)

    with pytest.raises(RuleDataError, match="ambiguous"):
        jkm_rate(rulebook, Period(2020, 2), BIG)


@pytest.mark.parametrize("text, message", [
    (jkm("2015-07").replace('"0.30"', "0.30"), "write rates as strings"),
    (jkm("2015-07", rate="abc"), "not a number"),
    (jkm("2015-07", rate="101"), "between 0 and 100"),
    (jkm("2015-07", rate="-1"), "between 0 and 100"),
    (jkm("2015-7"), "not in the form YYYY-MM"),
    (jkm("2020-01", "2019-12"), "valid_to 2019-12 is before valid_from 2020-01"),
    (jkm("2015-07", extra="colour = 'red'"), "unknown field\\(s\\) colour"),
    (jkm("2015-07").replace('source = "test"', ""), "missing field 'source'"),
    (jkm("2015-07").replace('"JKM"', '"JKP"'), "program 'JKP' is not one of"),
    (jkm("2015-07", extra="amount = 6800"), "exactly one of rate_percent or amount"),
    (jkm("2015-07", extra='condition = "nobody"'), "unknown condition 'nobody'"),
    (jkm("2015-07", extra="risk_class = 6"), "risk_class 6 is not 1..5"),
    (jkm("2015-07", extra="min_amount = 5000\nmax_amount = 10"), "exceeds max_amount"),
    (jkm("2015-07", rate="0", extra="min_amount = 0"), "zero rate cannot have amount bounds"),
    ("[[rate]]\nsegment = 'PU'\n", "unknown kind of rule 'rate'"),
    ("contribution = 3\n", "must be an array of tables"),
    ("[[contribution\n", "not valid TOML"),
    (CONDITION + CONDITION, "defined twice"),
    ("[[condition]]\nname = 'x'\nsource = 't'\n", "tests nothing"),
])
def test_bad_values_fail_loudly_naming_the_file(tmp_path, text, message):
    write_rules(tmp_path, text)

    with pytest.raises(RuleDataError, match=message) as caught:
        load_rulebook(tmp_path)
    assert "rules.toml" in str(caught.value)


def tiers(*rows):
    return dedent("""
        [[tier_schedule]]
        segment = "JK"
        valid_from = "2015-07"
        source = "test"
        tiers = [
    """) + ",\n".join(rows) + "\n]\n"


@pytest.mark.parametrize("rows, message", [
    (['{ up_to = 500, JKK = "0.2" }', '{ up_to = 100, JKK = "0.1" }', '{ JKK = "0.1" }'],
     "must increase"),
    (['{ up_to = 100, JKK = "0.2" }', '{ up_to = 500, JKK = "0.1" }'], "the last has none"),
    (['{ JKK = "0.2" }', '{ up_to = 500, JKK = "0.1" }'], "the last has none"),
    (['{ up_to = 100, JKK = "0.2" }', '{ JKM = "0.1" }'], "same programs"),
    (['{ up_to = 100, JKK = 0.2 }', '{ JKK = "0.1" }'], "strings"),
    (['{ up_to = 100, JKX = "0.2" }', '{ JKX = "0.1" }'], "unknown program"),
])
def test_bad_tier_schedules_fail(tmp_path, rows, message):
    write_rules(tmp_path, tiers(*rows))

    with pytest.raises(RuleDataError, match=message):
        load_rulebook(tmp_path)


def test_a_file_without_format_version_fails(tmp_path):
    (tmp_path / "old.toml").write_text(jkm("2015-07"), encoding="utf-8")

    with pytest.raises(RuleDataError, match="old.toml: format_version must be 1"):
        load_rulebook(tmp_path)


def test_an_empty_or_missing_directory_fails(tmp_path):
    with pytest.raises(RuleDataError, match="holds no .toml files"):
        load_rulebook(tmp_path)
    with pytest.raises(RuleDataError, match="does not exist"):
        load_rulebook(tmp_path / "nowhere")
