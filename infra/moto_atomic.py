"""Make moto's DynamoDB condition checks atomic, as DynamoDB's are.

moto evaluates a ConditionExpression and then writes, with nothing held in between, so two
threads can both pass `attribute_not_exists` (measured: 2 of 8 concurrent registrations of
one NIK "won"). Real DynamoDB never allows that. Serialising moto's mutating calls restores
the service's guarantee, so concurrency tests exercise our conditional writes rather than
moto's race. Used by the integration tests and the local stack's moto server.

It also gives moto's keyed Query DynamoDB's cost: moto answers a Query on a table's hash key
by sorting every item of the table and filtering (measured: one employer's roster Query took
O(table size), so a billing run over 1,000 employers was quadratic). DynamoDB reads one
partition. `Table.query` on the base table now starts from that partition's items; the
filtering, sorting, paging and projection after it are moto's own, unchanged. Queries on a
secondary index are left as moto has them (moto keeps no index structure).
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
    _query_reads_one_partition()


def _query_reads_one_partition() -> None:
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_smile_partition", False):
        return
    original_query, original_all_items = Table.query, Table.all_items
    partition_of = threading.local()         # moto server answers on many threads

    def all_items(self):
        rows = getattr(partition_of, "rows", None)
        if rows is not None and partition_of.table is self:
            return rows
        return original_all_items(self)

    @functools.wraps(original_query)
    def query(self, hash_key, *args, **kwargs):
        # moto's backend passes index_name as the eighth positional argument
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key)
        if partition is None:
            rows = []
        elif self.range_key_attr:
            rows = list(partition.values())
        else:
            rows = [partition]
        partition_of.table, partition_of.rows = self, rows
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            partition_of.table = partition_of.rows = None

    query._smile_partition = True
    Table.query = query
    Table.all_items = all_items
