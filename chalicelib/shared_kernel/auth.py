"""Who is calling: bearer JWTs, roles, and the branch/NPP/KPJ a principal is bound to.

Local stage: RS256 tokens signed with a key pair generated at set-up (never committed).
Deployed stages: Cognito-issued tokens verified against the user pool's JWKS; the role and
binding come from custom claims (custom:role, custom:branch, custom:npp, custom:kpj).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Iterable

from .errors import Forbidden, Unauthorized


class Role(str, Enum):
    ADMIN = "ADMIN"
    VERIFIER = "VERIFIER"
    RECEIVABLES = "RECEIVABLES"
    BRANCH_HEAD = "BRANCH_HEAD"
    EMPLOYER = "EMPLOYER"
    PARTICIPANT = "PARTICIPANT"


STAFF_ROLES = frozenset({Role.ADMIN, Role.VERIFIER, Role.RECEIVABLES, Role.BRANCH_HEAD})


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    branch: str | None = None
    npp: str | None = None
    kpj: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def require_role(self, roles: Iterable[Role]) -> None:
        allowed = frozenset(roles)
        if self.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"role {self.role.value} may not do this (needs one of: {names})",
                            code="ROLE_FORBIDDEN")

    def require_branch(self, branch: str | None) -> None:
        """Staff see only their branch; ADMIN sees every branch."""
        if self.role is Role.ADMIN:
            return
        if not self.is_staff or self.branch != branch:
            raise Forbidden("this record belongs to another branch", code="BRANCH_FORBIDDEN")


class TokenVerifier:
    """Verifies bearer tokens. `key` is a PEM public key (local) or a PyJWKClient (Cognito)."""

    def __init__(self, *, issuer: str, audience: str, public_key_pem: str | None = None,
                 jwks_url: str | None = None):
        if not public_key_pem and not jwks_url:
            raise ValueError("a token verifier needs a public key or a JWKS URL")
        self._issuer = issuer
        self._audience = audience
        self._public_key_pem = public_key_pem
        self._jwks_url = jwks_url
        self._jwks_client = None

    def _key_for(self, token: str):
        if self._public_key_pem:
            return self._public_key_pem
        import jwt

        if self._jwks_client is None:
            self._jwks_client = jwt.PyJWKClient(self._jwks_url, cache_keys=True)
        return self._jwks_client.get_signing_key_from_jwt(token).key

    def verify(self, authorization_header: str | None) -> Principal:
        import jwt

        if not authorization_header:
            raise Unauthorized("missing bearer token", code="TOKEN_MISSING")
        scheme, _, token = authorization_header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization must be 'Bearer <token>'", code="TOKEN_MALFORMED")
        try:
            claims = jwt.decode(
                token.strip(), self._key_for(token.strip()), algorithms=["RS256"],
                audience=self._audience, issuer=self._issuer,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired", code="TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("token invalid", code="TOKEN_INVALID") from exc
        return principal_from_claims(claims)


def principal_from_claims(claims: dict) -> Principal:
    def claim(name: str):
        return claims.get(name, claims.get(f"custom:{name}"))

    try:
        role = Role(claim("role"))
    except ValueError as exc:
        raise Unauthorized("token carries no known role", code="TOKEN_INVALID") from exc
    principal = Principal(subject=str(claims["sub"]), role=role, branch=claim("branch"),
                          npp=claim("npp"), kpj=claim("kpj"))
    if principal.is_staff and role is not Role.ADMIN and not principal.branch:
        raise Unauthorized("staff token carries no branch", code="TOKEN_INVALID")
    if role is Role.EMPLOYER and not principal.npp:
        raise Unauthorized("employer token carries no NPP", code="TOKEN_INVALID")
    if role is Role.PARTICIPANT and not principal.kpj:
        raise Unauthorized("participant token carries no KPJ", code="TOKEN_INVALID")
    return principal


def issue_local_token(private_key_pem: str, *, role: Role, subject: str, issuer: str,
                      audience: str, branch: str | None = None, npp: str | None = None,
                      kpj: str | None = None, ttl_seconds: int = 12 * 3600,
                      now: float | None = None) -> str:
    """Local stage only: sign a token the way the Cognito pool would shape it."""
    import jwt

    issued = int(now if now is not None else time.time())
    claims = {"sub": subject, "role": role.value, "iss": issuer, "aud": audience,
              "iat": issued, "exp": issued + ttl_seconds}
    for name, value in (("branch", branch), ("npp", npp), ("kpj", kpj)):
        if value:
            claims[name] = value
    return jwt.encode(claims, private_key_pem, algorithm="RS256")
