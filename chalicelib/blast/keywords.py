"""Inbound keywords (WhatsApp or SMS): what a participant's text asks for, as a typed command.

  STOP | BERHENTI                 opt out of reminders (honoured even with words after it)
  MULAI | START                   opt back in
  SALDO <KPJ>                     JHT balance (the existing 2757 SMS service uses this form)
  STATUS <KPJ>                    membership status
  TAGIHAN <KPJ | NPP>             open bills; "TAGIHAN KPJ x" / "TAGIHAN NPP x" force the kind
  BANTUAN | HELP                  the keyword list
  anything else                   Help(UNKNOWN), answered with the keyword list

Case, surrounding spaces, repeated spaces and "#" or ":" between keyword and number are
ignored; a number may be written with spaces, dots or dashes. A KPJ is 11 digits
(domain.md section 4). An NPP's format is unknown: any other run of digits.
Each command names the template that answers it (`reply_template`).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Union

KPJ_LENGTH = 11
_SEPARATORS = re.compile(r"[\s#:]+")
_NUMBER = re.compile(r"^[0-9][0-9 .\-]*$")
_TRAILING_PUNCTUATION = ".,!?;"


class HelpReason(str, Enum):
    REQUESTED = "REQUESTED"          # BANTUAN / HELP
    UNKNOWN = "UNKNOWN"              # not a keyword
    MISSING_NUMBER = "MISSING_NUMBER"  # SALDO with no number
    INVALID_KPJ = "INVALID_KPJ"      # a number that is not 11 digits
    INVALID_NUMBER = "INVALID_NUMBER"  # TAGIHAN followed by something that is not a number


@dataclass(frozen=True)
class OptOut:
    reply_template: ClassVar[str] = "opt_out_confirmed"


@dataclass(frozen=True)
class OptIn:
    reply_template: ClassVar[str] = "opt_in_confirmed"


@dataclass(frozen=True)
class BalanceQuery:
    kpj: str
    reply_template: ClassVar[str] = "saldo_jht"


@dataclass(frozen=True)
class StatusQuery:
    kpj: str
    reply_template: ClassVar[str] = "status_kepesertaan"


@dataclass(frozen=True)
class BillsQuery:
    """Exactly one of `kpj` or `npp` is set. Answered by tagihan_list (or tagihan_kosong)."""

    kpj: str | None = None
    npp: str | None = None
    reply_template: ClassVar[str] = "tagihan_list"

    def __post_init__(self) -> None:
        if (self.kpj is None) == (self.npp is None):
            raise ValueError("a bills query names either a KPJ or an NPP")


@dataclass(frozen=True)
class Help:
    reason: HelpReason
    keyword: str | None = None       # the keyword that was recognised, if any
    reply_template: ClassVar[str] = "bantuan"


Command = Union[OptOut, OptIn, BalanceQuery, StatusQuery, BillsQuery, Help]

_OPT_OUT = {"STOP", "BERHENTI"}
_OPT_IN = {"MULAI", "START"}
_HELP = {"BANTUAN", "HELP"}
_KPJ_QUERIES = {"SALDO": BalanceQuery, "STATUS": StatusQuery}


def parse_keyword(text: str | None) -> Command:
    """The command a participant's message asks for. Never raises for odd input: anything
    unrecognised is Help(UNKNOWN), so the participant always gets an answer."""
    if not isinstance(text, str):
        return Help(HelpReason.UNKNOWN)
    normalized = unicodedata.normalize("NFKC", text).upper().strip()
    normalized = normalized.rstrip(_TRAILING_PUNCTUATION + " ").lstrip("#: ")
    parts = [p for p in _SEPARATORS.split(normalized, maxsplit=1) if p]
    if not parts:
        return Help(HelpReason.UNKNOWN)
    keyword = parts[0].rstrip(_TRAILING_PUNCTUATION)
    rest = parts[1].strip() if len(parts) > 1 else ""

    if keyword in _OPT_OUT:
        return OptOut()
    if keyword in _OPT_IN and not rest:
        return OptIn()
    if keyword in _HELP:
        return Help(HelpReason.REQUESTED, keyword)
    if keyword in _KPJ_QUERIES:
        if not rest:
            return Help(HelpReason.MISSING_NUMBER, keyword)
        digits = _digits(rest)
        if digits is None or len(digits) != KPJ_LENGTH:
            return Help(HelpReason.INVALID_KPJ, keyword)
        return _KPJ_QUERIES[keyword](digits)
    if keyword == "TAGIHAN":
        return _bills(rest)
    return Help(HelpReason.UNKNOWN)


def _bills(rest: str) -> Command:
    if not rest:
        return Help(HelpReason.MISSING_NUMBER, "TAGIHAN")
    qualifier, *tail = _SEPARATORS.split(rest, maxsplit=1)
    if qualifier in ("KPJ", "NPP"):
        number = tail[0].strip() if tail else ""
        digits = _digits(number)
        if digits is None:
            return Help(HelpReason.INVALID_NUMBER if number else HelpReason.MISSING_NUMBER,
                        "TAGIHAN")
        if qualifier == "KPJ":
            if len(digits) != KPJ_LENGTH:
                return Help(HelpReason.INVALID_KPJ, "TAGIHAN")
            return BillsQuery(kpj=digits)
        return BillsQuery(npp=digits)
    digits = _digits(rest)
    if digits is None:
        return Help(HelpReason.INVALID_NUMBER, "TAGIHAN")
    # Without a qualifier an 11-digit number is read as a KPJ (the NPP format is unknown).
    if len(digits) == KPJ_LENGTH:
        return BillsQuery(kpj=digits)
    return BillsQuery(npp=digits)


def _digits(text: str) -> str | None:
    if not text or not _NUMBER.match(text):
        return None
    return re.sub(r"[ .\-]", "", text)
