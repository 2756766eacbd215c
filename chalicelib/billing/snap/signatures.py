"""SNAP signatures: the asymmetric one of the token request and the symmetric one of every
transaction (SNAP "Standar Teknis dan Keamanan", header components).

- Access token B2B: X-SIGNATURE = base64(SHA256withRSA(partner private key,
  clientId + "|" + X-TIMESTAMP)), checked with the partner's registered public key.
- Transactions: X-SIGNATURE = base64(HMAC-SHA512(clientSecret, stringToSign)) with
  stringToSign = METHOD + ":" + relative path + ":" + access token + ":"
  + lowercase(hex(SHA-256(minify(body)))) + ":" + X-TIMESTAMP; an empty body hashes "".

The verifiers answer True or False and never raise: a malformed signature, key or body is
simply not a valid signature, and the caller answers "Unauthorized".
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_JSON_WHITESPACE = frozenset(" \t\n\r")


def asymmetric_string_to_sign(client_id: str, timestamp: str) -> str:
    return f"{client_id}|{timestamp}"


def verify_asymmetric_signature(public_key_pem: str, client_id: str, timestamp: str,
                                signature_b64: str) -> bool:
    """SHA256withRSA (PKCS#1 v1.5) over `clientId|X-TIMESTAMP`, signature in base64."""
    # cryptography is imported here, not at module top: only the token route needs it, and
    # every Lambda of the app imports this package through app.py.
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    signature = _b64decode(signature_b64)
    if signature is None:
        return False
    try:
        key = serialization.load_pem_public_key(_as_bytes(public_key_pem))
    except (ValueError, TypeError, AttributeError, UnsupportedAlgorithm):
        return False
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    message = asymmetric_string_to_sign(client_id, timestamp).encode("utf-8")
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def minify_body(raw: bytes | str | None) -> str:
    """The body with the whitespace between JSON tokens removed, and nothing else changed.

    The standard only says "minify(RequestBody)". Removing whitespace *outside* strings is
    what minifying JSON means, and it must stop at string boundaries: a payer named
    "PT Maju Jaya" or a partnerServiceId left-padded with spaces ("   12345") is part of
    what is signed. This is a hand-written scanner rather than json.loads + json.dumps on
    purpose: re-serialising is not the identity on the text the partner signed - it rewrites
    numbers (1.10 -> 1.1, 1e2 -> 100.0), escapes (\\u00e9 <-> é, \\/ -> /), drops duplicate
    keys - so the digest would no longer be over the body as received. Keys keep their
    order because nothing is parsed. Malformed JSON goes through unchanged apart from
    whitespace; whether it is valid JSON is the body validation's business.
    """
    if raw is None:
        return ""
    text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
    out: list[str] = []
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char in _JSON_WHITESPACE:
            continue
        else:
            out.append(char)
            if char == '"':
                in_string = True
    return "".join(out)


def body_digest(raw: bytes | str | None) -> str:
    """lowercase(hex(SHA-256(minify(body)))); the empty body gives the digest of ""."""
    return hashlib.sha256(minify_body(raw).encode("utf-8")).hexdigest()


def symmetric_string_to_sign(method: str, relative_path: str, access_token: str,
                             raw_body: bytes | str | None, timestamp: str) -> str:
    """METHOD:relativePath:accessToken:lowercase(hex(sha256(minify(body)))):X-TIMESTAMP.

    `relative_path` is the path the partner called, with our prefix and any query string
    (e.g. "/snap/v1.0/transfer-va/inquiry"), not the path of the standard's table.
    """
    return ":".join((method.upper(), relative_path, access_token, body_digest(raw_body),
                     timestamp))


def symmetric_signature(client_secret: str, method: str, relative_path: str,
                        access_token: str, raw_body: bytes | str | None,
                        timestamp: str) -> str:
    """base64(HMAC-SHA512(clientSecret, stringToSign))."""
    return base64.b64encode(_hmac_sha512(client_secret, method, relative_path, access_token,
                                         raw_body, timestamp)).decode("ascii")


def verify_symmetric_signature(client_secret: str, method: str, relative_path: str,
                               access_token: str, raw_body: bytes | str | None,
                               timestamp: str, signature_b64: str) -> bool:
    """Constant-time comparison of the HMAC over the body as received."""
    signature = _b64decode(signature_b64)
    if signature is None:
        return False
    try:
        expected = _hmac_sha512(client_secret, method, relative_path, access_token, raw_body,
                                timestamp)
    except (UnicodeDecodeError, AttributeError, TypeError):
        return False
    return hmac.compare_digest(expected, signature)


def _hmac_sha512(client_secret: str, method: str, relative_path: str, access_token: str,
                 raw_body: bytes | str | None, timestamp: str) -> bytes:
    string_to_sign = symmetric_string_to_sign(method, relative_path, access_token, raw_body,
                                              timestamp)
    return hmac.new(_as_bytes(client_secret), string_to_sign.encode("utf-8"),
                    hashlib.sha512).digest()


def _b64decode(text: str | bytes | None) -> bytes | None:
    if not text:
        return None
    try:
        return base64.b64decode(_as_bytes(text).strip(), validate=True)
    except (binascii.Error, ValueError, TypeError, AttributeError):
        return None


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")
