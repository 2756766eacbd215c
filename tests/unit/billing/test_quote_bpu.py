"""BPU worked examples (domain.md §1.2)."""
import pytest

from chalicelib.billing.calculator import quote_bpu
from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.errors import ValidationFailed

from .conftest import line_tuples


@pytest.mark.parametrize("period", ["2015-07", "2020-05", "2026-11"])
def test_minimum_income_pays_the_minimum_16_800(rulebook, period):
    quote = quote_bpu(rulebook, Period.parse(period), 1_000_000)

    assert line_tuples(quote) == [
        ("JKK", "PARTICIPANT", 1_000_000, "0.01", 10_000),
        ("JKM", "PARTICIPANT", 1_000_000, None, 6_800),  # flat: no rate
    ]
    assert (quote.employer_total, quote.worker_total, quote.total) == (0, 16_800, 16_800)


def test_maximum_income_pays_the_maximum_jkk_207_000(rulebook):
    quote = quote_bpu(rulebook, Period(2026, 11), 20_700_000)

    assert line_tuples(quote) == [
        ("JKK", "PARTICIPANT", 20_700_000, "0.01", 207_000),
        ("JKM", "PARTICIPANT", 20_700_000, None, 6_800),
    ]
    assert quote.total == 213_800


def test_optional_jht_is_two_percent_of_declared_income(rulebook):
    quote = quote_bpu(rulebook, Period(2026, 11), 2_000_000, programs=["JKK", "JKM", "JHT"])

    assert line_tuples(quote)[2] == ("JHT", "PARTICIPANT", 2_000_000, "0.02", 40_000)
    assert quote.total == 66_800


def test_one_percent_rounds_half_up(rulebook):
    quote = quote_bpu(rulebook, Period(2026, 11), 1_234_550)  # 12,345.5

    assert quote.lines[0].amount == 12_346


@pytest.mark.parametrize("income", [999_999, 20_700_001, 500_000, 100_000_000])
def test_income_outside_the_range_the_rules_accept_is_refused_not_clamped(rulebook, income):
    with pytest.raises(ValidationFailed) as caught:
        quote_bpu(rulebook, Period(2026, 11), income)

    assert caught.value.field == "declared_income"
    assert caught.value.status == 400
    assert "1,000,000 and 20,700,000" in caught.value.message


@pytest.mark.parametrize("income", [0, -1_000_000, 1_500_000.0])
def test_income_must_be_positive_whole_rupiah(rulebook, income):
    with pytest.raises(ValidationFailed) as caught:
        quote_bpu(rulebook, Period(2026, 11), income)

    assert caught.value.field == "declared_income"


@pytest.mark.parametrize("programs", [["JKK"], ["JKM", "JHT"], ["JKK", "JKM", "JP"]])
def test_jkk_and_jkm_are_mandatory_and_jp_is_not_offered(rulebook, programs):
    with pytest.raises(ValidationFailed) as caught:
        quote_bpu(rulebook, Period(2026, 11), 1_000_000, programs=programs)

    assert caught.value.field == "programs"
