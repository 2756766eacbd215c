"""SNAP request headers: lookup, shape checks, the timestamp and its replay window.

What the standard asks (header components "Access Token Request (B2B)" and "Transaction
Request (B2B)"):

| header | token | transaction | form |
|---|---|---|---|
| X-TIMESTAMP | M | M | yyyy-MM-ddTHH:mm:ssTZD (client local time with its offset) |
| X-CLIENT-KEY | M | - | the partner's client id |
| X-SIGNATURE | M | M | base64 signature (see signatures.py) |
| Authorization | - | M for us | "Bearer " + access token |
| X-PARTNER-ID | - | M | String(36) |
| X-EXTERNAL-ID | - | M | numeric String(36), unique per partner per day |
| CHANNEL-ID | - | M | String(5) |

Missing header -> 400xx02, malformed -> 400xx01, missing or malformed bearer token ->
401xx01, timestamp outside the replay window -> 401xx00. The raw X-TIMESTAMP text is kept
as received: it is part of what the partner signed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from chalicelib.shared_kernel.calendar import to_jakarta

from .codes import SnapError

X_TIMESTAMP = "X-TIMESTAMP"
X_CLIENT_KEY = "X-CLIENT-KEY"
X_SIGNATURE = "X-SIGNATURE"
AUTHORIZATION = "Authorization"
X_PARTNER_ID = "X-PARTNER-ID"
X_EXTERNAL_ID = "X-EXTERNAL-ID"
CHANNEL_ID = "CHANNEL-ID"

# The standard's form is yyyy-MM-ddTHH:mm:ssTZD; TZD is "Z" or ±hh:mm. Fractions of a second
# are accepted too: several banks' libraries send milliseconds ("...T09:22:18.172+07:00").
# A timestamp without an offset is refused: its instant would be a guess.
# re.ASCII: a bare \d would also admit the digits of other scripts ("１２３").
_TIMESTAMP_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$", re.ASCII)
_EXTERNAL_ID_RE = re.compile(r"^\d{1,36}$", re.ASCII)
_BEARER_RE = re.compile(r"^Bearer +(\S+)$", re.IGNORECASE)

EXTERNAL_ID_MAX = 36
PARTNER_ID_MAX = 36
CHANNEL_ID_MAX = 5


@dataclass(frozen=True)
class TokenRequestHeaders:
    timestamp: str          # as received, for the string to sign
    instant: datetime       # the same, parsed, in Asia/Jakarta
    client_key: str
    signature: str


@dataclass(frozen=True)
class TransactionHeaders:
    access_token: str
    timestamp: str          # as received, for the string to sign
    instant: datetime       # the same, parsed, in Asia/Jakarta
    partner_id: str
    external_id: str
    channel_id: str
    signature: str


def get_header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup (HTTP header names are case-insensitive; API Gateway and
    chalice local do not agree on the case they hand over)."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        for key, candidate in headers.items():
            if key.lower() == wanted:
                value = candidate
                break
    return value


def parse_timestamp(text: str, header: str = X_TIMESTAMP) -> datetime:
    """X-TIMESTAMP text -> aware datetime in Asia/Jakarta, or 400xx01 naming the header."""
    if not isinstance(text, str) or not _TIMESTAMP_RE.match(text):
        raise SnapError.invalid_field_format(header)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:  # shape right, values wrong: month 13, 25:00, ...
        raise SnapError.invalid_field_format(header) from exc
    return to_jakarta(moment)


def check_timestamp(timestamp: str | datetime, now: datetime,
                    window_seconds: int) -> datetime:
    """The request's instant, if it lies within ±window_seconds of `now`; else 401xx00.

    A signed request replayed later, or sent from a clock far off, is refused before any
    business work is done.
    """
    moment = parse_timestamp(timestamp) if isinstance(timestamp, str) else timestamp
    if moment.tzinfo is None or now.tzinfo is None:
        raise ValueError("naive datetime: an instant needs its time zone")
    if abs((now - moment).total_seconds()) > window_seconds:
        raise SnapError.unauthorized(f"{X_TIMESTAMP} outside the allowed window")
    return to_jakarta(moment)


def format_timestamp(now: datetime) -> str:
    """The response X-TIMESTAMP: Jakarta time to the second, "2026-12-16T08:00:00+07:00"."""
    return to_jakarta(now).replace(microsecond=0).isoformat()


def parse_token_headers(headers: Mapping[str, str]) -> TokenRequestHeaders:
    timestamp = _required(headers, X_TIMESTAMP)
    client_key = _required(headers, X_CLIENT_KEY)
    signature = _required(headers, X_SIGNATURE)
    return TokenRequestHeaders(timestamp=timestamp, instant=parse_timestamp(timestamp),
                               client_key=client_key, signature=signature)


def parse_transaction_headers(headers: Mapping[str, str]) -> TransactionHeaders:
    timestamp = _required(headers, X_TIMESTAMP)
    signature = _required(headers, X_SIGNATURE)
    partner_id = _required(headers, X_PARTNER_ID)
    external_id = _required(headers, X_EXTERNAL_ID)
    channel_id = _required(headers, CHANNEL_ID)

    instant = parse_timestamp(timestamp)
    if len(partner_id) > PARTNER_ID_MAX:
        raise SnapError.invalid_field_format(X_PARTNER_ID)
    if not _EXTERNAL_ID_RE.match(external_id):
        raise SnapError.invalid_field_format(X_EXTERNAL_ID)
    if len(channel_id) > CHANNEL_ID_MAX:
        raise SnapError.invalid_field_format(CHANNEL_ID)

    return TransactionHeaders(access_token=bearer_token(headers), timestamp=timestamp,
                              instant=instant, partner_id=partner_id,
                              external_id=external_id, channel_id=channel_id,
                              signature=signature)


def bearer_token(headers: Mapping[str, str]) -> str:
    """The access token of "Authorization: Bearer <token>"; 401xx01 if absent or malformed."""
    match = _BEARER_RE.match((get_header(headers, AUTHORIZATION) or "").strip())
    if not match:
        raise SnapError.invalid_token()
    return match.group(1)


def _required(headers: Mapping[str, str], name: str) -> str:
    value = get_header(headers, name)
    if value is None or not value.strip():
        raise SnapError.invalid_mandatory_field(name)
    return value.strip()
