"""The daily check's cost follows the outstanding bills, not all bills.

    timeout 3000 .venv/bin/python bench/bench_daily_check.py [--outstanding 10000]
                                                [--totals 100000,1000000] [--repeat 3]

For each total, in a fresh moto (in process): `--outstanding` unpaid bills (employers with
three months each, BPU participants with two, first due 2 to 13 months before the day of
the check) and their entries in the outstanding index (its own table, `outstanding-bills`),
written with raw BatchWriteItem calls (boto3, 25 items a call); then paid bills up to the
total. Then check_due_dates runs on 16 June 2027:

- first run: every outstanding bill turns OVERDUE with its fine and every debtor gets its
  record and its first step (the heaviest day there is);
- steady runs (`--repeat`, median shown), same day: nothing to change (an ordinary day).

Printed per run: seconds, DynamoDB calls by operation and per outstanding bill, the tables
and indexes queried, items DynamoDB read (Query ScannedCount + items fetched by key), SQS
calls, and the ratio of the largest total's times to the smallest's (target <= 1.2). A Scan,
or a Query on a secondary index of the bills table, fails the run.

The check reads the outstanding index with keyed Queries of its 16 shards and fetches the
bills by key (BatchGetItem). moto answers a keyed Query of a base table from that partition
(infra/moto_atomic, as the tests and the local stack do), as DynamoDB does; a Query on a GSI
would walk the whole table in moto, which is why the index is a table.

moto is the floor, not a latency model. Four emulator fixes keep its cost near DynamoDB's
without changing the code under test:
0. moto looks every table up with `if table := self.tables.get(name)`, and a moto Table's
   truth value is its `__len__`, a sum over all its items: each call touching the bills
   table cost O(total bills) (measured: the first run took 428 s among 100,000 bills and
   715 s among 1,000,000 with the same 14,489 calls and the same items read). The fix makes
   a table object true, as an object is.
1. moto re-sums an item's size over all its attributes on every attribute it sets
   (quadratic per item); the fix keeps a running size with the same 400 KB limit.
2. moto backs up every table a TransactWriteItems touches by deep-copying all its items
   (so a transaction costs the size of the tables it touches); the fix backs up the
   touched items only.
3. moto serializes every response through botocore's shape model, attribute by attribute
   (milliseconds per item returned); DynamoDB answers are JSON already and are dumped so.
The paid filler bills go through moto's put_item, the call its BatchWriteItem handler makes
for each item, in batches of 25 but without the HTTP round trip (~5x faster than boto3 here;
the same stored items).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import time
import zlib
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for key in list(os.environ):
    if key.startswith("AWS_ENDPOINT_URL"):
        del os.environ[key]
os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                   "AWS_DEFAULT_REGION": "ap-southeast-3", "POWERTOOLS_LOG_LEVEL": "ERROR",
                   "POWERTOOLS_METRICS_DISABLED": "true"})

CHECK_DAY = date(2027, 6, 16)
LINES_PU = [{"program": p, "payer": payer, "base": 5_000_000, "amount": a}
            for p, payer, a in (("JKK", "EMPLOYER", 27_000), ("JKM", "EMPLOYER", 15_000),
                                ("JHT", "EMPLOYER", 185_000), ("JHT", "WORKER", 100_000),
                                ("JP", "EMPLOYER", 100_000), ("JP", "WORKER", 50_000))]
LINES_BPU = [{"program": "JKK", "payer": "PARTICIPANT", "base": 1_000_000, "amount": 10_000},
             {"program": "JKM", "payer": "PARTICIPANT", "base": 6_800, "amount": 6_800}]


# ---------------------------------------------------------------------- emulator fixes
def tables_are_true() -> None:
    """Fix 0: `if table:` must not count the table's items."""
    from moto.dynamodb.models.table import Table

    Table.__bool__ = lambda self: True


def item_level_transactions() -> None:
    """Fix 3: to roll back a failed transaction, moto deep-copies every table it touches
    (all their items, on every TransactWriteItems); the shim backs up the touched items
    only and restores them the same way on failure."""
    import copy

    from moto.dynamodb import models as ddb
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = ddb.DynamoDBBackend.transact_write_items

    class TablesUncopied:
        def __getattr__(self, name):
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value, memo=None):
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def transact(self, transact_items):
        backups = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op.get("Key") or {k: op["Item"][k] for k in
                                    (table.hash_key_attr, table.range_key_attr) if k}
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            current = table.get_item(hash_key, range_key)
            backups.append((table, hash_key, range_key,
                            copy.deepcopy(current) if current is not None else None))
        ddb.copy = TablesUncopied()
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(backups):
                bucket = table.items[hash_key] if range_key is not None else table.items
                slot = range_key if range_key is not None else hash_key
                if item is None:
                    bucket.pop(slot, None)
                else:
                    bucket[slot] = item
            raise
        finally:
            ddb.copy = copy

    ddb.DynamoDBBackend.transact_write_items = transact


def plain_json_responses() -> None:
    """Fix 4: moto serializes each response through botocore's shape model, resolving every
    attribute of every item by name (~ms per item); DynamoDB's answers are already in wire
    form, so they are dumped as they are (whatever cannot be falls back to moto's way)."""
    import json as _json

    from moto.core.serialize import JSONSerializer

    original = JSONSerializer._serialize_result

    def serialize_result(self, resp, result):
        if self.service_model.service_name == "dynamodb" and isinstance(result, dict):
            try:
                resp["body"] = _json.dumps(result)
            except TypeError:
                return original(self, resp, result)
            resp["headers"]["Content-Type"] = self._get_protocol_specific_content_type()
            return resp
        return original(self, resp, result)

    JSONSerializer._serialize_result = serialize_result


def running_item_size() -> None:
    """Fix 2: the 400 KB item limit checked with a running size, not a re-sum."""
    from moto.dynamodb.models import dynamo_type as dt

    def size_of(key, value) -> int:
        return dt.bytesize(key) + (value.size() if type(value) is dt.DynamoType
                                   else dt.bytesize(str(value)))

    def setitem(self, key, value):
        size = self.__dict__.get("_size")
        if size is None:
            size = sum(size_of(k, v) for k, v in dict.items(self))
        if dict.__contains__(self, key):
            size -= size_of(key, dict.__getitem__(self, key))
        size += size_of(key, value)
        if size > 405000:
            raise dt.ItemSizeTooLarge
        dict.__setitem__(self, key, value)
        self.__dict__["_size"] = size

    dt.LimitedSizeDict.__setitem__ = setitem


# ---------------------------------------------------------------------- data
def _shard(bill_id: str) -> str:
    from chalicelib.billing.store import OUTSTANDING_SHARDS

    return f"OUT#{zlib.crc32(bill_id.encode()) % OUTSTANDING_SHARDS}"


def _month_15th(months_back: int) -> date:
    index = CHECK_DAY.year * 12 + CHECK_DAY.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 15)


def outstanding_bills(count: int, created_at: datetime):
    """Employers with three unpaid months and BPU participants with two, alternating, the
    oldest due 2 to 13 months ago (debtors spread over the whole policy ladder)."""
    from chalicelib.billing.store import BillRecord

    made, debtor = 0, 0
    while made < count:
        pu = debtor % 2 == 0
        months = 3 if pu else 2
        first_back = 2 + debtor % 12 + (months - 2)
        for k in range(months):
            if made == count:
                break
            due = _month_15th(first_back - k)
            period = (due.replace(day=1) - timedelta(days=1)).strftime("%Y-%m") if pu \
                else due.strftime("%Y-%m")
            party = f"e{debtor:06d}" if pu else f"p{debtor:06d}"
            bill_id = f"B-{period}-{party}"
            lines = LINES_PU if pu else LINES_BPU
            totals: dict[str, int] = collections.Counter()
            for line in lines:
                totals[line["program"]] += line["amount"]
            contribution = sum(line["amount"] for line in lines)
            yield BillRecord(
                bill_id, kind="EMPLOYER" if pu else "PARTICIPANT", segment="PU" if pu else "BPU",
                party_key=("EMP#" if pu else "PAR#") + party,
                party_name=f"PT Contoh {debtor}" if pu else f"Peserta {debtor}",
                npp=f"{debtor:08d}" if pu else None, kpj=None if pu else f"9{debtor:010d}",
                branch="BLT", period=period, status="OPEN", due_date=due.isoformat(),
                contribution=contribution, employer_total=contribution, worker_total=0,
                program_totals=json.dumps(dict(totals)), lines=json.dumps(lines),
                worker_count=1, payment_code=f"{made:011d}0", created_at=created_at,
                outstanding_shard=_shard(bill_id), outstanding_sort=f"{due}#{bill_id}",
                branch_status="BLT#OPEN", period_sort=f"{period}#{bill_id}")
            made += 1
        debtor += 1


def raw_batch_write(ddb, table_name: str, items) -> int:
    """BatchWriteItem through the low-level client, 25 items a call, unprocessed retried."""
    written, chunk = 0, []

    def flush() -> None:
        request = {table_name: [{"PutRequest": {"Item": item}} for item in chunk]}
        while request:
            request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        chunk.clear()

    for item in items:
        chunk.append(item)
        written += 1
        if len(chunk) == 25:
            flush()
    if chunk:
        flush()
    return written


def paid_filler(backend, table_name: str, count: int) -> None:
    for start in range(0, count, 25):
        for i in range(start, min(start + 25, count)):
            bill_id = f"B-2025-{1 + i % 12:02d}-f{i:07d}"
            backend.put_item(table_name, {
                "bill_id": {"S": bill_id}, "kind": {"S": "PARTICIPANT"},
                "segment": {"S": "BPU"}, "party_key": {"S": f"PAR#f{i:07d}"},
                "party_name": {"S": "Peserta"}, "branch": {"S": "BLT"},
                "period": {"S": bill_id[2:9]}, "status": {"S": "PAID"},
                "due_date": {"S": f"{bill_id[2:9]}-15"}, "contribution": {"N": "16800"},
                "amount_paid": {"N": "16800"}, "branch_status": {"S": "BLT#PAID"},
                "period_sort": {"S": f"{bill_id[2:9]}#{bill_id}"}})


# ---------------------------------------------------------------------- measuring
class Meter:
    def __init__(self):
        self.calls: collections.Counter = collections.Counter()
        self.queried: collections.Counter = collections.Counter()
        self.read = 0
        self.sqs = 0
        self.on = False

    def before(self, event_name, params=None, **_):
        if self.on:
            operation = event_name.rsplit(".", 1)[-1]
            self.calls[operation] += 1
            if operation == "Query" and params:
                body = json.loads(params.get("body") or b"{}")
                self.queried[(body.get("TableName"), body.get("IndexName"))] += 1

    def after(self, http_response=None, parsed=None, model=None, **_):
        if not self.on or not parsed:
            return
        if "ScannedCount" in parsed:
            self.read += parsed["ScannedCount"]
        elif "Responses" in parsed:
            self.read += sum(len(v) for v in parsed["Responses"].values())
        elif "Item" in parsed:
            self.read += 1

    def count_sqs(self, **_):
        if self.on:
            self.sqs += 1

    def measure(self, fn):
        self.calls.clear()
        self.queried.clear()
        self.read = self.sqs = 0
        self.on = True
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
        self.on = False
        return elapsed, result


def run_total(total: int, outstanding: int, repeat: int) -> dict:
    from moto import mock_aws

    with mock_aws():
        from moto.dynamodb.models import dynamodb_backends

        from chalicelib.billing.store import BillRecord, OutstandingBillRecord
        from chalicelib.bootstrap import Container, container, override
        from chalicelib.shared_kernel.aws import client, reset_clients
        from chalicelib.shared_kernel.calendar import JAKARTA
        from chalicelib.shared_kernel.config import Settings
        from chalicelib.shared_kernel.resources import _shared_botocore_session
        from infra.provision import provision

        reset_clients()
        # botocore clients copy the session's handlers when they are built: register the
        # meter before any model builds its client
        meter = Meter()
        session = _shared_botocore_session()
        session.register("before-call.dynamodb", meter.before)
        session.register("after-call.dynamodb", meter.after)
        settings = Settings(stage="bench", resource_prefix="bench", bucket_name="bench-docs",
                            jwt_public_key_path="/dev/null")
        provision(settings)
        override(Container(settings))
        now = datetime.combine(CHECK_DAY, datetime.min.time().replace(hour=1), tzinfo=JAKARTA)
        container().clock = lambda: now

        ddb = client("dynamodb", settings.region)
        started = time.perf_counter()
        bills = list(outstanding_bills(outstanding, now - timedelta(days=400)))
        raw_batch_write(ddb, OutstandingBillRecord.Meta.table_name,
                        (OutstandingBillRecord.of(b).serialize() for b in bills))
        raw_batch_write(ddb, BillRecord.Meta.table_name, (b.serialize() for b in bills))
        loaded_outstanding = time.perf_counter() - started
        backend = dynamodb_backends["123456789012"][settings.region]
        started = time.perf_counter()
        paid_filler(backend, BillRecord.Meta.table_name, total - outstanding)
        loaded_filler = time.perf_counter() - started
        stored = len(backend.get_table(BillRecord.Meta.table_name).items)
        print(f"\n{stored:,} bills ({outstanding:,} outstanding): written in "
              f"{loaded_outstanding:.1f}s (bills + index entries, BatchWriteItem) + "
              f"{loaded_filler:.1f}s (paid filler)", flush=True)

        client("sqs", settings.region).meta.events.register("before-call.sqs", meter.count_sqs)
        service = container().receivables
        out: dict = {}
        for label in ["first"] + ["steady"] * repeat:
            elapsed, summary = meter.measure(lambda: service.check_due_dates(now))
            calls = dict(meter.calls)
            if calls.get("Scan"):
                raise SystemExit("a Scan on the daily check's path")
            if any(table == BillRecord.Meta.table_name and index
                   for table, index in meter.queried):
                raise SystemExit(f"a GSI Query on the bills table: {dict(meter.queried)}")
            out.setdefault(label, []).append(elapsed)
            out.setdefault(f"{label}_calls", sum(calls.values()))
            print(f"  {label:6} run {elapsed:7.2f}s  DynamoDB calls {sum(calls.values()):6,} "
                  f"({sum(calls.values()) / outstanding:.3f} per outstanding bill) "
                  f"{calls}")
            queried = {f"{t}/{i or 'table'}": n for (t, i), n in sorted(meter.queried.items(),
                                                                     key=str)}
            print(f"               Queries by table/index {queried}")
            print(f"               items read {meter.read:,} "
                  f"({meter.read / outstanding:.2f} per outstanding bill), SQS calls "
                  f"{meter.sqs:,}; summary {json.dumps(summary)[:200]}", flush=True)
        session.unregister("before-call.dynamodb", meter.before)
        session.unregister("after-call.dynamodb", meter.after)
        override(None)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outstanding", type=int, default=10_000)
    parser.add_argument("--totals", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=3, help="steady runs per total")
    args = parser.parse_args()
    totals = [int(t) for t in args.totals.split(",")]
    from infra.moto_atomic import make_dynamodb_atomic

    make_dynamodb_atomic()          # keyed Queries read one partition (tests, local stack)
    tables_are_true()
    running_item_size()
    item_level_transactions()
    plain_json_responses()
    results = {total: run_total(total, args.outstanding, args.repeat) for total in totals}
    if len(totals) >= 2:
        small, large = results[totals[0]], results[totals[-1]]
        print(f"\nratio {totals[-1]:,} / {totals[0]:,} bills, same {args.outstanding:,} "
              f"outstanding (target <= 1.2):")
        for label in ("first", "steady"):
            a, b = statistics.median(large[label]), statistics.median(small[label])
            print(f"  {label:6} run: {a:.2f}s / {b:.2f}s = {a / b:.2f}   "
                  f"(DynamoDB calls {large[label + '_calls']:,} / {small[label + '_calls']:,})")


if __name__ == "__main__":
    main()
