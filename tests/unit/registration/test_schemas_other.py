"""Employer registration, verification decisions, wage changes, contacts and opt-in."""
import pytest
from pydantic import BaseModel, ValidationError

from chalicelib.registration.schemas import (Channel, ContactUpdate, Decision,
                                             EmployerContactUpdate, EmployerRegistration,
                                             FieldError, OptIn, VerificationDecision,
                                             WageChange, describe_errors,
                                             participant_registration_adapter)
from chalicelib.shared_kernel.calendar import Period

from .builders import an_address, an_employer


def errors_of(model: type[BaseModel], body) -> list[FieldError]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return describe_errors(caught.value)


def only_error(model: type[BaseModel], body) -> FieldError:
    errors = errors_of(model, body)
    assert len(errors) == 1, errors
    return errors[0]


# -------------------------------------------------------------------- employers

def test_an_employer_registration_is_normalised():
    employer = EmployerRegistration.model_validate(an_employer())

    assert employer.npwp == "0012345678901000"
    assert employer.nib == "9120001234567"
    assert employer.phone == "+62342123456"  # a landline is fine for an employer
    assert employer.branch_code == "A01"
    assert employer.jkk_risk_class == 2


@pytest.mark.parametrize("risk_class, kind", [(0, "integer_range"), (6, "integer_range"),
                                              ("2", "integer_type"), (True, "integer_type"),
                                              (2.0, "integer_type")])
def test_the_jkk_risk_class_is_an_integer_from_1_to_5(risk_class, kind):
    error = only_error(EmployerRegistration, an_employer(jkk_risk_class=risk_class))

    assert (error.field, error.type) == ("jkk_risk_class", kind)
    assert error.message.startswith("Kelompok risiko JKK harus")


@pytest.mark.parametrize("field, value, message", [
    ("npwp", "12345", "NPWP harus 15 atau 16 digit angka"),
    ("nib", "12345", "NIB harus 13 digit angka"),
    ("industry_sector", "abc", "Sektor usaha (kode KBLI) tidak valid (contoh: 10792)"),
    ("branch_code", "A", "Kode kantor cabang tidak valid (contoh: A01)"),
    ("phone", "+6591234567", "Nomor telepon harus nomor Indonesia (+62)"),
    ("email", "hrd", "Alamat email tidak valid (contoh: nama@domain.co.id)"),
    ("contact_person", "HRD 1", "Nama hanya boleh berisi huruf, spasi, titik, koma, apostrof "
                                "dan tanda hubung"),
])
def test_employer_fields_are_refused_in_indonesian(field, value, message):
    error = only_error(EmployerRegistration, an_employer(**{field: value}))

    assert (error.field, error.message) == (field, message)


def test_employer_names_may_hold_digits_and_punctuation():
    employer = EmployerRegistration.model_validate(an_employer(name="PT 3M Indonesia (Persero) Tbk."))
    assert employer.name == "PT 3M Indonesia (Persero) Tbk."


def test_employer_email_is_required():
    body = an_employer()
    del body["email"]

    assert only_error(EmployerRegistration, body) == FieldError("email", "missing", "Email wajib diisi")


def test_unknown_employer_fields_are_refused():
    assert only_error(EmployerRegistration, an_employer(npp="1")).message == "Kolom 'npp' tidak dikenal"


def test_an_employer_body_that_is_not_an_object():
    assert only_error(EmployerRegistration, "PT") == FieldError(
        "", "model_type", "Data harus berupa objek JSON")


# -------------------------------------------------------------------- verification

def test_an_approval_needs_nothing_else():
    decision = VerificationDecision.model_validate({"decision": "APPROVE"})

    assert decision.decision is Decision.APPROVE and decision.reasons is None


def test_a_rejection_keeps_its_reasons_trimmed():
    decision = VerificationDecision.model_validate(
        {"decision": "REJECT", "reasons": ["  Foto KTP  buram ", "NPWP tidak terbaca"]})

    assert decision.reasons == ["Foto KTP buram", "NPWP tidak terbaca"]


@pytest.mark.parametrize("body, kind", [
    ({"decision": "REJECT"}, "reasons_required"),
    ({"decision": "REJECT", "reasons": []}, "reasons_required"),
    ({"decision": "REJECT", "reasons": None}, "reasons_required"),
    ({"decision": "REJECT", "reasons": ["ok", "  "]}, "reason_empty"),
    ({"decision": "REJECT", "reasons": ["ok", 3]}, "reason_empty"),
    ({"decision": "REJECT", "reasons": "KTP buram"}, "reasons_type"),
    ({"decision": "REJECT", "reasons": ["x" * 501]}, "reason_too_long"),
    ({"decision": "REJECT", "reasons": ["x"] * 21}, "reasons_too_many"),
    ({"decision": "APPROVE", "reasons": ["why"]}, "reasons_not_allowed"),
])
def test_rejections_need_non_empty_reasons(body, kind):
    error = only_error(VerificationDecision, body)

    assert (error.field, error.type) == ("reasons", kind)


def test_the_empty_reason_is_numbered():
    error = only_error(VerificationDecision, {"decision": "REJECT", "reasons": ["ok", ""]})

    assert error.message == "Alasan penolakan ke-2 tidak boleh kosong"


def test_an_unknown_decision_is_the_only_error():
    error = only_error(VerificationDecision, {"decision": "MAYBE", "reasons": []})

    assert error.field == "decision"
    assert error.message == "Keputusan (decision) harus salah satu dari: APPROVE, REJECT"


# -------------------------------------------------------------------- wage changes

def test_a_wage_change_names_its_period():
    change = WageChange.model_validate({"effective_period": "2026-11", "wage": 5_000_000})

    assert change.period == Period(2026, 11)


@pytest.mark.parametrize("period", ["2026-13", "11-2026", "2026-1", 202611, None])
def test_the_effective_period_is_yyyy_mm(period):
    error = only_error(WageChange, {"effective_period": period, "wage": 5_000_000})

    assert error.field == "effective_period"
    assert error.message == "Periode berlaku harus berformat YYYY-MM (contoh 2026-11)"


def test_a_wage_change_refuses_a_float_wage():
    assert only_error(WageChange, {"effective_period": "2026-11", "wage": 5e6}).type == "rupiah_type"


# -------------------------------------------------------------------- contacts and opt-in

def test_a_participant_contact_update_normalises_the_phone():
    update = ContactUpdate.model_validate({"phone": "+62 812 3456 7890"})

    assert update.phone == "+6281234567890" and update.email is None


def test_a_contact_update_needs_something_to_update():
    assert only_error(ContactUpdate, {}).type == "nothing_to_update"
    assert only_error(ContactUpdate, {"email": None}).type == "nothing_to_update"


def test_a_participant_contact_update_refuses_a_landline():
    assert only_error(ContactUpdate, {"phone": "0342-123456"}).type == "phone_not_mobile"


def test_an_employer_contact_update_accepts_a_landline_and_a_new_address():
    update = EmployerContactUpdate.model_validate(
        {"phone": "0342-123456", "address": an_address(city="Kabupaten Blitar")})

    assert update.phone == "+62342123456" and update.address.city == "Kabupaten Blitar"


def test_opt_in_by_channel():
    assert OptIn.model_validate({"channel": "whatsapp", "opted_in": True}) == OptIn(
        channel=Channel.WHATSAPP, opted_in=True)
    assert OptIn.model_validate({"channel": "SMS", "opted_in": False}).opted_in is False


@pytest.mark.parametrize("body, field", [
    ({"channel": "EMAIL", "opted_in": True}, "channel"),
    ({"channel": "SMS", "opted_in": "true"}, "opted_in"),
    ({"channel": "SMS", "opted_in": 1}, "opted_in"),
])
def test_opt_in_refuses_other_channels_and_non_booleans(body, field):
    assert only_error(OptIn, body).field == field


def test_opt_in_messages():
    assert only_error(OptIn, {"channel": "SMS", "opted_in": "ya"}).message == (
        "Persetujuan (opted_in) harus bernilai true atau false")


# -------------------------------------------------------------------- OpenAPI

@pytest.mark.parametrize("model", [EmployerRegistration, VerificationDecision, WageChange,
                                   ContactUpdate, EmployerContactUpdate, OptIn])
def test_every_model_has_a_json_schema_for_openapi(model):
    schema = model.model_json_schema()

    assert schema["additionalProperties"] is False


def test_the_participant_union_has_a_json_schema():
    schema = participant_registration_adapter.json_schema()

    assert len(schema["oneOf"]) == 3


def test_our_error_types_never_collide_with_pydantics():
    import re
    from pathlib import Path
    from typing import get_args

    from pydantic_core.core_schema import ErrorType

    import chalicelib.registration.identifiers as identifiers
    import chalicelib.registration.schemas as schemas

    source = Path(schemas.__file__).read_text() + Path(identifiers.__file__).read_text()
    ours = set(re.findall(r'_fail\(\s*"([a-z_]+)"', source))
    ours |= {reason.lower() for reason in re.findall(r'reason="([A-Z_]+)"', source)}
    assert len(ours) > 30
    assert not ours & set(get_args(ErrorType))
