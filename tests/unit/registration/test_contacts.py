"""Phone numbers to E.164 (WhatsApp digits) and e-mail addresses."""
import pytest

from chalicelib.registration.identifiers import (InvalidIdentifier, is_mobile_e164,
                                                 normalize_email, normalize_phone,
                                                 whatsapp_digits)


def reason_of(call, *args, **kwargs) -> InvalidIdentifier:
    with pytest.raises(InvalidIdentifier) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize("typed", [
    "0812-3456-7890", "+62 812 3456 7890", "6281234567890", "62 812 3456 7890",
    "81234567890", "+62 0812 3456 7890", "(0812) 3456.7890", " 081234567890 ",
])
def test_indonesian_mobile_numbers_in_every_usual_form(typed):
    assert normalize_phone(typed) == "+6281234567890"


@pytest.mark.parametrize("typed, e164", [
    ("0856-1234-5678", "+6285612345678"), ("0877 1234 5678", "+6287712345678"),
    ("0811234567", "+62811234567"),
])
def test_other_operators_prefixes(typed, e164):
    assert normalize_phone(typed) == e164


def test_a_landline_is_accepted_for_employers_only():
    assert normalize_phone("0342-123456", allow_landline=True) == "+62342123456"
    assert normalize_phone("021-5551234", allow_landline=True) == "+62215551234"
    assert normalize_phone("0812-3456-7890", allow_landline=True) == "+6281234567890"

    error = reason_of(normalize_phone, "0342-123456")
    assert error.reason == "PHONE_NOT_MOBILE"
    assert "ponsel" in error.message


@pytest.mark.parametrize("typed", ["+6591234567", "+1 650 253 0000", "+44 20 7946 0958"])
def test_a_foreign_number_is_refused(typed):
    error = reason_of(normalize_phone, typed, allow_landline=True)
    assert error.reason == "PHONE_NOT_INDONESIAN"
    assert error.message == "Nomor telepon harus nomor Indonesia (+62)"


@pytest.mark.parametrize("typed, reason", [
    ("abc", "PHONE_FORMAT"), ("0812-CALL-ME", "PHONE_FORMAT"), ("", "PHONE_FORMAT"),
    ("   ", "PHONE_FORMAT"), (None, "PHONE_FORMAT"), (81234567890, "PHONE_FORMAT"),
    ("0812+3456", "PHONE_FORMAT"), ("+", "PHONE_FORMAT"),
    ("08123", "PHONE_INVALID"), ("0812345678901234", "PHONE_INVALID"),
    ("0062812345678", "PHONE_INVALID"),
])
def test_garbage_is_refused(typed, reason):
    assert reason_of(normalize_phone, typed).reason == reason


@pytest.mark.parametrize("typed", ["1500910", "08001234567"])
def test_call_centre_and_toll_free_numbers_reach_nobody(typed):
    assert reason_of(normalize_phone, typed, allow_landline=True).reason == "PHONE_NOT_REACHABLE"


def test_the_field_is_named_in_the_error():
    assert reason_of(normalize_phone, "abc", field="contact.phone").field == "contact.phone"


def test_whatsapp_uses_the_digits_without_plus():
    assert whatsapp_digits("+6281234567890") == "6281234567890"
    for bad in ["081234567890", "6281234567890", "+62 812", None]:
        assert reason_of(whatsapp_digits, bad).reason == "PHONE_FORMAT"


def test_only_mobile_numbers_can_take_whatsapp_or_sms():
    assert is_mobile_e164("+6281234567890")
    assert not is_mobile_e164("+62342123456")
    assert not is_mobile_e164("+6591234567")


@pytest.mark.parametrize("typed, stored", [
    ("budi@example.co.id", "budi@example.co.id"),
    ("Budi.Santoso+iuran@Gmail.COM", "Budi.Santoso+iuran@gmail.com"),
    ("  siti_aminah@kantor.go.id ", "siti_aminah@kantor.go.id"),
    ("a@b.id", "a@b.id"),
    ("x@bücher.de", "x@xn--bcher-kva.de"),
])
def test_valid_email_addresses(typed, stored):
    assert normalize_email(typed) == stored


@pytest.mark.parametrize("typed", [
    "budi", "budi@", "@example.com", "a@@example.com", "a b@example.com", ".a@example.com",
    "a.@example.com", "a..b@example.com", "a@example", "a@-example.com", "a@example-.com",
    "a@example.c", "a@example.123", "a@exa_mple.com", "", None, 42,
    "a" * 65 + "@example.com", "a@" + "b" * 250 + ".com", "a@example..com",
])
def test_invalid_email_addresses(typed):
    error = reason_of(normalize_email, typed)
    assert error.reason == "EMAIL_FORMAT"
    assert error.message.startswith("Alamat email tidak valid")
