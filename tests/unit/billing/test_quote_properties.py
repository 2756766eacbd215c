"""Invariants of every quote and fine, whatever the input within range."""
import json
import re
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.billing.calculator import (
    MAX_PROJECT_AMOUNT,
    MAX_WAGE,
    EmployerProfile,
    Quote,
    quote_bpu,
    quote_jk,
    quote_pu,
)
from chalicelib.billing.fines import fine_for, months_of_delay
from chalicelib.billing.rules import default_rulebook
from chalicelib.shared_kernel.calendar import Period

RULEBOOK = default_rulebook()
FIRST, LAST = Period(2015, 7), Period(2027, 2)  # where every PU rule, JP cap included, applies

periods = st.integers(0, FIRST.months_until(LAST)).map(FIRST.plus)
employers = st.none() | st.builds(
    EmployerProfile,
    active_workers=st.integers(0, 5_000),
    sector=st.none() | st.sampled_from(["TEXTILE_APPAREL", "FURNITURE", "MINING"]),
    jkk_paid_through=st.none() | periods,
)


def assert_well_formed(quote: Quote) -> None:
    for line in quote.lines:
        for amount in (line.base, line.amount):
            assert type(amount) is int and amount >= 0
    assert quote.total == sum(line.amount for line in quote.lines)
    assert quote.total == quote.employer_total + quote.worker_total
    body = quote.to_dict()
    assert json.loads(json.dumps(body)) == body
    rates = [line["rate"] for line in body["lines"] if line["rate"] is not None]
    assert all(re.fullmatch(r"\d+\.\d+", rate) for rate in rates)  # no exponent


@given(
    period=periods,
    wage=st.integers(1, MAX_WAGE),
    risk_class=st.integers(1, 5),
    programs=st.sets(st.sampled_from(["JKK", "JKM", "JHT", "JP"]), min_size=1),
    employer=employers,
)
def test_pu_quotes_are_whole_rupiah_and_add_up(period, wage, risk_class, programs, employer):
    quote = quote_pu(RULEBOOK, period, wage, risk_class, programs, employer)

    assert_well_formed(quote)
    cap = RULEBOOK.wage_cap("PU", "JP", period)
    assert all(line.base == min(wage, cap) for line in quote.lines if line.program == "JP")


@given(
    period=periods,
    income=st.integers(1_000_000, 20_700_000),
    with_jht=st.booleans(),
)
def test_bpu_quotes_stay_within_the_jkk_bounds(period, income, with_jht):
    quote = quote_bpu(RULEBOOK, period, income, ["JKK", "JKM", "JHT"] if with_jht else ["JKK", "JKM"])

    assert_well_formed(quote)
    assert 10_000 <= quote.lines[0].amount <= 207_000
    assert quote.employer_total == 0
    assert quote.total >= 16_800


@given(period=periods, value=st.integers(1, MAX_PROJECT_AMOUNT))
def test_jk_tier_slices_add_up_to_the_contract_value(period, value):
    quote = quote_jk(RULEBOOK, period, contract_value=value)

    assert_well_formed(quote)
    for program in ("JKK", "JKM"):
        assert sum(line.base for line in quote.lines if line.program == program) == value


@given(period=periods, wages=st.integers(1, MAX_PROJECT_AMOUNT))
def test_jk_wage_quotes_add_up(period, wages):
    assert_well_formed(quote_jk(RULEBOOK, period, wages=wages))


days = st.dates(min_value=date(2016, 1, 1), max_value=date(2035, 12, 31))


@given(due=days, delay=st.integers(0, 4_000))
def test_a_partial_month_adds_at_most_one(due, delay):
    on = due + timedelta(days=delay)
    whole = months_of_delay(due, on, partial_month_counts=False)
    counted = months_of_delay(due, on, partial_month_counts=True)

    assert counted - whole in (0, 1)
    assert (counted == 0) == (delay == 0)
    assert months_of_delay(due, on + timedelta(days=1), True) >= counted


@given(
    amounts=st.fixed_dictionaries({p: st.integers(0, 50_000_000) for p in ("JKK", "JKM", "JHT", "JP")}),
    due=days,
    delay=st.integers(0, 2_000),
)
def test_fines_are_simple_whole_rupiah(amounts, due, delay):
    fine = fine_for(RULEBOOK, "PU", Period(2026, 11), amounts, due, due + timedelta(days=delay))

    for line in fine.lines:
        assert type(line.amount) is int and line.amount >= 0
        # simple: the exact fine is contribution x 2 % x months, rounded once (half-up)
        exact_cents = line.base * 2 * fine.months_of_delay  # in hundredths of a rupiah
        assert line.amount == (exact_cents + 50) // 100
    assert fine.total == sum(line.amount for line in fine.lines)
