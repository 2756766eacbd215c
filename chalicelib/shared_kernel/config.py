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
    # Deployed stages: Secrets Manager names start with this ("smile/<stage>/", set by the
    # CDK stack), e.g. <prefix>partner-secret-key when secret_encryption_key_path is unset.
    secrets_prefix: str | None = None

    # A payment code expires this many days after its bill's due date; receivables staff
    # issue a new one for an expired unpaid bill. [UNCONFIRMED: agency practice]
    payment_code_valid_days: int = Field(default=60, ge=1)

    # Registration. A wage below the regional minimum: WARN (a warning in the 201 body and the
    # verifier's queue) or REJECT (400); unset: the policy in registration's
    # data/minimum_wages.toml (WARN as shipped). [UNCONFIRMED rule: domain.md §1.1]
    minimum_wage_mode: Literal["WARN", "REJECT"] | None = None
    application_token_ttl_days: int = Field(default=90, ge=1)
    presigned_url_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    document_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    documents_required_for_approval: bool = False
    import_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    import_max_rows: int = Field(default=50_000, ge=1)
    import_chunk_rows: int = Field(default=500, ge=1, le=5000)
    # Bulk rows of a verified employer without warnings are approved on arrival (imports.py).
    bulk_auto_approve: bool = True

    # Local stage only: a JSON file {"last": ISO instant} holding the local stack's virtual
    # clock, so the API, the pump and `tick` agree on "now" during replays.
    virtual_clock_file: str | None = None

    public_base_url: str = "http://127.0.0.1:8000"
    tracing_enabled: bool = False

    # Letters: the branch heads' signing keys. Local stage: a directory of PEM files made at
    # set-up (infra/local.py). Deployed: unset, read from <secrets_prefix>branch-signing-keys.
    signing_keys_dir: str | None = None

    # Blast (WhatsApp and SMS). "outbox" records every message in a local table and sends
    # nothing (local stage, tests); deployed stages set cloud_api and sns/end_user_messaging.
    blast_whatsapp_provider: Literal["outbox", "cloud_api"] = "outbox"
    blast_sms_provider: Literal["outbox", "sns", "end_user_messaging"] = "outbox"
    whatsapp_api_base_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_phone_number_id: str = "local-whatsapp-number"
    # Set here (dev only) or read from <secrets_prefix>whatsapp-access-token and
    # <secrets_prefix>whatsapp-app-secret; the verify token answers Meta's handshake.
    whatsapp_access_token: str | None = None
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    sms_sender_id: str | None = None
    sms_origination_identity: str | None = None     # End User Messaging: number or pool
    sms_configuration_set: str | None = None
    # Limits (domain.md §6): messages/s per sender number (0 = none), spread over shards of
    # the limiter state; the portfolio's messaging tier; quiet hours "HH:MM-HH:MM" WIB.
    blast_rate_per_second: int = Field(default=80, ge=0)
    blast_sender_shards: int = Field(default=4, ge=1, le=64)
    blast_recipient_interval_seconds: int = Field(default=6, ge=0)
    blast_messaging_tier: str = "TIER_10K"
    blast_quiet_hours: str = "21:00-07:00"
    blast_fallback_timeout_minutes: int = Field(default=240, ge=1)
    blast_max_attempts: int = Field(default=6, ge=1, le=20)
    blast_lease_seconds: int = Field(default=120, ge=10)
    blast_campaign_page_size: int = Field(default=250, ge=10, le=1000)
    # Waits up to this long go back on the queue; longer ones are parked until the hourly
    # release. On the queue they use SQS DelaySeconds unless blast_queue_delay is false; None
    # means true except on the local and test stages, where the pump's clock is virtual and
    # each message carries its own not-before instead.
    blast_queue_delay_max_seconds: int = Field(default=900, ge=0, le=900)
    blast_queue_delay: bool | None = None

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
