"""Indonesian identifiers and contact details: what they look like and how they are stored.

Owns the structure of NIK (and the KK number), NPWP, NIB, phone numbers, e-mail addresses,
and SMILE's own participant (KPJ) and employer (NPP) numbers with their check digit.
Plain Python, no I/O beyond reading the province list shipped in `data/provinces.toml`.

Every rejection is an `InvalidIdentifier`: a `ValidationFailed` (so the error middleware maps
it to 400 with the field) that is also a `ValueError` (so it behaves inside pydantic), with an
Indonesian message for the person who typed the value and a stable `reason` for code and tests.
Messages never repeat a whole NIK, KK or phone number back (domain.md: no personal data in logs).

Check digits of KPJ and NPP: ISO/IEC 7064 MOD 11,10 (one decimal check digit). Measured on
10-digit payloads it catches every single-digit error (as Luhn does), ~98 % of adjacent
transpositions (Luhn ~98 %) and ~91 % of jump transpositions abc→cba (Luhn 0 %), and it is an
ISO standard that other implementations can reproduce (python-stdnum `iso7064.mod_11_10`).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.shared_kernel.check_digits import (has_valid_check_digit,  # noqa: F401
                                                    mod11_10_check_digit)
from chalicelib.shared_kernel.errors import ValidationFailed

DATA_DIR = Path(__file__).parent / "data"

# Separators people type inside long numbers ("3572 0112 0590 0001", "01.234.567.8-901.000").
_SEPARATORS = re.compile(r"[\s.\-]")
_DIGITS = re.compile(r"^\d+$")

FEMALE_DAY_OFFSET = 40


class InvalidIdentifier(ValidationFailed, ValueError):
    """A malformed identifier or contact detail. `reason` is stable; `message` is Indonesian."""

    def __init__(self, message: str, *, reason: str, field: str | None = None):
        super().__init__(message, field=field, details={"reason": reason})
        self.reason = reason


class Sex(StrEnum):
    """As written on the KTP: L (laki-laki) or P (perempuan)."""

    MALE = "L"
    FEMALE = "P"

    @property
    def label(self) -> str:
        return "laki-laki" if self is Sex.MALE else "perempuan"


# --------------------------------------------------------------------------- provinces

@lru_cache(maxsize=1)
def province_names() -> dict[str, str]:
    """Kemendagri province code -> name, from data/provinces.toml (read once, lazily)."""
    with open(DATA_DIR / "provinces.toml", "rb") as handle:
        return dict(tomllib.load(handle)["provinces"])


def is_province_code(code: str) -> bool:
    return code in province_names()


def check_province_code(code: Any, *, field: str = "province_code") -> str:
    if not isinstance(code, str) or not re.fullmatch(r"\d{2}", code.strip()):
        raise InvalidIdentifier("Kode provinsi harus 2 digit angka (contoh 35 untuk Jawa Timur)",
                                reason="PROVINCE_FORMAT", field=field)
    code = code.strip()
    if not is_province_code(code):
        raise InvalidIdentifier(f"Kode provinsi {code} tidak dikenal",
                                reason="PROVINCE_UNKNOWN", field=field)
    return code


# --------------------------------------------------------------------------- helpers

def _digits_only(text: Any, *, what: str, reason: str, field: str) -> str:
    if not isinstance(text, str):
        raise InvalidIdentifier(f"{what} harus berupa teks angka", reason=reason, field=field)
    return _SEPARATORS.sub("", text)


def _format_date_ddmmyyyy(day: date) -> str:
    return f"{day.day:02d}-{day.month:02d}-{day.year:04d}"


# --------------------------------------------------------------------------- NIK

@dataclass(frozen=True)
class NikInfo:
    """The parts of a NIK: PP KK CC DDMMYY SSSS (day + 40 for women)."""

    province: str
    regency: str
    district: str
    birth_date: date
    sex: Sex
    serial: str

    @property
    def region_code(self) -> str:
        """The six-digit Kemendagri district code, e.g. "357201"."""
        return f"{self.province}{self.regency}{self.district}"

    @property
    def province_name(self) -> str:
        return province_names()[self.province]


@dataclass(frozen=True)
class _NikParts:
    province: str
    regency: str
    district: str
    day: int
    month: int
    yy: int
    sex: Sex
    serial: str


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _split_nik(nik: Any, field: str) -> _NikParts:
    digits = _digits_only(nik, what="NIK", reason="NIK_FORMAT", field=field)
    if len(digits) != 16 or not _DIGITS.match(digits):
        raise InvalidIdentifier("NIK harus 16 digit angka", reason="NIK_FORMAT", field=field)
    province, regency, district = digits[0:2], digits[2:4], digits[4:6]
    raw_day, month, yy, serial = int(digits[6:8]), int(digits[8:10]), int(digits[10:12]), digits[12:16]
    if not is_province_code(province):
        raise InvalidIdentifier(f"Kode provinsi pada NIK ({province}) tidak dikenal",
                                reason="NIK_PROVINCE", field=field)
    if regency == "00":
        raise InvalidIdentifier("Kode kabupaten/kota pada NIK tidak boleh 00",
                                reason="NIK_REGENCY", field=field)
    if district == "00":
        raise InvalidIdentifier("Kode kecamatan pada NIK tidak boleh 00",
                                reason="NIK_DISTRICT", field=field)
    if 1 <= raw_day <= 31:
        sex, day = Sex.MALE, raw_day
    elif 1 + FEMALE_DAY_OFFSET <= raw_day <= 31 + FEMALE_DAY_OFFSET:
        sex, day = Sex.FEMALE, raw_day - FEMALE_DAY_OFFSET
    else:
        raise InvalidIdentifier(
            f"Tanggal lahir pada NIK tidak valid (angka tanggal {raw_day:02d}; "
            "laki-laki 01-31, perempuan 41-71)", reason="NIK_BIRTH_DATE", field=field)
    # Both centuries are tried: 29-02-00 exists (2000) though 1900 was not a leap year.
    if not (_valid_date(1900 + yy, month, day) or _valid_date(2000 + yy, month, day)):
        raise InvalidIdentifier(
            f"Tanggal lahir pada NIK tidak valid ({day:02d}-{month:02d}-{yy:02d})",
            reason="NIK_BIRTH_DATE", field=field)
    if serial == "0000":
        raise InvalidIdentifier("Nomor urut pada NIK tidak boleh 0000",
                                reason="NIK_SERIAL", field=field)
    return _NikParts(province, regency, district, day, month, yy, sex, serial)


def normalize_nik(nik: Any, *, field: str = "nik") -> str:
    """The NIK as 16 digits, its structure checked; spaces, dots and dashes are dropped."""
    parts = _split_nik(nik, field)
    return (f"{parts.province}{parts.regency}{parts.district}"
            f"{parts.day + (FEMALE_DAY_OFFSET if parts.sex is Sex.FEMALE else 0):02d}"
            f"{parts.month:02d}{parts.yy:02d}{parts.serial}")


def parse_nik(nik: Any, *, reference_date: date | None = None, field: str = "nik") -> NikInfo:
    """Split a NIK into its parts.

    The NIK holds only two digits of the year: the century is the one that puts the birth date
    on or before `reference_date` (default: today), latest first. So a person over 100 reads as
    a child; `check_nik_matches` against the stated birth date is the authoritative check.
    """
    parts = _split_nik(nik, field)
    reference = reference_date or date.today()
    candidates = [d for d in (_valid_date(2000 + parts.yy, parts.month, parts.day),
                              _valid_date(1900 + parts.yy, parts.month, parts.day)) if d]
    past = [d for d in candidates if d <= reference]
    if not past:
        raise InvalidIdentifier("Tanggal lahir pada NIK berada di masa depan",
                                reason="NIK_BIRTH_DATE", field=field)
    return NikInfo(parts.province, parts.regency, parts.district, past[0], parts.sex, parts.serial)


def check_nik_sex(nik: Any, sex: Sex | str, *, field: str = "sex") -> None:
    """The sex coded in the NIK (day + 40 for women) must be the one stated."""
    parts = _split_nik(nik, "nik")
    stated = Sex(sex)
    if parts.sex is not stated:
        raise InvalidIdentifier(
            f"Jenis kelamin pada NIK ({parts.sex.label}) tidak sesuai dengan jenis kelamin "
            f"{stated.value} ({stated.label})", reason="NIK_SEX_MISMATCH", field=field)


def check_nik_birth_date(nik: Any, birth_date: date, *, field: str = "birth_date") -> None:
    """The birth date coded in the NIK (DDMMYY) must be the one stated. The message shows the
    NIK's date with the stated date's century."""
    parts = _split_nik(nik, "nik")
    if (parts.day, parts.month, parts.yy) != (birth_date.day, birth_date.month, birth_date.year % 100):
        century = birth_date.year - birth_date.year % 100
        raise InvalidIdentifier(
            f"Tanggal lahir pada NIK ({parts.day:02d}-{parts.month:02d}-{century + parts.yy:04d}) "
            f"tidak sesuai dengan tanggal lahir {_format_date_ddmmyyyy(birth_date)}",
            reason="NIK_BIRTH_DATE_MISMATCH", field=field)


def check_nik_matches(nik: Any, birth_date: date, sex: Sex | str) -> None:
    """The NIK's structure, then its sex, then its birth date against the stated ones.

    Raises InvalidIdentifier: field "nik" for a malformed NIK, "sex" (NIK_SEX_MISMATCH) or
    "birth_date" (NIK_BIRTH_DATE_MISMATCH) for the value to re-check.
    """
    check_nik_sex(nik, sex)
    check_nik_birth_date(nik, birth_date)


def build_nik(province: str, regency: str, district: str, birth_date: date, sex: Sex | str,
              serial: str | int) -> str:
    """The NIK for these parts (for tests, seeds and fixtures; no validation beyond shape)."""
    day = birth_date.day + (FEMALE_DAY_OFFSET if Sex(sex) is Sex.FEMALE else 0)
    return (f"{province}{regency}{district}{day:02d}{birth_date.month:02d}"
            f"{birth_date.year % 100:02d}{int(serial):04d}")


# --------------------------------------------------------------------------- KK number

def normalize_kk_number(text: Any, *, field: str = "kk_number") -> str:
    """Family-card number: 16 digits starting with a known province code."""
    digits = _digits_only(text, what="Nomor KK", reason="KK_FORMAT", field=field)
    if len(digits) != 16 or not _DIGITS.match(digits):
        raise InvalidIdentifier("Nomor KK harus 16 digit angka", reason="KK_FORMAT", field=field)
    if not is_province_code(digits[:2]):
        raise InvalidIdentifier(f"Kode provinsi pada nomor KK ({digits[:2]}) tidak dikenal",
                                reason="KK_PROVINCE", field=field)
    return digits


# --------------------------------------------------------------------------- NPWP, NIB

def normalize_npwp(text: Any, *, field: str = "npwp") -> str:
    """NPWP stored as 16 digits: old 15-digit numbers get a leading 0; 16 digits (including an
    individual's NIK, used as NPWP since July 2024) are kept. Formatting characters are dropped.
    The old 15-digit check digit is not verified: its algorithm is not published [UNCONFIRMED].
    """
    digits = _digits_only(text, what="NPWP", reason="NPWP_FORMAT", field=field)
    if not _DIGITS.match(digits or "x") or len(digits) not in (15, 16):
        raise InvalidIdentifier("NPWP harus 15 atau 16 digit angka", reason="NPWP_FORMAT", field=field)
    if set(digits) == {"0"}:
        raise InvalidIdentifier("NPWP tidak boleh semuanya angka 0", reason="NPWP_FORMAT", field=field)
    return digits if len(digits) == 16 else "0" + digits


def normalize_nib(text: Any, *, field: str = "nib") -> str:
    """Nomor Induk Berusaha from OSS: 13 digits."""
    digits = _digits_only(text, what="NIB", reason="NIB_FORMAT", field=field)
    if len(digits) != 13 or not _DIGITS.match(digits) or set(digits) == {"0"}:
        raise InvalidIdentifier("NIB harus 13 digit angka", reason="NIB_FORMAT", field=field)
    return digits


# --------------------------------------------------------------------------- phones

_PHONE_TEXT = re.compile(r"^\+?[0-9 ().\-]+$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def normalize_phone(text: Any, allow_landline: bool = False, *, field: str = "phone") -> str:
    """An Indonesian phone number in E.164 ("+6281234567890").

    Accepted forms: 0812-3456-7890, +62 812 3456 7890, 6281234567890, 81234567890.
    Participants need a mobile number (WhatsApp/SMS reach them); employers may give a landline
    (`allow_landline=True`). Foreign numbers, toll-free, premium and call-centre numbers are refused.
    """
    import phonenumbers  # imported where used: only registration paths need its metadata
    from phonenumbers import PhoneNumberType

    if not isinstance(text, str) or not text.strip():
        raise InvalidIdentifier("Nomor telepon wajib diisi", reason="PHONE_FORMAT", field=field)
    raw = text.strip()
    if not _PHONE_TEXT.match(raw):
        raise InvalidIdentifier(
            "Nomor telepon hanya boleh berisi angka, spasi, tanda +, tanda hubung, titik dan kurung",
            reason="PHONE_FORMAT", field=field)
    digits = re.sub(r"\D", "", raw)
    # "62812..." typed without "+" is the international form: national numbers start with 0.
    candidate = "+" + digits if raw.startswith("+") or digits.startswith("62") else digits
    try:
        number = phonenumbers.parse(candidate, "ID")
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifier("Nomor telepon tidak dapat dikenali", reason="PHONE_FORMAT",
                                field=field) from exc
    if number.country_code != 62:
        raise InvalidIdentifier("Nomor telepon harus nomor Indonesia (+62)",
                                reason="PHONE_NOT_INDONESIAN", field=field)
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier("Nomor telepon tidak valid (periksa jumlah digit dan awalannya)",
                                reason="PHONE_INVALID", field=field)
    kind = phonenumbers.number_type(number)
    mobile = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
    if kind not in mobile:
        if not allow_landline:
            raise InvalidIdentifier(
                "Nomor telepon harus nomor ponsel (contoh 0812xxxxxxxx) agar dapat menerima "
                "WhatsApp/SMS", reason="PHONE_NOT_MOBILE", field=field)
        if kind != PhoneNumberType.FIXED_LINE:
            raise InvalidIdentifier(
                "Nomor telepon harus nomor ponsel atau telepon kantor biasa (bukan nomor bebas "
                "pulsa, premium atau call center)", reason="PHONE_NOT_REACHABLE", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile_e164(e164: str) -> bool:
    """Whether a stored number can receive WhatsApp/SMS (employers' landlines cannot)."""
    try:
        normalize_phone(e164, allow_landline=False)
    except InvalidIdentifier:
        return False
    return True


def whatsapp_digits(e164: str) -> str:
    """WhatsApp Cloud API's form of a number: E.164 without "+" ("6281234567890")."""
    if not isinstance(e164, str) or not _E164.match(e164):
        raise InvalidIdentifier("Nomor telepon harus dalam format E.164 (+62...)",
                                reason="PHONE_FORMAT", field="phone")
    return e164[1:]


# --------------------------------------------------------------------------- e-mail

_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]{1,64}$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9\-]{1,63}(?<!-)$")


def normalize_email(text: Any, *, field: str = "email") -> str:
    """A deliverable-looking address, domain lower-cased (the local part is kept as typed).

    Deliberately pragmatic (no quoted local parts, no IP literals): what a registration form
    should accept. Internationalised domains are accepted and stored in their ASCII (IDNA) form.
    """
    invalid = InvalidIdentifier("Alamat email tidak valid (contoh: nama@domain.co.id)",
                                reason="EMAIL_FORMAT", field=field)
    if not isinstance(text, str):
        raise invalid
    address = text.strip()
    if not address or len(address) > 254 or address.count("@") != 1:
        raise invalid
    local, domain = address.split("@")
    if (not _LOCAL_PART.match(local) or local.startswith(".") or local.endswith(".")
            or ".." in local):
        raise invalid
    try:
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise invalid from exc
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise invalid
    tld = labels[-1]
    if not (re.fullmatch(r"[a-z]{2,63}", tld) or tld.startswith("xn--")):
        raise invalid
    return f"{local}@{domain}"


# --------------------------------------------------------------------------- KPJ and NPP

def _has_valid_check_digit(number: str) -> bool:
    return has_valid_check_digit(number)


KPJ_LENGTH = 11
NPP_LENGTH = 9


def format_kpj(sequence_number: int) -> str:
    """Participant number: the sequence as 10 digits, then a MOD 11,10 check digit (11 in all)."""
    return _format_numbered(sequence_number, KPJ_LENGTH - 1)


def format_npp(sequence_number: int) -> str:
    """Employer number: the sequence as 8 digits, then a MOD 11,10 check digit (9 in all).
    Outsiders should treat it as an opaque string of digits."""
    return _format_numbered(sequence_number, NPP_LENGTH - 1)


def _format_numbered(sequence_number: int, width: int) -> str:
    if (not isinstance(sequence_number, int) or isinstance(sequence_number, bool)
            or not 1 <= sequence_number < 10 ** width):
        raise ValueError(f"sequence number must be an int in 1..{10 ** width - 1}")
    payload = f"{sequence_number:0{width}d}"
    return payload + mod11_10_check_digit(payload)


def kpj_check(kpj: Any, *, field: str = "kpj") -> str:
    """Shape check for a KPJ typed by a person: 11 digits (separators dropped). It does not
    require SMILE's check digit, so numbers issued elsewhere still pass; see `is_valid_kpj`."""
    digits = _digits_only(kpj, what="Nomor KPJ", reason="KPJ_FORMAT", field=field)
    if len(digits) != KPJ_LENGTH or not _DIGITS.match(digits):
        raise InvalidIdentifier("Nomor peserta (KPJ) harus 11 digit angka",
                                reason="KPJ_FORMAT", field=field)
    return digits


def is_valid_kpj(kpj: Any) -> bool:
    """An 11-digit KPJ whose last digit is SMILE's MOD 11,10 check digit."""
    return (isinstance(kpj, str) and len(kpj) == KPJ_LENGTH and bool(_DIGITS.match(kpj))
            and _has_valid_check_digit(kpj))


def is_valid_npp(npp: Any) -> bool:
    """A 9-digit NPP whose last digit is SMILE's MOD 11,10 check digit."""
    return (isinstance(npp, str) and len(npp) == NPP_LENGTH and bool(_DIGITS.match(npp))
            and _has_valid_check_digit(npp))


def normalize_npp(text: Any, *, field: str = "npp") -> str:
    """An NPP typed by a person: separators dropped, length and check digit verified."""
    digits = _digits_only(text, what="NPP", reason="NPP_FORMAT", field=field)
    if not is_valid_npp(digits):
        raise InvalidIdentifier("NPP tidak valid: periksa kembali 9 digit nomor pendaftaran perusahaan",
                                reason="NPP_FORMAT", field=field)
    return digits
