"""Where a branch head's signing key and certificate come from: the port the approval uses
and its adapters.

- Local stage: a directory of PEM files made at set-up by `ensure_local_signing_keys` (one
  local CA, one key and certificate per branch head; infra/local.py calls it, the directory
  is git-ignored) and named by `Settings.signing_keys_dir`.
- Deployed stages: one Secrets Manager secret, `<secrets_prefix>branch-signing-keys`
  (`smile/<stage>/branch-signing-keys`, docs/deploy.md), whose value is JSON keyed by branch
  code:

      {"trust_anchor_pem": "<CA certificate(s) that verification trusts>",
       "branches": {"BLT": {"key_pem": "-----BEGIN PRIVATE KEY-----...",
                            "cert_pem": "<head's certificate, then any intermediates>",
                            "ca_cert_pem": "<the issuing CA's certificate>",
                            "key_passphrase": null}}}

  Read once per warm process and again after `SECRET_TTL_SECONDS`, so a rotated key is
  picked up without a deployment. A certified signing service (PSrE/BSrE) would be another
  adapter of the same port.

A branch with no key material raises SigningKeyMissing: the approval fails with its stable
code and the letter stays DRAFT.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Protocol

from .signing import SigningIdentity, SigningKeyInvalid, SigningKeyMissing

SECRET_NAME = "branch-signing-keys"
SECRET_TTL_SECONDS = 300


class SigningKeys(Protocol):
    def identity(self, branch_code: str) -> SigningIdentity:
        """The branch head's key, certificate and CA; SigningKeyMissing if there is none."""

    def trust_anchor(self) -> bytes:
        """The CA certificate(s) a signed letter is validated against."""


class NoSigningKeys:
    """A stage configured with neither a key directory nor a secret."""

    def identity(self, branch_code: str) -> SigningIdentity:
        raise SigningKeyMissing(f"no signing keys are configured on this stage; branch "
                                f"{branch_code}'s letters cannot be signed")

    def trust_anchor(self) -> bytes:
        raise SigningKeyMissing("no signing keys are configured on this stage")


class DirectorySigningKeys:
    """PEM files as generate_local_signing_identity writes them."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def identity(self, branch_code: str) -> SigningIdentity:
        key = self.directory / f"{branch_code}-head.key.pem"
        cert = self.directory / f"{branch_code}-head.pem"
        if not key.exists() or not cert.exists():
            raise SigningKeyMissing(f"no signing key for the head of branch {branch_code}")
        return SigningIdentity(key_pem=key.read_bytes(), cert_pem=cert.read_bytes(),
                               ca_cert_pem=self.trust_anchor())

    def trust_anchor(self) -> bytes:
        ca = self.directory / "local-ca.pem"
        if not ca.exists():
            raise SigningKeyMissing("no local signing CA certificate")
        return ca.read_bytes()


class SecretsManagerSigningKeys:
    def __init__(self, region: str, secret_id: str, *, ttl_seconds: int = SECRET_TTL_SECONDS,
                 now=time.monotonic):
        self.region = region
        self.secret_id = secret_id
        self.ttl_seconds = ttl_seconds
        self._now = now
        self._lock = threading.Lock()
        self._value: dict | None = None
        self._read_at = 0.0

    def _document(self) -> dict:
        with self._lock:
            if self._value is None or self._now() - self._read_at > self.ttl_seconds:
                self._value = self._fetch()
                self._read_at = self._now()
            return self._value

    def _fetch(self) -> dict:
        from botocore.exceptions import ClientError

        from chalicelib.shared_kernel.aws import client

        try:
            raw = client("secretsmanager", self.region).get_secret_value(
                SecretId=self.secret_id)["SecretString"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise SigningKeyMissing(f"the secret {self.secret_id} does not exist") from exc
            raise
        try:
            document = json.loads(raw)
            if not isinstance(document.get("branches"), dict):
                raise ValueError("no 'branches' object")
        except (ValueError, AttributeError) as exc:
            raise SigningKeyInvalid(f"the secret {self.secret_id} is not the documented "
                                    f"JSON: {exc}") from exc
        return document

    def identity(self, branch_code: str) -> SigningIdentity:
        entry = self._document()["branches"].get(branch_code)
        if not entry or not entry.get("key_pem") or not entry.get("cert_pem"):
            raise SigningKeyMissing(f"no signing key for the head of branch {branch_code} in "
                                    f"{self.secret_id}")
        ca = entry.get("ca_cert_pem") or self._document().get("trust_anchor_pem") or ""
        return SigningIdentity(key_pem=entry["key_pem"].encode(),
                               cert_pem=entry["cert_pem"].encode(), ca_cert_pem=ca.encode())

    def trust_anchor(self) -> bytes:
        anchor = self._document().get("trust_anchor_pem")
        if not anchor:
            raise SigningKeyMissing(f"no trust_anchor_pem in {self.secret_id}")
        return anchor.encode()


def signing_keys_for(settings) -> SigningKeys:
    """The adapter a stage's settings name: a key directory wins (local stage, tests)."""
    if settings.signing_keys_dir:
        return DirectorySigningKeys(settings.signing_keys_dir)
    if settings.secrets_prefix:
        return SecretsManagerSigningKeys(settings.region,
                                         f"{settings.secrets_prefix}{SECRET_NAME}")
    return NoSigningKeys()


def ensure_local_signing_keys(directory: str | Path, branch_codes=None) -> list[str]:
    """Local stage set-up: one local CA and a key and certificate for the head of every
    branch in shared_kernel/data/branches.toml (or the codes given), reusing what exists.
    Returns the branch codes that have key material afterwards."""
    from chalicelib.shared_kernel.branches import all_branches

    from .signing import generate_local_signing_identity

    branches = all_branches()
    codes = list(branch_codes) if branch_codes is not None else sorted(branches)
    for code in codes:
        generate_local_signing_identity(code, branches[code].head_name, directory)
    return codes
