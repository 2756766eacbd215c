"""boto3 clients built lazily, once per process (stack-notes §4-5: never at import time).

The endpoint comes from AWS_ENDPOINT_URL when set (the local stack's moto server), which
boto3 honours by itself; the region from Settings.
"""
from __future__ import annotations

import threading
from functools import lru_cache

_lock = threading.Lock()


@lru_cache(maxsize=None)
def client(service: str, region: str):
    import boto3

    # boto3.client is not thread-safe when it creates the default session.
    with _lock:
        return boto3.session.Session().client(service, region_name=region)


def reset_clients() -> None:
    client.cache_clear()
