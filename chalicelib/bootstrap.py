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
    def registration(self):
        from chalicelib.registration.service import RegistrationService
        from chalicelib.registration.store import RegistrationStore

        from chalicelib.shared_kernel.messaging import publish

        return RegistrationService(RegistrationStore(), clock=lambda: self.clock(),
                                   notify=lambda request: publish(self.queues, request))


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
    def payments(self):
        from chalicelib.billing.payments import PaymentService
        from chalicelib.billing.store import BillingStore

        from chalicelib.shared_kernel.messaging import publish

        return PaymentService(BillingStore(), self.billing,
                              publish=lambda message: self.queues.send("payments", message),
                              clock=lambda: self.clock(),
                              notify=lambda request: publish(self.queues, request))


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
