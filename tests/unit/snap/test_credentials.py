"""Partner credentials: the stage key, encrypted client secrets, public keys, access tokens."""
from __future__ import annotations

import base64
import os

import pytest

from chalicelib.billing.snap.credentials import (AccessTokens, KeyMaterialError, SecretBox,
                                                 check_public_key, fernet_key, key_fingerprint,
                                                 new_client_secret)
from tests.support.snap_client import generate_rsa_keypair

RAW = bytes(range(32))


def test_stage_key_is_read_as_a_fernet_key_or_openssl_base64():
    fernet = base64.urlsafe_b64encode(RAW)
    assert fernet_key(fernet) == fernet
    assert fernet_key(base64.standard_b64encode(RAW).decode() + "\n") == fernet
    with pytest.raises(KeyMaterialError):
        fernet_key(base64.standard_b64encode(RAW[:16]))
    with pytest.raises(KeyMaterialError):
        fernet_key("not base64 at all!")


def test_secrets_round_trip_and_never_appear_in_the_ciphertext():
    box = SecretBox(base64.urlsafe_b64encode(os.urandom(32)))
    secret = new_client_secret()
    sealed = box.encrypt(secret)
    assert secret not in sealed and box.decrypt(sealed) == secret
    assert len(secret) == 64 and secret.replace("-", "").replace("_", "").isalnum()
    other = SecretBox(base64.urlsafe_b64encode(os.urandom(32)))
    from cryptography.fernet import InvalidToken

    with pytest.raises(InvalidToken):
        other.decrypt(sealed)


def test_tokens_are_bound_to_client_version_and_expiry():
    tokens = AccessTokens(b"k" * 32, ttl_seconds=900)
    token = tokens.issue("BANK-001", 3, now_epoch=1_000_000)
    claims = tokens.verify(token, now_epoch=1_000_899)
    assert (claims.client_id, claims.version, claims.expires_at) == ("BANK-001", 3, 1_000_900)
    assert tokens.verify(token, now_epoch=1_000_900) is None                 # expired
    assert AccessTokens(b"x" * 32, 900).verify(token, now_epoch=1_000_000) is None  # other key
    prefix, body, mac = token.split(".")
    forged_body = base64.urlsafe_b64encode(b"BANK-002|3|9999999999|00").decode().rstrip("=")
    assert tokens.verify(f"{prefix}.{forged_body}.{mac}", 1_000_000) is None
    for junk in ("", "Bearer x", "v1..", "v2." + body + "." + mac, token + "x"):
        assert tokens.verify(junk, 1_000_000) is None
    assert tokens.issue("BANK-001", 3, 1_000_000) != token                  # nonce


def test_public_keys_must_be_rsa_of_2048_bits_or_more():
    _, public_pem = generate_rsa_keypair()
    assert check_public_key("\n" + public_pem + "\n") == public_pem
    assert key_fingerprint(public_pem).startswith("SHA256:")
    small = generate_rsa_keypair(bits=1024)[1]
    with pytest.raises(ValueError, match="1024 bits"):
        check_public_key(small)
    with pytest.raises(ValueError, match="not a PEM public key"):
        check_public_key("-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----")
    private_pem, _ = generate_rsa_keypair()
    with pytest.raises(ValueError):
        check_public_key(private_pem)
