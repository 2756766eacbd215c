"""SNAP signatures: known vectors computed independently, minify, and refusals."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess

import pytest

from chalicelib.billing.snap.signatures import (
    asymmetric_string_to_sign, body_digest, minify_body, symmetric_signature,
    symmetric_string_to_sign, verify_asymmetric_signature, verify_symmetric_signature,
)
from tests.support.snap_client import SnapPartner, generate_rsa_keypair

PATH = "/snap/v1.0/transfer-va/inquiry"
TOKEN = "demo-access-token"
SECRET = "demo-client-secret"
TIMESTAMP = "2026-12-16T08:00:00+07:00"
BODY = (b'{"partnerServiceId":"   88899","customerNo":"000010000014",'
        b'"virtualAccountNo":"   88899000010000014","inquiryRequestId":"INQ-20261216-0001"}')
# Computed with openssl (docs/snap-partner-guide.md, worked example):
#   printf '%s' "$BODY" | openssl dgst -sha256 -hex
#   printf '%s' "$STRING_TO_SIGN" | openssl dgst -sha512 -hmac "$SECRET" -binary | base64
BODY_SHA256 = "d6ead70962dbef0e831c282db4f6f98b76a6fc4cd42b336306c669086977c89a"
SIGNATURE = ("d/rao1JRat4ONPlXhskyyuTzL4VXSY0UNowzTg/rh4iu8CnB0rnBviZsExCo2ZoWNAOC5HvVADh1hz"
             "xZXLF7pw==")


@pytest.fixture(scope="module")
def partner_keys():
    return generate_rsa_keypair()


@pytest.fixture(scope="module")
def partner(partner_keys):
    private_pem, _ = partner_keys
    return SnapPartner(client_id="BANK-001", client_secret=SECRET,
                       private_key_pem=private_pem, partner_service_id="88899",
                       transport=lambda *a: (500, None, {}))


# --- symmetric (transactions) ----------------------------------------------------------

def test_string_to_sign_is_method_path_token_body_hash_timestamp():
    expected_hash = hashlib.sha256(BODY).hexdigest()

    assert symmetric_string_to_sign("post", PATH, TOKEN, BODY, TIMESTAMP) == (
        f"POST:{PATH}:{TOKEN}:{expected_hash}:{TIMESTAMP}")


def test_signature_matches_one_computed_by_hand():
    string_to_sign = f"POST:{PATH}:{TOKEN}:{hashlib.sha256(BODY).hexdigest()}:{TIMESTAMP}"
    by_hand = base64.b64encode(
        hmac.new(SECRET.encode(), string_to_sign.encode(), hashlib.sha512).digest()).decode()

    assert symmetric_signature(SECRET, "POST", PATH, TOKEN, BODY, TIMESTAMP) == by_hand


def test_known_vector_from_the_partner_guide():
    assert body_digest(BODY) == BODY_SHA256
    assert symmetric_signature(SECRET, "POST", PATH, TOKEN, BODY, TIMESTAMP) == SIGNATURE
    assert verify_symmetric_signature(SECRET, "POST", PATH, TOKEN, BODY, TIMESTAMP, SIGNATURE)


def test_pretty_printed_body_verifies_against_signature_of_the_minified_one():
    pretty = json.dumps(json.loads(BODY), indent=4).encode()

    assert verify_symmetric_signature(SECRET, "POST", PATH, TOKEN, pretty, TIMESTAMP,
                                      SIGNATURE)


def test_empty_body_hashes_the_empty_string():
    empty = hashlib.sha256(b"").hexdigest()

    assert body_digest(b"") == body_digest(None) == empty
    assert symmetric_string_to_sign("GET", "/x", TOKEN, b"", TIMESTAMP).split(":")[3] == empty


@pytest.mark.parametrize("change", [
    {"raw_body": BODY.replace(b"000010000014", b"000010000022")},
    {"client_secret": "another-secret"},
    {"relative_path": "/snap/v1.0/transfer-va/payment"},
    {"access_token": "another-token"},
    {"timestamp": "2026-12-16T08:00:01+07:00"},
    {"method": "PUT"},
], ids=["tampered body", "wrong secret", "other path", "other token", "other timestamp",
        "other method"])
def test_any_change_to_what_was_signed_is_refused(change):
    args = dict(client_secret=SECRET, method="POST", relative_path=PATH, access_token=TOKEN,
                raw_body=BODY, timestamp=TIMESTAMP)
    args.update(change)

    assert not verify_symmetric_signature(signature_b64=SIGNATURE, **args)


@pytest.mark.parametrize("signature", [
    "", "not base64 at all!", SIGNATURE[:-4], "=" * 8, SIGNATURE.encode().hex(),
    base64.b64encode(b"\x00" * 64).decode(),
])
def test_malformed_signatures_are_refused_without_raising(signature):
    assert not verify_symmetric_signature(SECRET, "POST", PATH, TOKEN, BODY, TIMESTAMP,
                                          signature)


def test_body_that_is_not_utf8_is_refused_without_raising():
    assert not verify_symmetric_signature(SECRET, "POST", PATH, TOKEN, b"\xff\xfe{}",
                                          TIMESTAMP, SIGNATURE)


# --- minify ----------------------------------------------------------------------------

def test_minify_keeps_whitespace_inside_strings():
    raw = b'{\n  "virtualAccountName" : "PT Maju  Jaya",\n  "partnerServiceId": "   88899"\n}'

    assert minify_body(raw) == (
        '{"virtualAccountName":"PT Maju  Jaya","partnerServiceId":"   88899"}')


def test_minify_never_reorders_keys_nor_rewrites_numbers_or_escapes():
    raw = '{ "z": 1.10, "a": [1e2 , -0.0], "m": "caf\\u00e9 \\/ é", "k": true }'

    assert minify_body(raw) == '{"z":1.10,"a":[1e2,-0.0],"m":"caf\\u00e9 \\/ é","k":true}'


def test_minify_handles_escaped_quotes_and_backslashes_at_string_ends():
    raw = r'{ "a" : "say \"hi there\" " , "b" : "ends with \\" , "c" : " x " }'

    assert minify_body(raw) == r'{"a":"say \"hi there\" ","b":"ends with \\","c":" x "}'


def test_minify_removes_every_kind_of_json_whitespace_outside_strings():
    assert minify_body(b'\t{\r\n "a" :\t[ 1 ,\n2 ] }\n') == '{"a":[1,2]}'


def test_minify_of_nothing_is_the_empty_string():
    assert minify_body(b"") == minify_body(None) == ""


# --- asymmetric (access token) ---------------------------------------------------------

def test_asymmetric_string_to_sign_is_client_id_pipe_timestamp():
    assert asymmetric_string_to_sign("BANK-001", TIMESTAMP) == f"BANK-001|{TIMESTAMP}"


def test_token_signature_of_the_test_partner_verifies(partner, partner_keys):
    _, public_pem = partner_keys
    signature = partner.sign_token_request(TIMESTAMP)

    assert verify_asymmetric_signature(public_pem, "BANK-001", TIMESTAMP, signature)


@pytest.mark.parametrize("client_id,timestamp", [
    ("BANK-002", TIMESTAMP), ("BANK-001", "2026-12-16T08:00:01+07:00"),
])
def test_token_signature_over_other_values_is_refused(partner, partner_keys, client_id,
                                                      timestamp):
    _, public_pem = partner_keys
    signature = partner.sign_token_request(TIMESTAMP)

    assert not verify_asymmetric_signature(public_pem, client_id, timestamp, signature)


def test_token_signature_by_another_key_is_refused(partner):
    _, other_public = generate_rsa_keypair()

    assert not verify_asymmetric_signature(other_public, "BANK-001", TIMESTAMP,
                                           partner.sign_token_request(TIMESTAMP))


@pytest.mark.parametrize("public_pem,signature", [
    ("-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n", None),
    ("", None),
    (None, None),
    ("KEY", "###not-base64###"),
    ("KEY", ""),
])
def test_bad_keys_and_bad_signatures_are_refused_without_raising(partner, partner_keys,
                                                                 public_pem, signature):
    _, good_public = partner_keys
    public_pem = good_public if public_pem == "KEY" else public_pem
    signature = partner.sign_token_request(TIMESTAMP) if signature is None else signature

    assert not verify_asymmetric_signature(public_pem, "BANK-001", TIMESTAMP, signature)


def test_a_non_rsa_public_key_is_refused(partner):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    assert not verify_asymmetric_signature(ec_public, "BANK-001", TIMESTAMP,
                                           partner.sign_token_request(TIMESTAMP))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_token_signature_made_with_openssl_as_in_the_guide(tmp_path, partner_keys):
    private_pem, public_pem = partner_keys
    key_file = tmp_path / "partner_private.pem"
    key_file.write_text(private_pem)
    signed = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(key_file)],
        input=f"BANK-001|{TIMESTAMP}".encode(), capture_output=True, check=True).stdout

    assert verify_asymmetric_signature(public_pem, "BANK-001", TIMESTAMP,
                                       base64.b64encode(signed).decode())
