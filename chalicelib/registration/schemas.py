"""API input models of the registration context (pydantic v2), with Indonesian messages.

Owns the shape of what employers, participants and officers send: registrations (employer;
participant by segment PU / BPU / JK), the officer's verification decision, wage changes,
contact updates and messaging opt-in. JSON names are snake_case, money is integer rupiah
(floats, booleans and numeric strings are refused), unknown fields are refused.

Every check here answers a `PydanticCustomError` whose message is Indonesian and names the
field; its `type` is stable (e.g. "nik_format", "nik_birth_date_mismatch"). Pydantic's own
structural errors (missing field, unknown field, wrong JSON type) are English: `describe_errors`
turns any `ValidationError` from these models into `(field, Indonesian message)` pairs.

Rules that need a day or configured figures beyond the BPU income range and JK duration
(age, minimum wage, JK deadline) are in `validation.py`. Pass other rules than the shipped ones
with `Model.model_validate(data, context={"rules": RegistrationRules(...)})`.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Callable, Literal, Union, get_args

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag,
                      TypeAdapter, ValidationError, ValidationInfo, field_validator,
                      model_validator)
from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import ErrorType

from chalicelib.shared_kernel.calendar import Period

from . import identifiers as ids
from .identifiers import InvalidIdentifier, Sex
from .validation import RegistrationRules, load_registration_rules

__all__ = [
    "Address", "EmployerRegistration", "PuParticipant", "BpuParticipant", "JkParticipant",
    "JkProject", "ParticipantRegistration", "parse_participant_registration", "Decision",
    "VerificationDecision", "WageChange", "ContactUpdate", "EmployerContactUpdate", "Channel",
    "OptIn", "FieldError", "describe_errors", "FIELD_LABELS", "BulkPuWorker",
    "DocumentUploadRequest", "DocumentConfirmation", "ImportUploadRequest", "ImportStart",
    "EmploymentEnd", "LeavingReason", "PageQuery", "invalid_body",
]


# --------------------------------------------------------------------------- building blocks

def _fail(error_type: str, message: str) -> PydanticCustomError:
    # No context: pydantic then leaves the message as written (no "{...}" formatting).
    return PydanticCustomError(error_type, message)


def _identifier(normalize: Callable[..., Any], **kwargs: Any) -> BeforeValidator:
    """Run an identifiers.py normaliser; its InvalidIdentifier becomes a pydantic error."""

    def validate(value: Any) -> Any:
        try:
            return normalize(value, **kwargs)
        except InvalidIdentifier as exc:
            raise _fail(exc.reason.lower(), exc.message) from None

    return BeforeValidator(validate)


_NAME_PUNCTUATION = set(" .,'-`\u2019")


def _check(check: Callable[..., None], *args: Any) -> None:
    try:
        check(*args)
    except InvalidIdentifier as exc:
        raise _fail(exc.reason.lower(), exc.message) from None


def _text(label: str, min_len: int, max_len: int, *, person_name: bool = False) -> BeforeValidator:
    """A trimmed, single-spaced text of `min_len..max_len` characters."""

    def validate(value: Any) -> str:
        if not isinstance(value, str):
            raise _fail("text_type", f"{label} harus berupa teks")
        text = " ".join(unicodedata.normalize("NFC", value).split())
        if not text:
            raise _fail("text_empty", f"{label} wajib diisi")
        if any(unicodedata.category(ch).startswith("C") for ch in text):
            raise _fail("text_characters", f"{label} berisi karakter yang tidak diizinkan")
        if len(text) < min_len:
            raise _fail("text_too_short", f"{label} minimal {min_len} karakter")
        if len(text) > max_len:
            raise _fail("text_too_long", f"{label} maksimal {max_len} karakter")
        if person_name:
            if not all(ch.isalpha() or ch in _NAME_PUNCTUATION for ch in text):
                raise _fail("person_name_characters",
                            f"{label} hanya boleh berisi huruf, spasi, titik, koma, apostrof "
                            "dan tanda hubung")
        if not any(ch.isalnum() for ch in text):
            raise _fail("text_characters", f"{label} harus berisi huruf atau angka")
        return text

    return BeforeValidator(validate)


def _rupiah(label: str) -> BeforeValidator:
    """A positive whole number of rupiah given as a JSON integer."""

    def validate(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail("rupiah_type",
                        f"{label} harus berupa bilangan bulat rupiah (tanpa desimal, tanpa tanda "
                        "kutip), contoh 5000000")
        if value <= 0:
            raise _fail("rupiah_positive", f"{label} harus lebih dari 0")
        return value

    return BeforeValidator(validate)


def _whole_number(label: str, low: int, high: int | None = None) -> BeforeValidator:
    def validate(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail("integer_type", f"{label} harus berupa bilangan bulat")
        if value < low or (high is not None and value > high):
            bound = f"antara {low} dan {high}" if high is not None else f"minimal {low}"
            raise _fail("integer_range", f"{label} harus {bound}")
        return value

    return BeforeValidator(validate)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(label: str) -> BeforeValidator:
    """A calendar date as "YYYY-MM-DD" (pydantic alone would also take Unix timestamps)."""

    def validate(value: Any) -> date:
        if isinstance(value, date) and not hasattr(value, "hour"):
            day = value
        elif isinstance(value, str) and _ISO_DATE.match(value.strip()):
            try:
                day = date.fromisoformat(value.strip())
            except ValueError:
                raise _fail("date_invalid", f"{label} bukan tanggal yang valid") from None
        else:
            raise _fail("date_format", f"{label} harus berformat YYYY-MM-DD (contoh 1990-05-12)")
        if day.year < 1900:
            raise _fail("date_invalid", f"{label} tidak masuk akal (sebelum tahun 1900)")
        return day

    return BeforeValidator(validate)


def _choice(label: str, enum: type[StrEnum]) -> BeforeValidator:
    allowed = [member.value for member in enum]

    def validate(value: Any) -> StrEnum:
        if isinstance(value, str) and value.strip().upper() in allowed:
            return enum(value.strip().upper())
        raise _fail("choice_invalid", f"{label} harus salah satu dari: {', '.join(allowed)}")

    return BeforeValidator(validate)


def _strict_bool(label: str) -> BeforeValidator:
    def validate(value: Any) -> bool:
        if not isinstance(value, bool):
            raise _fail("boolean_type", f"{label} harus bernilai true atau false")
        return value

    return BeforeValidator(validate)


def _pattern(label: str, regex: str, example: str, *, upper: bool = False) -> BeforeValidator:
    compiled = re.compile(regex)

    def validate(value: Any) -> str:
        if not isinstance(value, str):
            raise _fail("text_type", f"{label} harus berupa teks")
        text = value.strip().upper() if upper else value.strip()
        if not compiled.fullmatch(text):
            raise _fail("pattern_mismatch", f"{label} tidak valid (contoh: {example})")
        return text

    return BeforeValidator(validate)


def _rules(info: ValidationInfo) -> RegistrationRules:
    context = info.context if isinstance(info.context, dict) else {}
    return context.get("rules") or load_registration_rules()


def _rupiah_text(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


class _Model(BaseModel):
    # hide_input_in_errors keeps NIKs and phone numbers out of str(ValidationError), which is
    # what ends up in logs; defer_build moves validator building to first use (cold start).
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True,
                              defer_build=True)


# --------------------------------------------------------------------------- field types

Nik = Annotated[str, _identifier(ids.normalize_nik),
                Field(description="NIK, 16 digits", examples=["3572011205900001"])]
KkNumber = Annotated[str, _identifier(ids.normalize_kk_number),
                     Field(description="Family card (KK) number, 16 digits")]
Npwp = Annotated[str, _identifier(ids.normalize_npwp),
                 Field(description="NPWP, 15 or 16 digits in; stored as 16")]
Nib = Annotated[str, _identifier(ids.normalize_nib), Field(description="NIB (OSS), 13 digits")]
Npp = Annotated[str, _identifier(ids.normalize_npp), Field(description="Employer number (NPP)")]
MobilePhone = Annotated[str, _identifier(ids.normalize_phone, allow_landline=False),
                        Field(description="Indonesian mobile number; stored E.164",
                              examples=["0812-3456-7890"])]
AnyPhone = Annotated[str, _identifier(ids.normalize_phone, allow_landline=True),
                     Field(description="Indonesian mobile or landline; stored E.164")]
Email = Annotated[str, _identifier(ids.normalize_email)]
ProvinceCode = Annotated[str, _identifier(ids.check_province_code),
                         Field(description="Kemendagri province code, e.g. \"35\"")]
PersonName = Annotated[str, _text("Nama", 2, 100, person_name=True)]
BirthDate = Annotated[date, _iso_date("Tanggal lahir")]
SexField = Annotated[Sex, _choice("Jenis kelamin", Sex),
                     Field(description="L (laki-laki) or P (perempuan)")]


# --------------------------------------------------------------------------- shared parts

class Address(_Model):
    street: Annotated[str, _text("Alamat (jalan, nomor, RT/RW)", 5, 200)]
    village: Annotated[str, _text("Kelurahan/desa", 2, 100)] | None = None
    district: Annotated[str, _text("Kecamatan", 2, 100)] | None = None
    city: Annotated[str, _text("Kabupaten/kota", 2, 100)]
    province_code: ProvinceCode
    postal_code: Annotated[str, _pattern("Kode pos", r"[1-9]\d{4}", "65111")] | None = None


class _Person(_Model):
    """Fields every participant gives, in the order their cross-checks need (NIK first)."""

    nik: Nik
    name: PersonName
    birth_date: BirthDate
    sex: SexField
    kk_number: KkNumber
    address: Address
    phone: MobilePhone
    email: Email | None = None

    @field_validator("birth_date")
    @classmethod
    def _birth_date_matches_nik(cls, value: date, info: ValidationInfo) -> date:
        if "nik" in info.data:  # absent when the NIK itself failed: that error is enough
            _check(ids.check_nik_birth_date, info.data["nik"], value)
        return value

    @field_validator("sex")
    @classmethod
    def _sex_matches_nik(cls, value: Sex, info: ValidationInfo) -> Sex:
        if "nik" in info.data:
            _check(ids.check_nik_sex, info.data["nik"], value)
        return value


# --------------------------------------------------------------------------- employers

class EmployerRegistration(_Model):
    name: Annotated[str, _text("Nama badan usaha", 2, 150)]
    npwp: Npwp
    nib: Nib
    address: Address
    branch_code: Annotated[str, _pattern("Kode kantor cabang", r"[A-Z0-9]{2,10}", "A01",
                                         upper=True)]
    jkk_risk_class: Annotated[int, _whole_number("Kelompok risiko JKK", 1, 5),
                              Field(description="1..5 (groups I-V)")]
    industry_sector: Annotated[str, _pattern("Sektor usaha (kode KBLI)", r"\d{2,5}", "10792"),
                               Field(description="KBLI 2020 code, 2 to 5 digits")]
    contact_person: PersonName
    phone: AnyPhone
    email: Email


class EmployerContactUpdate(_Model):
    contact_person: PersonName | None = None
    phone: AnyPhone | None = None
    email: Email | None = None
    address: Address | None = None

    @model_validator(mode="after")
    def _something_to_update(self) -> "EmployerContactUpdate":
        if all(v is None for v in (self.contact_person, self.phone, self.email, self.address)):
            raise _fail("nothing_to_update",
                        "Isi minimal satu data: contact_person, phone, email atau address")
        return self


# --------------------------------------------------------------------------- participants

class PuParticipant(_Person):
    """Wage earner, registered through an employer (NPP)."""

    segment: Literal["PU"]
    employer_npp: Npp
    monthly_wage: Annotated[int, _rupiah("Upah bulanan"),
                            Field(description="Basic wage + fixed allowances, integer rupiah")]


BPU_PROGRAMS = ("JKK", "JKM", "JHT")


class BpuParticipant(_Person):
    """Self-employed / informal worker, paying for themselves or through a wadah."""

    segment: Literal["BPU"]
    declared_income: Annotated[int, _rupiah("Penghasilan yang dilaporkan")]
    programs: list[str] = Field(default_factory=lambda: ["JKK", "JKM"], validate_default=True)
    wadah_code: Annotated[str, _pattern("Kode wadah", r"[A-Z0-9][A-Z0-9\-]{2,29}", "WDH-001",
                                        upper=True)] | None = None

    @field_validator("declared_income")
    @classmethod
    def _income_in_range(cls, value: int, info: ValidationInfo) -> int:
        rules = _rules(info)
        low, high = rules.bpu_min_declared_income, rules.bpu_max_declared_income
        if not low <= value <= high:
            raise _fail("declared_income_range",
                        f"Penghasilan yang dilaporkan harus antara {_rupiah_text(low)} dan "
                        f"{_rupiah_text(high)}")
        return value

    @field_validator("programs", mode="before")
    @classmethod
    def _programs(cls, value: Any, info: ValidationInfo) -> list[str]:
        rules = _rules(info)
        required, optional = rules.bpu_programs_required, rules.bpu_programs_optional
        offered = (*required, *optional)
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise _fail("programs_type", "Program harus berupa daftar, contoh [\"JKK\", \"JKM\"]")
        chosen = [p.strip().upper() for p in value]
        for program in chosen:
            if program not in offered:
                raise _fail("program_unavailable",
                            f"Program {program} tidak tersedia untuk peserta BPU "
                            f"(pilihan: {', '.join(offered)})")
            if chosen.count(program) > 1:
                raise _fail("program_duplicate", f"Program {program} disebut lebih dari sekali")
        missing = [p for p in required if p not in chosen]
        if missing:
            raise _fail("program_required",
                        f"Program {' dan '.join(required)} wajib untuk peserta BPU "
                        f"(belum dipilih: {', '.join(missing)})")
        return [p for p in offered if p in chosen]


class JkProject(_Model):
    contractor_name: Annotated[str, _text("Nama kontraktor", 2, 150)]
    contractor_npwp: Npwp | None = None
    project_name: Annotated[str, _text("Nama proyek", 3, 200)]
    work_order_number: Annotated[str, _text("Nomor SPK", 1, 100)]
    work_order_date: Annotated[date, _iso_date("Tanggal SPK")]
    contract_value: Annotated[int, _rupiah("Nilai kontrak (sebelum PPN)")]
    duration_months: Annotated[int, _whole_number("Durasi proyek (bulan)", 1)]

    @field_validator("duration_months")
    @classmethod
    def _duration_limit(cls, value: int, info: ValidationInfo) -> int:
        limit = _rules(info).jk_max_duration_months
        if value > limit:
            raise _fail("integer_range", f"Durasi proyek (bulan) maksimal {limit} bulan")
        return value


class JkParticipant(_Person):
    """Construction project (jasa konstruksi), registered by the contractor's representative."""

    segment: Literal["JK"]
    project: JkProject


def _segment_of(value: Any) -> str | None:
    segment = value.get("segment") if isinstance(value, dict) else getattr(value, "segment", None)
    return segment if isinstance(segment, str) else None


ParticipantRegistration = Annotated[
    Union[Annotated[PuParticipant, Tag("PU")], Annotated[BpuParticipant, Tag("BPU")],
          Annotated[JkParticipant, Tag("JK")]],
    Discriminator(_segment_of, custom_error_type="segment_invalid",
                  custom_error_message="Segmen (segment) wajib diisi dengan PU, BPU atau JK"),
]
participant_registration_adapter: TypeAdapter[Any] = TypeAdapter(
    ParticipantRegistration, config=ConfigDict(hide_input_in_errors=True, defer_build=True))


def parse_participant_registration(data: Any, *, rules: RegistrationRules | None = None
                                   ) -> PuParticipant | BpuParticipant | JkParticipant:
    """Validate a decoded JSON body; raises pydantic.ValidationError (see describe_errors)."""
    context = {"rules": rules} if rules else None
    return participant_registration_adapter.validate_python(data, context=context)


# --------------------------------------------------------------------------- officers

class Decision(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"


class VerificationDecision(_Model):
    """{"decision": "APPROVE"} or {"decision": "REJECT", "reasons": ["...", ...]}."""

    decision: Annotated[Decision, _choice("Keputusan (decision)", Decision)]
    reasons: list[str] | None = Field(default=None, validate_default=True)

    @field_validator("reasons", mode="before")
    @classmethod
    def _reasons(cls, value: Any, info: ValidationInfo) -> list[str] | None:
        decision = info.data.get("decision")
        if decision is Decision.APPROVE:
            if value not in (None, []):
                raise _fail("reasons_not_allowed", "Alasan hanya diisi untuk keputusan REJECT")
            return None
        if decision is not Decision.REJECT:
            return None  # the decision itself is already reported
        if value is None or value == []:
            raise _fail("reasons_required",
                        "Alasan penolakan wajib diisi (minimal satu alasan) agar pendaftar tahu "
                        "apa yang harus dilengkapi")
        if not isinstance(value, list):
            raise _fail("reasons_type", "Alasan penolakan harus berupa daftar teks")
        if len(value) > 20:
            raise _fail("reasons_too_many", "Alasan penolakan maksimal 20 butir")
        reasons = []
        for number, reason in enumerate(value, start=1):
            text = " ".join(reason.split()) if isinstance(reason, str) else ""
            if not text:
                raise _fail("reason_empty", f"Alasan penolakan ke-{number} tidak boleh kosong")
            if len(text) > 500:
                raise _fail("reason_too_long",
                            f"Alasan penolakan ke-{number} maksimal 500 karakter")
            reasons.append(text)
        return reasons


# --------------------------------------------------------------------------- changes

class WageChange(_Model):
    effective_period: Annotated[str, Field(description="YYYY-MM", examples=["2026-11"])]
    wage: Annotated[int, _rupiah("Upah")]

    @field_validator("effective_period", mode="before")
    @classmethod
    def _period(cls, value: Any) -> str:
        try:
            return str(Period.parse(value.strip() if isinstance(value, str) else value))
        except ValueError:
            raise _fail("period_format",
                        "Periode berlaku harus berformat YYYY-MM (contoh 2026-11)") from None

    @property
    def period(self) -> Period:
        return Period.parse(self.effective_period)


class ContactUpdate(_Model):
    """A participant's own contact details; at least one of them."""

    phone: MobilePhone | None = None
    email: Email | None = None
    address: Address | None = None

    @model_validator(mode="after")
    def _something_to_update(self) -> "ContactUpdate":
        if self.phone is None and self.email is None and self.address is None:
            raise _fail("nothing_to_update", "Isi minimal satu data: phone, email atau address")
        return self


class Channel(StrEnum):
    WHATSAPP = "WHATSAPP"
    SMS = "SMS"


class OptIn(_Model):
    channel: Annotated[Channel, _choice("Saluran (channel)", Channel)]
    opted_in: Annotated[bool, _strict_bool("Persetujuan (opted_in)")]


# --------------------------------------------------------------------------- errors

FIELD_LABELS: dict[str, str] = {
    "nik": "NIK", "name": "Nama", "birth_date": "Tanggal lahir", "sex": "Jenis kelamin",
    "kk_number": "Nomor KK", "address": "Alamat", "street": "Alamat (jalan)",
    "village": "Kelurahan/desa", "district": "Kecamatan", "city": "Kabupaten/kota",
    "province_code": "Kode provinsi", "postal_code": "Kode pos", "phone": "Nomor telepon",
    "email": "Email", "segment": "Segmen", "employer_npp": "NPP perusahaan",
    "monthly_wage": "Upah bulanan", "declared_income": "Penghasilan yang dilaporkan",
    "programs": "Program", "wadah_code": "Kode wadah", "project": "Data proyek",
    "contractor_name": "Nama kontraktor", "contractor_npwp": "NPWP kontraktor",
    "project_name": "Nama proyek", "work_order_number": "Nomor SPK",
    "work_order_date": "Tanggal SPK", "contract_value": "Nilai kontrak",
    "duration_months": "Durasi proyek", "npwp": "NPWP", "nib": "NIB",
    "branch_code": "Kode kantor cabang", "jkk_risk_class": "Kelompok risiko JKK",
    "industry_sector": "Sektor usaha", "contact_person": "Nama narahubung",
    "decision": "Keputusan", "reasons": "Alasan penolakan",
    "effective_period": "Periode berlaku", "wage": "Upah", "channel": "Saluran",
    "opted_in": "Persetujuan", "kind": "Jenis dokumen", "content_type": "Jenis berkas",
    "size_bytes": "Ukuran berkas", "upload_id": "upload_id", "file_name": "Nama berkas",
    "last_working_day": "Hari kerja terakhir", "reason": "Alasan", "note": "Catatan",
    "limit": "limit", "next_token": "next_token",
}

# Tags of the discriminated unions: pydantic puts them first in an error's location.
_UNION_TAGS = {"PU", "BPU", "JK"}
_PYDANTIC_TYPES = set(get_args(ErrorType))


@dataclass(frozen=True)
class FieldError:
    field: str  # dotted path, "" for the whole body ("address.postal_code", "reasons.1")
    type: str
    message: str


def describe_errors(exc: ValidationError) -> list[FieldError]:
    """Each error of a registration model as (field path, type, Indonesian message).

    Our own checks already speak Indonesian; pydantic's structural errors (missing field,
    unknown field, body not an object, ...) are translated here. Inputs are never included.
    """
    described = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = list(error["loc"])
        if loc and loc[0] in _UNION_TAGS:
            loc = loc[1:]
        path = ".".join(str(part) for part in loc)
        names = [part for part in loc if isinstance(part, str)]
        last = names[-1] if names else ""
        label = FIELD_LABELS.get(last, last or "Data")
        kind = error["type"]
        if kind not in _PYDANTIC_TYPES:
            message = error["msg"]
        elif kind == "missing":
            message = f"{label} wajib diisi"
        elif kind == "extra_forbidden":
            message = f"Kolom '{last}' tidak dikenal"
        elif kind in {"model_type", "model_attributes_type", "dict_type"}:
            message = f"{label} harus berupa objek JSON" if loc else "Data harus berupa objek JSON"
        elif kind == "list_type":
            message = f"{label} harus berupa daftar"
        elif kind == "literal_error":
            message = f"{label} tidak valid"
        elif kind == "value_error" and error.get("msg", "").startswith("Value error, "):
            message = error["msg"][len("Value error, "):]
        else:
            message = f"{label} tidak valid"
        described.append(FieldError(path, kind, message))
    return described


# --------------------------------------------------------------------------- bulk rows

class BulkPuWorker(_Person):
    """One row of a worker import: the PU registration of `PuParticipant`, with the KK number
    and the address optional (payroll exports seldom carry them; the worker completes them
    later through a contact update)."""

    segment: Literal["PU"]
    employer_npp: Npp
    monthly_wage: Annotated[int, _rupiah("Upah bulanan")]
    kk_number: KkNumber | None = None
    address: Address | None = None


# --------------------------------------------------------------------------- documents, imports

class DocumentKindField(StrEnum):
    KTP = "KTP"
    KK = "KK"
    NPWP = "NPWP"
    BUSINESS_LICENCE = "BUSINESS_LICENCE"
    WORK_ORDER = "WORK_ORDER"


_CONTENT_TYPE = _pattern("Jenis berkas (content_type)", r"[a-z]+/[a-z0-9.+\-]+", "image/jpeg")
_UPLOAD_ID = _pattern("upload_id", r"[0-9a-f]{32}", "3f2a...(32 karakter heksadesimal)")
_FILE_NAME = _text("Nama berkas", 1, 200)


class DocumentUploadRequest(_Model):
    """Ask for a presigned upload of one supporting document."""

    kind: Annotated[DocumentKindField, _choice("Jenis dokumen (kind)", DocumentKindField)]
    content_type: Annotated[str, _CONTENT_TYPE,
                            Field(description="image/jpeg, image/png or application/pdf")]
    size_bytes: Annotated[int, _whole_number("Ukuran berkas (size_bytes)", 1),
                          Field(description="exact size of the file to upload, in bytes")]


class DocumentConfirmation(_Model):
    """The upload (from DocumentUploadRequest's answer) that is now this kind's document."""

    upload_id: Annotated[str, _UPLOAD_ID]


class ImportUploadRequest(_Model):
    """Ask for a presigned upload of a worker CSV (see bulk.py for its columns)."""

    size_bytes: Annotated[int, _whole_number("Ukuran berkas (size_bytes)", 1)]
    file_name: Annotated[str, _FILE_NAME] | None = None


class ImportStart(_Model):
    upload_id: Annotated[str, _UPLOAD_ID]
    file_name: Annotated[str, _FILE_NAME] | None = None


class LeavingReason(StrEnum):
    RESIGNED = "RESIGNED"
    DISMISSED = "DISMISSED"
    CONTRACT_ENDED = "CONTRACT_ENDED"
    RETIRED = "RETIRED"
    DECEASED = "DECEASED"
    OTHER = "OTHER"


class EmploymentEnd(_Model):
    """A PU worker leaves the employer: contributions are due up to the month of the last
    working day, and not from the next month on."""

    last_working_day: Annotated[date, _iso_date("Hari kerja terakhir")]
    reason: Annotated[LeavingReason, _choice("Alasan berhenti (reason)", LeavingReason)]
    note: Annotated[str, _text("Catatan", 1, 500)] | None = None


class PageQuery(_Model):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    limit: int = Field(default=50, ge=1, le=100)
    next_token: str | None = None


# --------------------------------------------------------------------------- API envelopes
from pydantic import RootModel  # noqa: E402

from chalicelib.shared_kernel.errors import ValidationFailed  # noqa: E402


def invalid_body(exc: ValidationError) -> ValidationFailed:
    """A request model's errors as one 400: the first field and its Indonesian message, and
    every error in `details`."""
    errors = describe_errors(exc)
    first = errors[0]
    return ValidationFailed(first.message, field=first.field or "body",
                            details=[{"field": e.field, "type": e.type, "message": e.message}
                                     for e in errors])


class _IndonesianErrors:
    """Route bodies: pydantic's errors leave as ValidationFailed with Indonesian messages
    (the HTTP registry maps it to 400 with the field), not as pydantic's English ones."""

    @classmethod
    def model_validate(cls, obj, *args, **kwargs):
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise invalid_body(exc) from None


class ParticipantRegistrationBody(_IndonesianErrors, RootModel[ParticipantRegistration]):
    """The POST /v1/participants body: one of the three segment shapes."""


class EmployerRegistrationBody(_IndonesianErrors, EmployerRegistration):
    """The POST /v1/employers body."""


class VerificationDecisionBody(_IndonesianErrors, VerificationDecision):
    pass


class WageChangeBody(_IndonesianErrors, WageChange):
    pass


class ContactUpdateBody(_IndonesianErrors, ContactUpdate):
    pass


class EmployerContactUpdateBody(_IndonesianErrors, EmployerContactUpdate):
    pass


class OptInBody(_IndonesianErrors, OptIn):
    pass


class DocumentUploadBody(_IndonesianErrors, DocumentUploadRequest):
    pass


class DocumentConfirmationBody(_IndonesianErrors, DocumentConfirmation):
    pass


class ImportUploadBody(_IndonesianErrors, ImportUploadRequest):
    pass


class ImportStartBody(_IndonesianErrors, ImportStart):
    pass


class EmploymentEndBody(_IndonesianErrors, EmploymentEnd):
    pass


class PageQueryParams(_IndonesianErrors, PageQuery):
    pass
