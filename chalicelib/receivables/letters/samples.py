"""Demo letters: a Blitar branch and an employer in arrears, for tests, samples and benches.

Contributions are those of a Rp 60,000,000 monthly payroll (JKK group II 0.54 %, JKM 0.30 %,
JHT 5.7 %, JP 3 %). The fines are demo arithmetic (2 % per month of delay, a partial month
counted as one), not the receivables fine rules: a letter receives its figures ready-made.
"""
from __future__ import annotations

from datetime import date

from chalicelib.shared_kernel.calendar import Period

from .model import (
    Addressee, ArrearsLine, Branch, LegalHandoverTarget, LetterData, LetterType,
)
from .numbering import format_letter_number

BLITAR = Branch(
    code="BLT",
    name="Kantor Cabang Blitar",
    address="Jl. Sudanco Supriyadi No. 48, Kota Blitar, Jawa Timur 66131",
    city="Blitar",
    head_name="Dra. Sri Wahyuningsih, M.M.",
    phone="(0342) 801234",
)

EMPLOYER = Addressee(
    employer_name="PT Sumber Rejeki Makmur Abadi",
    npp="19083215",
    address="Jl. Veteran No. 12, Kelurahan Kepanjenkidul, Kecamatan Kepanjenkidul, Kota Blitar",
)

# Monthly contribution of the demo payroll, per program.
_MONTHLY = {"JKK": 324_000, "JKM": 180_000, "JHT": 3_420_000, "JP": 1_800_000}

_STEPS = {
    # type: (issued_on, months in arrears, sequence)
    LetterType.REMINDER: (date(2026, 12, 16), 2, 57),
    LetterType.SP1: (date(2027, 2, 16), 4, 12),
    LetterType.SP2: (date(2027, 4, 16), 6, 8),
    LetterType.LEGAL_HANDOVER: (date(2027, 10, 18), 12, 3),
}


def _lines(first: Period, months: int, issued_on: date) -> tuple[ArrearsLine, ...]:
    lines = []
    for offset in range(months):
        period = first.plus(offset)
        due = period.next().day(15)
        months_late = max(1, (issued_on.year - due.year) * 12 + issued_on.month - due.month
                          + (1 if issued_on.day > due.day else 0))
        for program, amount in _MONTHLY.items():
            fine = amount * 2 * months_late // 100
            lines.append(ArrearsLine(period, program, amount, fine))
    return tuple(lines)


def sample_letter(letter_type: LetterType | str = LetterType.REMINDER, *,
                  target: LegalHandoverTarget | str = LegalHandoverTarget.KEJAKSAAN,
                  months: int | None = None, employer: Addressee = EMPLOYER,
                  branch: Branch = BLITAR, sequence: int | None = None) -> LetterData:
    letter_type = LetterType(letter_type)
    issued_on, default_months, default_sequence = _STEPS[letter_type]
    months = months or default_months
    first = Period.of(issued_on).plus(-(months + 1))
    handover = letter_type is LetterType.LEGAL_HANDOVER
    handover_target = LegalHandoverTarget(target) if handover else None
    number = format_letter_number(sequence or default_sequence, letter_type, branch.code,
                                  issued_on, legal_handover_target=handover_target)
    return LetterData(
        letter_type=letter_type,
        number=number,
        issued_on=issued_on,
        branch=branch,
        addressee=employer,
        lines=_lines(first, months, issued_on),
        payment_code="8812190832151226",
        deadline=date(issued_on.year, issued_on.month, 30 if issued_on.month != 2 else 28),
        verification_url=f"https://smile.example.go.id/v/{number.replace('/', '-')}",
        legal_handover_target=handover_target,
        copies_to=(("Kepala Kantor Wilayah Jawa Timur", "Arsip") if handover
                   else ("Dinas Tenaga Kerja Kota Blitar", "Arsip")
                   if letter_type is LetterType.SP2 else ()),
    )
