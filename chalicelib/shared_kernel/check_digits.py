"""ISO/IEC 7064 MOD 11,10 check digits, shared by every number a person types: KPJ, NPP and
payment codes. It catches every single-digit typo and most transpositions, including the
jump transpositions (abc -> cba) that Luhn misses. Hand-written: ten lines of a published
standard, no maintained package offers just this."""
from __future__ import annotations

import re

_DIGITS = re.compile(r"^[0-9]+$")


def mod11_10_check_digit(payload: str) -> str:
    if not payload or not _DIGITS.match(payload):
        raise ValueError("payload must be decimal digits")
    product = 10
    for char in payload:
        total = (product + int(char)) % 10 or 10
        product = (2 * total) % 11
    return str((11 - product) % 10)


def has_valid_check_digit(number: str) -> bool:
    return (len(number) >= 2 and bool(_DIGITS.match(number))
            and mod11_10_check_digit(number[:-1]) == number[-1])
