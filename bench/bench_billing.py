"""Monthly bill generation at scale, against moto's raw batch write of the same items.

    .venv/bin/python bench/bench_billing.py [--employers 1000 --workers 20 --bpu 10000]

Creates the parties with batch writes (not measured), runs generate_monthly_bills, counts
DynamoDB calls by operation (a Scan would fail the run), then writes the very items the run
produced into fresh tables with raw BatchWriteItem calls and prints the ratio. Both on
moto in process, in the same run: moto's speed is the floor, not a latency figure.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for key in list(os.environ):
    if key.startswith("AWS_ENDPOINT_URL"):
        del os.environ[key]
os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                   "AWS_DEFAULT_REGION": "ap-southeast-3", "POWERTOOLS_LOG_LEVEL": "ERROR",
                   "POWERTOOLS_METRICS_DISABLED": "true"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employers", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--bpu", type=int, default=10_000)
    args = parser.parse_args()

    from moto import mock_aws

    from infra.moto_atomic import make_dynamodb_atomic

    make_dynamodb_atomic()        # as the local stack runs moto (keyed Query = one partition)
    with mock_aws():
        run(args)


def run(args) -> None:
    import json
    import zlib

    from chalicelib.bootstrap import Container, container, override
    from chalicelib.billing.store import (BillDetailRecord, BillRecord, OutstandingBillRecord,
                                          PaymentCodeRecord)
    from chalicelib.registration.store import (BILLING_SHARDS, EmployerRecord,
                                               EmploymentRecord, ParticipantRecord)
    from chalicelib.shared_kernel.aws import client
    from chalicelib.shared_kernel.calendar import JAKARTA
    from chalicelib.shared_kernel.config import Settings
    from chalicelib.shared_kernel.resources import _shared_botocore_session
    from infra.provision import provision

    settings = Settings(stage="bench", resource_prefix="bench", bucket_name="bench-docs",
                        jwt_public_key_path="/dev/null")
    provision(settings)
    override(Container(settings))
    created_at = datetime(2026, 11, 2, 9, 0, tzinfo=JAKARTA)

    started = time.perf_counter()
    history = json.dumps([{"from": "2026-01", "wage": 4_500_000}])
    with EmployerRecord.batch_write() as employers, EmploymentRecord.batch_write() as jobs:
        for e in range(args.employers):
            employer_id = f"emp-{e:06d}"
            employers.save(EmployerRecord(
                employer_id, status="VERIFIED", branch="BLT", name=f"PT Contoh {e}",
                risk_class=1 + e % 5, sector="10792", npp=f"{e:08d}0", phone="+62341000000",
                profile="{}", billing_shard=f"EMP#{zlib.crc32(employer_id.encode()) % BILLING_SHARDS}",
                created_at=created_at, updated_at=created_at))
            for w in range(args.workers):
                jobs.save(EmploymentRecord(employer_id, f"par-{e:06d}-{w:03d}",
                                           kpj=f"{e:06d}{w:04d}0", name=f"Pekerja {w}",
                                           wage_history=history, started="2026-01"))
    with ParticipantRecord.batch_write() as people:
        for b in range(args.bpu):
            pid = f"bpu-{b:06d}"
            people.save(ParticipantRecord(
                pid, segment="BPU", status="ACTIVE", branch="BLT", name=f"Peserta {b}",
                nik=f"3572{b:012d}", kpj=f"9{b:010d}", programs=["JKK", "JKM"],
                declared_income=1_000_000 + (b % 50) * 10_000, profile="{}",
                billing_shard=f"BPU#{zlib.crc32(pid.encode()) % BILLING_SHARDS}",
                created_at=created_at, updated_at=created_at))
    print(f"setup: {args.employers} employers x {args.workers} workers, {args.bpu} BPU "
          f"participants in {time.perf_counter() - started:.1f}s")

    calls: collections.Counter = collections.Counter()
    seconds: collections.Counter = collections.Counter()
    counting = [True]
    from botocore.client import BaseClient

    original_call = BaseClient._make_api_call

    def counted(client_self, operation_name, api_params):
        # every DynamoDB call of any thread, whatever session PynamoDB opened it on
        if not counting[0] or client_self.meta.service_model.service_name != "dynamodb":
            return original_call(client_self, operation_name, api_params)
        began = time.perf_counter()
        try:
            return original_call(client_self, operation_name, api_params)
        finally:
            calls[operation_name] += 1
            where = f"{operation_name}:{api_params.get('IndexName', api_params.get('TableName', ''))}"
            seconds[where] += time.perf_counter() - began

    BaseClient._make_api_call = counted
    at = datetime(2026, 12, 1, 0, 5, tzinfo=JAKARTA)
    container().clock = lambda: at
    started = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        cProfile.runctx("container().billing.generate_monthly_bills(at)", globals(),
                        {"container": container, "at": at}, "/tmp/bench_billing.prof")
        pstats.Stats("/tmp/bench_billing.prof").sort_stats("cumulative").print_stats(30)
        return
    result = container().billing.generate_monthly_bills(at)
    ours = time.perf_counter() - started
    counting[0] = False
    bills = result["pu_created"] + result["bpu_created"]
    worker_lines = args.employers * args.workers * 7 + args.bpu * 2

    # The floor: the same items, raw BatchWriteItem into fresh tables.
    items = {model: [i.serialize() for i in model.scan()]
             for model in (BillRecord, BillDetailRecord, PaymentCodeRecord,
                           OutstandingBillRecord)}
    for model in items:
        model.Meta.table_name += "-floor"
        model._connection = None
        model.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
    ddb = client("dynamodb", settings.region)
    total_items = sum(len(v) for v in items.values())
    started = time.perf_counter()
    for model, rows in items.items():
        for i in range(0, len(rows), 25):
            ddb.batch_write_item(RequestItems={model.Meta.table_name: [
                {"PutRequest": {"Item": row}} for row in rows[i:i + 25]]})
    floor = time.perf_counter() - started

    print(f"generate_monthly_bills: {result}")
    print(f"  {bills} bills in {ours:.2f}s = {bills / ours:,.0f} bills/s, "
          f"{worker_lines / ours:,.0f} worker-lines/s")
    print(f"  DynamoDB calls: {dict(calls)}  ({sum(calls.values()) / bills:.3f} per bill); "
          f"scans: {calls.get('Scan', 0)}")
    print("  seconds by call: " + ", ".join(f"{op} {t:.2f}" for op, t in seconds.most_common()))
    print(f"floor: raw BatchWriteItem of the same {total_items} items in {floor:.2f}s")
    print(f"ratio run/floor: {ours / floor:.2f}  (target <= 1.5)")
    if calls.get("Scan", 0):
        raise SystemExit("a Scan on the billing path")


if __name__ == "__main__":
    main()
