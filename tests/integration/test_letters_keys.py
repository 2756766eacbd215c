"""Where branch heads' signing keys come from: the local key directory made at set-up, and
the deployed stages' Secrets Manager secret (on moto), behind one port."""
from __future__ import annotations

import json

import pytest

from chalicelib.receivables.letters.keys import (
    DirectorySigningKeys, NoSigningKeys, SecretsManagerSigningKeys, ensure_local_signing_keys,
    signing_keys_for,
)
from chalicelib.receivables.letters.signing import (SigningKeyInvalid, SigningKeyMissing,
                                                    sign_pdf, verify_signed_pdf)
from chalicelib.receivables.letters.service import number_from_reference, url_reference
from chalicelib.shared_kernel.config import Settings


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("signing")
    assert ensure_local_signing_keys(directory, ["BLT", "MDN"]) == ["BLT", "MDN"]
    return directory


@pytest.fixture(scope="module")
def a_pdf():
    from chalicelib.receivables.letters.render import render_letter_pdf
    from chalicelib.receivables.letters.samples import sample_letter

    return render_letter_pdf(sample_letter())


def test_local_set_up_makes_one_ca_and_a_key_per_branch_head_and_keeps_them(key_dir):
    import os

    files = sorted(p.name for p in key_dir.iterdir())
    assert files == ["BLT-head.key.pem", "BLT-head.pem", "MDN-head.key.pem", "MDN-head.pem",
                     "local-ca.key.pem", "local-ca.pem"]
    assert oct(os.stat(key_dir / "BLT-head.key.pem").st_mode & 0o777) == "0o600"
    before = (key_dir / "BLT-head.pem").read_bytes()
    ensure_local_signing_keys(key_dir, ["BLT"])  # a second set-up reuses what exists
    assert (key_dir / "BLT-head.pem").read_bytes() == before


def test_directory_keys_sign_for_their_branch_and_refuse_others(key_dir, a_pdf):
    keys = DirectorySigningKeys(key_dir)
    identity = keys.identity("MDN")
    signed = sign_pdf(a_pdf, identity.key_pem, identity.cert_pem, identity.ca_cert_pem)
    result = verify_signed_pdf(signed, keys.trust_anchor())
    assert result.ok and result.signer_common_name == "Siti Rahmawati, S.E."
    with pytest.raises(SigningKeyMissing) as raised:
        keys.identity("MJK")
    assert (raised.value.code, raised.value.status) == ("SIGNING_KEY_MISSING", 503)


def test_the_stage_settings_choose_the_adapter(key_dir):
    base = dict(jwt_public_key_path="/dev/null")
    assert isinstance(signing_keys_for(Settings(**base, signing_keys_dir=str(key_dir))),
                      DirectorySigningKeys)
    deployed = signing_keys_for(Settings(**base, secrets_prefix="smile/prod/"))
    assert isinstance(deployed, SecretsManagerSigningKeys)
    assert deployed.secret_id == "smile/prod/branch-signing-keys"
    with pytest.raises(SigningKeyMissing):
        signing_keys_for(Settings(**base)).identity("BLT")
    assert isinstance(signing_keys_for(Settings(**base)), NoSigningKeys)


def test_deployed_keys_come_from_the_stage_secret(aws, key_dir, a_pdf):
    from chalicelib.shared_kernel.aws import client

    secrets = client("secretsmanager", "ap-southeast-3")
    ca = (key_dir / "local-ca.pem").read_text()
    secrets.create_secret(Name="smile/test/branch-signing-keys", SecretString=json.dumps({
        "trust_anchor_pem": ca,
        "branches": {"BLT": {"key_pem": (key_dir / "BLT-head.key.pem").read_text(),
                             "cert_pem": (key_dir / "BLT-head.pem").read_text(),
                             "ca_cert_pem": ca}}}))
    clock = [0.0]
    keys = SecretsManagerSigningKeys("ap-southeast-3", "smile/test/branch-signing-keys",
                                     ttl_seconds=300, now=lambda: clock[0])
    identity = keys.identity("BLT")
    signed = sign_pdf(a_pdf, identity.key_pem, identity.cert_pem, identity.ca_cert_pem)
    assert verify_signed_pdf(signed, keys.trust_anchor()).ok
    with pytest.raises(SigningKeyMissing, match="MDN"):
        keys.identity("MDN")

    # A rotated secret is read again once the cached copy is older than the TTL.
    secrets.put_secret_value(SecretId="smile/test/branch-signing-keys",
                             SecretString="not json")
    keys.identity("BLT")  # still cached
    clock[0] = 301.0
    with pytest.raises(SigningKeyInvalid):
        keys.identity("BLT")
    with pytest.raises(SigningKeyMissing, match="does not exist"):
        SecretsManagerSigningKeys("ap-southeast-3", "smile/test/nothing").identity("BLT")


def test_letter_numbers_travel_in_urls_without_slashes():
    assert url_reference("123/SP1/KC-BLT/XII/2026") == "123-SP1-KC-BLT-XII-2026"
    for number in ("1/TGH/KC-BLT/I/2027", "7/KPKNL/KC-MDN/IX/2026", "12/SKK/KC-A01/XII/2030"):
        assert number_from_reference(url_reference(number)) == number
    for bad in ("123-SP1-BLT-XII-2026", "0-SP1-KC-BLT-XII-2026", "1-SP3-KC-BLT-XII-2026",
                "1-SP1-KC-BLT-XIII-2026", "1/SP1/KC-BLT/XII/2026", ""):
        with pytest.raises(Exception) as raised:
            number_from_reference(bad)
        assert getattr(raised.value, "code", None) == "INVALID_LETTER_NUMBER", bad
