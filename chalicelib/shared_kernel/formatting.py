"""Indonesian presentation of amounts, dates and numbers in words (terbilang).

Babel and num2words are imported where used, so modules that only compute stay light.
"""
from __future__ import annotations

from datetime import date

from .money import Rupiah


def format_rupiah(amount: Rupiah) -> str:
    """16800 -> "Rp16.800" (Indonesian grouping, no sen: contributions are whole rupiah)."""
    from babel.numbers import format_currency

    return format_currency(amount, "IDR", locale="id_ID", format="¤#,##0", currency_digits=False)


def format_number(value: int) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, locale="id_ID")


def format_date_long(day: date) -> str:
    """date(2026, 12, 15) -> "15 Desember 2026"."""
    from babel.dates import format_date

    return format_date(day, format="d MMMM y", locale="id_ID")


def terbilang(amount: Rupiah) -> str:
    """Amount in Indonesian words as written on letters: "enam belas ribu delapan ratus rupiah"."""
    from num2words import num2words

    return f"{num2words(amount, lang='id')} rupiah"
