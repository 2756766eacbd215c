"""The daily check's cost follows the outstanding bills, not all bills.

    .venv/bin/python bench/bench_daily_check.py [--outstanding 10000]
                                                 [--totals 100000,1000000] [--raw-moto]

For each total, in a fresh moto (in process): `--outstanding` unpaid bills (employers with
three months each, BPU participants with two, first due 2 to 13 months before the day of
the check) written with BatchWriteItem, and paid bills up to the total. Then
check_due_dates runs twice on 16 June 2027:

- first run: every outstanding bill turns OVERDUE with its fine and every debtor gets its
  record and its first step (the heaviest day there is);
- second run, same day: nothing to change (an ordinary day's steady state).

Printed per run: seconds, DynamoDB calls by operation and per outstanding bill, items
DynamoDB read (Query ScannedCount + items fetched by key), SQS calls, and the ratio of the
1,000,000-bill time to the 100,000-bill time (target <= 1.2). A Scan fails the run.

moto is the floor, not a latency model. Four emulator fixes make it cost what DynamoDB
costs, and nothing in the code under test changes:
1. moto's GSI Query walks every item of the table for every page (stack-notes: ~3 ms per
   1,000 rows whatever the result); DynamoDB reads only the queried partition. The shim
   hands moto's own query the items of that partition (it still checks every condition).
2. moto re-sums an item's size over all its attributes on every attribute it sets
   (quadratic per item); the shim keeps a running size with the same 400 KB limit.
3. moto backs up every table a TransactWriteItems touches by deep-copying all its items
   (so each transaction costs the size of the tables); the shim backs up the touched items.
4. moto serializes every response through botocore's shape model, attribute by attribute
   (milliseconds per item returned); DynamoDB answers are JSON already and are dumped so.
`--raw-moto` repeats the steady run without fix 1, to show the emulator's own growth.
The paid filler bills go through moto's put_item (what its BatchWriteItem handler calls per
item) without the HTTP round trip: ~5x faster, the same stored items.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
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
class IndexShim:
    """Fix 1: moto's Query on the bills' `outstanding` index reads that partition only."""

    def __init__(self):
        from moto.dynamodb.models.table import Table

        self.table_cls = Table
        self.original = Table.query
        self.partitions: dict[str, dict[str, list]] = {}
        self.enabled = False
        shim = self

        def query(table, hash_key, *args, **kwargs):
            # moto passes index_name as the 8th positional argument
            index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
            partitions = shim.partitions.get(table.name)
            if not shim.enabled or partitions is None or index_name != "outstanding":
                return shim.original(table, hash_key, *args, **kwargs)
            table.all_items = lambda: partitions.get(hash_key.value, [])
            try:
                return shim.original(table, hash_key, *args, **kwargs)
            finally:
                del table.all_items

        Table.query = query

    def index(self, table, attribute: str) -> None:
        partitions: dict[str, list] = collections.defaultdict(list)
        for item in table.all_items():
            value = item.attrs.get(attribute)
            if value is not None:
                partitions[value.value].append(item)
        self.partitions[table.name] = partitions
        self.enabled = True


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
    return f"OUT#{zlib.crc32(bill_id.encode()) % 16}"


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


def paid_filler(table, count: int) -> None:
    for i in range(count):
        bill_id = f"B-2025-{1 + i % 12:02d}-f{i:07d}"
        table.put_item({
            "bill_id": {"S": bill_id}, "kind": {"S": "PARTICIPANT"}, "segment": {"S": "BPU"},
            "party_key": {"S": f"PAR#f{i:07d}"}, "party_name": {"S": "Peserta"},
            "branch": {"S": "BLT"}, "period": {"S": bill_id[2:9]}, "status": {"S": "PAID"},
            "due_date": {"S": f"{bill_id[2:9]}-15"}, "contribution": {"N": "16800"},
            "amount_paid": {"N": "16800"}, "branch_status": {"S": "BLT#PAID"},
            "period_sort": {"S": f"{bill_id[2:9]}#{bill_id}"}})


# ---------------------------------------------------------------------- measuring
class Meter:
    def __init__(self):
        self.calls: collections.Counter = collections.Counter()
        self.read = 0
        self.sqs = 0
        self.on = False

    def before(self, event_name, **_):
        if self.on:
            self.calls[event_name.rsplit(".", 1)[-1]] += 1

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
        self.read = self.sqs = 0
        self.on = True
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
        self.on = False
        return elapsed, result


def run_total(total: int, outstanding: int, raw_moto: bool, shim: IndexShim) -> dict:
    from moto import mock_aws

    with mock_aws():
        from moto.dynamodb.models import dynamodb_backends

        from chalicelib.bootstrap import Container, container, override
        from chalicelib.billing.store import BillRecord
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

        started = time.perf_counter()
        with BillRecord.batch_write() as batch:
            for bill in outstanding_bills(outstanding, now - timedelta(days=400)):
                batch.save(bill)
        loaded_outstanding = time.perf_counter() - started
        backend = dynamodb_backends["123456789012"][settings.region]
        table = backend.get_table(BillRecord.Meta.table_name)
        started = time.perf_counter()
        paid_filler(table, total - outstanding)
        loaded_filler = time.perf_counter() - started
        shim.index(table, "outstanding_shard")
        print(f"\n{total:,} bills ({outstanding:,} outstanding): written in "
              f"{loaded_outstanding:.1f}s (BatchWriteItem) + {loaded_filler:.1f}s (paid filler)")

        client("sqs", settings.region).meta.events.register("before-call.sqs", meter.count_sqs)
        service = container().receivables
        out = {}
        for label in ("first", "steady"):
            elapsed, summary = meter.measure(lambda: service.check_due_dates(now))
            calls = dict(meter.calls)
            if calls.get("Scan"):
                raise SystemExit("a Scan on the daily check's path")
            out[label] = elapsed
            print(f"  {label:6} run {elapsed:7.2f}s  DynamoDB calls {sum(calls.values()):6,} "
                  f"({sum(calls.values()) / outstanding:.3f} per outstanding bill) "
                  f"{calls}")
            print(f"               items read {meter.read:,} "
                  f"({meter.read / outstanding:.2f} per outstanding bill), SQS calls "
                  f"{meter.sqs:,}; summary {json.dumps(summary)[:160]}")
        if raw_moto:
            shim.enabled = False
            elapsed, _ = meter.measure(lambda: service.check_due_dates(now))
            out["raw"] = elapsed
            print(f"  steady run on raw moto (its GSI queries walk all {total:,} bills): "
                  f"{elapsed:.2f}s")
        session.unregister("before-call.dynamodb", meter.before)
        session.unregister("after-call.dynamodb", meter.after)
        override(None)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outstanding", type=int, default=10_000)
    parser.add_argument("--totals", default="100000,1000000")
    parser.add_argument("--raw-moto", action="store_true")
    args = parser.parse_args()
    totals = [int(t) for t in args.totals.split(",")]
    running_item_size()
    item_level_transactions()
    plain_json_responses()
    shim = IndexShim()
    results = {total: run_total(total, args.outstanding, args.raw_moto, shim)
               for total in totals}
    if len(totals) >= 2:
        small, large = results[totals[0]], results[totals[-1]]
        print(f"\nratio {totals[-1]:,} / {totals[0]:,} bills, same {args.outstanding:,} "
              f"outstanding (target <= 1.2):")
        for label in ("first", "steady", "raw"):
            if label in small:
                print(f"  {label:6} run: {large[label]:.2f}s / {small[label]:.2f}s = "
                      f"{large[label] / small[label]:.2f}")


if __name__ == "__main__":
    main()
