"""Who may act on a registration: staff and bound principals (bearer tokens), and applicants
who have no account yet (the application token).

The application token
---------------------
Someone registering has no login: the agency does not know them until a verifier approves
them. They still need to upload their KTP, read why they were rejected and resubmit. So every
registration (employer or participant) gets a random application token when it is created:
- 256 bits from `secrets` (43 URL-safe characters), returned **once**, in the 201 body, and
  never again (not by GET, not in logs);
- stored only as its SHA-256. The secret is random, not a password: a fast hash loses nothing
  (nobody can try 2^256 candidates), and a stolen table yields no usable token;
- presented as the header `X-Application-Token` together with the registration's id in the
  path: it opens that registration and nothing else (constant-time comparison);
- valid for `application_token_ttl_days` (Settings) after the last submission; a
  resubmission extends it. It lets the applicant read the registration, its status and
  documents at any time, and upload documents and resubmit only while the registration is
  PENDING_VERIFICATION or REJECTED. Once approved, the participant uses a real account
  (role PARTICIPANT, bound to the KPJ);
- lost token: branch staff act on the applicant's behalf (they see their branch's records).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Union

from chalicelib.shared_kernel.auth import Principal
from chalicelib.shared_kernel.errors import Unauthorized

HEADER = "X-Application-Token"
_TOKEN_BYTES = 32


@dataclass(frozen=True)
class ApplicationToken:
    """A token presented by an applicant, not yet checked against a registration."""

    secret: str

    def __repr__(self) -> str:  # never print the secret
        return "ApplicationToken(***)"


Caller = Union[Principal, ApplicationToken]


def issue_token(now: datetime, ttl_days: int) -> tuple[str, str, datetime]:
    """(the token to hand out once, its hash to store, its expiry)."""
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    return token, token_hash(token), now + timedelta(days=ttl_days)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_token(token: ApplicationToken, stored_hash: str | None,
                expires_at: datetime | None, now: datetime) -> None:
    """Raises Unauthorized (Indonesian message) unless `token` opens this registration."""
    if not stored_hash or not hmac.compare_digest(token_hash(token.secret), stored_hash):
        raise Unauthorized("Token aplikasi tidak berlaku untuk pendaftaran ini",
                           code="APPLICATION_TOKEN_INVALID")
    if expires_at is not None and now > expires_at:
        raise Unauthorized("Token aplikasi sudah kedaluwarsa; hubungi kantor cabang",
                           code="APPLICATION_TOKEN_EXPIRED")


def applicant_subject(record_id: str) -> str:
    """Who the audit trail names when an applicant acts with their token."""
    return f"applicant:{record_id}"
