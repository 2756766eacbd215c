"""Cross-check: the test partner (written from the spec, independent of chalicelib) against
a minimal in-process server assembled from SMILE's protocol layer. If either reading of the
spec drifts, these tests fail.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.billing.snap.codes import Service, SnapError
from chalicelib.billing.snap.headers import (
    check_timestamp, format_timestamp, parse_token_headers, parse_transaction_headers,
)
from chalicelib.billing.snap.messages import inquiry_response, parse_inquiry_request
from chalicelib.billing.snap.signatures import (
    verify_asymmetric_signature, verify_symmetric_signature,
)
from tests.support.snap_client import OMIT, SnapPartner, chalice_transport, generate_rsa_keypair

WIB = timezone(timedelta(hours=7))
NOW = datetime(2026, 12, 16, 8, 0, 0, tzinfo=WIB)
CLIENT_ID, SECRET, TOKEN = "BANK-001", "s3cret-of-bank-001", "token-for-bank-001"
WINDOW = 300


class ProtocolOnlyServer:
    """Token and inquiry, wired the way a route would: headers, window, signature, body."""

    def __init__(self, public_key_pem: str):
        self.public_key_pem = public_key_pem
        self.seen: list[tuple[str, str, dict, bytes]] = []

    def __call__(self, method: str, path: str, headers: dict, body: bytes):
        self.seen.append((method, path, headers, body))
        service = Service.ACCESS_TOKEN_B2B if path.endswith("/b2b") else Service.VA_INQUIRY
        try:
            payload = self._token(headers) if service is Service.ACCESS_TOKEN_B2B \
                else self._inquiry(method, path, headers, body)
            status = 200
        except SnapError as error:
            payload, status = error.to_body(service), error.status
        return status, payload, {"X-TIMESTAMP": format_timestamp(NOW)}

    def _token(self, headers):
        parsed = parse_token_headers(headers)
        check_timestamp(parsed.instant, NOW, WINDOW)
        if parsed.client_key != CLIENT_ID or not verify_asymmetric_signature(
                self.public_key_pem, parsed.client_key, parsed.timestamp, parsed.signature):
            raise SnapError.unauthorized("Signature")
        return {"responseCode": "2007300", "responseMessage": "Successful",
                "accessToken": TOKEN, "tokenType": "Bearer", "expiresIn": "900"}

    def _inquiry(self, method, path, headers, body):
        parsed = parse_transaction_headers(headers)
        if parsed.access_token != TOKEN:
            raise SnapError.invalid_token()
        check_timestamp(parsed.instant, NOW, WINDOW)
        if not verify_symmetric_signature(SECRET, method, path, parsed.access_token, body,
                                          parsed.timestamp, parsed.signature):
            raise SnapError.unauthorized("Signature")
        request = parse_inquiry_request(body)
        return inquiry_response(partner_service_id=request.partner_service_id,
                                customer_no=request.customer_no,
                                virtual_account_name="PT Maju Jaya",
                                inquiry_request_id=request.inquiry_request_id,
                                total_amount=16800)


@pytest.fixture(scope="module")
def keys():
    return generate_rsa_keypair()


@pytest.fixture
def server(keys):
    return ProtocolOnlyServer(keys[1])


@pytest.fixture
def partner(keys, server):
    return SnapPartner(client_id=CLIENT_ID, client_secret=SECRET, private_key_pem=keys[0],
                       partner_service_id="88899", transport=server, clock=lambda: NOW)


def test_partner_token_request_is_accepted(partner):
    status, body, headers = partner.get_token()

    assert (status, body["responseCode"], body["accessToken"]) == (200, "2007300", TOKEN)
    assert headers["x-timestamp"] == "2026-12-16T08:00:00+07:00"
    assert partner.access_token == TOKEN


def test_token_signed_with_another_key_is_refused(partner):
    partner.private_key_pem = generate_rsa_keypair()[0]

    status, body, _ = partner.get_token()

    assert (status, body["responseCode"]) == (401, "4017300")


def test_token_request_with_a_stale_timestamp_is_refused(partner):
    status, body, _ = partner.get_token(timestamp="2026-12-16T07:50:00+07:00")

    assert (status, body["responseCode"]) == (401, "4017300")


def test_partner_inquiry_is_accepted(partner, server):
    partner.get_token()

    status, body, _ = partner.inquiry("2612000001", inquiry_request_id="INQ-1")

    assert status == 200
    assert body["responseCode"] == "2002400"
    assert body["virtualAccountData"]["virtualAccountNo"] == "   888992612000001"
    method, path, headers, _ = server.seen[-1]
    assert (method, path) == ("POST", "/snap/v1.0/transfer-va/inquiry")
    assert headers["X-EXTERNAL-ID"].isdigit() and len(headers["X-EXTERNAL-ID"]) <= 36


def test_pretty_printed_body_signed_in_its_minified_form_is_accepted(partner, server):
    partner.get_token()

    status, body, _ = partner.inquiry("2612000001", pretty=True)

    assert (status, body["responseCode"]) == (200, "2002400")
    assert b"\n" in server.seen[-1][3]


def test_body_changed_after_signing_is_refused(partner):
    partner.get_token()

    status, body, _ = partner.inquiry(
        "2612000001", tamper=lambda raw: raw.replace(b"2612000001", b"2612000002"))

    assert (status, body) == (401, {"responseCode": "4012400",
                                    "responseMessage": "Unauthorized. [Signature]"})


def test_body_signed_with_another_secret_is_refused(partner):
    partner.get_token()

    status, body, _ = partner.inquiry("2612000001", client_secret="not-the-secret")

    assert (status, body["responseCode"]) == (401, "4012400")


def test_unknown_token_is_refused(partner):
    status, body, _ = partner.inquiry("2612000001", token="forged")

    assert (status, body["responseCode"]) == (401, "4012401")


def test_replayed_request_outside_the_window_is_refused(partner):
    partner.get_token()

    status, body, _ = partner.inquiry("2612000001", timestamp="2026-12-16T07:54:59+07:00")

    assert (status, body["responseCode"]) == (401, "4012400")


def test_signed_but_invalid_body_reaches_validation(partner):
    partner.get_token()

    status, body, _ = partner.inquiry("2612000001", body_overrides={"inquiryRequestId": OMIT})

    assert (status, body) == (400, {"responseCode": "4002402",
                                    "responseMessage": "Invalid Mandatory Field inquiryRequestId"})


def test_raw_body_sent_as_given_is_signed_as_given(partner):
    partner.get_token()
    raw = (b'{ "partnerServiceId" : "   88899", "customerNo": "2612000001",\n'
           b'  "virtualAccountNo": "   888992612000001", "inquiryRequestId": "INQ 7" }')

    status, body, _ = partner.transaction("/v1.0/transfer-va/inquiry", {}, send_body=raw)

    assert (status, body["virtualAccountData"]["inquiryRequestId"]) == (200, "INQ 7")


def test_missing_header_can_be_simulated(partner):
    partner.get_token()

    status, body, _ = partner.inquiry("2612000001", headers={"CHANNEL-ID": OMIT})

    assert (status, body["responseCode"]) == (400, "4002402")


def test_chalice_transport_adapts_the_chalice_test_client(server, keys):
    class FakeChaliceResponse:
        def __init__(self, status, body, headers):
            import json

            self.status_code, self.body, self.headers = status, json.dumps(body).encode(), headers

    class FakeChaliceClient:
        class http:  # noqa: N801 - mirrors chalice.test.Client.http
            @staticmethod
            def request(method, path, headers=None, body=b""):
                return FakeChaliceResponse(*server(method, path, headers, body))

    partner = SnapPartner(client_id=CLIENT_ID, client_secret=SECRET, private_key_pem=keys[0],
                          partner_service_id="88899", clock=lambda: NOW,
                          transport=chalice_transport(FakeChaliceClient()))

    assert partner.get_token().status == 200
    assert partner.inquiry("2612000001").body["responseCode"] == "2002400"
