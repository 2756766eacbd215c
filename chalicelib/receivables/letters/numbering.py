"""Letter numbers as Indonesian agencies write them: "123/SP1/KC-BLT/XII/2026".

sequence / type code / issuing unit / month in Roman numerals / year. The sequence runs per
branch, type code and year (`LetterNumber.sequence_scope`); allocating it atomically is the
caller's job (a conditional counter in the receivables table).

Type codes:
    REMINDER (surat penagihan)            TGH   ("tagih"; not "SPT", the tax return)
    SP1 (Surat Peringatan Pertama)        SP1
    SP2 (Surat Peringatan Kedua)          SP2
    LEGAL_HANDOVER to Kejaksaan           SKK   (Surat Kuasa Khusus to the Jaksa Pengacara Negara)
    LEGAL_HANDOVER to KPKNL               KPKNL (referral of the receivable to PUPN/KPKNL)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .model import InvalidLetterData, LegalHandoverTarget, LetterType

ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")

_SIMPLE_CODES = {LetterType.REMINDER: "TGH", LetterType.SP1: "SP1", LetterType.SP2: "SP2"}
_HANDOVER_CODES = {LegalHandoverTarget.KEJAKSAAN: "SKK", LegalHandoverTarget.KPKNL: "KPKNL"}
_BRANCH_RE = re.compile(r"^[A-Z0-9]{2,8}$")
_NUMBER_RE = re.compile(
    r"^(?P<seq>[1-9][0-9]*)/(?P<code>TGH|SP1|SP2|SKK|KPKNL)/KC-(?P<branch>[A-Z0-9]{2,8})/"
    r"(?P<month>XII|XI|X|IX|VIII|VII|VI|V|IV|III|II|I)/(?P<year>[0-9]{4})$"
)


class InvalidLetterNumber(InvalidLetterData):
    code = "INVALID_LETTER_NUMBER"


def roman_month(month: int) -> str:
    if not isinstance(month, int) or not 1 <= month <= 12:
        raise ValueError(f"month {month!r} is not 1..12")
    return ROMAN_MONTHS[month - 1]


def month_from_roman(text: str) -> int:
    try:
        return ROMAN_MONTHS.index(text) + 1
    except ValueError:
        raise ValueError(f"{text!r} is not a Roman month I..XII") from None


def type_code(letter_type: LetterType | str,
              legal_handover_target: LegalHandoverTarget | str | None = None) -> str:
    letter_type = LetterType(letter_type)
    if letter_type is LetterType.LEGAL_HANDOVER:
        if legal_handover_target is None:
            raise InvalidLetterNumber("a legal handover number needs its target",
                                      field="legal_handover_target")
        return _HANDOVER_CODES[LegalHandoverTarget(legal_handover_target)]
    if legal_handover_target is not None:
        raise InvalidLetterNumber("only a legal handover has a target",
                                  field="legal_handover_target")
    return _SIMPLE_CODES[letter_type]


@dataclass(frozen=True)
class LetterNumber:
    sequence: int
    letter_type: LetterType
    branch_code: str
    month: int
    year: int
    legal_handover_target: LegalHandoverTarget | None = None

    @property
    def type_code(self) -> str:
        return type_code(self.letter_type, self.legal_handover_target)

    @property
    def sequence_scope(self) -> str:
        """The counter this number was drawn from: "KC-BLT/SP1/2026"."""
        return f"KC-{self.branch_code}/{self.type_code}/{self.year:04d}"

    def __str__(self) -> str:
        return (f"{self.sequence}/{self.type_code}/KC-{self.branch_code}/"
                f"{roman_month(self.month)}/{self.year:04d}")


def format_letter_number(sequence: int, letter_type: LetterType | str, branch_code: str,
                         issued_on: date, *,
                         legal_handover_target: LegalHandoverTarget | str | None = None) -> str:
    """format_letter_number(123, LetterType.SP1, "BLT", date(2026, 12, 15))
    -> "123/SP1/KC-BLT/XII/2026"."""
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise InvalidLetterNumber("sequence must be a positive int", field="sequence")
    if not isinstance(branch_code, str) or not _BRANCH_RE.match(branch_code):
        raise InvalidLetterNumber(f"branch code {branch_code!r} must be 2-8 capitals or digits",
                                  field="branch_code")
    if not isinstance(issued_on, date):
        raise InvalidLetterNumber("issued_on must be a date", field="issued_on")
    target = (LegalHandoverTarget(legal_handover_target)
              if legal_handover_target is not None else None)
    number = LetterNumber(sequence, LetterType(letter_type), branch_code, issued_on.month,
                          issued_on.year, target)
    return str(number)


def parse_letter_number(text: str) -> LetterNumber:
    """The inverse of format_letter_number; only the canonical form is accepted."""
    match = _NUMBER_RE.match(text) if isinstance(text, str) else None
    if not match:
        raise InvalidLetterNumber(f"{text!r} is not a letter number like "
                                  "'123/SP1/KC-BLT/XII/2026'", field="number")
    code = match["code"]
    target = None
    if code in ("SKK", "KPKNL"):
        letter_type = LetterType.LEGAL_HANDOVER
        target = (LegalHandoverTarget.KEJAKSAAN if code == "SKK"
                  else LegalHandoverTarget.KPKNL)
    else:
        letter_type = next(t for t, c in _SIMPLE_CODES.items() if c == code)
    return LetterNumber(int(match["seq"]), letter_type, match["branch"],
                        month_from_roman(match["month"]), int(match["year"]), target)
