from datetime import date

import pytest

from chalicelib.receivables.letters.model import LegalHandoverTarget, LetterType
from chalicelib.receivables.letters.numbering import (
    InvalidLetterNumber, format_letter_number, month_from_roman, parse_letter_number,
    roman_month,
)


def test_format_matches_the_agency_style():
    assert format_letter_number(123, LetterType.SP1, "BLT", date(2026, 12, 15)) \
        == "123/SP1/KC-BLT/XII/2026"


@pytest.mark.parametrize("letter_type, target, code", [
    (LetterType.REMINDER, None, "TGH"),
    (LetterType.SP1, None, "SP1"),
    (LetterType.SP2, None, "SP2"),
    (LetterType.LEGAL_HANDOVER, LegalHandoverTarget.KEJAKSAAN, "SKK"),
    (LetterType.LEGAL_HANDOVER, LegalHandoverTarget.KPKNL, "KPKNL"),
])
def test_each_letter_type_has_its_code_and_parses_back(letter_type, target, code):
    text = format_letter_number(7, letter_type, "MDN", date(2027, 4, 1),
                                legal_handover_target=target)

    assert text == f"7/{code}/KC-MDN/IV/2027"
    parsed = parse_letter_number(text)
    assert (parsed.sequence, parsed.letter_type, parsed.branch_code, parsed.month,
            parsed.year, parsed.legal_handover_target) == (7, letter_type, "MDN", 4, 2027,
                                                           target)
    assert str(parsed) == text


def test_roman_months_for_the_whole_year():
    expected = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]

    assert [roman_month(m) for m in range(1, 13)] == expected
    assert [month_from_roman(r) for r in expected] == list(range(1, 13))
    for month in range(1, 13):
        number = format_letter_number(1, LetterType.REMINDER, "BLT", date(2026, month, 28))
        assert parse_letter_number(number).month == month


@pytest.mark.parametrize("month", [0, 13])
def test_roman_month_out_of_range(month):
    with pytest.raises(ValueError):
        roman_month(month)


def test_sequence_scope_is_branch_code_and_year():
    parsed = parse_letter_number("57/TGH/KC-BLT/XII/2026")

    assert parsed.sequence_scope == "KC-BLT/TGH/2026"


@pytest.mark.parametrize("text", [
    "", "123/SP1/KC-BLT/XIII/2026", "0/SP1/KC-BLT/XII/2026", "007/SP1/KC-BLT/XII/2026",
    "123/SP3/KC-BLT/XII/2026", "123/SP1/BLT/XII/2026", "123/sp1/KC-BLT/XII/2026",
    "123/SP1/KC-BLT/XII/26", "123/SP1/KC-BLT/XII/2026/", None,
])
def test_only_the_canonical_form_parses(text):
    with pytest.raises(InvalidLetterNumber) as raised:
        parse_letter_number(text)
    assert raised.value.to_body()["error"]["code"] == "INVALID_LETTER_NUMBER"


@pytest.mark.parametrize("sequence, branch", [(0, "BLT"), (-1, "BLT"), (True, "BLT"),
                                              (1, "blt"), (1, "B"), (1, "KC-BLT")])
def test_format_refuses_bad_sequence_or_branch(sequence, branch):
    with pytest.raises(InvalidLetterNumber):
        format_letter_number(sequence, LetterType.SP1, branch, date(2026, 12, 1))


def test_handover_number_needs_its_target_and_others_refuse_one():
    with pytest.raises(InvalidLetterNumber):
        format_letter_number(1, LetterType.LEGAL_HANDOVER, "BLT", date(2026, 12, 1))
    with pytest.raises(InvalidLetterNumber):
        format_letter_number(1, LetterType.SP1, "BLT", date(2026, 12, 1),
                             legal_handover_target="KPKNL")
