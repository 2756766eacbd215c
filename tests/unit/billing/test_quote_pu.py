"""PU worked examples, to the rupiah (domain.md §1.1, §1.4)."""
import pytest

from chalicelib.billing.calculator import EmployerProfile, quote_pu
from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.errors import NoRuleForPeriod, ValidationFailed

from .conftest import amounts_by, line_tuples


@pytest.mark.parametrize("period", ["2015-07", "2016-12", "2019-06", "2022-08", "2024-11", "2026-11"])
def test_wage_5m_risk_class_2_is_the_same_every_year_below_the_jp_cap(rulebook, period):
    quote = quote_pu(rulebook, Period.parse(period), 5_000_000, 2)

    assert line_tuples(quote) == [
        ("JKK", "EMPLOYER", 5_000_000, "0.0054", 27_000),
        ("JKM", "EMPLOYER", 5_000_000, "0.003", 15_000),
        ("JHT", "EMPLOYER", 5_000_000, "0.037", 185_000),
        ("JHT", "WORKER", 5_000_000, "0.02", 100_000),
        ("JP", "EMPLOYER", 5_000_000, "0.02", 100_000),
        ("JP", "WORKER", 5_000_000, "0.01", 50_000),
    ]
    assert (quote.employer_total, quote.worker_total, quote.total) == (327_000, 150_000, 477_000)


@pytest.mark.parametrize("risk_class, rate, jkk", [
    (1, "0.0024", 12_000),
    (2, "0.0054", 27_000),
    (3, "0.0089", 44_500),
    (4, "0.0127", 63_500),
    (5, "0.0174", 87_000),
])
def test_jkk_follows_the_risk_class(rulebook, risk_class, rate, jkk):
    quote = quote_pu(rulebook, Period(2026, 11), 5_000_000, risk_class, programs=["JKK"])

    assert line_tuples(quote) == [("JKK", "EMPLOYER", 5_000_000, rate, jkk)]


# The cap in force for the CONTRIBUTION PERIOD, March to February; the JP amounts are worked
# by hand from domain.md's table (2 % and 1 % of the cap), not computed from the data.
@pytest.mark.parametrize("period, cap, jp_employer, jp_worker", [
    ("2015-07", 7_000_000, 140_000, 70_000),
    ("2016-02", 7_000_000, 140_000, 70_000),
    ("2016-03", 7_335_300, 146_706, 73_353),
    ("2017-03", 7_703_500, 154_070, 77_035),
    ("2018-03", 8_094_000, 161_880, 80_940),
    ("2019-03", 8_512_400, 170_248, 85_124),
    ("2020-03", 8_939_700, 178_794, 89_397),
    ("2021-02", 8_939_700, 178_794, 89_397),
    ("2021-03", 8_754_600, 175_092, 87_546),
    ("2022-03", 9_077_600, 181_552, 90_776),
    ("2023-03", 9_559_600, 191_192, 95_596),
    ("2024-03", 10_042_300, 200_846, 100_423),
    ("2025-01", 10_042_300, 200_846, 100_423),
    ("2025-02", 10_042_300, 200_846, 100_423),
    ("2025-03", 10_547_400, 210_948, 105_474),
    ("2026-02", 10_547_400, 210_948, 105_474),
    ("2026-03", 11_086_300, 221_726, 110_863),
    ("2027-02", 11_086_300, 221_726, 110_863),
])
def test_jp_is_on_the_wage_capped_at_the_cap_of_the_contribution_period(
    rulebook, period, cap, jp_employer, jp_worker
):
    quote = quote_pu(rulebook, Period.parse(period), 12_000_000, 1, programs=["JHT", "JP"])

    assert line_tuples(quote) == [
        ("JHT", "EMPLOYER", 12_000_000, "0.037", 444_000),  # JHT has no cap
        ("JHT", "WORKER", 12_000_000, "0.02", 240_000),
        ("JP", "EMPLOYER", cap, "0.02", jp_employer),
        ("JP", "WORKER", cap, "0.01", jp_worker),
    ]


def test_a_wage_equal_to_the_cap_is_not_reduced(rulebook):
    quote = quote_pu(rulebook, Period(2025, 3), 10_547_400, 1, programs=["JP"])

    assert [line.base for line in quote.lines] == [10_547_400, 10_547_400]


def test_each_line_is_rounded_half_up_and_totals_add_the_rounded_lines(rulebook):
    # 5,002,500 x 0.54 % = 27,013.5; x 0.30 % = 15,007.5; x 3.7 % = 185,092.5
    quote = quote_pu(rulebook, Period(2026, 11), 5_002_500, 2)

    assert amounts_by(quote) == {
        ("JKK", "EMPLOYER"): 27_014,
        ("JKM", "EMPLOYER"): 15_008,
        ("JHT", "EMPLOYER"): 185_093,
        ("JHT", "WORKER"): 100_050,
        ("JP", "EMPLOYER"): 100_050,
        ("JP", "WORKER"): 50_025,
    }
    # the exact employer sum is 327,163.5: rounding the total instead would give 327,164
    assert quote.employer_total == 327_165
    assert quote.worker_total == 150_075
    assert quote.total == 477_240


def test_half_rupiah_rounds_up_in_risk_class_3(rulebook):
    quote = quote_pu(rulebook, Period(2026, 11), 3_005_000, 3, programs=["JKK"])  # 26,744.5

    assert quote.lines[0].amount == 26_745


def test_programs_come_out_in_canonical_order_whatever_the_request_order(rulebook):
    shuffled = quote_pu(rulebook, Period(2026, 11), 5_000_000, 2, programs=["JP", "JKM", "JKK", "JHT"])

    assert shuffled == quote_pu(rulebook, Period(2026, 11), 5_000_000, 2)


# --- the JKK relief of PP 7/2025 + PP 36/2025 -------------------------------------------------

ELIGIBLE = EmployerProfile(active_workers=50, sector="TEXTILE_APPAREL",
                           jkk_paid_through=Period(2025, 1))


@pytest.mark.parametrize("risk_class, rate, jkk", [
    (1, "0.0012", 6_000),
    (2, "0.0027", 13_500),
    (3, "0.00445", 22_250),
    (4, "0.00635", 31_750),
    (5, "0.0087", 43_500),
])
def test_eligible_employer_pays_half_jkk_during_the_relief(rulebook, risk_class, rate, jkk):
    quote = quote_pu(rulebook, Period(2025, 6), 5_000_000, risk_class, employer=ELIGIBLE)

    assert line_tuples(quote)[0] == ("JKK", "EMPLOYER", 5_000_000, rate, jkk)
    assert amounts_by(quote)[("JKM", "EMPLOYER")] == 15_000  # only JKK is relieved


@pytest.mark.parametrize("period, jkk", [
    ("2025-01", 27_000),  # before the relief
    ("2025-02", 13_500),  # first month (PP 7/2025)
    ("2025-07", 13_500),  # last month of PP 7/2025
    ("2025-08", 13_500),  # extension by PP 36/2025
    ("2026-01", 13_500),  # last month of the extension
    ("2026-02", 27_000),  # after
])
def test_relief_applies_only_to_its_contribution_months(rulebook, period, jkk):
    quote = quote_pu(rulebook, Period.parse(period), 5_000_000, 2, programs=["JKK"], employer=ELIGIBLE)

    assert quote.lines[0].amount == jkk


@pytest.mark.parametrize("employer", [
    EmployerProfile(active_workers=49, sector="TEXTILE_APPAREL", jkk_paid_through=Period(2025, 1)),
    EmployerProfile(active_workers=500, sector="MINING", jkk_paid_through=Period(2025, 1)),
    EmployerProfile(active_workers=500, sector=None, jkk_paid_through=Period(2025, 1)),
    EmployerProfile(active_workers=500, sector="FOOTWEAR", jkk_paid_through=Period(2024, 12)),
    EmployerProfile(active_workers=500, sector="FOOTWEAR", jkk_paid_through=None),
    None,  # no profile: eligibility cannot be shown
], ids=["49-workers", "wrong-sector", "no-sector", "jkk-paid-to-2024-12", "jkk-never-paid",
        "no-profile"])
def test_ineligible_employer_pays_the_standard_jkk_during_the_relief(rulebook, employer):
    quote = quote_pu(rulebook, Period(2025, 6), 5_000_000, 2, programs=["JKK"], employer=employer)

    assert line_tuples(quote) == [("JKK", "EMPLOYER", 5_000_000, "0.0054", 27_000)]


@pytest.mark.parametrize("sector", ["FOOD_BEVERAGE_TOBACCO", "TEXTILE_APPAREL", "LEATHER",
                                    "FOOTWEAR", "TOYS", "FURNITURE"])
def test_every_listed_sector_qualifies_with_jkk_paid_beyond_january_2025(rulebook, sector):
    employer = EmployerProfile(active_workers=1_200, sector=sector, jkk_paid_through=Period(2025, 9))

    quote = quote_pu(rulebook, Period(2025, 10), 5_000_000, 2, programs=["JKK"], employer=employer)

    assert quote.lines[0].amount == 13_500


# --- what the rules cannot answer, and bad input ---------------------------------------------

def test_a_period_before_the_data_starts_has_no_rule(rulebook):
    with pytest.raises(NoRuleForPeriod) as caught:
        quote_pu(rulebook, Period(2015, 6), 5_000_000, 2)

    assert caught.value.status == 422


def test_jp_after_the_last_known_cap_has_no_rule_but_other_programs_still_quote(rulebook):
    with pytest.raises(NoRuleForPeriod, match="JP wage cap"):
        quote_pu(rulebook, Period(2027, 3), 5_000_000, 2)

    quote = quote_pu(rulebook, Period(2027, 3), 5_000_000, 2, programs=["JKK", "JKM", "JHT"])
    assert quote.total == 327_000


@pytest.mark.parametrize("wage", [0, -1, 1_000_000_001, 5_000_000.0, "5000000", True, None])
def test_wage_must_be_sane_whole_rupiah(rulebook, wage):
    with pytest.raises(ValidationFailed) as caught:
        quote_pu(rulebook, Period(2026, 11), wage, 2)

    assert caught.value.field == "wage"


@pytest.mark.parametrize("risk_class", [0, 6, None, True, "2"])
def test_risk_class_must_be_1_to_5(rulebook, risk_class):
    with pytest.raises(ValidationFailed) as caught:
        quote_pu(rulebook, Period(2026, 11), 5_000_000, risk_class)

    assert caught.value.field == "risk_class"


@pytest.mark.parametrize("programs", [[], ["JKK", "JKK"], ["JKP"], ["JKK", "XYZ"], "JKK"])
def test_programs_must_be_known_to_pu_and_not_repeat(rulebook, programs):
    with pytest.raises(ValidationFailed) as caught:
        quote_pu(rulebook, Period(2026, 11), 5_000_000, 2, programs=programs)

    assert caught.value.field == "programs"
