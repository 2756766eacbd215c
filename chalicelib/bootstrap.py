"""Composition root: the one place that reads configuration and wires adapters to use cases.

Built lazily on the first request or event (never at import time), so app.py's import stays
cheap and sees the stage environment. Tests replace pieces with `override(...)`.
"""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Callable

from chalicelib.shared_kernel.config import Settings


class Container:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] | None = None):
        self.settings = settings
        self.clock = clock or self._default_clock(settings)

    @staticmethod
    def _default_clock(settings: Settings) -> Callable[[], datetime]:
        if not settings.virtual_clock_file:
            return lambda: datetime.now(timezone.utc)
        import json

        path = Path(settings.virtual_clock_file)

        def virtual_now() -> datetime:
            try:
                return datetime.fromisoformat(json.loads(path.read_text())["last"])
            except (OSError, ValueError, KeyError):
                return datetime.now(timezone.utc)

        return virtual_now

    @cached_property
    def verifier(self):
        from chalicelib.shared_kernel.auth import TokenVerifier

        s = self.settings
        if s.auth_mode == "cognito":
            return TokenVerifier(issuer=s.jwt_issuer, audience=s.jwt_audience,
                                 jwks_url=s.cognito_jwks_url)
        if not s.jwt_public_key_path:
            raise RuntimeError("SMILE_JWT_PUBLIC_KEY_PATH is not set for local auth")
        return TokenVerifier(issuer=s.jwt_issuer, audience=s.jwt_audience,
                             public_key_pem=Path(s.jwt_public_key_path).read_text())

    @cached_property
    def calendar(self):
        from chalicelib.shared_kernel.calendar import WorkingCalendar

        return WorkingCalendar.with_extra(self.settings.extra_holidays)

    @cached_property
    def letters(self):
        from chalicelib.receivables.letters.documents import LetterDocuments
        from chalicelib.receivables.letters.keys import signing_keys_for
        from chalicelib.receivables.letters.service import LetterService
        from chalicelib.receivables.letters.sources import BillingArrears, RegistrationEmployers
        from chalicelib.receivables.letters.store import LetterStore
        from chalicelib.shared_kernel.messaging import publish
        from chalicelib.shared_kernel.observability import logger

        s = self.settings
        return LetterService(
            LetterStore(), LetterDocuments(s.bucket_name, s.region),
            BillingArrears(self.billing), RegistrationEmployers(self.registration.store),
            signing_keys_for(s), self.calendar, clock=lambda: self.clock(),
            notify=lambda request: publish(self.queues, request),
            requeue=lambda message: self.queues.send("letters", message),
            public_base_url=s.public_base_url, log=logger())


    @cached_property
    def registration(self):
        from chalicelib.registration.objects import ObjectStore
        from chalicelib.registration.service import RegistrationService
        from chalicelib.registration.store import RegistrationStore

        from chalicelib.shared_kernel.messaging import publish

        s = self.settings
        return RegistrationService(RegistrationStore(), clock=lambda: self.clock(),
                                   notify=lambda request: publish(self.queues, request),
                                   settings=s, calendar=self.calendar,
                                   objects=ObjectStore(s.bucket_name, s.region),
                                   queues=self.queues)


    @cached_property
    def rulebook(self):
        from chalicelib.billing.rules import default_rulebook

        return default_rulebook()

    @cached_property
    def queues(self):
        from chalicelib.shared_kernel.queues import QueuePublisher

        return QueuePublisher(self.settings.region)

    @cached_property
    def billing(self):
        from chalicelib.billing.service import BillingService
        from chalicelib.billing.store import BillingStore
        from chalicelib.shared_kernel.observability import logger

        return BillingService(BillingStore(), self.registration, self.rulebook, self.calendar,
                              clock=lambda: self.clock(),
                              code_valid_days=self.settings.payment_code_valid_days,
                              log=logger())

    @cached_property
    def wage_reports(self):
        from chalicelib.billing.store import BillingStore
        from chalicelib.billing.wage_reports import WageReports
        from chalicelib.shared_kernel.messaging import publish

        return WageReports(BillingStore(), self.registration, self.billing,
                           clock=lambda: self.clock(),
                           notify=lambda request: publish(self.queues, request))

    @cached_property
    def payments(self):
        from chalicelib.billing.payments import PaymentService
        from chalicelib.billing.store import BillingStore

        from chalicelib.shared_kernel.messaging import publish

        return PaymentService(BillingStore(), self.billing,
                              publish=lambda message: self.queues.send("payments", message),
                              clock=lambda: self.clock(),
                              notify=lambda request: publish(self.queues, request))

    @cached_property
    def snap_secrets(self):
        """The stage key that encrypts partner client secrets (and signs SNAP access
        tokens): a key file locally and in tests, `<secrets_prefix>partner-secret-key` in
        Secrets Manager when deployed. Read on the first SNAP call, never at import."""
        from chalicelib.billing.snap.credentials import SecretBox

        s = self.settings
        if s.secret_encryption_key_path:
            return SecretBox(Path(s.secret_encryption_key_path).read_bytes())
        if s.secrets_prefix:
            from chalicelib.shared_kernel.aws import client

            value = client("secretsmanager", s.region).get_secret_value(
                SecretId=f"{s.secrets_prefix}partner-secret-key")["SecretString"]
            return SecretBox(value)
        raise RuntimeError("no partner secret key: set SMILE_SECRET_ENCRYPTION_KEY_PATH "
                           "(local) or SMILE_SECRETS_PREFIX (deployed)")

    @cached_property
    def snap(self):
        from chalicelib.billing.snap_service import SnapService
        from chalicelib.billing.snap_store import SnapStore
        from chalicelib.billing.store import BillingStore
        from chalicelib.shared_kernel.observability import logger

        s = self.settings
        return SnapService(SnapStore(s.bucket_name, s.region), BillingStore(), self.payments,
                           secrets=lambda: self.snap_secrets, clock=lambda: self.clock(),
                           replay_window_seconds=s.snap_replay_window_seconds,
                           token_ttl_seconds=s.snap_token_ttl_seconds, log=logger())

    @cached_property
    def reconciliation(self):
        from chalicelib.billing.snap_service import ReconciliationService
        from chalicelib.billing.snap_store import SnapStore
        from chalicelib.billing.store import BillingStore
        from chalicelib.shared_kernel.observability import logger

        s = self.settings
        return ReconciliationService(SnapStore(s.bucket_name, s.region), BillingStore(),
                                     clock=lambda: self.clock(), log=logger())

    @cached_property
    def receivables(self):
        from chalicelib.billing.store import BillingStore
        from chalicelib.receivables.policy import default_policies
        from chalicelib.receivables.service import ReceivablesService
        from chalicelib.receivables.store import ReceivablesStore
        from chalicelib.shared_kernel.observability import logger

        return ReceivablesService(
            ReceivablesStore(), billing=self.billing, billing_store=BillingStore(),
            payments=self.payments, registration_store=self.registration.store,
            policies=default_policies(),
            send_batch=lambda queue, messages: self.queues.send_batch(queue, messages),
            clock=lambda: self.clock(), log=logger())

    @cached_property
    def blast(self):
        from chalicelib.blast.service import build_blast_service

        return build_blast_service(self)


_container: Container | None = None
_lock = threading.Lock()


def container() -> Container:
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                from chalicelib.shared_kernel.resources import bind_tables

                settings = Settings.from_environ()
                bind_tables(settings)
                _container = Container(settings)
    return _container


def override(new: Container | None) -> None:
    """Tests: install a container (or None to rebuild from the environment next time)."""
    global _container
    with _lock:
        if new is not None:
            from chalicelib.shared_kernel.resources import bind_tables

            bind_tables(new.settings)
        _container = new
