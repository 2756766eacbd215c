"""Logger and Metrics created once for the whole app (style.md practice 8).

Tracing imports the X-Ray SDK (~0.3 s of cold start, stack-notes), so it is opt-in through
SMILE_TRACING_ENABLED and imported only then. Logs never carry personal data: log ids
(bill_id, participant_id), never NIK, phone numbers or names.
"""
from __future__ import annotations

import os
from functools import lru_cache

SERVICE = "smile"


@lru_cache(maxsize=1)
def logger():
    from aws_lambda_powertools import Logger

    # The Chalice app logger is switched off (configure_logs=False) so lines are not doubled.
    return Logger(service=SERVICE, level=os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))


@lru_cache(maxsize=1)
def metrics():
    from aws_lambda_powertools import Metrics

    return Metrics(namespace="SMILE", service=SERVICE)


def count(name: str, value: float = 1) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def flush_metrics() -> None:
    m = metrics()
    if not os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        m.flush_metrics(raise_on_empty_metrics=False)
    else:
        m.clear_metrics()
