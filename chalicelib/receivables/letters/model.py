"""What a collection letter says: plain, validated values with no I/O and no heavy imports.

The escalation policy decides which letter an employer gets; the letter consumer builds a
`LetterData` from the receivable and hands it to `render.render_letter_pdf`. Everything the
PDF shows is here, so the same data always renders the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.errors import ValidationFailed
from chalicelib.shared_kernel.money import Rupiah


class LetterType(str, Enum):
    """The escalation steps that produce a letter (domain.md §3)."""

    REMINDER = "REMINDER"  # surat penagihan
    SP1 = "SP1"  # Surat Peringatan Pertama (PP 86/2013 teguran tertulis pertama)
    SP2 = "SP2"  # Surat Peringatan Kedua
    LEGAL_HANDOVER = "LEGAL_HANDOVER"  # covering letter + arrears statement (Kejaksaan/KPKNL)


class LegalHandoverTarget(str, Enum):
    """Who takes over collection after SP2."""

    KEJAKSAAN = "KEJAKSAAN"  # Jaksa Pengacara Negara, under a special power of attorney (SKK)
    KPKNL = "KPKNL"  # referral to PUPN through the state receivables office


# Display order of programs on letters; unknown program codes sort after these.
PROGRAM_ORDER = ("JKK", "JKM", "JHT", "JP")


class InvalidLetterData(ValidationFailed):
    code = "INVALID_LETTER_DATA"


def _require_text(value: object, field_name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidLetterData(f"{field_name} must be a non-empty string", field=field_name)


def _require_rupiah(value: object, field_name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidLetterData(f"{field_name} must be int rupiah", field=field_name)
    if value < 0:
        raise InvalidLetterData(f"{field_name} must not be negative", field=field_name)


@dataclass(frozen=True)
class Branch:
    code: str  # "BLT"
    name: str  # "Kantor Cabang Blitar"
    address: str
    city: str  # "Blitar": place of issue and the default Kejaksaan/KPKNL seat
    head_name: str
    head_title: str = "Kepala Kantor Cabang"
    phone: str = ""

    def __post_init__(self) -> None:
        for name in ("code", "name", "address", "city", "head_name", "head_title"):
            _require_text(getattr(self, name), f"branch.{name}")


@dataclass(frozen=True)
class Addressee:
    """The employer (badan usaha) in arrears."""

    employer_name: str
    npp: str
    address: str

    def __post_init__(self) -> None:
        for name in ("employer_name", "npp", "address"):
            _require_text(getattr(self, name), f"addressee.{name}")


@dataclass(frozen=True)
class Recipient:
    """The office a legal-handover letter goes to, when it is not the default one."""

    name: str  # "Kepala Kejaksaan Negeri Blitar"
    address: str = ""
    attention: str = ""  # "u.p. Kepala Seksi Perdata dan Tata Usaha Negara"

    def __post_init__(self) -> None:
        _require_text(self.name, "legal_recipient.name")


@dataclass(frozen=True)
class ArrearsLine:
    """One unpaid contribution: a period and a program, with the fine accrued on it."""

    period: Period
    program: str
    contribution: Rupiah
    fine: Rupiah

    def __post_init__(self) -> None:
        if isinstance(self.period, str):
            object.__setattr__(self, "period", Period.parse(self.period))
        if not isinstance(self.period, Period):
            raise InvalidLetterData("period must be a Period", field="lines.period")
        _require_text(self.program, "lines.program")
        _require_rupiah(self.contribution, "lines.contribution")
        _require_rupiah(self.fine, "lines.fine")

    @property
    def total(self) -> Rupiah:
        return self.contribution + self.fine

    def sort_key(self) -> tuple:
        program_rank = (PROGRAM_ORDER.index(self.program) if self.program in PROGRAM_ORDER
                        else len(PROGRAM_ORDER))
        return (self.period, program_rank, self.program)


@dataclass(frozen=True)
class LetterData:
    letter_type: LetterType
    number: str  # see numbering.format_letter_number
    issued_on: date
    branch: Branch
    addressee: Addressee
    lines: tuple[ArrearsLine, ...]
    payment_code: str
    deadline: date
    verification_url: str
    legal_handover_target: LegalHandoverTarget | None = None
    legal_recipient: Recipient | None = None  # default: the target's office in branch.city
    copies_to: tuple[str, ...] = field(default=())  # "Tembusan"

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "letter_type", LetterType(self.letter_type))
        except ValueError as exc:
            raise InvalidLetterData(f"unknown letter type {self.letter_type!r}",
                                    field="letter_type") from exc
        if self.legal_handover_target is not None:
            try:
                object.__setattr__(self, "legal_handover_target",
                                   LegalHandoverTarget(self.legal_handover_target))
            except ValueError as exc:
                raise InvalidLetterData(
                    f"unknown legal handover target {self.legal_handover_target!r}",
                    field="legal_handover_target") from exc
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "copies_to", tuple(self.copies_to))

        _require_text(self.number, "number")
        _require_text(self.payment_code, "payment_code")
        _require_text(self.verification_url, "verification_url")
        if not self.verification_url.startswith(("https://", "http://")):
            raise InvalidLetterData("verification_url must be an http(s) URL",
                                    field="verification_url")
        for name in ("issued_on", "deadline"):
            if not isinstance(getattr(self, name), date):
                raise InvalidLetterData(f"{name} must be a date", field=name)
        if self.deadline < self.issued_on:
            raise InvalidLetterData("deadline is before the letter's date", field="deadline")
        if not isinstance(self.branch, Branch):
            raise InvalidLetterData("branch must be a Branch", field="branch")
        if not isinstance(self.addressee, Addressee):
            raise InvalidLetterData("addressee must be an Addressee", field="addressee")
        if not self.lines:
            raise InvalidLetterData("a letter needs at least one arrears line", field="lines")
        if not all(isinstance(line, ArrearsLine) for line in self.lines):
            raise InvalidLetterData("lines must be ArrearsLine values", field="lines")
        if len({(line.period, line.program) for line in self.lines}) != len(self.lines):
            raise InvalidLetterData("two lines for the same period and program", field="lines")
        if self.letter_type is LetterType.LEGAL_HANDOVER:
            if self.legal_handover_target is None:
                raise InvalidLetterData("a legal handover needs its target (KEJAKSAAN or KPKNL)",
                                        field="legal_handover_target")
        elif self.legal_handover_target is not None or self.legal_recipient is not None:
            raise InvalidLetterData("only a legal handover has a target",
                                    field="legal_handover_target")

    @property
    def total_contribution(self) -> Rupiah:
        return sum(line.contribution for line in self.lines)

    @property
    def total_fine(self) -> Rupiah:
        return sum(line.fine for line in self.lines)

    @property
    def total(self) -> Rupiah:
        return self.total_contribution + self.total_fine

    def sorted_lines(self) -> list[ArrearsLine]:
        return sorted(self.lines, key=ArrearsLine.sort_key)

    @property
    def periods(self) -> list[Period]:
        return sorted({line.period for line in self.lines})

    @property
    def programs(self) -> list[str]:
        present = {line.program for line in self.lines}
        known = [p for p in PROGRAM_ORDER if p in present]
        return known + sorted(present - set(PROGRAM_ORDER))
