"""How an SMS text is encoded and how many segments (billed parts) it takes.

GSM 03.38 (3GPP TS 23.038) defines a 128-character basic table and an extension table whose
characters are sent as ESC + character, so they cost two septets. A text made only of those
characters goes as GSM-7: 160 septets in one segment, 153 per segment once it is split (the
user-data header takes 7). Anything else forces UCS-2 (UTF-16 on the wire): 70 code units in
one segment, 67 per segment when split; characters outside the BMP (emoji) take two units.

Hand-written on purpose: the tables are a fixed standard of two short strings, and the
counting needs one rule more than "len / 153": an escape pair or a surrogate pair is never
split across segments, so segments are packed one character at a time. A dependency for
this would be larger than the code. National language shift tables (Turkish, Portuguese,
Indian languages) are not used for Indonesian and are not supported.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The basic table, in code-point order 0x00..0x7F; 0x1B (ESC) is the escape to the extension
# table, not a character.
_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM7_BASIC: frozenset[str] = frozenset(_GSM7_BASIC) - {"\x1b"}
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SmsEncoding:
    """`length` counts septets for GSM-7 (extension characters count 2) and UTF-16 code
    units for UCS-2; `segments` is the number of SMS parts the operator bills."""

    encoding: Encoding
    length: int
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _gsm7_cost(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def _ucs2_cost(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _pack(costs: list[int], per_segment: int) -> int:
    """Segments needed when no character's units may straddle two segments."""
    segments, used = 1, 0
    for cost in costs:
        if used + cost > per_segment:
            segments += 1
            used = 0
        used += cost
    return segments


def segments(text: str) -> SmsEncoding:
    """Encoding, length and segment count of `text`. An empty text still takes one segment."""
    if not isinstance(text, str):
        raise TypeError("SMS text must be a str")
    if is_gsm7(text):
        costs = [_gsm7_cost(ch) for ch in text]
        encoding: Encoding = "GSM-7"
        single, multi = GSM7_SINGLE, GSM7_MULTI
    else:
        costs = [_ucs2_cost(ch) for ch in text]
        encoding = "UCS-2"
        single, multi = UCS2_SINGLE, UCS2_MULTI
    length = sum(costs)
    count = 1 if length <= single else _pack(costs, multi)
    return SmsEncoding(encoding=encoding, length=length, segments=count)


def non_gsm7_characters(text: str) -> list[str]:
    """The characters that would force UCS-2, in order of first appearance (for error text)."""
    seen: list[str] = []
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION and ch not in seen:
            seen.append(ch)
    return seen
