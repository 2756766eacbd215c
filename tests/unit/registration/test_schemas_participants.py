"""Participant registration bodies: person fields, NIK cross-checks, the three segments."""
import pytest
from pydantic import ValidationError

from chalicelib.registration.identifiers import Sex
from chalicelib.registration.schemas import (BpuParticipant, FieldError, JkParticipant,
                                             PuParticipant, describe_errors,
                                             parse_participant_registration)
from chalicelib.registration.validation import RegistrationRules, load_registration_rules

from .builders import (MAN_NIK, WOMAN_NIK, a_bpu_participant, a_jk_participant, a_jk_project,
                       a_pu_participant, an_address)


def errors_of(body, **kwargs) -> list[FieldError]:
    with pytest.raises(ValidationError) as caught:
        parse_participant_registration(body, **kwargs)
    return describe_errors(caught.value)


def only_error(body, **kwargs) -> FieldError:
    errors = errors_of(body, **kwargs)
    assert len(errors) == 1, errors
    return errors[0]


# -------------------------------------------------------------------- segments

def test_a_pu_participant_is_normalised():
    registration = parse_participant_registration(a_pu_participant())

    assert isinstance(registration, PuParticipant)
    assert registration.nik == MAN_NIK
    assert registration.phone == "+6281234567890"
    assert registration.sex is Sex.MALE
    assert registration.kk_number == "3572010101150003"
    assert registration.monthly_wage == 2_500_000


def test_a_bpu_participant_gets_jkk_and_jkm_by_default():
    body = a_bpu_participant()
    del body["programs"]

    registration = parse_participant_registration(body)

    assert isinstance(registration, BpuParticipant)
    assert registration.programs == ["JKK", "JKM"]


def test_bpu_programs_are_normalised_and_ordered():
    registration = parse_participant_registration(
        a_bpu_participant(programs=["jht", "JKM", " jkk "], wadah_code="wdh-blitar-01"))

    assert registration.programs == ["JKK", "JKM", "JHT"]
    assert registration.wadah_code == "WDH-BLITAR-01"


def test_a_jk_participant_carries_its_project():
    registration = parse_participant_registration(a_jk_participant())

    assert isinstance(registration, JkParticipant)
    assert registration.project.contract_value == 250_000_000
    assert registration.project.contractor_npwp == "0012345678901000"
    assert registration.project.work_order_date.isoformat() == "2026-03-02"


@pytest.mark.parametrize("segment", [None, "XX", "pu", 1])
def test_the_segment_must_be_pu_bpu_or_jk(segment):
    body = a_pu_participant()
    if segment is None:
        del body["segment"]
    else:
        body["segment"] = segment

    error = only_error(body)

    assert error.field == ""
    assert error.type == "segment_invalid"
    assert error.message == "Segmen (segment) wajib diisi dengan PU, BPU atau JK"


def test_fields_of_another_segment_are_unknown():
    error = only_error(a_pu_participant(declared_income=1_000_000))

    assert error == FieldError("declared_income", "extra_forbidden",
                               "Kolom 'declared_income' tidak dikenal")


def test_a_body_that_is_not_an_object_is_refused():
    assert errors_of(["PU"])[0].type == "segment_invalid"


# -------------------------------------------------------------------- NIK cross-checks

def test_a_woman_registers_with_her_day_plus_40_nik():
    registration = parse_participant_registration(
        a_pu_participant(nik=WOMAN_NIK, sex="p", name="Siti Aminah"))

    assert registration.sex is Sex.FEMALE


def test_a_birth_date_other_than_the_niks_is_refused_on_birth_date():
    error = only_error(a_pu_participant(birth_date="1990-05-13"))

    assert error.field == "birth_date"
    assert error.type == "nik_birth_date_mismatch"
    assert error.message == ("Tanggal lahir pada NIK (12-05-1990) tidak sesuai dengan tanggal "
                             "lahir 13-05-1990")


def test_a_sex_other_than_the_niks_is_refused_on_sex():
    error = only_error(a_pu_participant(nik=WOMAN_NIK, sex="L"))

    assert error.field == "sex"
    assert error.message == ("Jenis kelamin pada NIK (perempuan) tidak sesuai dengan jenis "
                             "kelamin L (laki-laki)")


def test_a_malformed_nik_is_the_only_error_reported():
    error = only_error(a_pu_participant(nik="357201120590000", birth_date="1991-01-01"))

    assert error == FieldError("nik", "nik_format", "NIK harus 16 digit angka")


def test_an_unknown_province_in_the_nik():
    error = only_error(a_pu_participant(nik="99" + MAN_NIK[2:]))

    assert error.message == "Kode provinsi pada NIK (99) tidak dikenal"


def test_the_nik_never_appears_in_the_error_text():
    with pytest.raises(ValidationError) as caught:
        parse_participant_registration(a_pu_participant(birth_date="1990-05-13", phone="abc"))

    assert MAN_NIK not in str(caught.value)
    assert "abc" not in str(caught.value)


# -------------------------------------------------------------------- person fields

@pytest.mark.parametrize("field, value, message", [
    ("name", "Budi 2", "Nama hanya boleh berisi huruf, spasi, titik, koma, apostrof dan tanda hubung"),
    ("name", "   ", "Nama wajib diisi"),
    ("name", "B", "Nama minimal 2 karakter"),
    ("name", 12, "Nama harus berupa teks"),
    ("birth_date", "12-05-1990", "Tanggal lahir harus berformat YYYY-MM-DD (contoh 1990-05-12)"),
    ("birth_date", 642470400, "Tanggal lahir harus berformat YYYY-MM-DD (contoh 1990-05-12)"),
    ("birth_date", "1990-02-30", "Tanggal lahir bukan tanggal yang valid"),
    ("sex", "X", "Jenis kelamin harus salah satu dari: L, P"),
    ("kk_number", "123", "Nomor KK harus 16 digit angka"),
    ("phone", "0342-123456", "Nomor telepon harus nomor ponsel (contoh 0812xxxxxxxx) agar dapat "
                             "menerima WhatsApp/SMS"),
    ("email", "budi@", "Alamat email tidak valid (contoh: nama@domain.co.id)"),
])
def test_person_fields_are_refused_in_indonesian_naming_the_field(field, value, message):
    error = only_error(a_pu_participant(**{field: value}))

    assert (error.field, error.message) == (field, message)


def test_names_with_apostrophes_dots_and_commas_are_fine():
    registration = parse_participant_registration(
        a_pu_participant(name="  Ni Luh  Putu Ayu, S.Kom. "))
    assert registration.name == "Ni Luh Putu Ayu, S.Kom."
    assert parse_participant_registration(a_pu_participant(name="Ma'ruf")).name == "Ma'ruf"


def test_email_is_optional_for_participants():
    body = a_pu_participant()
    del body["email"]

    assert parse_participant_registration(body).email is None


def test_missing_fields_are_named_in_indonesian():
    body = a_pu_participant()
    del body["nik"], body["monthly_wage"]

    assert {(e.field, e.message) for e in errors_of(body)} == {
        ("nik", "NIK wajib diisi"), ("monthly_wage", "Upah bulanan wajib diisi")}


def test_address_errors_carry_their_path():
    errors = errors_of(a_pu_participant(address=an_address(postal_code="0123", rt="01")))

    assert {(e.field, e.message) for e in errors} == {
        ("address.postal_code", "Kode pos tidak valid (contoh: 65111)"),
        ("address.rt", "Kolom 'rt' tidak dikenal")}


def test_the_address_province_must_exist():
    error = only_error(a_pu_participant(address=an_address(province_code="99")))

    assert (error.field, error.message) == ("address.province_code", "Kode provinsi 99 tidak dikenal")


# -------------------------------------------------------------------- money and numbers

@pytest.mark.parametrize("wage", [2_500_000.0, 2500000.5, "2500000", True, None])
def test_a_wage_must_be_a_json_integer(wage):
    error = only_error(a_pu_participant(monthly_wage=wage))

    assert error.field == "monthly_wage"
    assert error.message.startswith("Upah bulanan harus berupa bilangan bulat rupiah")


@pytest.mark.parametrize("wage", [0, -1])
def test_a_wage_must_be_positive(wage):
    assert only_error(a_pu_participant(monthly_wage=wage)).message == "Upah bulanan harus lebih dari 0"


def test_the_employer_npp_needs_its_check_digit():
    error = only_error(a_pu_participant(employer_npp="123456789"))

    assert error.field == "employer_npp"
    assert error.type == "npp_format"


@pytest.mark.parametrize("income", [999_999, 20_700_001])
def test_bpu_declared_income_outside_the_configured_range(income):
    error = only_error(a_bpu_participant(declared_income=income))

    assert error.field == "declared_income"
    assert error.message == ("Penghasilan yang dilaporkan harus antara Rp1.000.000 dan "
                             "Rp20.700.000")


@pytest.mark.parametrize("income", [1_000_000, 20_700_000])
def test_bpu_declared_income_bounds_are_inclusive(income):
    assert parse_participant_registration(a_bpu_participant(declared_income=income))


def test_the_income_range_comes_from_the_rules_given():
    shipped = load_registration_rules()
    rules = RegistrationRules(**{**shipped.__dict__, "bpu_min_declared_income": 2_000_000})

    error = only_error(a_bpu_participant(declared_income=1_500_000), rules=rules)

    assert "Rp2.000.000" in error.message


@pytest.mark.parametrize("programs, kind", [
    (["JKK"], "program_required"), (["JKK", "JKM", "JP"], "program_unavailable"),
    (["JKK", "JKM", "JKM"], "program_duplicate"), ("JKK,JKM", "programs_type"),
    ([], "program_required"),
])
def test_bpu_programs_must_include_jkk_and_jkm_and_nothing_else(programs, kind):
    error = only_error(a_bpu_participant(programs=programs))

    assert (error.field, error.type) == ("programs", kind)


def test_the_program_message_explains_what_is_missing():
    assert only_error(a_bpu_participant(programs=["JKK", "JHT"])).message == (
        "Program JKK dan JKM wajib untuk peserta BPU (belum dipilih: JKM)")


@pytest.mark.parametrize("change, field, kind", [
    ({"duration_months": 0}, "project.duration_months", "integer_range"),
    ({"duration_months": 121}, "project.duration_months", "integer_range"),
    ({"duration_months": 6.0}, "project.duration_months", "integer_type"),
    ({"contract_value": 2.5e8}, "project.contract_value", "rupiah_type"),
    ({"work_order_date": "02/03/2026"}, "project.work_order_date", "date_format"),
    ({"contractor_npwp": "123"}, "project.contractor_npwp", "npwp_format"),
    ({"work_order_number": ""}, "project.work_order_number", "text_empty"),
])
def test_jk_project_fields(change, field, kind):
    error = only_error(a_jk_participant(project=a_jk_project(**change)))

    assert (error.field, error.type) == (field, kind)


def test_the_jk_project_may_omit_the_contractor_npwp():
    project = a_jk_project()
    del project["contractor_npwp"]

    assert parse_participant_registration(a_jk_participant(project=project)).project.contractor_npwp is None


def test_json_bodies_validate_the_same_way():
    import json

    from chalicelib.registration.schemas import participant_registration_adapter

    body = json.dumps(a_pu_participant(monthly_wage=2_500_000.0))
    with pytest.raises(ValidationError) as caught:
        participant_registration_adapter.validate_json(body)
    assert describe_errors(caught.value)[0].type == "rupiah_type"
