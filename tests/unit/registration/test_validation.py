"""Data-driven rules: minimum wage (UMP), ages, JK registration deadline."""
from datetime import date

import pytest

from chalicelib.registration.identifiers import province_names
from chalicelib.registration.schemas import parse_participant_registration
from chalicelib.registration.validation import (AgeLimit, MinimumWageTable,
                                                RegistrationRules, RuleMode, age_on,
                                                check_age, check_jk_registration_deadline,
                                                check_minimum_wage,
                                                check_participant_registration,
                                                load_minimum_wage_table,
                                                load_registration_rules)
from chalicelib.shared_kernel.calendar import Period, WorkingCalendar
from chalicelib.shared_kernel.errors import ValidationFailed

from .builders import a_bpu_participant, a_jk_participant, a_jk_project, a_pu_participant

JATIM_UMP_2025 = 2_305_984
IN_2025 = date(2025, 7, 1)


def rules_with(**limits: AgeLimit) -> RegistrationRules:
    shipped = load_registration_rules()
    return RegistrationRules(**{**shipped.__dict__, "age_limits": {**shipped.age_limits, **limits}})


# -------------------------------------------------------------------- minimum wage

def test_a_wage_at_the_ump_passes():
    assert check_minimum_wage("35", JATIM_UMP_2025, RuleMode.WARN, on=IN_2025) == []


def test_a_wage_below_the_ump_warns_by_default():
    [warning] = check_minimum_wage("35", JATIM_UMP_2025 - 1, on=IN_2025)

    assert warning.code == "BELOW_MINIMUM_WAGE"
    assert warning.field == "monthly_wage"
    assert warning.message == ("Upah Rp2.305.983 di bawah upah minimum provinsi Rp2.305.984 "
                               "(berlaku sejak 2025-01-01)")
    assert warning.details["minimum_wage"] == JATIM_UMP_2025


def test_a_wage_below_the_ump_is_refused_in_reject_mode():
    with pytest.raises(ValidationFailed) as caught:
        check_minimum_wage("35", 2_000_000, "REJECT", on=IN_2025, field="wage")

    assert caught.value.field == "wage"
    assert caught.value.details["reason"] == "BELOW_MINIMUM_WAGE"
    assert caught.value.message.startswith("Upah Rp2.000.000 di bawah upah minimum provinsi")


def test_a_newer_table_replaces_the_older_figure():
    assert check_minimum_wage("31", 5_500_000, on=date(2025, 12, 31)) == []
    [warning] = check_minimum_wage("31", 5_500_000, on=date(2026, 1, 1))
    assert warning.details["minimum_wage"] == 5_729_876


def test_a_province_missing_from_the_newer_table_keeps_its_older_figure():
    [warning] = check_minimum_wage("35", 2_000_000, on=Period(2026, 3))

    assert warning.details["minimum_wage"] == JATIM_UMP_2025


def test_with_no_figure_for_the_day_the_answer_is_a_warning_even_in_reject_mode():
    [warning] = check_minimum_wage("35", 1, RuleMode.REJECT, on=date(2024, 12, 31))

    assert warning.code == "MINIMUM_WAGE_UNKNOWN"


def test_the_configured_policy_applies_when_no_mode_is_given():
    table = MinimumWageTable.from_dict({
        "policy": {"mode": "REJECT"},
        "tables": [{"valid_from": date(2025, 1, 1), "amounts": {"35": 3_000_000}}]})

    with pytest.raises(ValidationFailed):
        check_minimum_wage("35", 2_999_999, on=IN_2025, table=table)
    assert check_minimum_wage("35", 2_999_999, RuleMode.WARN, on=IN_2025, table=table)


def test_a_table_with_a_non_integer_amount_is_refused_when_loaded():
    with pytest.raises(ValueError):
        MinimumWageTable.from_dict({"tables": [{"valid_from": date(2025, 1, 1),
                                                "amounts": {"35": 2_305_984.5}}]})


def test_the_shipped_table_covers_every_province_from_2025_and_only_real_ones():
    table = load_minimum_wage_table()

    assert table.default_mode is RuleMode.WARN
    assert {e.province_code for e in table.entries} <= set(province_names())
    for code in province_names():
        floor = table.applicable(code, date(2025, 1, 1))
        assert floor is not None, code
        assert 2_000_000 <= floor.amount <= 6_000_000


def test_the_shipped_2026_figures_are_not_below_2025():
    table = load_minimum_wage_table()
    for code in province_names():
        assert table.applicable(code, date(2026, 1, 1)).amount >= table.applicable(
            code, date(2025, 1, 1)).amount


# -------------------------------------------------------------------- ages

@pytest.mark.parametrize("born, on, age", [
    (date(1990, 5, 12), date(2026, 5, 11), 35), (date(1990, 5, 12), date(2026, 5, 12), 36),
    (date(2004, 2, 29), date(2025, 2, 28), 20), (date(2004, 2, 29), date(2025, 3, 1), 21),
])
def test_age_in_whole_years(born, on, age):
    assert age_on(born, on) == age


def test_an_adult_pu_participant_has_no_age_remark():
    assert check_age(date(1990, 5, 12), date(2026, 6, 1), "PU") == []


def test_a_14_year_old_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        check_age(date(2011, 6, 2), date(2026, 6, 1), "PU")

    assert caught.value.field == "birth_date"
    assert caught.value.message == "Usia 14 tahun di bawah batas usia minimal 15 tahun untuk peserta PU"


def test_a_15_year_old_gets_a_child_labour_warning():
    [warning] = check_age(date(2011, 6, 1), date(2026, 6, 1), "PU")

    assert warning.code == "AGE_BELOW_ADULT"


def test_a_bpu_participant_over_65_gets_a_warning():
    [warning] = check_age(date(1960, 1, 1), date(2026, 6, 1), "BPU")

    assert warning.code == "AGE_ABOVE_MAXIMUM"
    assert warning.message == "Usia 66 tahun melebihi batas usia maksimal 65 tahun untuk peserta BPU"


def test_a_bpu_participant_of_exactly_65_is_fine():
    assert check_age(date(1961, 6, 1), date(2026, 6, 1), "BPU") == []


def test_an_upper_age_can_be_configured_to_refuse():
    rules = rules_with(BPU=AgeLimit(min_age=15, max_age=65, above_max=RuleMode.REJECT))

    with pytest.raises(ValidationFailed):
        check_age(date(1960, 1, 1), date(2026, 6, 1), "BPU", rules=rules)


def test_pu_has_no_upper_age():
    assert check_age(date(1940, 1, 1), date(2026, 6, 1), "PU") == []


def test_a_jk_registrant_must_be_an_adult():
    with pytest.raises(ValidationFailed):
        check_age(date(2010, 1, 1), date(2026, 6, 1), "JK")


def test_a_birth_date_after_the_registration_day_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        check_age(date(2026, 6, 2), date(2026, 6, 1), "PU")
    assert caught.value.details["reason"] == "BIRTH_DATE_IN_FUTURE"


def test_a_segment_without_limits_is_a_programming_error():
    with pytest.raises(ValueError):
        check_age(date(1990, 1, 1), date(2026, 6, 1), "XX")


# -------------------------------------------------------------------- JK deadline

CALENDAR = WorkingCalendar()


def test_a_jk_project_registered_within_14_working_days_is_on_time():
    # SPK Monday 2 March 2026; 14 working days later is Friday 20 March (no national holiday
    # falls in between in the holidays package's calendar).
    deadline = CALENDAR.add_working_days(date(2026, 3, 2), 14)

    assert check_jk_registration_deadline(date(2026, 3, 2), deadline, CALENDAR) == []


def test_a_late_jk_registration_is_flagged():
    deadline = CALENDAR.add_working_days(date(2026, 3, 2), 14)
    [warning] = check_jk_registration_deadline(date(2026, 3, 2), date.fromordinal(deadline.toordinal() + 1), CALENDAR)

    assert warning.code == "LATE_JK_REGISTRATION"
    assert warning.details["deadline"] == deadline.isoformat()


def test_configured_extra_holidays_push_the_deadline():
    plain = CALENDAR.add_working_days(date(2026, 3, 2), 14)
    with_leave = WorkingCalendar.with_extra([date(2026, 3, 4)])

    assert check_jk_registration_deadline(date(2026, 3, 2), plain, with_leave) == []
    assert with_leave.add_working_days(date(2026, 3, 2), 14) > plain


def test_a_work_order_dated_after_registration_is_flagged():
    [warning] = check_jk_registration_deadline(date(2026, 3, 10), date(2026, 3, 2), CALENDAR)

    assert warning.code == "WORK_ORDER_IN_FUTURE"


# -------------------------------------------------------------------- everything at once

def test_a_pu_registration_is_checked_against_the_employers_province():
    registration = parse_participant_registration(a_pu_participant(monthly_wage=2_000_000))

    warnings = check_participant_registration(registration, on=date(2026, 6, 1),
                                              employer_province_code="35")

    assert [w.code for w in warnings] == ["BELOW_MINIMUM_WAGE"]


def test_a_pu_registration_without_the_employers_province_skips_the_wage_check():
    registration = parse_participant_registration(a_pu_participant(monthly_wage=1))

    assert check_participant_registration(registration, on=date(2026, 6, 1)) == []


def test_a_pu_registration_can_be_refused_for_its_wage():
    registration = parse_participant_registration(a_pu_participant(monthly_wage=1))

    with pytest.raises(ValidationFailed):
        check_participant_registration(registration, on=date(2026, 6, 1),
                                       employer_province_code="35", wage_floor_mode="REJECT")


def test_a_late_jk_registration_of_an_adult():
    registration = parse_participant_registration(
        a_jk_participant(project=a_jk_project(work_order_date="2026-01-05")))

    warnings = check_participant_registration(registration, on=date(2026, 6, 1),
                                              calendar=CALENDAR)

    assert [w.code for w in warnings] == ["LATE_JK_REGISTRATION"]
    assert warnings[0].to_dict()["field"] == "project.work_order_date"


def test_a_bpu_registration_only_has_age_rules():
    registration = parse_participant_registration(a_bpu_participant())

    assert check_participant_registration(registration, on=date(2026, 6, 1),
                                          employer_province_code="35") == []


def test_the_shipped_rules_load():
    rules = load_registration_rules()

    assert rules.bpu_min_declared_income == 1_000_000
    assert rules.bpu_max_declared_income == 20_700_000
    assert rules.jk_registration_deadline_working_days == 14
    assert set(rules.age_limits) == {"PU", "BPU", "JK"}
