"""NIK structure, its embedded birth date and sex, and the KK number."""
from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from chalicelib.registration.identifiers import (InvalidIdentifier, NikInfo, Sex, build_nik,
                                                 check_nik_birth_date, check_nik_matches,
                                                 check_nik_sex, normalize_kk_number,
                                                 normalize_nik, parse_nik, province_names)
from chalicelib.shared_kernel.errors import ValidationFailed

from .builders import MAN_BIRTH, MAN_NIK, WOMAN_NIK

REFERENCE = date(2026, 6, 1)


def reason_of(call, *args, **kwargs) -> InvalidIdentifier:
    with pytest.raises(InvalidIdentifier) as caught:
        call(*args, **kwargs)
    return caught.value


def test_a_mans_nik_from_kota_blitar_parses_into_its_parts():
    info = parse_nik(MAN_NIK, reference_date=REFERENCE)

    assert info == NikInfo(province="35", regency="72", district="01",
                           birth_date=date(1990, 5, 12), sex=Sex.MALE, serial="0001")
    assert info.region_code == "357201"
    assert info.province_name == "Jawa Timur"


def test_a_womans_nik_carries_the_day_plus_40():
    info = parse_nik(WOMAN_NIK, reference_date=REFERENCE)

    assert info.sex is Sex.FEMALE
    assert info.birth_date == date(1990, 5, 12)
    assert build_nik("35", "72", "01", date(1990, 5, 12), "P", 2) == WOMAN_NIK


def test_separators_typed_inside_the_nik_are_dropped():
    assert normalize_nik("3572 0112 0590 0001") == MAN_NIK
    assert normalize_nik(" 35.72.01-120590-0001 ") == MAN_NIK


@pytest.mark.parametrize("code", ["91", "92", "93", "94", "95", "96"])
def test_all_six_papua_provinces_are_known(code):
    assert normalize_nik(code + MAN_NIK[2:]) == code + MAN_NIK[2:]


@pytest.mark.parametrize("code", ["99", "97", "20", "00", "10", "37", "83"])
def test_a_province_code_that_does_not_exist_is_refused(code):
    error = reason_of(normalize_nik, code + MAN_NIK[2:])

    assert error.reason == "NIK_PROVINCE"
    assert error.message == f"Kode provinsi pada NIK ({code}) tidak dikenal"
    assert error.field == "nik"


def test_the_province_list_has_the_38_provinces_of_2022():
    assert len(province_names()) == 38
    assert province_names()["96"] == "Papua Barat Daya"


@pytest.mark.parametrize("nik, reason", [
    ("357201120590000", "NIK_FORMAT"),          # 15 digits
    ("35720112059000011", "NIK_FORMAT"),        # 17 digits
    ("35720112059O0001", "NIK_FORMAT"),         # letter O
    ("ABCDEFGHIJKLMNOP", "NIK_FORMAT"),
    ("", "NIK_FORMAT"),
    ("3500011205900001", "NIK_REGENCY"),
    ("3572001205900001", "NIK_DISTRICT"),
    ("3572013205900001", "NIK_BIRTH_DATE"),     # day 32
    ("3572013505900001", "NIK_BIRTH_DATE"),     # day 35: neither a man's nor a woman's
    ("3572017205900001", "NIK_BIRTH_DATE"),     # day 72 = woman's 32
    ("3572010005900001", "NIK_BIRTH_DATE"),     # day 00
    ("3572011213900001", "NIK_BIRTH_DATE"),     # month 13
    ("3572013102900001", "NIK_BIRTH_DATE"),     # 31 February
    ("3572012902010001", "NIK_BIRTH_DATE"),     # 29 February 1901/2001
    ("3572011205900000", "NIK_SERIAL"),
])
def test_malformed_niks_are_refused_with_a_reason(nik, reason):
    assert reason_of(normalize_nik, nik).reason == reason


def test_the_format_message_is_the_one_people_expect():
    assert reason_of(normalize_nik, "357201120590000").message == "NIK harus 16 digit angka"


@pytest.mark.parametrize("value", [3572011205900001, None, ["3572011205900001"]])
def test_a_nik_that_is_not_text_is_refused(value):
    assert reason_of(normalize_nik, value).reason == "NIK_FORMAT"


def test_an_invalid_nik_is_a_validation_failure_and_a_value_error():
    error = reason_of(normalize_nik, "123")

    assert isinstance(error, ValidationFailed) and isinstance(error, ValueError)
    assert error.to_body()["error"]["field"] == "nik"
    assert error.to_body()["error"]["details"] == {"reason": "NIK_FORMAT"}


def test_messages_never_repeat_the_nik():
    for nik in ["9972011205900001", "3572013505900001", "3572011205900000"]:
        assert nik not in reason_of(normalize_nik, nik).message


def test_29_february_2000_exists_though_1900_was_not_a_leap_year():
    nik = build_nik("35", "72", "01", date(2000, 2, 29), "P", 7)

    assert parse_nik(nik, reference_date=REFERENCE).birth_date == date(2000, 2, 29)


@pytest.mark.parametrize("born", [date(2005, 1, 31), date(1930, 7, 1), date(1999, 12, 31),
                                  date(2026, 6, 1)])
def test_the_century_is_the_latest_one_not_after_the_reference_date(born):
    nik = build_nik("35", "72", "01", born, "L", 1)

    assert parse_nik(nik, reference_date=REFERENCE).birth_date == born


def test_a_birth_date_only_possible_in_the_future_is_refused():
    nik = build_nik("35", "72", "01", date(2000, 2, 29), "L", 1)

    assert reason_of(parse_nik, nik, reference_date=date(1999, 1, 1)).reason == "NIK_BIRTH_DATE"


def test_the_stated_birth_date_and_sex_match_the_nik():
    check_nik_matches(MAN_NIK, date(1990, 5, 12), "L")
    check_nik_matches(WOMAN_NIK, date(1990, 5, 12), Sex.FEMALE)


def test_a_different_birth_date_is_refused_naming_both_dates():
    error = reason_of(check_nik_matches, MAN_NIK, date(1990, 5, 13), "L")

    assert error.reason == "NIK_BIRTH_DATE_MISMATCH"
    assert error.field == "birth_date"
    assert error.message == ("Tanggal lahir pada NIK (12-05-1990) tidak sesuai dengan "
                             "tanggal lahir 13-05-1990")


def test_a_year_a_century_apart_cannot_be_told_from_the_nik():
    # Only two digits of the year are in the NIK; the age rules (validation.check_age) and the
    # schema's year >= 1900 are what stop 1890 or 2090.
    check_nik_birth_date(MAN_NIK, date(2090, 5, 12))
    assert reason_of(check_nik_birth_date, MAN_NIK, date(1991, 5, 12)).message == (
        "Tanggal lahir pada NIK (12-05-1990) tidak sesuai dengan tanggal lahir 12-05-1991")


def test_a_woman_stating_male_is_refused_on_the_sex_field():
    error = reason_of(check_nik_matches, WOMAN_NIK, date(1990, 5, 12), "L")

    assert error.reason == "NIK_SEX_MISMATCH"
    assert error.field == "sex"
    assert error.message == ("Jenis kelamin pada NIK (perempuan) tidak sesuai dengan jenis "
                             "kelamin L (laki-laki)")


def test_a_man_stating_female_is_refused():
    assert reason_of(check_nik_sex, MAN_NIK, "P").reason == "NIK_SEX_MISMATCH"


def test_a_malformed_nik_is_reported_before_any_comparison():
    assert reason_of(check_nik_matches, "1234", MAN_BIRTH, "L").reason == "NIK_FORMAT"


# -------------------------------------------------------------------- KK number

def test_a_kk_number_is_16_digits_from_a_known_province():
    assert normalize_kk_number("3572 0101 0115 0003") == "3572010101150003"


@pytest.mark.parametrize("kk, reason", [("357201010115000", "KK_FORMAT"),
                                        ("35720101011500AB", "KK_FORMAT"),
                                        ("9972010101150003", "KK_PROVINCE")])
def test_a_malformed_kk_number_is_refused(kk, reason):
    assert reason_of(normalize_kk_number, kk).reason == reason


# -------------------------------------------------------------------- properties

provinces = st.sampled_from(sorted(province_names()))
two_digits_not_zero = st.integers(1, 99).map(lambda n: f"{n:02d}")
birth_dates = st.dates(min_value=REFERENCE.replace(year=REFERENCE.year - 100) + timedelta(days=1),
                       max_value=REFERENCE)


@settings(max_examples=300, deadline=None)
@given(province=provinces, regency=two_digits_not_zero, district=two_digits_not_zero,
       born=birth_dates, sex=st.sampled_from(list(Sex)), serial=st.integers(1, 9999))
def test_any_well_formed_nik_parses_back_to_its_parts(province, regency, district, born, sex,
                                                      serial):
    nik = build_nik(province, regency, district, born, sex, serial)

    assert parse_nik(nik, reference_date=REFERENCE) == NikInfo(
        province, regency, district, born, sex, f"{serial:04d}")
    assert normalize_nik(nik) == nik
    check_nik_matches(nik, born, sex)


@settings(max_examples=200, deadline=None)
@given(born=birth_dates, other=birth_dates, sex=st.sampled_from(list(Sex)))
def test_any_other_stated_birth_date_is_refused(born, other, sex):
    nik = build_nik("35", "72", "01", born, sex, 1)
    same_ddmmyy = (born.day, born.month, born.year % 100) == (other.day, other.month,
                                                              other.year % 100)
    if same_ddmmyy:
        check_nik_matches(nik, other, sex)
    else:
        assert reason_of(check_nik_matches, nik, other, sex).reason == "NIK_BIRTH_DATE_MISMATCH"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_arbitrary_text_never_crashes_the_nik_parser(text):
    try:
        normalize_nik(text)
    except InvalidIdentifier:
        pass
