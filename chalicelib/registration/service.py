"""Registration use cases: apply, correct and resubmit, verify (approve with NPP/KPJ, or
reject with reasons), documents, changes over time (wages, leaving, contacts, consent),
reads and status, and the hook billing calls when a contribution is paid.

Plain Python over the store and two ports (S3 objects, queues); who may do what is decided
here (`_actor`). Worker imports live in imports.py, participation cards in cards.py; both are
reached through this service (`.imports`, `.cards`), so the composition root wires one thing.
"""
from __future__ import annotations

import json
import secrets
import uuid
import zlib
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from typing import Callable

from chalicelib.shared_kernel.auth import Principal, Role
from chalicelib.shared_kernel.branches import branch, branch_for_nik
from chalicelib.shared_kernel.calendar import Period, jakarta_today
from chalicelib.shared_kernel.errors import (Conflict, Forbidden, NotFound, Unauthorized,
                                             ValidationFailed)
from chalicelib.shared_kernel.records import audit_entry, audit_trail, next_value

from . import access
from . import documents as docs
from . import identifiers as ids
from .access import ApplicationToken, Caller
from .store import (BILLING_SHARDS, EmployerRecord, EmploymentRecord, ParticipantRecord,
                    RegistrationStore, UniqueKeyRecord, nik_key)
from .validation import (RegistrationWarning, check_minimum_wage,
                         check_participant_registration)

PENDING = "PENDING_VERIFICATION"
REJECTED = "REJECTED"
VERIFIED = "VERIFIED"   # approved; a participant becomes ACTIVE on the first payment
ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
MEMBER_STATUSES = (VERIFIED, ACTIVE, INACTIVE)
CHANNELS = ("WHATSAPP", "SMS")
VERIFIERS = frozenset({Role.VERIFIER, Role.ADMIN})

# What a caller may want to do with a registration (see `_actor`).
READ = "read"              # see it, its status, documents
APPLY = "apply"            # documents, correct and resubmit
EMPLOYMENT = "employment"  # wages, leaving (the employer's and the branch's business)
CONTACT = "contact"        # phone, e-mail, address
CONSENT = "consent"        # WhatsApp/SMS opt-in: the person's own decision
STAFF = "staff"            # history and other branch-only reads


def _shard(identifier: str, prefix: str) -> str:
    return f"{prefix}#{zlib.crc32(identifier.encode()) % BILLING_SHARDS}"


def effective_status(record: ParticipantRecord, today: date) -> str:
    """The stored status, except that a worker who left is INACTIVE from `left_from` on."""
    if record.left_from and str(Period.of(today)) >= record.left_from:
        return INACTIVE
    return record.status


class RegistrationService:
    def __init__(self, store: RegistrationStore, clock: Callable[[], datetime],
                 notify: Callable[..., None] | None = None, *, settings=None, calendar=None,
                 objects=None, queues=None):
        from chalicelib.shared_kernel.config import Settings

        self.store = store
        self.clock = clock
        self.notify = notify
        self.settings = settings or Settings()
        self.calendar = calendar
        self.objects = objects
        self.queues = queues

    @cached_property
    def imports(self):
        from .imports import WorkerImports

        return WorkerImports(self)

    @cached_property
    def cards(self):
        from .cards import Cards

        return Cards(self)

    @cached_property
    def document_rules(self) -> docs.DocumentRules:
        return docs.load_document_rules()

    def today(self) -> date:
        return jakarta_today(self.clock())

    # ------------------------------------------------------------------ apply
    def register_employer(self, reg, principal: Principal | None) -> dict:
        _known_branch(reg.branch_code)
        if principal is not None and principal.is_staff:
            principal.require_branch(reg.branch_code)
        now = self.clock()
        token, token_hash, expires = access.issue_token(
            now, self.settings.application_token_ttl_days)
        employer_id = str(uuid.uuid4())
        record = EmployerRecord(
            employer_id, status=PENDING, branch=reg.branch_code, name=reg.name,
            risk_class=reg.jkk_risk_class, sector=reg.industry_sector, phone=reg.phone,
            profile=reg.model_dump_json(), queue_key=f"{reg.branch_code}#{PENDING}",
            queued_at=now, access_secret_hash=token_hash, access_expires_at=expires,
            submissions=1, created_at=now, updated_at=now)
        actor = principal.subject if principal else access.applicant_subject(employer_id)
        audit = audit_entry(f"employer#{employer_id}", actor, "SUBMITTED", at=now)
        self.store.add_employer(record, extra_saves=[audit])
        return {"employer_id": employer_id, "status": PENDING, "application_token": token,
                "documents_required": [k.value for k in self.document_rules.required_for(
                    "EMPLOYER")]}

    def register_participant(self, reg, principal: Principal | None) -> dict:
        now = self.clock()
        employer, branch_code, warnings = self._admit(reg, principal)
        participant_id = str(uuid.uuid4())
        token, token_hash, expires = access.issue_token(
            now, self.settings.application_token_ttl_days)
        record = ParticipantRecord(
            participant_id, segment=reg.segment, status=PENDING, branch=branch_code,
            name=reg.name, nik=reg.nik, phone=reg.phone, profile=reg.model_dump_json(),
            queue_key=f"{branch_code}#{PENDING}", queued_at=now,
            access_secret_hash=token_hash, access_expires_at=expires, submissions=1,
            warnings=json.dumps([w.to_dict() for w in warnings]) if warnings else None,
            created_at=now, updated_at=now)
        self._apply_segment_fields(record, reg, employer, now)
        actor = principal.subject if principal else access.applicant_subject(participant_id)
        audit = audit_entry(f"participant#{participant_id}", actor, "SUBMITTED", at=now,
                            details={"segment": reg.segment,
                                     "warnings": [w.code for w in warnings]})
        self.store.add_participant(record, extra_saves=[audit],
                                   period=str(Period.of(jakarta_today(now))))
        return {"participant_id": participant_id, "status": PENDING,
                "application_token": token, "warnings": [w.to_dict() for w in warnings],
                "documents_required": [k.value for k in self.document_rules.required_for(
                    reg.segment)]}

    def _admit(self, reg, principal: Principal | None
               ) -> tuple[EmployerRecord | None, str, list[RegistrationWarning]]:
        """Who serves this registration, may this caller submit it, and what the
        data-dependent rules say (warnings, or ValidationFailed in REJECT mode)."""
        employer = None
        if reg.segment == "PU":
            try:
                employer = self.store.employer_by_npp(reg.employer_npp)
            except NotFound as exc:
                raise NotFound("Pemberi kerja dengan NPP ini tidak ditemukan; periksa kembali "
                               "NPP perusahaan", code="EMPLOYER_NOT_FOUND") from exc
            if employer.status != VERIFIED:
                raise Conflict("Pemberi kerja belum terverifikasi; pekerja PU hanya dapat "
                               "didaftarkan oleh pemberi kerja yang sudah terverifikasi",
                               code="EMPLOYER_NOT_VERIFIED")
            if principal and principal.role is Role.EMPLOYER and principal.npp != employer.npp:
                raise Forbidden("an employer registers only its own workers",
                                code="NPP_FORBIDDEN")
            branch_code = employer.branch
        else:
            branch_code = branch_for_nik(reg.nik).code
        if principal is not None and principal.is_staff:
            principal.require_branch(branch_code)
        if principal is not None and principal.role is Role.PARTICIPANT:
            raise Forbidden("a participant account cannot register someone else",
                            code="ROLE_FORBIDDEN")
        warnings = self.check_rules(reg, employer)
        return employer, branch_code, warnings

    def check_rules(self, reg, employer: EmployerRecord | None) -> list[RegistrationWarning]:
        province = None
        if employer is not None:
            province = (employer.profile_dict().get("address") or {}).get("province_code")
        return check_participant_registration(
            reg, on=self.today(), employer_province_code=province,
            wage_floor_mode=self.settings.minimum_wage_mode, calendar=self.calendar)

    def _apply_segment_fields(self, record: ParticipantRecord, reg,
                              employer: EmployerRecord | None, now: datetime) -> None:
        if reg.segment == "PU":
            record.employer_id, record.npp = employer.employer_id, employer.npp
            record.programs = ["JKK", "JKM", "JHT", "JP"]
            period = str(Period.of(jakarta_today(now)))
            record.wage = reg.monthly_wage
            record.wage_history = json.dumps([{"from": period, "wage": reg.monthly_wage}])
            record.declared_income = None
        elif reg.segment == "BPU":
            record.programs = list(reg.programs)
            record.declared_income = reg.declared_income
            record.employer_id = record.npp = record.wage = record.wage_history = None
        else:
            record.programs = ["JKK", "JKM"]
            record.employer_id = record.npp = record.wage = record.wage_history = None
            record.declared_income = None

    # ------------------------------------------------------------------ correct and resubmit
    def resubmit_participant(self, participant_id: str, reg, caller: Caller) -> dict:
        """A REJECTED application, corrected: back to PENDING_VERIFICATION and into the
        queue; the rejections stay in its history."""
        record = self.store.participant(participant_id)
        actor = self._actor(record, caller, APPLY)
        if record.status != REJECTED:
            raise Conflict("Hanya pendaftaran yang ditolak yang dapat diperbaiki dan diajukan "
                           "kembali", code="NOT_REJECTED")
        if reg.segment != record.segment:
            raise ValidationFailed(f"Segmen tidak dapat diubah ({record.segment}); daftarkan "
                                   "sebagai pendaftaran baru", field="segment",
                                   code="SEGMENT_CHANGED")
        principal = caller if isinstance(caller, Principal) else None
        employer, branch_code, warnings = self._admit(reg, principal)
        now = self.clock()
        changed = _changed_fields(record.profile_dict(), json.loads(reg.model_dump_json()))
        old_nik = record.nik
        record.status, record.branch, record.name, record.nik = PENDING, branch_code, reg.name, reg.nik
        record.phone, record.profile = reg.phone, reg.model_dump_json()
        record.queue_key, record.queued_at = f"{branch_code}#{PENDING}", now
        record.rejection_reasons = None
        record.submissions = int(record.submissions or 1) + 1
        record.warnings = json.dumps([w.to_dict() for w in warnings]) if warnings else None
        record.access_expires_at = now + timedelta(days=self.settings.application_token_ttl_days)
        self._apply_segment_fields(record, reg, employer, now)
        new_keys, released = [], []
        if reg.nik != old_nik:
            new_keys = [UniqueKeyRecord(nik_key(reg.nik, record.segment), owner=participant_id)]
            released = [nik_key(old_nik, record.segment)]
        audit = audit_entry(f"participant#{participant_id}", actor, "RESUBMITTED", at=now,
                            details={"changed": changed, "submission": record.submissions,
                                     "warnings": [w.code for w in warnings]})
        self.store.transition(record, expected_status=REJECTED, extra_saves=[audit],
                              extra_keys=new_keys, released_keys=released)
        return {"participant_id": participant_id, "status": PENDING,
                "submissions": record.submissions, "changed": changed,
                "warnings": [w.to_dict() for w in warnings]}

    def resubmit_employer(self, employer_id: str, reg, caller: Caller) -> dict:
        record = self.store.employer(employer_id)
        actor = self._actor(record, caller, APPLY)
        if record.status != REJECTED:
            raise Conflict("Hanya pendaftaran yang ditolak yang dapat diperbaiki dan diajukan "
                           "kembali", code="NOT_REJECTED")
        _known_branch(reg.branch_code)
        if isinstance(caller, Principal) and caller.is_staff:
            caller.require_branch(reg.branch_code)
        now = self.clock()
        changed = _changed_fields(record.profile_dict(), json.loads(reg.model_dump_json()))
        record.status, record.branch, record.name = PENDING, reg.branch_code, reg.name
        record.risk_class, record.sector, record.phone = (reg.jkk_risk_class,
                                                          reg.industry_sector, reg.phone)
        record.profile = reg.model_dump_json()
        record.queue_key, record.queued_at = f"{reg.branch_code}#{PENDING}", now
        record.rejection_reasons = None
        record.submissions = int(record.submissions or 1) + 1
        record.access_expires_at = now + timedelta(days=self.settings.application_token_ttl_days)
        audit = audit_entry(f"employer#{employer_id}", actor, "RESUBMITTED", at=now,
                            details={"changed": changed, "submission": record.submissions})
        self.store.transition(record, expected_status=REJECTED, extra_saves=[audit])
        return {"employer_id": employer_id, "status": PENDING,
                "submissions": record.submissions, "changed": changed}

    # ------------------------------------------------------------------ read
    def employer(self, employer_id: str, caller: Caller) -> dict:
        record = self.store.employer(employer_id)
        self._actor(record, caller, READ)
        return {**employer_view(record),
                "documents": docs.summary(record, self.document_rules)}

    def participant(self, participant_id: str, caller: Caller) -> dict:
        record = self.store.participant(participant_id)
        self._actor(record, caller, READ)
        return {**participant_view(record, self.today()),
                "documents": docs.summary(record, self.document_rules)}

    def status(self, participant_id: str, caller: Caller) -> dict:
        record = self.store.participant(participant_id)
        self._actor(record, caller, READ)
        return {"participant_id": record.participant_id, "kpj": record.kpj,
                "segment": record.segment, "status": effective_status(record, self.today()),
                "programs": record.programs or [], "paid_through": record.paid_through,
                "left_from": record.left_from,
                "card_issued": record.card_issued_at is not None}

    def workers(self, employer_id: str, principal: Principal, *, limit: int = 50,
                next_token: str | None = None) -> dict:
        """The employer's workers (every registration under its NPP), for the employer
        itself and for staff of its branch."""
        employer = self.store.employer(employer_id)
        self._actor(employer, principal, READ)
        records, token = self.store.participants_of_employer(employer_id, limit=limit,
                                                             next_token=next_token)
        today = self.today()
        return {"items": [{"participant_id": r.participant_id, "name": r.name, "kpj": r.kpj,
                           "status": effective_status(r, today),
                           "monthly_wage": r.wage_for(str(Period.of(today))) or r.wage,
                           "left_from": r.left_from, "paid_through": r.paid_through}
                          for r in records], "next_token": token}

    def history(self, kind: str, record_id: str, principal: Principal) -> dict:
        """Who did what, when and why (submissions, decisions, changes), oldest first."""
        record = self._record(kind, record_id)
        self._actor(record, principal, STAFF)
        subject = f"{'employer' if kind == 'employer' else 'participant'}#{record_id}"
        return {"items": audit_trail(subject), "rejections": record.rejections_list(),
                "next_token": None}

    def verification_queue(self, principal: Principal) -> list[dict]:
        principal.require_role([Role.VERIFIER, Role.ADMIN])
        if not principal.branch:
            raise ValidationFailed("an ADMIN token needs a branch to list a queue",
                                   field="branch")
        rules = self.document_rules
        out = []
        for record in self.store.pending(principal.branch):
            item = {"submitted_at": (record.queued_at or record.created_at).isoformat(),
                    "first_submitted_at": record.created_at.isoformat(),
                    "submissions": int(record.submissions or 1),
                    "documents_missing": docs.summary(record, rules)["missing"],
                    "warnings": [w["code"] for w in record.warnings_list()]}
            if isinstance(record, EmployerRecord):
                out.append({"kind": "EMPLOYER", "id": record.employer_id, "name": record.name,
                            **item})
            else:
                out.append({"kind": "PARTICIPANT", "id": record.participant_id,
                            "segment": record.segment, "name": record.name,
                            "import_id": record.import_id, **item})
        return out

    # ------------------------------------------------------------------ verify
    def verify_employer(self, employer_id: str, decision, principal: Principal) -> dict:
        record = self.store.employer(employer_id)
        self._verifier_of(record.branch, principal)
        if record.status != PENDING:
            raise Conflict(f"employer is {record.status}, not awaiting verification",
                           code="NOT_PENDING")
        subject = f"employer#{employer_id}"
        now = self.clock()
        if decision.decision == "APPROVE":
            missing = self._documents_gate(record)
            npp = ids.format_npp(next_value("npp"))
            record.status, record.npp, record.queue_key = VERIFIED, npp, None
            record.billing_shard = _shard(employer_id, "EMP")
            audit = audit_entry(subject, principal.subject, "APPROVED",
                                details={"npp": npp, "documents_missing": missing}, at=now)
            self.store.transition(record, expected_status=PENDING, extra_saves=[audit],
                                  extra_keys=[UniqueKeyRecord(f"NPP#{npp}", owner=employer_id)])
            return {"employer_id": employer_id, "status": VERIFIED, "npp": npp}
        record.status, record.queue_key = REJECTED, None
        record.rejection_reasons = list(decision.reasons)
        record.rejections = _append_rejection(record, now, principal.subject, decision.reasons)
        audit = audit_entry(subject, principal.subject, "REJECTED",
                            reason="; ".join(decision.reasons), at=now)
        self.store.transition(record, expected_status=PENDING, extra_saves=[audit])
        self._tell_rejected("EMPLOYER", employer_id, record.name, decision.reasons,
                            record.branch)
        return {"employer_id": employer_id, "status": REJECTED, "reasons": decision.reasons}

    def verify_participant(self, participant_id: str, decision, principal: Principal) -> dict:
        record = self.store.participant(participant_id)
        self._verifier_of(record.branch, principal)
        if record.status != PENDING:
            raise Conflict(f"participant is {record.status}, not awaiting verification",
                           code="NOT_PENDING")
        subject = f"participant#{participant_id}"
        now = self.clock()
        if decision.decision == "APPROVE":
            missing = self._documents_gate(record)
            kpj = ids.format_kpj(next_value("kpj"))
            record.status, record.kpj, record.queue_key = VERIFIED, kpj, None
            extra = [audit_entry(subject, principal.subject, "APPROVED",
                                 details={"kpj": kpj, "documents_missing": missing}, at=now)]
            if record.segment == "BPU":
                record.billing_shard = _shard(participant_id, "BPU")
            if record.segment == "PU":
                extra.append(EmploymentRecord(
                    record.employer_id, participant_id, kpj=kpj, name=record.name,
                    wage_history=record.wage_history, started=str(Period.of(jakarta_today(now)))))
            self.store.transition(record, expected_status=PENDING, extra_saves=extra,
                                  extra_keys=[UniqueKeyRecord(f"KPJ#{kpj}",
                                                              owner=participant_id)])
            return {"participant_id": participant_id, "status": VERIFIED, "kpj": kpj}
        record.status, record.queue_key = REJECTED, None
        record.rejection_reasons = list(decision.reasons)
        record.rejections = _append_rejection(record, now, principal.subject, decision.reasons)
        audit = audit_entry(subject, principal.subject, "REJECTED",
                            reason="; ".join(decision.reasons), at=now)
        self.store.transition(record, expected_status=PENDING, extra_saves=[audit])
        self._tell_rejected("PARTICIPANT", participant_id, record.name, decision.reasons,
                            record.branch)
        return {"participant_id": participant_id, "status": REJECTED,
                "reasons": decision.reasons}

    def _documents_gate(self, record) -> list[str]:
        """Missing required documents: listed in the approval's audit entry, and a refusal
        when the deployment requires documents before approval."""
        missing = docs.summary(record, self.document_rules)["missing"]
        if missing and self.settings.documents_required_for_approval:
            raise Conflict("required documents are missing: " + ", ".join(missing),
                           code="DOCUMENTS_MISSING", details={"missing": missing})
        return missing

    # ------------------------------------------------------------------ documents
    def request_document_upload(self, kind: str, record_id: str, body, caller: Caller) -> dict:
        record = self._record(kind, record_id)
        self._actor(record, caller, APPLY)
        document = docs.DocumentKind(body.kind.value)
        self.document_rules.check_upload(docs.owner_of(record), document, body.content_type,
                                         body.size_bytes, self.settings.document_max_bytes)
        upload_id = uuid.uuid4().hex
        key = docs.upload_key(record, document, upload_id)
        upload = self.objects.presigned_put(key, content_type=body.content_type,
                                            size=body.size_bytes,
                                            ttl=self.settings.presigned_url_ttl_seconds)
        return {"upload_id": upload_id, "kind": document.value, **upload}

    def confirm_document(self, kind: str, record_id: str, document_kind: str, upload_id: str,
                         caller: Caller) -> dict:
        record = self._record(kind, record_id)
        actor = self._actor(record, caller, APPLY)
        document = _document_kind(document_kind)
        key = docs.upload_key(record, document, upload_id)
        info = self.objects.head(key)
        if info is None:
            raise NotFound("Berkas belum diunggah, atau tautan unggah sudah kedaluwarsa: minta "
                           "tautan unggah baru", code="UPLOAD_NOT_FOUND")
        # Checked again on what S3 holds: the confirmation never trusts the client.
        self.document_rules.check_upload(docs.owner_of(record), document, info.content_type,
                                         info.size, self.settings.document_max_bytes)
        now = self.clock()
        current = record.documents_dict()
        current[document.value] = docs.listed(key, info.content_type, info.size, now, actor)
        record.documents = json.dumps(current)
        audit = audit_entry(_subject(record), actor, "DOCUMENT_ATTACHED", at=now,
                            details={"kind": document.value, "upload_id": upload_id,
                                     "size_bytes": info.size, "content_type": info.content_type})
        self.store.transition(record, expected_status=record.status, extra_saves=[audit])
        return docs.summary(record, self.document_rules)

    def documents(self, kind: str, record_id: str, caller: Caller) -> dict:
        record = self._record(kind, record_id)
        self._actor(record, caller, READ)
        return docs.summary(record, self.document_rules)

    def document_download(self, kind: str, record_id: str, document_kind: str,
                          caller: Caller) -> dict:
        record = self._record(kind, record_id)
        self._actor(record, caller, READ)
        document = _document_kind(document_kind)
        listed = record.documents_dict().get(document.value)
        if not listed:
            raise NotFound(f"Dokumen {document.value} belum dilampirkan",
                           code="DOCUMENT_NOT_FOUND")
        return {"kind": document.value, "content_type": listed["content_type"],
                **self.objects.presigned_get(listed["key"],
                                             ttl=self.settings.presigned_url_ttl_seconds)}

    # ------------------------------------------------------------------ changes over time
    def change_wage(self, participant_id: str, change, caller: Caller) -> dict:
        """A PU wage from a contribution period on; billing reads `wage_for(period)`."""
        record = self.store.participant(participant_id)
        actor = self._actor(record, caller, EMPLOYMENT)
        _require_pu(record)
        if record.status == REJECTED:
            raise Conflict("the application was rejected; resubmit it with the new wage",
                           code="NOT_A_MEMBER")
        today = self.today()
        current, period = Period.of(today), change.period
        if period < current:
            raise ValidationFailed(
                f"Periode berlaku tidak boleh sebelum periode berjalan ({current}); koreksi "
                "upah periode yang sudah ditagih diajukan melalui kantor cabang",
                field="effective_period", code="PERIOD_IN_PAST")
        if period > current.plus(12):
            raise ValidationFailed("Periode berlaku paling lambat 12 bulan dari periode berjalan",
                                   field="effective_period", code="PERIOD_TOO_FAR")
        if record.left_from and str(period) >= record.left_from:
            raise Conflict("Pekerja sudah berhenti sejak periode " + record.left_from,
                           code="WORKER_LEFT")
        employer = self.store.employer(record.employer_id)
        province = (employer.profile_dict().get("address") or {}).get("province_code")
        warnings = check_minimum_wage(province, change.wage, self.settings.minimum_wage_mode,
                                      on=period, field="wage") if province else []
        history = [h for h in record.wage_history_list() if h["from"] != str(period)]
        history = sorted(history + [{"from": str(period), "wage": change.wage}],
                         key=lambda h: h["from"])
        record.wage_history = json.dumps(history)
        record.wage = record.wage_for(str(current)) or history[0]["wage"]
        now = self.clock()
        extra = [audit_entry(_subject(record), actor, "WAGE_CHANGED", at=now,
                             details={"effective_period": str(period), "wage": change.wage})]
        employment = self.store.employment(record.employer_id, participant_id)
        if employment is not None:
            employment.wage_history = record.wage_history
            extra.append(employment)
        self.store.transition(record, expected_status=record.status, extra_saves=extra)
        return {"participant_id": participant_id, "monthly_wage": record.wage,
                "wage_history": history, "warnings": [w.to_dict() for w in warnings]}

    def end_employment(self, participant_id: str, end, caller: Caller) -> dict:
        """The worker leaves: billed up to the month of the last working day, not after.
        The NIK stays theirs through that month; from `left_from` on the next employer may
        register it (the key records `free_from`; the database checks it, no schedule)."""
        record = self.store.participant(participant_id)
        actor = self._actor(record, caller, EMPLOYMENT)
        _require_pu(record)
        employment = self.store.employment(record.employer_id, participant_id)
        if employment is None or record.status not in MEMBER_STATUSES:
            raise Conflict("only a verified worker can leave; a pending application is "
                           "rejected or left to lapse instead", code="NOT_EMPLOYED")
        if record.left_from:
            raise Conflict(f"the worker already left (not billed from {record.left_from})",
                           code="ALREADY_LEFT")
        today = self.today()
        day = end.last_working_day
        left_from = Period.of(day).next()
        started = Period.parse(employment.started)
        if Period.of(day) < started:
            raise ValidationFailed(f"Hari kerja terakhir sebelum periode mulai kepesertaan "
                                   f"({started})", field="last_working_day",
                                   code="BEFORE_START")
        if left_from < Period.of(today):
            raise ValidationFailed(
                "Hari kerja terakhir paling awal bulan lalu; periode yang sudah ditagih "
                "dikoreksi melalui kantor cabang", field="last_working_day", code="TOO_LATE")
        if day > today + timedelta(days=90):
            raise ValidationFailed("Hari kerja terakhir paling lambat 90 hari dari hari ini",
                                   field="last_working_day", code="TOO_FAR")
        now = self.clock()
        record.left_from = employment.left_from = str(left_from)
        record.employment_end = json.dumps({
            "last_working_day": day.isoformat(), "reason": end.reason.value,
            "note": end.note, "recorded_at": _iso(now), "recorded_by": actor})
        audit = audit_entry(_subject(record), actor, "EMPLOYMENT_ENDED", reason=end.reason.value,
                            at=now, details={"last_working_day": day.isoformat(),
                                             "left_from": str(left_from), "note": end.note})
        leaving = UniqueKeyRecord(nik_key(record.nik, record.segment), owner=participant_id,
                                  free_from=str(left_from))
        self.store.transition(record, expected_status=record.status,
                              extra_saves=[employment, audit, leaving])
        return {"participant_id": participant_id, "last_working_day": day.isoformat(),
                "left_from": str(left_from), "status": effective_status(record, today)}

    def update_contact(self, participant_id: str, update, caller: Caller) -> dict:
        record = self.store.participant(participant_id)
        actor = self._actor(record, caller, CONTACT)
        return self._update_contact(record, update, actor, ("phone", "email", "address"))

    def update_employer_contact(self, employer_id: str, update, caller: Caller) -> dict:
        record = self.store.employer(employer_id)
        actor = self._actor(record, caller, CONTACT)
        return self._update_contact(record, update, actor,
                                    ("contact_person", "phone", "email", "address"))

    def _update_contact(self, record, update, actor: str, names: tuple[str, ...]) -> dict:
        profile = record.profile_dict()
        given = json.loads(update.model_dump_json(exclude_none=True))
        changed = [n for n in names if n in given and given[n] != profile.get(n)]
        now = self.clock()
        if changed:
            profile.update({n: given[n] for n in changed})
            record.profile = json.dumps(profile)
            consent_reset = []
            if "phone" in changed:
                record.phone = given["phone"]
                # Consent (or refusal) was given for the old number: the new number has not
                # been asked yet. The audit trail keeps what was recorded before.
                consent_reset = sorted(record.consent_dict())
                record.consent = None
            audit = audit_entry(_subject(record), actor, "CONTACT_UPDATED", at=now,
                                details={"fields": changed, "consent_reset": consent_reset})
            self.store.transition(record, expected_status=record.status, extra_saves=[audit])
        return {"changed": changed, "phone": record.phone, "email": profile.get("email"),
                "address": profile.get("address"),
                **({"contact_person": profile.get("contact_person")}
                   if "contact_person" in names else {}),
                "consent": _consent_view(record)}

    def set_consent(self, kind: str, record_id: str, opt_in, caller: Caller) -> dict:
        """WhatsApp/SMS opt-in (or out) as the person says it, with time and channel."""
        record = self._record(kind, record_id)
        actor = self._actor(record, caller, CONSENT)
        return self.record_consent(kind, record_id, opt_in.channel.value, opt_in.opted_in,
                                   actor=actor, source="API", record=record)

    def record_consent(self, kind: str, record_id: str, channel: str, opted_in: bool, *,
                       actor: str, source: str, at: datetime | None = None,
                       record=None) -> dict:
        """Public for other contexts (blast records STOP/BERHENTI replies here with
        source "KEYWORD"): `kind` "participant" or "employer"."""
        record = record or self._record(kind, record_id)
        if channel not in CHANNELS:
            raise ValidationFailed(f"Saluran harus salah satu dari: {', '.join(CHANNELS)}",
                                   field="channel")
        if opted_in and not (record.phone and ids.is_mobile_e164(record.phone)):
            raise Conflict("Nomor telepon terdaftar bukan nomor ponsel sehingga tidak dapat "
                           "menerima WhatsApp/SMS; perbarui nomor telepon terlebih dahulu",
                           code="NO_MOBILE_NUMBER")
        moment = at or self.clock()
        consent = record.consent_dict()
        consent[channel] = {"opted_in": bool(opted_in), "at": _iso(moment), "by": actor,
                            "source": source}
        record.consent = json.dumps(consent)
        audit = audit_entry(_subject(record), actor, "CONSENT_CHANGED", at=moment,
                            details={"channel": channel, "opted_in": bool(opted_in),
                                     "source": source})
        self.store.transition(record, expected_status=record.status, extra_saves=[audit])
        return {"consent": _consent_view(record)}

    def consent(self, participant_id: str) -> dict:
        """{channel: {"opted_in": bool, "at": ISO time or None}} for WHATSAPP and SMS: what
        blast checks before messaging a participant. No consent recorded = not opted in."""
        return _consent_view(self.store.participant(participant_id))

    def employer_consent(self, employer_id: str) -> dict:
        return _consent_view(self.store.employer(employer_id))

    def recipient(self, recipient_kind: str, recipient_id: str) -> dict:
        """What a message needs about a PARTICIPANT or EMPLOYER: name, phone (E.164),
        e-mail, branch, NPP/KPJ and consent. For other contexts (blast); no authorisation
        here. NotFound when there is no such record."""
        record = (self.store.employer(recipient_id) if recipient_kind == "EMPLOYER"
                  else self.store.participant(recipient_id))
        return _recipient_view(record)

    def recipients(self, recipient_kind: str, recipient_ids: list[str]) -> dict[str, dict]:
        """`recipient` for many ids in batch reads: {id: view} for those that exist."""
        records = (self.store.employers_batch(recipient_ids) if recipient_kind == "EMPLOYER"
                   else self.store.participants_batch(recipient_ids))
        return {_record_id(r): _recipient_view(r) for r in records}

    # ------------------------------------------------------------------ for billing
    def billable_employers(self):
        return self.store.billable_employers()

    def workers_of(self, employer_id: str):
        return self.store.workers_of(employer_id)

    def workers_employed_in(self, employer_id: str, period) -> list[tuple[EmploymentRecord, int]]:
        """What a month's PU bill itemises: [(employment, wage)] of the employer's approved
        workers employed in `period` ("YYYY-MM" or Period), each with the wage in force for
        that period. Kept consistent by the writes that change it: approval (single or bulk
        import) writes the employment with the participant, wage changes and leaving update
        it in the participant's versioned transaction."""
        return list(self.store.workers_employed_in(employer_id, str(period)))

    def billable_bpu_participants(self):
        return self.store.billable_bpu()

    def employer_by_npp(self, npp: str):
        return self.store.employer_by_npp(npp)

    def participant_by_kpj(self, kpj: str):
        return self.store.participant_by_kpj(kpj)

    def participant_record(self, participant_id: str) -> ParticipantRecord:
        """The stored participant (NotFound if none); the caller checks access."""
        return self.store.participant(participant_id)

    def record_payment(self, participant_ids: list[str], period: str) -> None:
        """A paid contribution: the membership becomes (or stays) ACTIVE and its
        paid-through period moves forward (never back).

        The first payment also claims the participation card (a code set once, in the same
        update) and asks for it to be issued; a replay whose card was claimed but not yet
        issued asks again (issuing is idempotent), so the card is issued exactly once."""
        needing_card = []
        for participant_id in participant_ids:
            record = self.store.record_payment(participant_id, period,
                                               card_code=secrets.token_hex(16))
            if record is None:
                record = self.store.find_participant(participant_id)
            if (record is not None and record.status == ACTIVE and record.card_code
                    and record.card_issued_at is None):
                needing_card.append(participant_id)
        if needing_card:
            self.cards.request(needing_card)

    # ------------------------------------------------------------------ work queue
    def handle_work(self, message: dict, remaining_ms: Callable[[], int]) -> dict:
        """Registration's work queue ("imports"): worker imports and card issuance."""
        kind = message.get("type")
        if kind == "import_workers":
            return self.imports.process(message["import_id"], remaining_ms)
        if kind == "issue_cards":
            return self.cards.issue(message["participant_ids"])
        raise ValueError(f"unknown registration work {kind!r}")

    # ------------------------------------------------------------------ helpers
    def _record(self, kind: str, record_id: str):
        return self.store.employer(record_id) if kind == "employer" \
            else self.store.participant(record_id)

    def _tell_rejected(self, kind: str, record_id: str, name: str, reasons,
                       branch_code: str | None = None) -> None:
        """The applicant is told what to complete (Indonesian template, through blast)."""
        if self.notify:
            from chalicelib.shared_kernel.messaging import MessageRequest

            self.notify(MessageRequest(
                dedupe_key=f"rejected:{record_id}:{self.clock().isoformat()}",
                template="registration_rejected", recipient_kind=kind, recipient_id=record_id,
                params={"nama": name, "nomor_pendaftaran": record_id, "alasan": list(reasons)},
                source="registration", branch=branch_code))

    def _actor(self, record, caller: Caller | None, action: str) -> str:
        """Who `caller` is for the audit trail, if they may do `action` on `record`;
        otherwise 401/403 (or 409 when the application is past what a token may change)."""
        record_id = _record_id(record)
        if caller is None:
            raise Unauthorized("Sertakan token (Authorization: Bearer ...) atau token aplikasi "
                               f"({access.HEADER})", code="TOKEN_MISSING")
        if isinstance(caller, ApplicationToken):
            access.check_token(caller, record.access_secret_hash, record.access_expires_at,
                               self.clock())
            if action not in (READ, APPLY, CONTACT, CONSENT):
                raise Forbidden("Token aplikasi tidak dapat dipakai untuk tindakan ini",
                                code="APPLICATION_TOKEN_SCOPE")
            if action != READ and record.status not in (PENDING, REJECTED):
                raise Conflict("Pendaftaran sudah diverifikasi: gunakan akun peserta atau "
                               "hubungi kantor cabang", code="APPLICATION_CLOSED")
            return access.applicant_subject(record_id)
        principal = caller
        is_participant_record = isinstance(record, ParticipantRecord)
        if principal.role is Role.PARTICIPANT:
            if not is_participant_record:
                raise Forbidden("participants cannot read employer records",
                                code="ROLE_FORBIDDEN")
            if record.kpj is None or principal.kpj != record.kpj:
                raise Forbidden("this membership is not yours", code="KPJ_FORBIDDEN")
            if action not in (READ, CONTACT, CONSENT):
                raise Forbidden("a participant cannot do this on their own membership",
                                code="ROLE_FORBIDDEN")
            return principal.subject
        if principal.role is Role.EMPLOYER:
            if record.npp is None or principal.npp != record.npp:
                raise Forbidden("this worker is not registered under your NPP"
                                if is_participant_record else "this employer is not yours",
                                code="NPP_FORBIDDEN")
            # A worker's consent is theirs to give; history is for staff.
            if action == STAFF or (action == CONSENT and is_participant_record):
                raise Forbidden("only the person (or branch staff) may do this",
                                code="ROLE_FORBIDDEN")
            return principal.subject
        principal.require_branch(record.branch)
        if action not in (READ, STAFF):
            principal.require_role(VERIFIERS)
        return principal.subject

    @staticmethod
    def _verifier_of(branch_code: str, principal: Principal) -> None:
        principal.require_role([Role.VERIFIER, Role.ADMIN])
        principal.require_branch(branch_code)


# --------------------------------------------------------------------------- helpers

def _iso(moment: datetime) -> str:
    """Times stored inside JSON attributes: UTC, ISO 8601 (as audit entries are)."""
    return moment.astimezone(timezone.utc).isoformat()


def _record_id(record) -> str:
    return record.participant_id if isinstance(record, ParticipantRecord) else record.employer_id


def _subject(record) -> str:
    if isinstance(record, ParticipantRecord):
        return f"participant#{record.participant_id}"
    return f"employer#{record.employer_id}"


def _known_branch(code: str) -> None:
    try:
        branch(code)
    except ValidationFailed as exc:
        raise ValidationFailed(f"Kode kantor cabang {code} tidak dikenal",
                               field="branch_code", code="UNKNOWN_BRANCH") from exc


def _document_kind(text: str) -> docs.DocumentKind:
    try:
        return docs.DocumentKind(text.upper())
    except ValueError:
        raise ValidationFailed("Jenis dokumen harus salah satu dari: "
                               + ", ".join(k.value for k in docs.DocumentKind),
                               field="kind", code="DOCUMENT_KIND_UNKNOWN") from None


def _require_pu(record: ParticipantRecord) -> None:
    if record.segment != "PU":
        raise Conflict("only wage earners (PU) have an employer, wages and a leaving date",
                       code="NOT_A_PU_WORKER")


def _append_rejection(record, at: datetime, by: str, reasons) -> str:
    history = record.rejections_list()
    history.append({"at": _iso(at), "by": by, "reasons": list(reasons)})
    return json.dumps(history)


def _changed_fields(old: dict, new: dict) -> list[str]:
    """Names of the top-level fields a resubmission changed (never their values: the audit
    trail holds no NIK or phone numbers)."""
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _recipient_view(record) -> dict:
    profile = record.profile_dict()
    return {"name": record.name, "phone": record.phone, "email": profile.get("email"),
            "branch": record.branch, "npp": record.npp, "kpj": getattr(record, "kpj", None),
            "status": record.status, "consent": _consent_view(record)}


def _consent_view(record) -> dict:
    stored = record.consent_dict()
    return {channel: {"opted_in": bool(stored.get(channel, {}).get("opted_in", False)),
                      "at": stored.get(channel, {}).get("at")} for channel in CHANNELS}


def employer_view(record: EmployerRecord) -> dict:
    profile = record.profile_dict()
    return {"employer_id": record.employer_id, "status": record.status, "npp": record.npp,
            "branch_code": record.branch, "name": record.name,
            "jkk_risk_class": record.risk_class, "industry_sector": record.sector,
            "npwp": profile.get("npwp"), "nib": profile.get("nib"),
            "address": profile.get("address"), "contact_person": profile.get("contact_person"),
            "phone": profile.get("phone"), "email": profile.get("email"),
            "rejection_reasons": record.rejection_reasons or [],
            "rejections": record.rejections_list(),
            "submissions": int(record.submissions or 1),
            "consent": _consent_view(record),
            "created_at": record.created_at.isoformat()}


def participant_view(record: ParticipantRecord, today: date | None = None) -> dict:
    profile = record.profile_dict()
    status = effective_status(record, today) if today else record.status
    view = {"participant_id": record.participant_id, "segment": record.segment,
            "status": status, "kpj": record.kpj, "branch_code": record.branch,
            "name": record.name, "nik": record.nik, "birth_date": profile.get("birth_date"),
            "sex": profile.get("sex"), "phone": record.phone, "email": profile.get("email"),
            "address": profile.get("address"), "programs": record.programs or [],
            "rejection_reasons": record.rejection_reasons or [],
            "rejections": record.rejections_list(),
            "submissions": int(record.submissions or 1),
            "warnings": record.warnings_list(),
            "consent": _consent_view(record),
            "card_issued": record.card_issued_at is not None,
            "paid_through": record.paid_through, "created_at": record.created_at.isoformat()}
    if record.segment == "PU":
        view.update(npp=record.npp, monthly_wage=record.wage,
                    wage_history=record.wage_history_list(), left_from=record.left_from,
                    employment_end=json.loads(record.employment_end)
                    if record.employment_end else None, import_id=record.import_id)
    elif record.segment == "BPU":
        view.update(declared_income=record.declared_income,
                    wadah_code=profile.get("wadah_code"))
    else:
        view.update(project=profile.get("project"))
    return view


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
