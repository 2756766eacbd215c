"""One validated configuration model, read from the environment in exactly one place.

Business logic receives a Settings object (or the values it needs) as an argument and never
reads os.environ. Nothing here runs at import time: `Settings.from_environ()` is called by the
composition root on first use, after the stage's environment is in place (stack-notes §6).
"""
from __future__ import annotations

import os
from datetime import date
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

_PREFIX = "SMILE_"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str = "local"
    region: str = "ap-southeast-3"
    # Tables, queues and the bucket carry the stage in their names so that stages can share
    # an account without touching each other's data.
    resource_prefix: str = "smile-local"
    bucket_name: str = "smile-local-documents"

    # Auth. "local": RS256 tokens signed with a key generated at set-up (infra.local).
    # "cognito": tokens issued by a Cognito user pool, verified against its JWKS.
    auth_mode: Literal["local", "cognito"] = "local"
    jwt_public_key_path: str | None = None
    jwt_issuer: str = "smile-local"
    jwt_audience: str = "smile-api"
    cognito_jwks_url: str | None = None

    # Calendar: non-working days the holidays package does not know (cuti bersama decided
    # late, regional days); ISO dates.
    extra_holidays: tuple[date, ...] = ()

    snap_replay_window_seconds: int = Field(default=300, ge=1)
    snap_token_ttl_seconds: int = Field(default=900, ge=60)
    # Local stage: the key that encrypts partner client secrets at rest. Deployed: from a secret.
    secret_encryption_key_path: str | None = None

    # A payment code expires this many days after its bill's due date; receivables staff
    # issue a new one for an expired unpaid bill. [UNCONFIRMED: agency practice]
    payment_code_valid_days: int = Field(default=60, ge=1)

    # Local stage only: a JSON file {"last": ISO instant} holding the local stack's virtual
    # clock, so the API, the pump and `tick` agree on "now" during replays.
    virtual_clock_file: str | None = None

    public_base_url: str = "http://127.0.0.1:8000"
    tracing_enabled: bool = False

    @field_validator("extra_holidays", mode="before")
    @classmethod
    def _split_dates(cls, value):
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    def table_name(self, base: str) -> str:
        return f"{self.resource_prefix}-{base}"

    def queue_name(self, base: str) -> str:
        return f"{self.resource_prefix}-{base}"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        environ = os.environ if environ is None else environ
        values = {
            key[len(_PREFIX):].lower(): value
            for key, value in environ.items()
            # SMILE_LOCAL_* belong to the local stack's launcher, not to the app.
            if key.startswith(_PREFIX) and not key.startswith("SMILE_LOCAL_")
        }
        if "region" not in values and environ.get("AWS_DEFAULT_REGION"):
            values["region"] = environ["AWS_DEFAULT_REGION"]
        return cls.model_validate(values)
