"""Worker-import throughput on moto, against moto's own floors measured in the same run.

    python bench/bench_bulk_import.py [ROWS] [--chunk N] [--stock-moto]

Imports a ROWS-row worker file (default 10,000; mixed valid and invalid rows, the pattern of
tests/unit/registration/builders.worker_csv) for one verified employer, through the real
code path: the file in S3, `imports.start` (header check, SHA-256, import record), then the
`import_workers` consumer's use case chunk by chunk until COMPLETED. It checks the outcome
counts against the file's expected outcomes, then prints rows per second.

Floors, on the same moto in the same process:
- batch-write floor: PynamoDB `batch_write()` of ROWS participant items (what writing one
  item per row costs at the least, no conditions, no transactions);
- transaction floor: one `TransactWriteItems` per accepted row with the same five items an
  approved row writes (NIK key, participant, KPJ key, employment, audit), conditions
  included, nothing else: what "never half-written" costs at the least on moto.
A ratio of 3.0 means three times slower than the floor. No AWS, no network.

moto's stock TransactWriteItems deep-copies every table it touches (O(table size) per
transaction, so a 10,000-row import is quadratic); the run uses the item-level
implementation from tests/integration/test_registration_imports.py unless --stock-moto.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

for _key in list(os.environ):
    if _key.startswith("AWS_ENDPOINT_URL") or _key.startswith("SMILE_"):
        del os.environ[_key]
os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                   "AWS_DEFAULT_REGION": "ap-southeast-3",
                   "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"})


def setup(chunk: int):
    from chalicelib.bootstrap import Container, override
    from chalicelib.registration.schemas import EmployerRegistration, VerificationDecision
    from chalicelib.shared_kernel.auth import Principal, Role
    from chalicelib.shared_kernel.config import Settings
    from infra.provision import provision
    from tests.support.keys import generate_rsa_pem
    from tests.unit.registration.builders import an_employer

    keys = Path(tempfile.mkdtemp()) / "jwt_public.pem"
    keys.write_text(generate_rsa_pem()[1])
    settings = Settings(stage="bench", resource_prefix="smile-bench",
                        bucket_name="smile-bench-documents", jwt_public_key_path=str(keys),
                        import_chunk_rows=chunk)
    provision(settings)
    container = Container(settings)
    override(container)
    registration = container.registration
    employer = registration.register_employer(
        EmployerRegistration.model_validate(an_employer(branch_code="BLT")), None)
    registration.verify_employer(employer["employer_id"],
                                 VerificationDecision.model_validate({"decision": "APPROVE"}),
                                 Principal("bench-verifier", Role.VERIFIER, branch="BLT"))
    return registration, employer["employer_id"], Principal("bench-admin", Role.ADMIN)


def run_import(registration, employer_id: str, admin, data: bytes) -> tuple[dict, float]:
    from chalicelib.registration.schemas import ImportStart

    upload_id = "b" * 32
    registration.objects.put_bytes(f"imports/{employer_id}/uploads/{upload_id}.csv", data,
                                   "text/csv")
    started = time.perf_counter()
    job = registration.imports.start(employer_id, ImportStart(upload_id=upload_id), admin)
    message = {"type": "import_workers", "import_id": job["import_id"]}
    deliveries = 0
    while True:
        deliveries += 1
        result = registration.handle_work(message, lambda: 900_000)
        if result.get("status") in ("COMPLETED", "FAILED"):
            break
    elapsed = time.perf_counter() - started
    view = registration.imports.progress(employer_id, job["import_id"], admin)
    return {**view, "deliveries": deliveries}, elapsed


def batch_write_floor(rows: int) -> float:
    """Items per second of PynamoDB batch_write() into the participants table."""
    from datetime import datetime, timezone

    from chalicelib.registration.store import ParticipantRecord

    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    with ParticipantRecord.batch_write() as batch:
        for i in range(rows):
            batch.save(ParticipantRecord(
                f"floor-{i}", segment="PU", status="VERIFIED", branch="BLT",
                name=f"Floor {i}", nik=f"35720199{i:08d}", phone="+6281200000000",
                profile="{}", created_at=now, updated_at=now))
    return rows / (time.perf_counter() - started)


def transaction_floor(rows: int) -> float:
    """Rows per second of one bare TransactWriteItems per row, with the items and
    conditions of an approved import row."""
    from datetime import datetime, timezone

    from chalicelib.registration.store import (EmploymentRecord, ParticipantRecord,
                                               RegistrationStore, UniqueKeyRecord)
    from chalicelib.shared_kernel.records import audit_entry

    store = RegistrationStore()
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    for i in range(rows):
        pid = f"txfloor-{i}"
        with store._transaction() as tx:
            tx.save(UniqueKeyRecord(f"NIK#floor{i}#PU", owner=pid),
                    condition=UniqueKeyRecord.key.does_not_exist())
            tx.save(ParticipantRecord(pid, segment="PU", status="VERIFIED", branch="BLT",
                                      name=f"Floor {i}", nik=f"floor{i}", profile="{}",
                                      created_at=now, updated_at=now),
                    condition=ParticipantRecord.participant_id.does_not_exist())
            tx.save(UniqueKeyRecord(f"KPJ#floor{i}", owner=pid),
                    condition=UniqueKeyRecord.key.does_not_exist())
            tx.save(EmploymentRecord("floor-employer", pid, kpj=f"floor{i}", name="Floor",
                                     wage_history="[]", started="2026-11"))
            tx.save(audit_entry(f"participant#{pid}", "bench", "APPROVED", at=now))
    return rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="?", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--stock-moto", action="store_true",
                        help="keep moto's table-copying transactions (quadratic)")
    args = parser.parse_args()

    from moto import mock_aws

    from infra.moto_atomic import make_dynamodb_atomic
    from tests.unit.registration.builders import worker_csv

    make_dynamodb_atomic()
    if not args.stock_moto:
        from tests.integration.test_registration_imports import item_level_transactions

        item_level_transactions()
    data, expected = worker_csv(args.rows)
    with mock_aws():
        from chalicelib.shared_kernel.aws import reset_clients

        reset_clients()
        registration, employer_id, admin = setup(args.chunk)
        view, elapsed = run_import(registration, employer_id, admin, data)
        accepted = sum(1 for e in expected if e[0] == "ACCEPTED")
        approved = sum(1 for e in expected if e == ("ACCEPTED", "VERIFIED"))
        assert view["status"] == "COMPLETED", view
        assert (view["processed"], view["accepted"], view["verified"]) == (
            args.rows, accepted, approved), view
        workers = sum(1 for _ in registration.workers_of(employer_id))
        assert workers == approved, (workers, approved)
        floor_batch = batch_write_floor(args.rows)
        floor_tx = transaction_floor(approved)

    rate = args.rows / elapsed
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, moto {'stock' if args.stock_moto else 'item-level'} "
          "transactions, in process")
    print(f"file: {args.rows} rows ({len(data) / 1e6:.2f} MB), {accepted} accepted "
          f"({approved} approved by the bulk rule, {accepted - approved} to the verifier), "
          f"{args.rows - accepted} rejected; chunks of {args.chunk}, "
          f"{view['deliveries']} delivery(ies)")
    print(f"import: {elapsed:.1f} s = {rate:,.0f} rows/s "
          f"({accepted / elapsed:,.0f} registrations/s)")
    print(f"batch-write floor: {floor_batch:,.0f} items/s -> import is "
          f"{floor_batch / rate:.1f}x slower per row than writing one item per row")
    print(f"transaction floor: {floor_tx:,.0f} rows/s (one 5-item transaction per row) -> "
          f"import is {floor_tx / (approved / elapsed):.2f}x the bare transaction per "
          "approved row")


if __name__ == "__main__":
    main()
