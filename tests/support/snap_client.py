"""A SNAP partner channel (a bank, the post office, a minimarket) for tests, written from the
standard and NOT from SMILE's code: nothing here imports chalicelib, so a test that drives
the server with it checks the server against a second, independent reading of the spec.

The spec, as implemented here (SNAP developer site, "Keamanan" and "Virtual Account"):
- token:  POST {prefix}/v1.0/access-token/b2b, headers X-TIMESTAMP, X-CLIENT-KEY,
  X-SIGNATURE = base64(SHA256withRSA(private key, clientId + "|" + X-TIMESTAMP)),
  body {"grantType": "client_credentials"};
- transactions: Authorization: Bearer <token>, X-TIMESTAMP, X-PARTNER-ID, X-EXTERNAL-ID
  (numeric, unique per day), CHANNEL-ID, X-SIGNATURE = base64(HMAC-SHA512(clientSecret,
  METHOD:path:token:lowercase(hex(sha256(minified body))):X-TIMESTAMP)).

Here the minified body is obtained by re-serialising the JSON compactly (json.dumps with
no separators' spaces), unlike the server's scanner: two implementations, one answer.

Every call returns (http_status, json_body_or_None, headers with lower-case names).
Negative tests can override the timestamp, token, signature, external id and headers, send
a body other than the one signed (`send_body`, `tamper`) or send the signed body pretty-
printed (`pretty=True`: same signature, different whitespace).

Usage over HTTP:      SnapPartner("http://127.0.0.1:8000", ...)
Usage in process:     SnapPartner(transport=chalice_transport(chalice.test.Client(app)), ...)
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping, NamedTuple

# (method, path, headers, body bytes) -> (status, parsed JSON or None, headers)
Transport = Callable[[str, str, dict, bytes], tuple]

WIB = timezone(timedelta(hours=7), "WIB")


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT = _Omit()  # in body_overrides / headers: leave this field or header out entirely


class SnapResult(NamedTuple):
    status: int
    body: Any
    headers: dict


def generate_rsa_keypair(bits: int = 2048) -> tuple[str, str]:
    """A fresh partner key pair: (private key PEM, PKCS#8; public key PEM, SPKI)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode("ascii")
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return private_pem, public_pem


def requests_transport(base_url: str, timeout: float = 10.0) -> Transport:
    import requests

    session = requests.Session()

    def send(method: str, path: str, headers: dict, body: bytes) -> tuple:
        response = session.request(method, base_url.rstrip("/") + path, headers=headers,
                                    data=body, timeout=timeout)
        return response.status_code, _json_or_none(response.content), dict(response.headers)

    return send


def chalice_transport(client: Any) -> Transport:
    """Adapter for chalice.test.Client (duck-typed: no chalice import here)."""

    def send(method: str, path: str, headers: dict, body: bytes) -> tuple:
        response = client.http.request(method, path, headers=headers, body=body)
        return response.status_code, _json_or_none(response.body), dict(response.headers)

    return send


class SnapPartner:
    def __init__(self, base_url: str | None = None, client_id: str = "",
                 client_secret: str = "", private_key_pem: str = "",
                 partner_service_id: str = "", channel_id: str = "95221", *,
                 partner_id: str | None = None, prefix: str = "/snap",
                 transport: Transport | None = None,
                 clock: Callable[[], datetime] | None = None):
        if transport is None:
            if not base_url:
                raise ValueError("give a base_url or a transport")
            transport = requests_transport(base_url)
        self.client_id = client_id
        self.client_secret = client_secret
        self.private_key_pem = private_key_pem
        self.partner_service_id = partner_service_id.strip().rjust(8)
        self.channel_id = channel_id
        self.partner_id = partner_id or client_id
        self.prefix = prefix.rstrip("/")
        self.transport = transport
        self.clock = clock or (lambda: datetime.now(WIB))
        self.access_token: str | None = None

    # --- signing, straight from the spec ----------------------------------------------

    def timestamp(self, moment: datetime | None = None) -> str:
        """yyyy-MM-ddTHH:mm:ss+07:00"""
        moment = (moment or self.clock()).astimezone(WIB)
        return moment.strftime("%Y-%m-%dT%H:%M:%S+07:00")

    def sign_token_request(self, timestamp: str, client_id: str | None = None) -> str:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        key = serialization.load_pem_private_key(self.private_key_pem.encode(), None)
        message = f"{client_id or self.client_id}|{timestamp}".encode("utf-8")
        return base64.b64encode(key.sign(message, padding.PKCS1v15(),
                                         hashes.SHA256())).decode("ascii")

    def sign_transaction(self, method: str, path: str, access_token: str,
                         minified_body: str, timestamp: str,
                         client_secret: str | None = None) -> str:
        body_hash = hashlib.sha256(minified_body.encode("utf-8")).hexdigest().lower()
        string_to_sign = f"{method.upper()}:{path}:{access_token}:{body_hash}:{timestamp}"
        digest = hmac.new((client_secret or self.client_secret).encode("utf-8"),
                          string_to_sign.encode("utf-8"), hashlib.sha512).digest()
        return base64.b64encode(digest).decode("ascii")

    @staticmethod
    def new_external_id() -> str:
        """32 random digits, like the standard's samples; numeric and unique per day."""
        return f"{uuid.uuid4().int % 10**32:032d}"

    def virtual_account_no(self, customer_no: str) -> str:
        return self.partner_service_id + customer_no

    # --- the four services ------------------------------------------------------------

    def get_token(self, *, timestamp: str | None = None, signature: str | None = None,
                  client_id: str | None = None, body: Mapping[str, Any] | None = None,
                  headers: Mapping[str, Any] | None = None) -> SnapResult:
        """POST /v1.0/access-token/b2b; keeps the token on success for later calls."""
        timestamp = timestamp or self.timestamp()
        request_headers = _merge({
            "Content-Type": "application/json",
            "X-TIMESTAMP": timestamp,
            "X-CLIENT-KEY": client_id or self.client_id,
            "X-SIGNATURE": signature or self.sign_token_request(timestamp, client_id),
        }, headers)
        payload = json.dumps(dict(body) if body is not None
                             else {"grantType": "client_credentials"}).encode("utf-8")
        result = self._send("POST", f"{self.prefix}/v1.0/access-token/b2b", request_headers,
                            payload)
        if result.status == 200 and isinstance(result.body, dict) \
                and result.body.get("accessToken"):
            self.access_token = result.body["accessToken"]
        return result

    def inquiry(self, customer_no: str, inquiry_request_id: str | None = None,
                external_id: str | None = None, *,
                body_overrides: Mapping[str, Any] | None = None,
                **options: Any) -> SnapResult:
        body = {
            "partnerServiceId": self.partner_service_id,
            "customerNo": customer_no,
            "virtualAccountNo": self.virtual_account_no(customer_no),
            "inquiryRequestId": inquiry_request_id or str(uuid.uuid4()),
            "trxDateInit": self.timestamp(),
            "channelCode": 6011,
            "language": "ID",
            "additionalInfo": {},
        }
        return self.transaction("/v1.0/transfer-va/inquiry", _merge(body, body_overrides),
                                external_id=external_id, **options)

    def payment(self, customer_no: str, amount: int | str, payment_request_id: str,
                external_id: str | None = None, *, total_amount: int | str | None = None,
                virtual_account_name: str | None = None,
                body_overrides: Mapping[str, Any] | None = None,
                **options: Any) -> SnapResult:
        body: dict[str, Any] = {
            "partnerServiceId": self.partner_service_id,
            "customerNo": customer_no,
            "virtualAccountNo": self.virtual_account_no(customer_no),
            "paymentRequestId": payment_request_id,
            "channelCode": 6011,
            "paidAmount": _amount(amount),
            "totalAmount": _amount(amount if total_amount is None else total_amount),
            "trxDateTime": self.timestamp(),
            "referenceNo": payment_request_id[-15:],
            "flagAdvise": "N",
            "additionalInfo": {},
        }
        if virtual_account_name is not None:
            body["virtualAccountName"] = virtual_account_name
        return self.transaction("/v1.0/transfer-va/payment", _merge(body, body_overrides),
                                external_id=external_id, **options)

    def status(self, customer_no: str, payment_request_id: str | None = None,
               inquiry_request_id: str | None = None, external_id: str | None = None, *,
               body_overrides: Mapping[str, Any] | None = None,
               **options: Any) -> SnapResult:
        body: dict[str, Any] = {
            "partnerServiceId": self.partner_service_id,
            "customerNo": customer_no,
            "virtualAccountNo": self.virtual_account_no(customer_no),
            "inquiryRequestId": inquiry_request_id or payment_request_id,
            "paymentRequestId": payment_request_id,
            "additionalInfo": {},
        }
        body = {k: v for k, v in body.items() if v is not None}
        return self.transaction("/v1.0/transfer-va/status", _merge(body, body_overrides),
                                external_id=external_id, **options)

    def transaction(self, service_path: str, body: Mapping[str, Any], *,
                    external_id: str | None = None, timestamp: str | None = None,
                    token: str | None = None, signature: str | None = None,
                    client_secret: str | None = None, method: str = "POST",
                    send_body: bytes | None = None,
                    tamper: Callable[[bytes], bytes] | None = None, pretty: bool = False,
                    headers: Mapping[str, Any] | None = None) -> SnapResult:
        """One signed transaction call. `service_path` is the standard's path
        ("/v1.0/transfer-va/inquiry"); the prefix is added and is part of what is signed.

        Negative-test knobs: `timestamp`, `token`, `signature`, `client_secret` (sign with
        another secret), `send_body` (raw bytes sent and signed as they are), `tamper`
        (changes the bytes after signing), `headers` (extra ones, or OMIT to drop one).
        """
        path = f"{self.prefix}{service_path}"
        timestamp = timestamp or self.timestamp()
        access_token = token if token is not None else self.access_token
        if access_token is None:
            raise RuntimeError("no access token: call get_token() first or pass token=")
        if send_body is not None:
            payload = send_body
            minified = _minify(send_body)
        else:
            minified = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
            sent = json.dumps(body, indent=2, ensure_ascii=False) if pretty else minified
            payload = sent.encode("utf-8")
        request_headers = _merge({
            "Content-Type": "application/json",
            "Authorization": f"Bearer {access_token}",
            "X-TIMESTAMP": timestamp,
            "X-SIGNATURE": signature or self.sign_transaction(
                method, path, access_token, minified, timestamp, client_secret),
            "X-PARTNER-ID": self.partner_id,
            "X-EXTERNAL-ID": external_id or self.new_external_id(),
            "CHANNEL-ID": self.channel_id,
        }, headers)
        if tamper is not None:
            payload = tamper(payload)
        return self._send(method, path, request_headers, payload)

    def _send(self, method: str, path: str, headers: dict, body: bytes) -> SnapResult:
        status, parsed, response_headers = self.transport(method, path, headers, body)
        return SnapResult(int(status), parsed,
                          {str(k).lower(): v for k, v in dict(response_headers).items()})


def _amount(amount: int | str) -> dict[str, str]:
    # Strings go through untouched so negative tests can send "16800.5" or "abc".
    value = f"{amount}.00" if isinstance(amount, int) else amount
    return {"value": value, "currency": "IDR"}


def _minify(raw: bytes) -> str:
    """The spec's minify for bodies given as bytes: re-serialise compactly if it is JSON.

    Fine for the plain bodies tests send; a body whose numbers or escapes re-serialise
    differently (1.10, "\\u00e9") needs an explicit `signature=`."""
    text = raw.decode("utf-8")
    try:
        return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    except json.JSONDecodeError:
        return text


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(base)
    for key, value in (overrides or {}).items():
        if value is OMIT:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _json_or_none(content: bytes | str | None) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


__all__ = ["OMIT", "SnapPartner", "SnapResult", "Transport", "chalice_transport",
           "generate_rsa_keypair", "requests_transport"]
