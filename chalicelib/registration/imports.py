"""Worker imports: an employer registers its PU workers from a CSV file (bulk.py says what
the file looks like).

Flow: presigned PUT to `imports/<employer>/uploads/<upload_id>.csv` -> `POST .../imports`
checks the file (header, size, row count) synchronously and answers 202 with an import id
derived from SHA-256(employer id, file SHA-256) -> a message on registration's work queue
("imports") -> the `import_workers` consumer registers the rows chunk by chunk.

Guarantees, and how:
- **Row by row, never half-written.** Each row is one DynamoDB transaction (NIK key,
  participant, and for an approved row its KPJ key, employment and audit entry).
- **Same file twice = nothing new.** Same file, same import id: the second POST answers the
  first import. A different file naming the same NIK meets the NIK key: the row is reported
  ALREADY_REGISTERED (this employer's worker) or REJECTED (another employer's).
- **Resumable.** `processed` on the import record is a cursor: a chunk's results are
  written to S3 (`parts/<chunk>.csv`) before the cursor moves, conditionally, past it. A
  delivery that dies mid-chunk leaves some rows written; the next delivery redoes the chunk
  and recognises them, because a row's participant id is derived from (import id, row
  number): the NIK key it meets is its own, and the row is ACCEPTED as before. When the
  Lambda's time runs short the consumer queues a continuation and returns.
- **Progress** is the import record: processed/total and the outcome counters.

Bulk rows and verification (the rule, recorded in each approved row's audit entry): a row
from a VERIFIED employer for its own workers, valid and without warnings, is approved on
arrival (KPJ issued). This is how the agency's employer portal works: the employer was
verified with its documents, it answers for its payroll data, and the NIK's structure,
birth date and sex have been checked. A row with a warning (a minor, a wage below the
regional minimum, ...) goes to the branch's verification queue like any application.
`Settings.bulk_auto_approve = False` sends every row to the queue.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from pydantic import ValidationError

from chalicelib.shared_kernel.auth import Principal
from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.errors import Conflict, NotFound, ValidationFailed
from chalicelib.shared_kernel.records import audit_entry, reserve_block

from . import bulk
from . import identifiers as ids
from .schemas import BulkPuWorker, describe_errors
from .store import (DuplicateNik, EmploymentRecord, ImportRecord, ParticipantRecord,
                    UniqueKeyRecord, nik_key)

if TYPE_CHECKING:  # pragma: no cover
    from .service import RegistrationService

QUEUED, RUNNING, COMPLETED, FAILED = "QUEUED", "RUNNING", "COMPLETED", "FAILED"
ACCEPTED, ALREADY, REJECTED_ROW = "ACCEPTED", "ALREADY_REGISTERED", "REJECTED"
AUTO_APPROVAL_RULE = "BULK_VERIFIED_EMPLOYER_NO_WARNINGS"
SYSTEM_ACTOR = "system:worker-import"
# Leave this much of the Lambda's time when starting a chunk: a chunk of 500 rows takes a
# few seconds on DynamoDB; the margin covers a slow one and the continuation message.
TIME_MARGIN_MS = 60_000
_ROW_NAMESPACE = uuid.UUID("6f1c2b7e-4d0a-4c1e-9a51-3b8f2d6e7a90")


def row_participant_id(import_id: str, row_number: int) -> str:
    """Stable per (import, row): a redelivered chunk recognises the rows it wrote."""
    return str(uuid.uuid5(_ROW_NAMESPACE, f"{import_id}:{row_number}"))


@dataclass
class _Checked:
    row: bulk.Row
    worker: BulkPuWorker | None = None
    warnings: list | None = None
    result: bulk.RowResult | None = None   # set when the row is refused before any write


class WorkerImports:
    def __init__(self, service: "RegistrationService"):
        self.service = service
        self.store = service.store
        self.settings = service.settings

    # ------------------------------------------------------------------ HTTP side
    def _employer_for(self, employer_id: str, principal: Principal, *, verified: bool = True):
        from .service import APPLY, READ

        employer = self.store.employer(employer_id)
        self.service._actor(employer, principal, APPLY if verified else READ)
        if verified and employer.status != "VERIFIED":
            raise Conflict("Pemberi kerja belum terverifikasi; impor pekerja dapat dilakukan "
                           "setelah verifikasi", code="EMPLOYER_NOT_VERIFIED")
        return employer

    def _upload_key(self, employer_id: str, upload_id: str) -> str:
        return f"imports/{employer_id}/uploads/{upload_id}.csv"

    def request_upload(self, employer_id: str, body, principal: Principal) -> dict:
        self._employer_for(employer_id, principal)
        if body.size_bytes > self.settings.import_max_bytes:
            raise ValidationFailed(
                f"Ukuran berkas maksimal {self.settings.import_max_bytes // (1024 * 1024)} MB",
                field="size_bytes", code="IMPORT_TOO_LARGE")
        upload_id = uuid.uuid4().hex
        upload = self.service.objects.presigned_put(
            self._upload_key(employer_id, upload_id), content_type="text/csv",
            size=body.size_bytes, ttl=self.settings.presigned_url_ttl_seconds)
        return {"upload_id": upload_id, **upload}

    def start(self, employer_id: str, body, principal: Principal) -> dict:
        """The import, new (`duplicate_upload` false) or the one this file already made."""
        employer = self._employer_for(employer_id, principal)
        key = self._upload_key(employer_id, body.upload_id)
        try:
            data = self.service.objects.get_bytes(key)
        except NotFound as exc:
            raise NotFound("Berkas belum diunggah, atau tautan unggah sudah kedaluwarsa",
                           code="UPLOAD_NOT_FOUND") from exc
        if len(data) > self.settings.import_max_bytes:
            raise ValidationFailed("Berkas melebihi ukuran maksimal", field="file",
                                   code="IMPORT_TOO_LARGE")
        try:
            parsed = bulk.parse(data, max_rows=self.settings.import_max_rows)
        except bulk.FileRejected as exc:
            raise ValidationFailed(exc.message, field="file", code="IMPORT_FILE_REJECTED",
                                   details={"reason": exc.reason}) from exc
        file_sha = hashlib.sha256(data).hexdigest()
        import_id = hashlib.sha256(f"{employer_id}:{file_sha}".encode()).hexdigest()[:32]
        job, created = self.store.create_import(ImportRecord(
            import_id, employer_id=employer_id, branch=employer.branch, status=QUEUED,
            source_key=key, file_sha256=file_sha, file_name=body.file_name,
            total=len(parsed.rows), chunk_rows=self.settings.import_chunk_rows,
            requested_by=principal.subject, created_at=self.service.clock()))
        if job.status in (QUEUED, RUNNING):
            # New, or asked again while unfinished (its message may have been lost): the
            # consumer is idempotent, so another message costs nothing but a read.
            self.service.queues.send("imports", {"type": "import_workers",
                                                 "import_id": import_id})
        return {**progress_view(job), "duplicate_upload": not created}

    def progress(self, employer_id: str, import_id: str, principal: Principal) -> dict:
        self._employer_for(employer_id, principal, verified=False)
        return progress_view(self._job_of(employer_id, import_id))

    def list(self, employer_id: str, principal: Principal, *, limit: int,
             next_token: str | None) -> dict:
        self._employer_for(employer_id, principal, verified=False)
        jobs, token = self.store.imports_of(employer_id, limit=limit, next_token=next_token)
        return {"items": [progress_view(j) for j in jobs], "next_token": token}

    def report(self, employer_id: str, import_id: str, principal: Principal) -> dict:
        self._employer_for(employer_id, principal, verified=False)
        job = self._job_of(employer_id, import_id)
        if job.status != COMPLETED or not job.report_key:
            raise Conflict(f"the report is ready when the import is COMPLETED (now {job.status})",
                           code="REPORT_NOT_READY")
        return {"import_id": import_id, **self.service.objects.presigned_get(
            job.report_key, ttl=self.settings.presigned_url_ttl_seconds,
            file_name=f"hasil-impor-{import_id[:12]}.csv")}

    def _job_of(self, employer_id: str, import_id: str) -> ImportRecord:
        job = self.store.import_job(import_id)
        if job.employer_id != employer_id:
            raise NotFound(f"no import {import_id}", code="IMPORT_NOT_FOUND")
        return job

    # ------------------------------------------------------------------ consumer side
    def process(self, import_id: str, remaining_ms: Callable[[], int]) -> dict:
        try:
            job = self.store.import_job(import_id)
        except NotFound:
            return {"import_id": import_id, "skipped": "no such import"}
        if job.status in (COMPLETED, FAILED):
            return {"import_id": import_id, "status": job.status}
        now = self.service.clock()
        try:
            data = self.service.objects.get_bytes(job.source_key)
        except NotFound:
            return self._fail(job, "SOURCE_MISSING: the uploaded file is gone")
        if hashlib.sha256(data).hexdigest() != job.file_sha256:
            return self._fail(job, "SOURCE_CHANGED: the uploaded file was replaced after the "
                                   "import started; upload it again as a new import")
        employer = self.store.employer(job.employer_id)
        if employer.status != "VERIFIED":
            return self._fail(job, "EMPLOYER_NOT_VERIFIED")
        rows = bulk.parse(data, max_rows=max(self.settings.import_max_rows, job.total)).rows
        self.store.start_import(job, now)
        job.refresh()
        size = int(job.chunk_rows)
        while int(job.processed) < int(job.total):
            if remaining_ms() < TIME_MARGIN_MS:
                self.service.queues.send("imports", {"type": "import_workers",
                                                     "import_id": import_id})
                return {"import_id": import_id, "continued_at": int(job.processed)}
            cursor = int(job.processed)
            chunk = rows[cursor:cursor + size]
            results = self._register_chunk(job, employer, chunk)
            self.service.objects.put_bytes(self._part_key(job, cursor // size),
                                           bulk.report_part(results), "text/csv")
            counts = _count(results)
            if not self.store.advance_import(job, from_cursor=cursor, rows=len(chunk),
                                             counts=counts):
                job.refresh()  # another delivery committed this chunk: go on from its cursor
                if job.status != RUNNING:
                    return {"import_id": import_id, "status": job.status}
        return self._complete(job)

    def _part_key(self, job: ImportRecord, chunk_index: int) -> str:
        return f"imports/{job.employer_id}/{job.import_id}/parts/{chunk_index:05d}.csv"

    def _complete(self, job: ImportRecord) -> dict:
        size = int(job.chunk_rows)
        chunks = (int(job.total) + size - 1) // size
        report = bulk.report_header() + b"".join(
            self.service.objects.get_bytes(self._part_key(job, i)) for i in range(chunks))
        key = f"imports/{job.employer_id}/{job.import_id}/report.csv"
        self.service.objects.put_bytes(key, report, "text/csv; charset=utf-8")
        self.store.finish_import(job, status=COMPLETED, at=self.service.clock(),
                                 report_key=key)
        return {"import_id": job.import_id, "status": COMPLETED, "total": int(job.total),
                "accepted": int(job.accepted), "already_registered": int(job.already_registered),
                "rejected": int(job.rejected)}

    def _fail(self, job: ImportRecord, error: str) -> dict:
        self.store.finish_import(job, status=FAILED, at=self.service.clock(), error=error)
        return {"import_id": job.import_id, "status": FAILED, "error": error}

    # ------------------------------------------------------------------ rows
    def _register_chunk(self, job: ImportRecord, employer, chunk: list[bulk.Row]
                        ) -> list[bulk.RowResult]:
        checked = [self._check(row, employer) for row in chunk]
        auto = [c for c in checked if c.result is None and self._auto_approves(c)]
        numbers = iter(reserve_block("kpj", len(auto))) if auto else iter(())
        kpj_of = {id(c): ids.format_kpj(next(numbers)) for c in auto}
        return [c.result if c.result is not None
                else self._write(job, employer, c, kpj_of.get(id(c))) for c in checked]

    def _auto_approves(self, checked: _Checked) -> bool:
        return self.settings.bulk_auto_approve and not checked.warnings

    def _check(self, row: bulk.Row, employer) -> _Checked:
        nik, name = row.values.get("nik", ""), row.values.get("name", "")

        def refused(field: str, reason: str) -> _Checked:
            return _Checked(row, result=bulk.RowResult(row.number, nik, name, REJECTED_ROW,
                                                       field=field, reason=reason))

        if row.duplicate_of is not None:
            return refused("nik", f"NIK sama dengan baris {row.duplicate_of}")
        try:
            worker = BulkPuWorker.model_validate(bulk.row_body(row, employer.npp))
        except bulk.CellError as exc:
            return refused(exc.field, exc.message)
        except ValidationError as exc:
            errors = describe_errors(exc)
            return refused(errors[0].field, "; ".join(
                f"{e.field}: {e.message}" if e.field else e.message for e in errors))
        try:
            warnings = self.service.check_rules(worker, employer)
        except ValidationFailed as exc:  # a rule in REJECT mode
            return refused(exc.field or "", exc.message)
        return _Checked(row, worker=worker, warnings=warnings)

    def _write(self, job: ImportRecord, employer, checked: _Checked,
               kpj: str | None) -> bulk.RowResult:
        worker, row = checked.worker, checked.row
        now = self.service.clock()
        participant_id = row_participant_id(job.import_id, row.number)
        period = str(Period.of(self.service.today()))
        status = "VERIFIED" if kpj else "PENDING_VERIFICATION"
        record = ParticipantRecord(
            participant_id, segment="PU", status=status, branch=employer.branch,
            name=worker.name, nik=worker.nik, phone=worker.phone,
            profile=worker.model_dump_json(), employer_id=employer.employer_id,
            npp=employer.npp, programs=["JKK", "JKM", "JHT", "JP"], wage=worker.monthly_wage,
            wage_history=json.dumps([{"from": period, "wage": worker.monthly_wage}]),
            import_id=job.import_id, submissions=1, created_at=now, updated_at=now,
            warnings=json.dumps([w.to_dict() for w in checked.warnings])
            if checked.warnings else None)
        subject = f"participant#{participant_id}"
        details = {"import_id": job.import_id, "row": row.number,
                   "warnings": [w.code for w in checked.warnings]}
        try:
            if kpj:
                record.kpj = kpj
                self.store.add_verified_participant(
                    record, kpj_key=UniqueKeyRecord(f"KPJ#{kpj}", owner=participant_id),
                    extra_saves=[
                        EmploymentRecord(employer.employer_id, participant_id, kpj=kpj,
                                         name=worker.name, wage_history=record.wage_history,
                                         started=period),
                        audit_entry(subject, SYSTEM_ACTOR, "APPROVED", at=now,
                                    reason=AUTO_APPROVAL_RULE,
                                    details={**details, "kpj": kpj,
                                             "requested_by": job.requested_by})],
                    period=period)
            else:
                record.queue_key, record.queued_at = f"{employer.branch}#PENDING_VERIFICATION", now
                self.store.add_participant(record, extra_saves=[
                    audit_entry(subject, job.requested_by, "SUBMITTED", at=now,
                                details=details)], period=period)
        except DuplicateNik:
            return self._already_there(job, row, worker)
        return bulk.RowResult(row.number, worker.nik, worker.name, ACCEPTED, status=status,
                              participant_id=participant_id, kpj=kpj or "",
                              warnings="; ".join(w.message for w in checked.warnings))

    def _already_there(self, job: ImportRecord, row: bulk.Row, worker) -> bulk.RowResult:
        """The row met an existing NIK key: its own (a redelivered chunk), this employer's
        worker, or another membership."""
        owner = self.store.key_owner(nik_key(worker.nik, "PU"))
        existing = self.store.find_participant(owner) if owner else None
        if existing is not None and existing.participant_id == row_participant_id(
                job.import_id, row.number):
            return bulk.RowResult(row.number, worker.nik, worker.name, ACCEPTED,
                                  status=existing.status, participant_id=owner,
                                  kpj=existing.kpj or "",
                                  warnings="; ".join(w["message"]
                                                     for w in existing.warnings_list()))
        if existing is not None and existing.employer_id == job.employer_id:
            reason = ("Pendaftaran pekerja ini sebelumnya ditolak: perbaiki dan ajukan kembali "
                      "pendaftaran tersebut" if existing.status == "REJECTED"
                      else "Pekerja sudah terdaftar pada perusahaan ini")
            return bulk.RowResult(row.number, worker.nik, worker.name, ALREADY,
                                  status=existing.status, participant_id=owner,
                                  kpj=existing.kpj or "", reason=reason)
        return bulk.RowResult(row.number, worker.nik, worker.name, REJECTED_ROW, field="nik",
                              reason="NIK sudah terdaftar sebagai peserta penerima upah (PU) "
                                     "aktif; pekerja harus dinonaktifkan oleh pemberi kerja "
                                     "sebelumnya terlebih dahulu")


def _count(results: list[bulk.RowResult]) -> dict[str, int]:
    counts = {"accepted": 0, "already_registered": 0, "rejected": 0, "verified": 0,
              "pending": 0}
    for r in results:
        if r.outcome == ACCEPTED:
            counts["accepted"] += 1
            counts["verified" if r.status != "PENDING_VERIFICATION" else "pending"] += 1
        elif r.outcome == ALREADY:
            counts["already_registered"] += 1
        else:
            counts["rejected"] += 1
    return counts


def progress_view(job: ImportRecord) -> dict:
    return {"import_id": job.import_id, "employer_id": job.employer_id, "status": job.status,
            "file_name": job.file_name, "total": int(job.total),
            "processed": int(job.processed or 0), "accepted": int(job.accepted or 0),
            "already_registered": int(job.already_registered or 0),
            "rejected": int(job.rejected or 0), "verified": int(job.verified or 0),
            "pending_verification": int(job.pending or 0),
            "report_ready": job.status == COMPLETED and bool(job.report_key),
            "error": job.error, "created_at": job.created_at.isoformat(),
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}
