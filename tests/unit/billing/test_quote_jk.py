"""JK (construction) worked examples: marginal tiers on contract value, or wages (domain.md §1.3)."""
import pytest

from chalicelib.billing.calculator import quote_jk
from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.errors import NoRuleForPeriod, ValidationFailed

from .conftest import line_tuples


def test_250_million_is_domain_md_worked_example(rulebook):
    quote = quote_jk(rulebook, Period(2026, 11), contract_value=250_000_000)

    assert line_tuples(quote) == [
        ("JKK", "EMPLOYER", 100_000_000, "0.0021", 210_000),
        ("JKK", "EMPLOYER", 150_000_000, "0.0017", 255_000),
        ("JKM", "EMPLOYER", 100_000_000, "0.0003", 30_000),
        ("JKM", "EMPLOYER", 150_000_000, "0.0002", 30_000),
    ]
    assert sum(line.amount for line in quote.lines if line.program == "JKK") == 465_000
    assert (quote.employer_total, quote.worker_total, quote.total) == (525_000, 0, 525_000)


# Totals per program, worked by hand tier by tier. Above 1 B the JKM 0.01 % is [UNCONFIRMED].
@pytest.mark.parametrize("contract_value, jkk, jkm", [
    (50_000_000, 105_000, 15_000),
    (100_000_000, 210_000, 30_000),
    (500_000_000, 210_000 + 680_000, 30_000 + 80_000),
    (800_000_000, 890_000 + 390_000, 110_000 + 60_000),
    (1_000_000_000, 890_000 + 650_000, 110_000 + 100_000),
    (3_000_000_000, 1_540_000 + 2_200_000, 210_000 + 200_000),
    (5_000_000_000, 1_540_000 + 4_400_000, 210_000 + 400_000),
    (10_000_000_000, 5_940_000 + 4_500_000, 610_000 + 500_000),
])
def test_every_tier_is_charged_on_its_own_slice(rulebook, contract_value, jkk, jkm):
    quote = quote_jk(rulebook, Period(2026, 11), contract_value=contract_value)

    totals = {program: sum(line.amount for line in quote.lines if line.program == program)
              for program in ("JKK", "JKM")}
    assert totals == {"JKK": jkk, "JKM": jkm}


def test_above_5_billion_there_is_one_line_per_program_per_tier(rulebook):
    quote = quote_jk(rulebook, Period(2026, 11), contract_value=10_000_000_000)

    assert line_tuples(quote) == [
        ("JKK", "EMPLOYER", 100_000_000, "0.0021", 210_000),
        ("JKK", "EMPLOYER", 400_000_000, "0.0017", 680_000),
        ("JKK", "EMPLOYER", 500_000_000, "0.0013", 650_000),
        ("JKK", "EMPLOYER", 4_000_000_000, "0.0011", 4_400_000),
        ("JKK", "EMPLOYER", 5_000_000_000, "0.0009", 4_500_000),
        ("JKM", "EMPLOYER", 100_000_000, "0.0003", 30_000),
        ("JKM", "EMPLOYER", 400_000_000, "0.0002", 80_000),
        ("JKM", "EMPLOYER", 500_000_000, "0.0002", 100_000),
        ("JKM", "EMPLOYER", 4_000_000_000, "0.0001", 400_000),  # [UNCONFIRMED]
        ("JKM", "EMPLOYER", 5_000_000_000, "0.0001", 500_000),  # [UNCONFIRMED]
    ]


def test_tier_lines_round_half_up(rulebook):
    quote = quote_jk(rulebook, Period(2026, 11), contract_value=10_005_000)  # 21,010.5 and 3,001.5

    assert [line.amount for line in quote.lines] == [21_011, 3_002]


def test_known_wages_are_rated_instead_of_the_contract_value(rulebook):
    quote = quote_jk(rulebook, Period(2026, 11), wages=100_000_000)

    assert line_tuples(quote) == [
        ("JKK", "EMPLOYER", 100_000_000, "0.0174", 1_740_000),
        ("JKM", "EMPLOYER", 100_000_000, "0.003", 300_000),
    ]


@pytest.mark.parametrize("arguments", [{}, {"contract_value": 250_000_000, "wages": 10_000_000}])
def test_exactly_one_of_contract_value_or_wages(rulebook, arguments):
    with pytest.raises(ValidationFailed) as caught:
        quote_jk(rulebook, Period(2026, 11), **arguments)

    assert caught.value.field == "contract_value"


@pytest.mark.parametrize("arguments, field", [
    ({"contract_value": 0}, "contract_value"),
    ({"contract_value": 10**15 + 1}, "contract_value"),
    ({"wages": -5}, "wages"),
])
def test_amounts_must_be_positive_and_sane(rulebook, arguments, field):
    with pytest.raises(ValidationFailed) as caught:
        quote_jk(rulebook, Period(2026, 11), **arguments)

    assert caught.value.field == field


def test_jk_before_the_data_starts_has_no_rule(rulebook):
    with pytest.raises(NoRuleForPeriod):
        quote_jk(rulebook, Period(2014, 12), contract_value=250_000_000)
