"""SNAP inquiry and payment latency in process, against the floor of the same DynamoDB (and
SQS) calls alone, measured in the same run.

    .venv/bin/python bench/bench_snap.py [--requests 100]

Ours: each request goes through chalice.test.Client (routing, the SNAP gate: token, window,
HMAC over the raw body, X-EXTERNAL-ID claim; the bill lookup with its fine; for payments the
posting transaction and the queue message). Only the server side is timed: the partner's
signing happens before the clock starts.

Floor: every AWS call each request made is recorded (operation and parameters, as sent) and
replayed right after it, through the same botocore clients but with nothing of ours around
them, against copies of the tables taken before the run (so every conditional write meets
the state it met, and succeeds the same way). Both on moto in process, interleaved so both
see the same machine load: moto's speed is the floor, not a latency figure (stack-notes).
Also printed: our own time per request (the request minus its AWS calls), the figure that
would carry over to real DynamoDB. Target: payment <= 2x floor.
"""
from __future__ import annotations

import argparse
import copy
import gc
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for key in list(os.environ):
    if key.startswith("AWS_ENDPOINT_URL") or key.startswith("SMILE_"):
        del os.environ[key]
os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                   "AWS_DEFAULT_REGION": "ap-southeast-3", "POWERTOOLS_LOG_LEVEL": "ERROR",
                   "POWERTOOLS_METRICS_DISABLED": "true"})

FLOOR_SUFFIX = "-floor"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100,
                        help="inquiries and payments measured (on as many bills)")
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    from moto import mock_aws

    from infra.moto_atomic import make_dynamodb_atomic

    make_dynamodb_atomic()
    with mock_aws():
        run(args)


class Recorder:
    """Records the AWS calls made while `on`: (service, operation, params as sent)."""

    def __init__(self):
        self.on = False
        self.calls: list[tuple[str, str, dict]] = []

    def __call__(self, params, model, **_):
        if self.on:
            self.calls.append((model.service_model.service_name, model.name,
                               copy.deepcopy(params)))

    def take(self) -> list[tuple[str, str, dict]]:
        calls, self.calls = self.calls, []
        return calls


def run(args) -> None:
    import tempfile

    from chalice.test import Client
    from cryptography.fernet import Fernet

    import app as app_module
    from chalicelib.billing.bills import draft_bpu_bill, format_payment_code
    from chalicelib.billing.store import BillingStore
    from chalicelib.bootstrap import Container, container, override
    from chalicelib.shared_kernel.auth import Principal, Role
    from chalicelib.shared_kernel.aws import client
    from chalicelib.shared_kernel.calendar import JAKARTA, Period
    from chalicelib.shared_kernel.config import Settings
    from chalicelib.shared_kernel.records import reserve_block
    from chalicelib.shared_kernel.resources import _shared_botocore_session, load_models
    from infra.provision import provision
    from tests.support.snap_client import SnapPartner, chalice_transport, generate_rsa_keypair

    key_file = Path(tempfile.mkdtemp()) / "secret.key"
    key_file.write_bytes(Fernet.generate_key())
    settings = Settings(stage="bench", resource_prefix="bench", bucket_name="bench-docs",
                        jwt_public_key_path="/dev/null",
                        secret_encryption_key_path=str(key_file))
    provision(settings)
    now = datetime(2026, 12, 10, 8, 0, tzinfo=JAKARTA)
    override(Container(settings, clock=lambda: now))

    recorder = Recorder()
    _shared_botocore_session().register("before-parameter-build", recorder)
    client("sqs", settings.region).meta.events.register("before-parameter-build", recorder)
    in_aws = _time_aws_calls(recorder)

    # ---------------------------------------------------------------- setup (not measured)
    count = args.requests + args.warmup
    c = container()
    period = Period(2026, 12)
    drafts = [draft_bpu_bill(c.rulebook, c.calendar, participant_id=f"bench-{i:06d}",
                             name=f"Peserta {i}", kpj=f"9{i:010d}", branch="BLT",
                             period=period, declared_income=1_000_000, programs=["JKK", "JKM"])
              for i in range(count)]
    codes = [format_payment_code(n) for n in reserve_block("payment-code", len(drafts))]
    records = []
    for draft, code in zip(drafts, codes):
        records.extend(c.billing.records_for(draft, code, now))  # the billing run's own
    BillingStore().write_batch(records)
    private_pem, public_pem = generate_rsa_keypair()
    created = c.snap.onboard(client_id="BENCH", name="Bank Bench", channel_id="95221",
                             public_key_pem=public_pem, company_code="88899",
                             principal=Principal("bench", Role.ADMIN))
    # Each bill is inquired, then (after all the inquiries) paid: moto's transactions copy
    # every table, so the fewer items the less its floor drowns the figures.
    inquiry_codes = payment_codes = codes

    with Client(app_module.app) as chalice_client:
        timings: list[float] = []
        aws_times: list[float] = []
        raw = chalice_transport(chalice_client)

        def timed(method, path, headers, body):
            recorder.take()
            in_aws.clear()
            recorder.on = True
            started = time.perf_counter()
            result = raw(method, path, headers, body)
            timings.append(time.perf_counter() - started)
            recorder.on = False
            aws_times.append(sum(in_aws))
            return result

        partner = SnapPartner(client_id="BENCH", client_secret=created["client_secret"],
                              private_key_pem=private_pem,
                              partner_service_id=created["partner_service_id"],
                              transport=timed, clock=lambda: now)
        assert partner.get_token().status == 200

        snapshot = copy_tables(load_models(), settings)
        # The very clients the app used: PynamoDB's botocore client, the publisher's SQS.
        from chalicelib.billing.store import BillRecord

        ddb = BillRecord._get_connection().connection.client
        sqs = client("sqs", settings.region)
        per_op: dict[str, list[float]] = {}

        def floor_of(calls) -> float:
            """The request's AWS calls alone, raw, on the copies (which lag the originals by
            exactly this request, so every condition meets the state it met)."""
            started = time.perf_counter()
            for service, operation, params in calls:
                target = ddb if service == "dynamodb" else sqs
                renamed = _renamed(params, snapshot)
                one = time.perf_counter()
                target._make_api_call(operation, renamed)
                per_op.setdefault(operation, []).append(time.perf_counter() - one)
            return time.perf_counter() - started

        # Everything built so far lives to the end: out of the collector's sight, so the
        # collections between requests cost only what the requests left behind.
        gc.collect()
        gc.freeze()
        results = {}
        for name, codes_, send in (
                ("inquiry", inquiry_codes, lambda code, i: partner.inquiry(code, f"I-{i}")),
                ("payment", payment_codes,
                 lambda code, i: partner.payment(code, 16_800, f"P-{i}"))):
            timings.clear()
            aws_times.clear()
            floors, operations = [], []
            for i, code in enumerate(codes_):
                # moto's transactions deep-copy every table: collect that garbage outside
                # the clock, or its GC pauses land on whichever side runs next.
                gc.collect()
                answer = send(code, i)
                assert answer.status == 200, answer.body
                calls = recorder.take()
                operations = [op for _, op, _ in calls]
                gc.collect()
                floors.append(floor_of(calls))  # interleaved: both see the same load
            skip = args.warmup
            results[name] = (timings[skip:], floors[skip:],
                             [t - a for t, a in zip(timings, aws_times)][skip:], operations)

    print(f"SNAP in process (chalice test client on moto), {args.requests} requests each "
          f"after {args.warmup} warm-up; floor = the same AWS calls, raw, on copies of the "
          f"tables, each right after its request")
    for name, (ours, floors, overhead, operations) in results.items():
        print(f"\n{name}: calls per request {len(operations)} ({', '.join(operations)})")
        for label, ours_q, floor_q in (("p50", _q(ours, 50), _q(floors, 50)),
                                       ("p99", _q(ours, 99), _q(floors, 99)),
                                       ("mean", statistics.fmean(ours),
                                        statistics.fmean(floors))):
            print(f"  {label:4} ours {ours_q * 1000:7.2f} ms   floor {floor_q * 1000:7.2f} ms"
                  f"   ratio {ours_q / floor_q:5.2f}")
        print(f"  our own time per request (ours minus its AWS calls, same run): p50 "
              f"{_q(overhead, 50) * 1000:.2f} ms, p99 {_q(overhead, 99) * 1000:.2f} ms")
    print("\nfloor per call (p50): " + ", ".join(
        f"{op} {_q(times, 50) * 1000:.1f} ms" for op, times in per_op.items()))
    print("target: payment p50 <= 2.0 x floor")


def _time_aws_calls(recorder: Recorder) -> list[float]:
    """Durations of the AWS calls made while the recorder is on (botocore's one entry point
    for every client): what a request spends in moto, to tell our own time apart."""
    from botocore.client import BaseClient

    durations: list[float] = []
    original = BaseClient._make_api_call

    def timed(self, operation_name, api_params):
        if not recorder.on:
            return original(self, operation_name, api_params)
        started = time.perf_counter()
        try:
            return original(self, operation_name, api_params)
        finally:
            durations.append(time.perf_counter() - started)

    BaseClient._make_api_call = timed
    return durations


def copy_tables(models: dict, settings) -> dict[str, str]:
    """Copies of every table under "<name>-floor", with their items: the state the
    measured requests met, for the replay."""
    from chalicelib.shared_kernel.aws import client

    ddb = client("dynamodb", settings.region)
    renamed = {}
    for model_cls in models.values():
        name = model_cls.Meta.table_name
        items = [item for page in ddb.get_paginator("scan").paginate(TableName=name)
                 for item in page["Items"]]
        model_cls.Meta.table_name = name + FLOOR_SUFFIX
        model_cls._connection = None
        model_cls.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
        model_cls.Meta.table_name = name
        model_cls._connection = None
        for i in range(0, len(items), 25):
            ddb.batch_write_item(RequestItems={name + FLOOR_SUFFIX: [
                {"PutRequest": {"Item": item}} for item in items[i:i + 25]]})
        renamed[name] = name + FLOOR_SUFFIX
    return renamed


def _renamed(value, names: dict[str, str]):
    """The call's parameters aimed at the floor tables (TableName values, RequestItems
    keys, nested transaction items)."""
    if isinstance(value, dict):
        return {names.get(k, k) if k not in ("TableName",) else k:
                (names.get(v, v) if k == "TableName" else _renamed(v, names))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


def _q(values: list[float], percentile: int) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(percentile / 100 * len(ordered)) - 1))
    return ordered[index]


if __name__ == "__main__":
    main()
