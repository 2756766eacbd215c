"""Partner credentials, pure (no AWS): client secrets generated and encrypted at rest, partner
public keys checked at onboarding, and the B2B access tokens.

Client secrets are the HMAC key of every transaction signature, so SMILE must be able to read
them back: they are encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with one key per stage,
which lives outside the database (a local key file, or Secrets Manager when deployed).

Access tokens are not stored. A token is an HMAC-signed statement "client X, credential
version V, valid until T" under a key derived from the same stage key. Every transaction
reads the partner record anyway (its secret verifies the signature), so that record is where
tokens are revoked: disabling the partner or rotating its secret or key bumps the version,
and every token issued before stops working. One DynamoDB read per transaction, not two.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

MIN_RSA_BITS = 2048
_TOKEN_PREFIX = "v1"


class KeyMaterialError(ValueError):
    """The stage key is missing or not 32 bytes of base64."""


def fernet_key(material: bytes | str) -> bytes:
    """The stage key as Fernet wants it (URL-safe base64 of 32 bytes).

    Accepts a Fernet key (what infra/local.py writes) or standard base64 of 32 random bytes
    (what `openssl rand -base64 32` gives for the Secrets Manager secret)."""
    text = material.decode("ascii", "replace") if isinstance(material, bytes) else material
    text = text.strip()
    for decode in (base64.urlsafe_b64decode, base64.standard_b64decode):
        try:
            raw = decode(text.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            continue
        if len(raw) == 32:
            return base64.urlsafe_b64encode(raw)
    raise KeyMaterialError("the partner secret key must be 32 bytes in base64 "
                           "(e.g. `openssl rand -base64 32`)")


class SecretBox:
    """Encrypts client secrets for storage and decrypts them to verify signatures."""

    def __init__(self, material: bytes | str):
        from cryptography.fernet import Fernet

        key = fernet_key(material)
        self._fernet = Fernet(key)
        # Domain separation: the token key is derived, never the encryption key itself.
        self.token_key = hmac.new(base64.urlsafe_b64decode(key), b"smile/snap/access-token/v1",
                                  hashlib.sha256).digest()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")


def new_client_secret() -> str:
    """48 random bytes, URL-safe base64 (64 characters): safe in shells and config files."""
    return secrets.token_urlsafe(48)


def check_public_key(pem: str) -> str:
    """The partner's RSA public key, normalised to SubjectPublicKeyInfo PEM; ValueError with a
    message a person can act on otherwise."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise ValueError("public_key_pem is not a PEM public key "
                         "('-----BEGIN PUBLIC KEY-----' ...)") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("public_key_pem must be an RSA key (SNAP signs with SHA256withRSA)")
    if key.key_size < MIN_RSA_BITS:
        raise ValueError(f"the RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} "
                         f"are required")
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def key_fingerprint(pem: str) -> str:
    """SHA256:<base64> of the DER public key, as `ssh-keygen -l` shows keys: lets an
    administrator and a partner confirm over the phone which key is registered."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(pem.encode("ascii"))
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = base64.b64encode(hashlib.sha256(der).digest()).decode("ascii").rstrip("=")
    return f"SHA256:{digest}"


@dataclass(frozen=True)
class AccessClaims:
    client_id: str
    version: int
    expires_at: int      # epoch seconds


class AccessTokens:
    """B2B access tokens: `v1.<base64url(client|version|expiry|nonce)>.<base64url(mac)>`."""

    def __init__(self, key: bytes, ttl_seconds: int):
        self._key = key
        self.ttl_seconds = ttl_seconds

    def issue(self, client_id: str, version: int, now_epoch: float) -> str:
        expires = int(now_epoch) + self.ttl_seconds
        payload = f"{client_id}|{version}|{expires}|{secrets.token_hex(8)}".encode("utf-8")
        body = _b64(payload)
        return f"{_TOKEN_PREFIX}.{body}.{_b64(self._mac(body))}"

    def verify(self, token: str, now_epoch: float) -> AccessClaims | None:
        """The claims of a genuine, unexpired token; None for anything else."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _TOKEN_PREFIX:
            return None
        _, body, mac = parts
        if not hmac.compare_digest(_b64(self._mac(body)), mac):
            return None
        try:
            client_id, version, expires, _nonce = _unb64(body).decode("utf-8").rsplit("|", 3)
            claims = AccessClaims(client_id, int(version), int(expires))
        except (ValueError, UnicodeDecodeError, binascii.Error):
            return None
        return claims if now_epoch < claims.expires_at else None

    def _mac(self, body: str) -> bytes:
        return hmac.new(self._key, f"{_TOKEN_PREFIX}.{body}".encode("ascii"),
                        hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
