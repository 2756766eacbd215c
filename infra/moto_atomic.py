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

And transactions at DynamoDB's per-item cost: moto deep-copies every table a transaction
touches before writing (so a transaction cost O(table size) and an import of n rows O(n^2));
here every condition is checked first, then the items are written, backing up only those.
And a table lookup no longer counts the table's items (moto's `if table:`).
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
    _item_level_transactions()
    _table_lookup_counts_nothing()


def _table_lookup_counts_nothing() -> None:
    """moto looks tables up with `if table := self.tables.get(name)`, and a moto Table's
    truth value is its `__len__`, a sum over all its items: every call on a large table paid
    for its size (found by bench/bench_daily_check.py). A table that exists is true."""
    from moto.dynamodb.models.table import Table

    Table.__bool__ = lambda self: True


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


def _item_level_transactions() -> None:
    """moto backs up every table a transaction touches with a deepcopy before writing, so a
    transaction costs O(rows in those tables) and an import of n rows O(n^2): 200 rows take
    tens of seconds, 10,000 would take hours. DynamoDB's cost is per item. This replaces
    moto's method, once per process, with the same semantics in two phases: check every
    condition (nothing written if one fails, with moto's own cancellation reasons), then
    apply, backing up only the items written. It stays serialised like every moto write
    here."""
    import copy
    import functools

    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (ConditionalCheckFailed, MockValidationException,
                                          MultipleTransactionsException,
                                          TooManyTransactionsException,
                                          TransactionCanceledException,
                                          TransactWriteSingleOpException)
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend.transact_write_items, "_item_level", False):
        return

    def transact_write_items(self, transact_items):
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        seen, errors, planned = set(), [], []
        for item in transact_items:
            if len(item) > 1:
                raise TransactWriteSingleOpException
            original_item = None
            try:
                op_type, op = next(iter(item.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                if op_type == "Put":
                    table = self.get_table(table_name)
                    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = op["Item"][table.range_key_attr]
                else:
                    key = op["Key"]
                identity = (table_name, str(dict(sorted(key.items()))))
                if identity in seen:
                    raise MultipleTransactionsException()
                seen.add(identity)
                current = self.get_item(table_name, key)
                if op.get("ConditionExpression") is not None:
                    condition = get_filter_expression(op["ConditionExpression"],
                                                      op.get("ExpressionAttributeNames"),
                                                      op.get("ExpressionAttributeValues"))
                    if not condition.expr(current):
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" \
                                and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)
                planned.append((op_type, op, table_name, key))
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as exc:
                errors.append(("ConditionalCheckFailed", str(exc.message), original_item))
            except Exception as exc:  # noqa: BLE001 - reported as moto reports it
                errors.append((type(exc).__name__, str(exc), original_item))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        undo = []
        try:
            for op_type, op, table_name, key in planned:
                if op_type == "ConditionCheck":
                    continue
                undo.append((table_name, key, copy.deepcopy(self.get_item(table_name, key))))
                names, values = op.get("ExpressionAttributeNames"), op.get(
                    "ExpressionAttributeValues")
                if op_type == "Put":
                    self.put_item(table_name, op["Item"], expression_attribute_names=names,
                                  expression_attribute_values=values)
                elif op_type == "Delete":
                    self.delete_item(table_name, key, expression_attribute_names=names,
                                     expression_attribute_values=values)
                else:
                    self.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                     expression_attribute_names=names,
                                     expression_attribute_values=values)
        except Exception:
            for table_name, key, before in reversed(undo):
                if before is None:
                    self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, before.to_json()["Attributes"])
            raise

    @functools.wraps(transact_write_items)
    def locked(self, *args, **kwargs):
        with _LOCK:
            return transact_write_items(self, *args, **kwargs)

    locked._smile_atomic = locked._item_level = True
    DynamoDBBackend.transact_write_items = locked
