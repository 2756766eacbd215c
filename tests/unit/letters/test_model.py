from dataclasses import replace
from datetime import date

import pytest

from chalicelib.receivables.letters.model import (
    ArrearsLine, InvalidLetterData, LegalHandoverTarget, LetterType,
)
from chalicelib.receivables.letters.samples import sample_letter
from chalicelib.shared_kernel.calendar import Period


def test_totals_are_sums_of_the_lines():
    data = sample_letter(LetterType.REMINDER)

    assert data.total_contribution == sum(line.contribution for line in data.lines)
    assert data.total_fine == sum(line.fine for line in data.lines)
    assert data.total == data.total_contribution + data.total_fine


def test_lines_sort_by_period_then_program_order():
    data = replace(sample_letter(LetterType.REMINDER), lines=(
        ArrearsLine(Period(2026, 10), "JP", 10, 1),
        ArrearsLine(Period(2026, 9), "JHT", 10, 1),
        ArrearsLine(Period(2026, 9), "JKK", 10, 1),
        ArrearsLine(Period(2026, 9), "XYZ", 10, 1),
    ))

    order = [(str(line.period), line.program) for line in data.sorted_lines()]

    assert order == [("2026-09", "JKK"), ("2026-09", "JHT"), ("2026-09", "XYZ"),
                     ("2026-10", "JP")]
    assert data.programs == ["JKK", "JHT", "JP", "XYZ"]


def test_a_period_given_as_text_is_parsed():
    assert ArrearsLine("2026-11", "JKK", 1, 0).period == Period(2026, 11)


@pytest.mark.parametrize("amount", [1.5, -1, True, "100"])
def test_amounts_must_be_non_negative_int_rupiah(amount):
    with pytest.raises(InvalidLetterData):
        ArrearsLine(Period(2026, 11), "JKK", amount, 0)


def test_letter_needs_lines():
    with pytest.raises(InvalidLetterData) as raised:
        replace(sample_letter(LetterType.SP1), lines=())
    assert raised.value.field == "lines"


def test_the_same_period_and_program_twice_is_refused():
    line = ArrearsLine(Period(2026, 11), "JKK", 1, 0)
    with pytest.raises(InvalidLetterData):
        replace(sample_letter(LetterType.SP1), lines=(line, line))


def test_deadline_before_issue_is_refused():
    data = sample_letter(LetterType.SP1)
    with pytest.raises(InvalidLetterData) as raised:
        replace(data, deadline=date(data.issued_on.year - 1, 1, 1))
    assert raised.value.field == "deadline"


def test_handover_needs_a_target_and_others_must_not_have_one():
    handover = sample_letter(LetterType.LEGAL_HANDOVER)
    with pytest.raises(InvalidLetterData):
        replace(handover, legal_handover_target=None)
    with pytest.raises(InvalidLetterData):
        replace(sample_letter(LetterType.SP2), legal_handover_target="KPKNL")


def test_target_and_type_given_as_strings_become_enums():
    data = replace(sample_letter(LetterType.LEGAL_HANDOVER), letter_type="LEGAL_HANDOVER",
                   legal_handover_target="KPKNL")

    assert data.letter_type is LetterType.LEGAL_HANDOVER
    assert data.legal_handover_target is LegalHandoverTarget.KPKNL


def test_verification_url_must_be_http():
    with pytest.raises(InvalidLetterData):
        replace(sample_letter(LetterType.SP1), verification_url="javascript:alert(1)")


def test_invalid_letter_data_is_a_validation_error_with_a_stable_code():
    with pytest.raises(InvalidLetterData) as raised:
        replace(sample_letter(LetterType.SP1), payment_code=" ")

    body = raised.value.to_body()
    assert body["error"]["code"] == "INVALID_LETTER_DATA"
    assert raised.value.status == 400
