"""The AWS resources SMILE runs on, declared once: tables (from the PynamoDB models),
queues (each with its dead-letter queue), schedules and the bucket.

The local stack creates them from here, app.py wires its consumers and schedules from here,
and the CDK stack deploys them from here, so the three can never disagree.
"""
from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass

# Modules that define PynamoDB models registered with @table. Importing them registers them.
MODEL_MODULES = (
    "chalicelib.registration.store",
    "chalicelib.billing.store",
    "chalicelib.billing.snap_store",
    "chalicelib.receivables.store",
    "chalicelib.receivables.letters.store",
    "chalicelib.blast.store",
    "chalicelib.shared_kernel.idempotency",
    "chalicelib.shared_kernel.records",
)

_MODELS: dict[str, type] = {}


def table(base_name: str):
    """Class decorator: registers a PynamoDB model under its base table name."""

    def register(model_cls):
        model_cls.Meta.table_name = base_name  # bound to the stage's name by bind_tables
        model_cls._smile_base_name = base_name
        _MODELS[base_name] = model_cls
        return model_cls

    return register


def load_models() -> dict[str, type]:
    for module in MODEL_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a real import error inside an existing module
                raise
    return dict(_MODELS)


_session_local = threading.local()


def _shared_botocore_session():
    """PynamoDB opens a botocore session per model class, and each new session parses the
    DynamoDB service model again: measured 0.2 s per model, 3.1 s for 16 models on a cold
    process (every Lambda cold start that touches them). One session per thread keeps that
    cost to one parse; sessions are not shared across threads (botocore is not thread-safe
    when it builds clients)."""
    session = getattr(_session_local, "session", None)
    if session is None:
        from botocore.session import get_session

        session = _session_local.session = get_session()
    return session


def bind_tables(settings) -> None:
    """Point every model at the stage's table names and region (stack-notes §10)."""
    import pynamodb.connection.base as pynamodb_base

    pynamodb_base.get_session = _shared_botocore_session
    _session_local.connection = None
    for base, model_cls in load_models().items():
        model_cls.Meta.table_name = settings.table_name(base)
        model_cls.Meta.region = settings.region
        model_cls._connection = None
        for index in getattr(model_cls, "_indexes", {}).values():
            index._connection = None


@dataclass(frozen=True)
class QueueSpec:
    name: str                    # full queue name, fixed in code (Chalice needs it literally)
    consumer: str                # app.py function consuming it
    visibility_timeout: int = 180
    max_receive_count: int = 5   # then the message moves to the dead-letter queue
    batch_size: int = 10

    @property
    def dead_letter_name(self) -> str:
        return f"{self.name}-dlq"


# One account (or region) per stage: queue names are fixed because Chalice's
# on_sqs_message decorator needs them at import time.
QUEUES: dict[str, QueueSpec] = {
    "payments": QueueSpec("smile-payments", "on_payment_posted"),
    "reminders": QueueSpec("smile-reminders", "send_reminder"),
    "letters": QueueSpec("smile-letters", "render_letter", visibility_timeout=300),
    "imports": QueueSpec("smile-imports", "import_workers", visibility_timeout=900, batch_size=1),
}


@dataclass(frozen=True)
class ScheduleSpec:
    """A cron in UTC, as EventBridge takes it. Jakarta is UTC+7 all year (no DST)."""

    name: str
    minute: int
    hour: int | str           # int or "*"
    day_of_month: int | str   # int, "*" or "L" (last day)
    description: str

    def cron_args(self) -> tuple:
        return (self.minute, self.hour, self.day_of_month, "*", "?", "*")


SCHEDULES: tuple[ScheduleSpec, ...] = (
    ScheduleSpec("generate_monthly_bills", 5, 17, "L",
                 "00:05 WIB on the 1st: bills for the previous month (PU) and this month (BPU)"),
    ScheduleSpec("check_due_dates", 0, 18, "*",
                 "01:00 WIB daily: overdue marking, fines, escalation"),
    ScheduleSpec("send_pre_due_reminders", 0, 2, "*",
                 "09:00 WIB daily: reminders before the due date"),
    ScheduleSpec("daily_reconciliation", 30, 17, "*",
                 "00:30 WIB daily: yesterday's payments per partner, CSV to S3"),
    ScheduleSpec("release_blast_timers", 0, "*", "*",
                 "hourly: parked reminder jobs (quiet hours, fallback timeouts, campaign "
                 "starts) back to the reminders queue; one keyed query when none is due"),
)


def schedule(name: str) -> ScheduleSpec:
    return next(spec for spec in SCHEDULES if spec.name == name)


BUCKET_PREFIXES = {
    "documents": "documents/",
    "letters": "letters/",
    "cards": "cards/",
    "imports": "imports/",
    "reconciliation": "reconciliation/",
}


def transact_write():
    """A PynamoDB write transaction on the region the models are bound to. The connection
    (a botocore client) is kept per thread: building one per transaction cost about three
    quarters of a payment's own time."""
    from pynamodb.connection import Connection
    from pynamodb.transactions import TransactWrite

    region = next(iter(_MODELS.values())).Meta.region if _MODELS else None
    cached = getattr(_session_local, "connection", None)
    if cached is None or cached.region != region:
        cached = _session_local.connection = Connection(region=region)
    return TransactWrite(connection=cached)
