"""Money: integer rupiah everywhere, Decimal rates, half-up rounding per line.

No float ever touches an amount: a float rate or amount raises TypeError.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

Rupiah = int


def round_half_up(value: Decimal) -> Rupiah:
    """Round an exact Decimal amount to whole rupiah, half away from zero (domain.md §1.4)."""
    if isinstance(value, float):
        raise TypeError("floats never carry money; pass a Decimal")
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def apply_rate(base: Rupiah, rate: Decimal) -> Rupiah:
    """One bill line: base × rate computed exactly, then rounded half-up."""
    if isinstance(rate, float) or isinstance(base, float):
        raise TypeError("floats never carry money; pass int rupiah and a Decimal rate")
    return round_half_up(Decimal(base) * rate)


def to_snap_value(amount: Rupiah) -> str:
    """SNAP carries amounts as strings with two decimals: 16800 -> "16800.00"."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("amount must be int rupiah")
    return f"{amount}.00"


def parse_snap_value(text: str) -> Rupiah:
    """"16800.00" -> 16800. Sen other than .00 are refused: rupiah bills have no sen."""
    if not isinstance(text, str):
        raise ValueError("amount value must be a string like '16800.00'")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"amount value {text!r} is not a number") from exc
    if not value.is_finite() or value != value.to_integral_value() or value < 0:
        raise ValueError(f"amount value {text!r} must be whole, non-negative rupiah")
    return int(value)
