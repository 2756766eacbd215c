"""Blast end to end: a campaign fanned out to N recipients and sent through the outbox.

    .venv/bin/python bench/bench_blast.py throughput [--recipients 50000]
    .venv/bin/python bench/bench_blast.py faults [--recipients 5000]

throughput: no rate limit, no faults. Times the run from POST-equivalent campaign creation
to every recipient delivered, records every AWS call the run made (SQS and DynamoDB, through
boto3 and PynamoDB alike), then replays exactly those calls with a raw boto3 client against
identical fresh tables and queues, in the same process: the floor. Prints messages/s and
run/floor (target <= 1.5), by wall clock and by this process's CPU time: everything runs in
one process (moto in-process, no sleeps), so on a machine shared with other work the CPU
ratio is the one that other processes cannot skew. moto is the AWS here: its speed is the
floor, not a latency.

faults: 20 % HTTP 5xx, 5 % throttling (429/130429), 5 % timeouts (half before the request
lands, half after it was taken), 0.3 % worker crashes right after the provider took a
message, and 2 % of SQS deliveries duplicated. Checks that every recipient ends in exactly
one state, none is left queued, no message was taken twice by the outbox, and every failed
one is on the dead-letter queue with its reason.

The driver below (QueueDriver) is what the fault-injection integration test uses too: SQS
and the Lambda poller in one thread, a virtual clock, crashes and duplicates on demand.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

UTC = timezone.utc
MORNING = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)    # 09:00 WIB, before the 15th
FINAL = ("DELIVERED", "READ", "SENT", "FAILED", "SKIPPED_OPTED_OUT", "SKIPPED_NO_CONSENT",
         "SKIPPED_NO_CONTACT", "SKIPPED_PAID", "HELD_OUT", "CANCELLED")


class FakeClock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class LambdaContext:
    function_name = "smile-bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:ap-southeast-3:000000000000:function:smile-bench"
    memory_limit_in_mb = 1024
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/smile-bench"
    log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


# --------------------------------------------------------------------------- data
def seed_audience(n: int, *, branch: str = "BLT", period: str = "2026-12",
                  due: str = "2026-12-15", consent=("WHATSAPP", "SMS"),
                  created: datetime = datetime(2026, 12, 1, tzinfo=UTC),
                  prefix: str = "p") -> list[str]:
    """N BPU participants with a mobile number and consent, each with one OPEN bill
    (Given-data written straight to the tables: registering 50,000 people over HTTP is
    not what is measured). Ids are deterministic so two seedings are identical."""
    from chalicelib.billing.bills import format_payment_code
    from chalicelib.billing.store import BillRecord, PaymentCodeRecord
    from chalicelib.registration.store import ParticipantRecord

    stamp = created.isoformat()
    consent_json = json.dumps({c: {"opted_in": True, "at": stamp, "by": "seed",
                                   "source": "BENCH"} for c in consent}) if consent else None
    lines = json.dumps([{"program": "JKK", "payer": "PARTICIPANT", "base": 1_000_000,
                         "rate": "0.0024", "amount": 10_000},
                        {"program": "JKM", "payer": "PARTICIPANT", "base": 1_000_000,
                         "rate": "0.0068", "amount": 6_800}])
    bill_ids = []
    with ParticipantRecord.batch_write() as people, BillRecord.batch_write() as bills, \
            PaymentCodeRecord.batch_write() as codes:
        for i in range(n):
            pid = f"{prefix}-{i:06d}"
            phone = f"+62812{i:08d}"
            people.save(ParticipantRecord(
                pid, segment="BPU", status="ACTIVE", branch=branch, name=f"Peserta {i}",
                nik=f"3572{i:012d}", phone=phone, kpj=f"9{i:010d}", programs=["JKK", "JKM"],
                declared_income=1_000_000, profile="{}", consent=consent_json,
                created_at=created, updated_at=created))
            bill_id = f"{period}-{pid}"
            bill_ids.append(bill_id)
            code = format_payment_code(900_000_000 + i)
            codes.save(PaymentCodeRecord(code, bill_ids=[bill_id], party_key=f"PAR#{pid}",
                                         status="ACTIVE", expires_on="2027-02-15",
                                         issued_at=created, issued_by="seed"))
            bills.save(BillRecord(
                bill_id, kind="PARTICIPANT", segment="BPU", party_key=f"PAR#{pid}",
                party_name=f"Peserta {i}", kpj=f"9{i:010d}", branch=branch, period=period,
                status="OPEN", due_date=due, contribution=16_800, employer_total=0,
                worker_total=16_800, program_totals=json.dumps({"JKK": 10_000, "JKM": 6_800}),
                lines=lines, worker_count=0, payment_code=code, created_at=created,
                branch_status=f"{branch}#OPEN", period_sort=f"{period}#{bill_id}"))
    return bill_ids


# --------------------------------------------------------------------------- driver
class QueueDriver:
    """SQS and the Lambda poller for the reminders queue, in this thread, on a virtual clock.

    Each round receives up to 10 messages and invokes send_reminder with them. A
    SimulatedCrash (BaseException) kills the invocation: nothing is deleted, the messages come
    back after the visibility timeout (the clock jumps past it). Reported failures come back
    after the visibility timeout too. With `duplicate_rate`, a delivered message is also
    delivered a second time (a new copy), as SQS's at-least-once delivery may."""

    def __init__(self, clock: FakeClock, *, duplicate_rate: float = 0.0, seed: int = 7,
                 step: timedelta = timedelta(milliseconds=50), progress: bool = False):
        from chalicelib.bootstrap import container
        from chalicelib.shared_kernel.aws import client
        from chalicelib.shared_kernel.resources import QUEUES

        import app as app_module

        self.clock = clock
        self.spec = QUEUES["reminders"]
        self.consumer = app_module.app.handler_map[self.spec.consumer]
        self.release = app_module.app.handler_map["release_blast_timers"]
        self.sqs = client("sqs", container().settings.region)
        self.url = self.sqs.get_queue_url(QueueName=self.spec.name)["QueueUrl"]
        self.dlq_url = self.sqs.get_queue_url(QueueName=self.spec.dead_letter_name)["QueueUrl"]
        self.rng = random.Random(seed)
        self.duplicate_rate = duplicate_rate
        self.step = step
        self.stats = collections.Counter()
        self.progress = progress
        self._duplicated: set[str] = set()

    def _event(self, messages: list[dict]) -> dict:
        return {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": {"ApproximateReceiveCount":
                           m.get("Attributes", {}).get("ApproximateReceiveCount", "1")},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:ap-southeast-3:000000000000:{self.spec.name}",
            "awsRegion": "ap-southeast-3"} for m in messages]}

    def drain(self, max_rounds: int = 1_000_000, *, strict: bool = True) -> None:
        """Until the queue is empty (or `max_rounds` batches, with strict=False)."""
        from chalicelib.blast.providers import SimulatedCrash

        hidden: list[str] = []      # receipt handles of messages a crash left in flight
        for _ in range(max_rounds):
            messages = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=self.spec.batch_size,
                AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
            if not messages:
                if not hidden:
                    return
                self._timeout(hidden)
                hidden = []
                continue
            if self.duplicate_rate:
                for m in messages:
                    if m["Body"] not in self._duplicated and \
                            self.rng.random() < self.duplicate_rate:
                        self._duplicated.add(m["Body"])
                        self.sqs.send_message(QueueUrl=self.url, MessageBody=m["Body"])
                        self.stats["duplicates"] += 1
            self.stats["batches"] += 1
            try:
                result = self.consumer(self._event(messages), LambdaContext())
            except SimulatedCrash:
                self.stats["crashes"] += 1
                hidden.extend(m["ReceiptHandle"] for m in messages)
                self.clock.advance(self.step)
                continue
            except Exception:  # noqa: BLE001 - every record failed: Lambda reports an error
                self.stats["failed_invocations"] += 1
                hidden.extend(m["ReceiptHandle"] for m in messages)
                continue
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            self.stats["reported_failures"] += len(failed)
            done = [m for m in messages if m["MessageId"] not in failed]
            hidden.extend(m["ReceiptHandle"] for m in messages if m["MessageId"] in failed)
            for start in range(0, len(done), 10):
                self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start:start + 10])])
            self.stats["messages"] += len(messages)
            if self.progress and self.stats["messages"] // 1000 != \
                    (self.stats["messages"] - len(messages)) // 1000:
                print(f"  ... {self.stats['messages']} jobs", file=sys.stderr, flush=True)
            self.clock.advance(self.step)
        if strict:
            raise RuntimeError("the queue did not drain")

    def _timeout(self, handles: list[str]) -> None:
        """The visibility timeout passes: crashed and failed messages are visible again."""
        self.clock.advance(timedelta(seconds=self.spec.visibility_timeout))
        for handle in handles:
            try:
                self.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=handle,
                                                   VisibilityTimeout=0)
            except Exception:  # noqa: BLE001 - moto moved it to the dead-letter queue
                self.stats["moved_by_redrive_policy"] += 1

    def settle(self, max_hours: int = 24 * 8) -> None:
        """Drain; then let hours pass (firing the hourly release) until nothing is parked."""
        from chalicelib.bootstrap import container

        store = container().blast.store
        for _ in range(max_hours):
            self.drain()
            far = self.clock.now + timedelta(days=30)
            if not store.due_hours(far):
                return
            self.clock.now = (self.clock.now + timedelta(hours=1)).replace(
                minute=0, second=0, microsecond=0)
            self.release(_scheduled(self.clock.now), LambdaContext())
        raise RuntimeError("parked jobs kept coming")

    def dead_letters(self) -> list[dict]:
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10,
                                           MessageAttributeNames=["All"]).get("Messages", [])
            if not got:
                return out
            out.extend(got)


def _scheduled(at: datetime) -> dict:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "000000000000",
            "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "ap-southeast-3", "resources": [], "detail": {}}


def campaign_body(**overrides):
    from chalicelib.blast.schemas import CampaignIn

    body = {"name": "Pengingat jatuh tempo", "template": "reminder_before_due",
            "audience": {"bill_states": ["OPEN"]}, **overrides}
    return CampaignIn.model_validate(body)


def officer():
    from chalicelib.shared_kernel.auth import Principal, Role

    return Principal(subject="bench-officer", role=Role.RECEIVABLES, branch="BLT")


def outcome(campaign_id: str) -> dict:
    """Per recipient: its record's state; per dedupe key: sends the outbox took, by
    channel; and the counts the run must satisfy."""
    from chalicelib.blast.store import BlastStore, OutboxRecord

    records = list(BlastStore().campaign_messages(campaign_id))
    states = collections.Counter(r.state for r in records)
    taken: collections.Counter = collections.Counter()
    attempts = 0
    for record in records:
        for attempt in OutboxRecord.query(record.dedupe_key):
            attempts += 1
            if attempt.outcome in ("ACCEPTED", "DELIVERED"):
                taken[(record.dedupe_key, attempt.channel)] += 1
    return {"records": len(records), "distinct": len({r.dedupe_key for r in records}),
            "states": dict(states),
            "not_final": sum(v for k, v in states.items() if k not in FINAL),
            "sent_twice": sum(1 for v in taken.values() if v > 1),
            "delivered_without_send": sum(
                1 for r in records if r.state == "DELIVERED"
                and taken[(r.dedupe_key, r.channel)] != 1),
            "outbox_attempts": attempts, "outbox_taken": sum(taken.values()),
            "failed_keys": sorted(r.dedupe_key for r in records if r.state == "FAILED")}


# --------------------------------------------------------------------------- call capture
class CallRecorder:
    """Every AWS API call made through botocore while on, with the receipt handles SQS
    returned, so that the same calls can be replayed against fresh resources."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict, list[str]]] = []
        self.on = False

    def install(self):
        import botocore.client

        recorder = self
        original = botocore.client.BaseClient._make_api_call

        def recording(client_self, operation_name, api_params):
            response = original(client_self, operation_name, api_params)
            if recorder.on:
                handles = [m["ReceiptHandle"] for m in response.get("Messages", [])] \
                    if operation_name == "ReceiveMessage" else []
                recorder.calls.append((client_self.meta.service_model.service_name,
                                       operation_name, api_params, handles))
            return response

        botocore.client.BaseClient._make_api_call = recording
        return original

    def counts(self) -> collections.Counter:
        return collections.Counter(f"{s}.{op}" for s, op, _, _ in self.calls)


def _rename(params, tables: dict[str, str], queues: dict[str, str]):
    if isinstance(params, dict):
        out = {}
        for key, value in params.items():
            if key == "TableName" and value in tables:
                out[key] = tables[value]
            elif key == "RequestItems":
                out[key] = {tables.get(t, t): _rename(v, tables, queues) for t, v in value.items()}
            elif key in ("QueueUrl", "QueueName"):
                out[key] = queues.get(value, value)
            else:
                out[key] = _rename(value, tables, queues)
        return out
    if isinstance(params, list):
        return [_rename(v, tables, queues) for v in params]
    return params


def replay(calls, tables: dict[str, str], queues: dict[str, str], region: str) -> dict:
    """The floor: the recorded calls, in order, through raw boto3 clients. Receipt handles
    of the run are mapped to those the floor's own receives returned, position by position."""
    import boto3
    from botocore.exceptions import ClientError

    clients = {s: boto3.session.Session().client(s, region_name=region)
               for s in {c[0] for c in calls}}
    prepared = [(s, op, _rename(p, tables, queues), h) for s, op, p, h in calls]
    handle_map: dict[str, str] = {}
    refused = unmatched = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for service, operation, params, handles in prepared:
        if operation in ("DeleteMessageBatch", "ChangeMessageVisibility", "DeleteMessage"):
            if "Entries" in params:
                entries = [{**e, "ReceiptHandle": handle_map.get(e["ReceiptHandle"])}
                           for e in params["Entries"]]
                entries = [e for e in entries if e["ReceiptHandle"]]
                unmatched += len(params["Entries"]) - len(entries)
                if not entries:
                    continue
                params = {**params, "Entries": entries}
            else:
                mapped = handle_map.get(params["ReceiptHandle"])
                if mapped is None:
                    unmatched += 1
                    continue
                params = {**params, "ReceiptHandle": mapped}
        try:
            response = clients[service]._make_api_call(operation, params)
        except ClientError:
            refused += 1          # a refused condition costs the same round trip
            continue
        if operation == "ReceiveMessage":
            got = [m["ReceiptHandle"] for m in response.get("Messages", [])]
            unmatched += abs(len(got) - len(handles))
            handle_map.update(zip(handles, got))
    return {"seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu_started, "refused": refused,
            "unmatched_handles": unmatched}


# --------------------------------------------------------------------------- runs
def _stack(prefix: str, **settings_overrides):
    from chalicelib.bootstrap import Container, override
    from chalicelib.shared_kernel.config import Settings
    from infra.provision import provision

    settings = Settings(stage="test", resource_prefix=prefix, bucket_name=f"{prefix}-docs",
                        jwt_public_key_path="/dev/null", **settings_overrides)
    provision(settings)
    container = Container(settings)
    override(container)
    return container


UNLIMITED = {"blast_rate_per_second": 0, "blast_recipient_interval_seconds": 0,
             "blast_messaging_tier": "TIER_UNLIMITED"}


def run_throughput(n: int) -> dict:
    from chalicelib.shared_kernel.resources import QUEUES, load_models

    floor_prefix, run_prefix = "floor", "bench"
    # Identical fresh tables under two prefixes (the floor's first, so it starts equal).
    _stack(floor_prefix, **UNLIMITED)
    seed_audience(n)
    floor_tables = {m.Meta.table_name: None for m in load_models().values()}
    container = _stack(run_prefix, **UNLIMITED)
    seed_audience(n)
    clock = FakeClock(MORNING)
    container.clock = clock
    tables = {f"{run_prefix}-{m._smile_base_name}": f"{floor_prefix}-{m._smile_base_name}"
              for m in load_models().values()}
    assert set(tables.values()) <= set(floor_tables)
    driver = QueueDriver(clock, progress=True)
    from chalicelib.shared_kernel.aws import client

    sqs = client("sqs", container.settings.region)
    spec = QUEUES["reminders"]
    floor_queue = sqs.create_queue(QueueName=f"floor-{spec.name}")["QueueUrl"]
    floor_dlq = sqs.create_queue(QueueName=f"floor-{spec.dead_letter_name}")["QueueUrl"]
    queues = {driver.url: floor_queue, driver.dlq_url: floor_dlq,
              spec.name: f"floor-{spec.name}",
              spec.dead_letter_name: f"floor-{spec.dead_letter_name}"}
    blast = container.blast
    blast.queue.url()                      # resolved once, as a warm Lambda has it
    blast.queue.url(spec.dead_letter_name)

    recorder = CallRecorder()
    original = recorder.install()
    recorder.on = True
    started, cpu_started = time.perf_counter(), time.process_time()
    campaign = blast.campaigns.create(campaign_body(), officer())
    driver.drain()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    recorder.on = False
    import botocore.client

    botocore.client.BaseClient._make_api_call = original
    result = outcome(campaign["campaign_id"])
    print(f"  run done in {elapsed:.0f}s; replaying {len(recorder.calls)} calls",
          file=sys.stderr, flush=True)
    floor = replay(recorder.calls, tables, queues, container.settings.region)
    delivered = result["states"].get("DELIVERED", 0)
    return {"recipients": n, "seconds": round(elapsed, 2),
            "messages_per_second": round(delivered / elapsed, 1),
            "floor_seconds": round(floor["seconds"], 2),
            "ratio": round(elapsed / floor["seconds"], 3),
            "cpu_seconds": round(cpu, 2), "floor_cpu_seconds": round(floor["cpu_seconds"], 2),
            "cpu_ratio": round(cpu / floor["cpu_seconds"], 3), "calls": sum(
                recorder.counts().values()),
            "calls_per_message": round(sum(recorder.counts().values()) / max(delivered, 1), 2),
            "by_operation": dict(recorder.counts().most_common()),
            "floor_refused": floor["refused"], "floor_unmatched": floor["unmatched_handles"],
            "states": result["states"], "sent_twice": result["sent_twice"],
            "not_final": result["not_final"],
            "scans": sum(v for k, v in recorder.counts().items() if k.endswith(".Scan"))}


FAULTS = dict(server_error_rate=0.20, throttle_rate=0.05, timeout_rate=0.05, crash_rate=0.003)


def run_faults(n: int, *, seed: int = 11, duplicate_rate: float = 0.02,
               prefix: str = "faults", **fault_overrides) -> dict:
    """The fault-injection run (used by the integration test with a smaller N)."""
    from chalicelib.blast.providers import Channel, Faults, OutboxProvider, Providers
    from chalicelib.blast.service import build_blast_service

    container = _stack(prefix, **UNLIMITED)
    seed_audience(n)
    clock = FakeClock(MORNING)
    container.clock = clock
    rates = {**FAULTS, **fault_overrides}
    store = container.blast.store
    providers = Providers(
        whatsapp=OutboxProvider(store, Channel.WHATSAPP, clock, Faults(seed=seed, **rates),
                                sleep=lambda s: None),
        sms=OutboxProvider(store, Channel.SMS, clock, Faults(seed=seed + 1, **rates),
                           sleep=lambda s: None))
    container.__dict__["blast"] = build_blast_service(container, providers=providers,
                                                      rng=random.Random(seed))
    driver = QueueDriver(clock, duplicate_rate=duplicate_rate, seed=seed,
                         progress=n >= 1000)
    started = time.perf_counter()
    campaign = container.blast.campaigns.create(campaign_body(), officer())
    driver.settle()
    elapsed = time.perf_counter() - started
    result = outcome(campaign["campaign_id"])
    dead = driver.dead_letters()
    reasons = collections.Counter(json.loads(m["Body"])["dead_letter"]["reason"].split(":")[0]
                                  for m in dead)
    dead_keys = sorted(json.loads(m["Body"]).get("dedupe_key") for m in dead)
    return {"recipients": n, "seconds": round(elapsed, 2), "driver": dict(driver.stats),
            **{k: v for k, v in result.items() if k != "failed_keys"},
            "failed": len(result["failed_keys"]),
            "failed_all_dead_lettered": result["failed_keys"] == sorted(
                k for k in dead_keys if k in set(result["failed_keys"])),
            "dead_letters": len(dead), "dead_letter_reasons": dict(reasons)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["throughput", "faults"])
    parser.add_argument("--recipients", type=int)
    args = parser.parse_args()
    for key in list(os.environ):
        if key.startswith("AWS_ENDPOINT_URL") or key.startswith("SMILE_"):
            del os.environ[key]
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "ap-southeast-3", "POWERTOOLS_LOG_LEVEL": "ERROR",
                       "POWERTOOLS_METRICS_DISABLED": "true"})
    from moto import mock_aws

    from infra.moto_atomic import make_dynamodb_atomic

    make_dynamodb_atomic()
    with mock_aws():
        if args.mode == "throughput":
            result = run_throughput(args.recipients or 50_000)
            print(json.dumps(result, indent=2))
            print(f"\n{result['recipients']} recipients: {result['messages_per_second']} msg/s; "
                  f"run {result['seconds']}s vs floor {result['floor_seconds']}s of the same "
                  f"{result['calls']} calls: ratio {result['ratio']} (target <= 1.5); CPU "
                  f"{result['cpu_seconds']}s vs {result['floor_cpu_seconds']}s: ratio "
                  f"{result['cpu_ratio']}")
        else:
            result = run_faults(args.recipients or 5_000)
            print(json.dumps(result, indent=2))
            ok = (result["records"] == result["distinct"] == args.recipients or 5_000) and \
                result["not_final"] == 0 and result["sent_twice"] == 0 and \
                result["delivered_without_send"] == 0
            print(f"\nlost: {result['not_final']}, sent twice: {result['sent_twice']}, "
                  f"crashes: {result['driver'].get('crashes', 0)}, duplicates delivered: "
                  f"{result['driver'].get('duplicates', 0)} -> {'OK' if ok else 'FAILED'}")


if __name__ == "__main__":
    main()
