"""Make moto's DynamoDB condition checks atomic, as DynamoDB's are.

moto evaluates a ConditionExpression and then writes, with nothing held in between, so two
threads can both pass `attribute_not_exists` (measured: 2 of 8 concurrent registrations of
one NIK "won"). Real DynamoDB never allows that. Serialising moto's mutating calls restores
the service's guarantee, so concurrency tests exercise our conditional writes rather than
moto's race. Used by the integration tests and the local stack's moto server.
"""
from __future__ import annotations

import functools
import threading

_LOCK = threading.RLock()
_METHODS = ("put_item", "update_item", "delete_item", "transact_write_items",
            "batch_write_item", "get_item", "transact_get_items")


def make_dynamodb_atomic() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _METHODS:
        original = getattr(DynamoDBBackend, name, None)
        if original is None or getattr(original, "_smile_atomic", False):
            continue

        @functools.wraps(original)
        def locked(self, *args, __original=original, **kwargs):
            with _LOCK:
                return __original(self, *args, **kwargs)

        locked._smile_atomic = True
        setattr(DynamoDBBackend, name, locked)
