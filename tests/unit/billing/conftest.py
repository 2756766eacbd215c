import pytest

from chalicelib.billing.calculator import Quote, rate_text
from chalicelib.billing.rules import RuleBook, default_rulebook


@pytest.fixture
def rulebook() -> RuleBook:
    return default_rulebook()


def line_tuples(quote: Quote) -> list[tuple]:
    """(program, payer, base, rate, amount) per line, rate as the API writes it."""
    return [
        (line.program, line.payer, line.base,
         rate_text(line.rate) if line.rate is not None else None, line.amount)
        for line in quote.lines
    ]


def amounts_by(quote: Quote) -> dict[tuple[str, str], int]:
    return {(line.program, line.payer): line.amount for line in quote.lines}
