"""Partner onboarding by ADMIN: the secret shown once and stored encrypted, company codes,
listing, disabling, rotation, and every change in the audit trail."""
from __future__ import annotations

import json

import pytest

from tests.integration.factories import post
from tests.integration.test_snap_setup import *  # noqa: F401,F403 - fixtures
from tests.integration.test_snap_setup import onboard

SNAP_POOL = None  # no test here needs a bill


def admin(auth_header):
    return auth_header("ADMIN", branch=None)


def test_onboarding_returns_the_secret_once_and_stores_it_encrypted(client, auth_header,
                                                                    partner_keys):
    created = onboard(client, auth_header, partner_keys[0], "BANK-001")
    assert created["partner_service_id"] == created["company_code"].rjust(8)
    assert created["company_code"].isdigit() and created["status"] == "ACTIVE"
    assert created["key_fingerprint"].startswith("SHA256:")
    secret = created["client_secret"]
    assert len(secret) >= 64

    from chalicelib.billing.snap_store import PartnerRecord
    from chalicelib.bootstrap import container

    stored = PartnerRecord.get("BANK-001")
    assert secret not in json.dumps(stored.attribute_values, default=str)
    assert container().snap_secrets.decrypt(stored.secret_ciphertext) == secret

    listed = client.http.get("/v1/partners", headers=admin(auth_header)).json_body
    [mine] = [p for p in listed["items"] if p["client_id"] == "BANK-001"]
    assert "client_secret" not in json.dumps(listed) and secret not in json.dumps(listed)
    one = client.http.get("/v1/partners/BANK-001", headers=admin(auth_header)).json_body
    assert one == mine

    from chalicelib.shared_kernel.records import audit_trail

    [entry] = audit_trail("partner#BANK-001")
    assert (entry["action"], entry["actor"]) == ("PARTNER_ONBOARDED", "user-admin")
    assert secret not in json.dumps(entry)


def test_company_codes_are_allocated_or_given_and_never_shared(client, auth_header,
                                                               partner_keys):
    allocated = onboard(client, auth_header, partner_keys[1], "ALFA")
    following = str(int(allocated["company_code"]) + 1)
    given = onboard(client, auth_header, partner_keys[0], "POS-IND", company_code=following)
    assert given["partner_service_id"] == following.rjust(8)
    skipped = onboard(client, auth_header, partner_keys[1], "INDO")
    assert skipped["company_code"] == str(int(following) + 1)  # `following` was given away
    taken = post(client, "/v1/partners", {"client_id": "OTHER", "name": "Other",
                                          "channel_id": "1", "company_code": following,
                                          "public_key_pem": partner_keys[0][1]},
                 admin(auth_header))
    assert (taken.status_code, taken.json_body["error"]["code"]) == (409,
                                                                     "COMPANY_CODE_TAKEN")


def test_a_client_id_is_onboarded_once(client, auth_header, partner_keys):
    onboard(client, auth_header, partner_keys[0], "ONCE")
    again = post(client, "/v1/partners", {"client_id": "ONCE", "name": "Again",
                                          "channel_id": "1",
                                          "public_key_pem": partner_keys[0][1]},
                 admin(auth_header))
    assert (again.status_code, again.json_body["error"]["code"]) == (409, "PARTNER_EXISTS")


def _small_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    return small.public_bytes(serialization.Encoding.PEM,
                              serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _ec_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.parametrize("change, code, field", [
    ({"public_key_pem": "-----BEGIN PUBLIC KEY-----\nnot a key at all, just some text "
                        "that is long enough to pass\n-----END PUBLIC KEY-----"},
     "INVALID_PUBLIC_KEY", "public_key_pem"),
    ({"public_key_pem": "small"}, "INVALID_PUBLIC_KEY", "public_key_pem"),
    ({"public_key_pem": "ec"}, "INVALID_PUBLIC_KEY", "public_key_pem"),
    ({"client_id": "MANUAL"}, "VALIDATION_FAILED", "client_id"),
    ({"client_id": "BANK 001"}, "VALIDATION_FAILED", "client_id"),
    ({"channel_id": "123456"}, "VALIDATION_FAILED", "channel_id"),
    ({"company_code": "123456789"}, "VALIDATION_FAILED", "company_code"),
])
def test_bad_onboarding_input_is_a_400_naming_the_field(client, auth_header, partner_keys,
                                                        change, code, field):
    body = {"client_id": "REFUSED", "name": "Bank Satu", "channel_id": "95221",
            "public_key_pem": partner_keys[0][1], **change}
    if body["public_key_pem"] == "small":
        body["public_key_pem"] = _small_key()
    elif body["public_key_pem"] == "ec":
        body["public_key_pem"] = _ec_key()
    response = post(client, "/v1/partners", body, admin(auth_header))
    assert response.status_code == 400, response.body
    error = response.json_body["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert client.http.get(f"/v1/partners/{body['client_id']}",
                           headers=admin(auth_header)).status_code == 404


def test_only_admin_manages_partners(client, auth_header, partner_keys):
    body = {"client_id": "NOT-ADMIN", "name": "Bank Satu", "channel_id": "95221",
            "public_key_pem": partner_keys[0][1]}
    refused = post(client, "/v1/partners", body, auth_header("RECEIVABLES", branch="BLT"))
    assert refused.status_code == 403
    assert client.http.get("/v1/partners").status_code == 401


def test_disable_and_enable_are_audited_and_idempotent(client, auth_header, partner_keys):
    onboard(client, auth_header, partner_keys[0], "TOGGLE")
    for _ in range(2):
        response = post(client, "/v1/partners/TOGGLE/disable", {"reason": "audit bank"},
                        admin(auth_header))
        assert response.json_body["status"] == "DISABLED"
    enabled = post(client, "/v1/partners/TOGGLE/enable", {"reason": "audit selesai"},
                   admin(auth_header))
    assert enabled.json_body["status"] == "ACTIVE"
    from chalicelib.shared_kernel.records import audit_trail

    entries = audit_trail("partner#TOGGLE")
    trail = {e["action"]: e for e in entries}
    assert len(entries) == 3
    assert sorted(trail) == ["PARTNER_DISABLED", "PARTNER_ENABLED", "PARTNER_ONBOARDED"]
    assert (trail["PARTNER_DISABLED"]["reason"], trail["PARTNER_DISABLED"]["actor"]) == (
        "audit bank", "user-admin")
    missing = post(client, "/v1/partners/NOPE/disable", {"reason": "tidak ada"},
                   admin(auth_header))
    assert (missing.status_code, missing.json_body["error"]["code"]) == (404,
                                                                         "PARTNER_NOT_FOUND")
