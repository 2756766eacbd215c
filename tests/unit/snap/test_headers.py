"""SNAP headers: lookup, mandatory headers, formats, the timestamp and its replay window."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.billing.snap.codes import SnapError
from chalicelib.billing.snap.headers import (
    check_timestamp, format_timestamp, get_header, parse_timestamp, parse_token_headers,
    parse_transaction_headers,
)

WIB = timezone(timedelta(hours=7))
NOW = datetime(2026, 12, 16, 8, 0, 0, tzinfo=WIB)


def transaction_headers(**changes):
    headers = {
        "Authorization": "Bearer abc.def-ghi",
        "X-TIMESTAMP": "2026-12-16T08:00:00+07:00",
        "X-SIGNATURE": "c2lnbmF0dXJl",
        "X-PARTNER-ID": "BANK-001",
        "X-EXTERNAL-ID": "41807553358950093184162180797837",
        "CHANNEL-ID": "95221",
    }
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value
    return headers


def code_of(call) -> str:
    with pytest.raises(SnapError) as caught:
        call()
    return caught.value.response_code("24") + " " + caught.value.message


def test_header_lookup_ignores_case():
    headers = {"x-timestamp": "t", "Channel-Id": "c"}

    assert get_header(headers, "X-TIMESTAMP") == "t"
    assert get_header(headers, "CHANNEL-ID") == "c"
    assert get_header(headers, "X-SIGNATURE") is None


def test_transaction_headers_are_read_whatever_their_case():
    headers = {k.lower(): v for k, v in transaction_headers().items()}

    parsed = parse_transaction_headers(headers)

    assert parsed.access_token == "abc.def-ghi"
    assert parsed.timestamp == "2026-12-16T08:00:00+07:00"
    assert parsed.instant == NOW
    assert (parsed.partner_id, parsed.external_id, parsed.channel_id, parsed.signature) == (
        "BANK-001", "41807553358950093184162180797837", "95221", "c2lnbmF0dXJl")


@pytest.mark.parametrize("name", [
    "X-TIMESTAMP", "X-SIGNATURE", "X-PARTNER-ID", "X-EXTERNAL-ID", "CHANNEL-ID"])
def test_a_missing_mandatory_header_is_named(name):
    headers = transaction_headers()
    headers.pop(name)

    assert code_of(lambda: parse_transaction_headers(headers)) == (
        f"4002402 Invalid Mandatory Field {name}")


def test_a_blank_mandatory_header_counts_as_missing():
    assert code_of(lambda: parse_transaction_headers(transaction_headers(CHANNEL_ID="  "))) \
        == "4002402 Invalid Mandatory Field CHANNEL-ID"


@pytest.mark.parametrize("external_id", ["1", "0" * 36, "123456789012345678901234567890123456"])
def test_external_id_is_numeric_up_to_36_digits(external_id):
    parsed = parse_transaction_headers(transaction_headers(X_EXTERNAL_ID=external_id))

    assert parsed.external_id == external_id


@pytest.mark.parametrize("external_id", ["1" * 37, "12a4", "-123", "12 34", "１２３"])
def test_external_id_that_is_not_numeric_or_too_long_is_refused(external_id):
    assert code_of(lambda: parse_transaction_headers(
        transaction_headers(X_EXTERNAL_ID=external_id))) == (
        "4002401 Invalid Field Format X-EXTERNAL-ID")


def test_channel_id_longer_than_five_is_refused():
    assert code_of(lambda: parse_transaction_headers(
        transaction_headers(CHANNEL_ID="952210"))) == "4002401 Invalid Field Format CHANNEL-ID"


def test_partner_id_longer_than_36_is_refused():
    assert code_of(lambda: parse_transaction_headers(
        transaction_headers(X_PARTNER_ID="P" * 37))) == (
        "4002401 Invalid Field Format X-PARTNER-ID")


@pytest.mark.parametrize("authorization", [None, "", "abc", "Basic abc", "Bearer ", "Bearer a b"])
def test_missing_or_malformed_bearer_token_is_an_invalid_token(authorization):
    headers = transaction_headers(Authorization=authorization)

    assert code_of(lambda: parse_transaction_headers(headers)) == (
        "4012401 Invalid Token (B2B)")


def test_bearer_scheme_is_case_insensitive():
    assert parse_transaction_headers(
        transaction_headers(Authorization="bearer tok")).access_token == "tok"


def test_token_request_headers():
    parsed = parse_token_headers({"x-timestamp": "2026-12-16T08:00:00+07:00",
                                  "x-client-key": "BANK-001", "x-signature": "sig"})

    assert (parsed.client_key, parsed.signature, parsed.instant) == ("BANK-001", "sig", NOW)


def test_token_request_without_client_key_is_refused():
    assert code_of(lambda: parse_token_headers(
        {"X-TIMESTAMP": "2026-12-16T08:00:00+07:00", "X-SIGNATURE": "s"})) == (
        "4002402 Invalid Mandatory Field X-CLIENT-KEY")


@pytest.mark.parametrize("text,expected", [
    ("2026-12-16T08:00:00+07:00", NOW),
    ("2026-12-16T08:00:00.172+07:00", NOW + timedelta(milliseconds=172)),
    ("2026-12-16T01:00:00Z", NOW),
    ("2026-12-16T09:00:00+08:00", NOW),
    ("2026-12-15T20:00:00-05:00", NOW),
])
def test_timestamp_in_the_standards_form_with_any_offset(text, expected):
    parsed = parse_timestamp(text)

    assert parsed == expected
    assert parsed.utcoffset() == timedelta(hours=7)  # seen in Jakarta


@pytest.mark.parametrize("text", [
    "2026-12-16T08:00:00", "2026-12-16 08:00:00+07:00", "2026-12-16T08:00+07:00",
    "20261216T080000+0700", "2026-13-16T08:00:00+07:00", "2026-12-16T25:00:00+07:00",
    "1765846800", "", "2026-12-16T08:00:00+0700",
])
def test_timestamp_not_in_the_standards_form_is_an_invalid_field(text):
    assert code_of(lambda: parse_timestamp(text)) == "4002401 Invalid Field Format X-TIMESTAMP"


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=300),
                                    timedelta(seconds=-300)])
def test_timestamp_inside_the_window_is_accepted(offset):
    text = (NOW + offset).isoformat()

    assert check_timestamp(text, NOW, window_seconds=300) == NOW + offset


@pytest.mark.parametrize("offset", [timedelta(seconds=301), timedelta(seconds=-301),
                                    timedelta(days=1)])
def test_timestamp_outside_the_window_is_unauthorized(offset):
    text = (NOW + offset).isoformat()

    assert code_of(lambda: check_timestamp(text, NOW, window_seconds=300)) == (
        "4012400 Unauthorized. [X-TIMESTAMP outside the allowed window]")


def test_window_compares_instants_not_wall_clocks():
    utc_now = NOW.astimezone(timezone.utc)

    assert check_timestamp("2026-12-16T08:04:00+07:00", utc_now, window_seconds=300)


def test_window_refuses_a_naive_now():
    with pytest.raises(ValueError):
        check_timestamp("2026-12-16T08:00:00+07:00", NOW.replace(tzinfo=None), 300)


def test_response_timestamp_is_jakarta_time_to_the_second():
    moment = datetime(2026, 12, 16, 1, 0, 0, 987654, tzinfo=timezone.utc)

    assert format_timestamp(moment) == "2026-12-16T08:00:00+07:00"
    assert parse_timestamp(format_timestamp(moment)) == NOW
