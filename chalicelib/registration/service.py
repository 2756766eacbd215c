"""Registration use cases: apply, verify (approve with NPP/KPJ, or reject with reasons),
read, status. Plain Python over the store; who may do what is decided here."""
from __future__ import annotations

import json
import uuid
import zlib
from datetime import datetime, timezone
from typing import Callable

from chalicelib.shared_kernel.auth import Principal, Role
from chalicelib.shared_kernel.branches import branch, branch_for_nik
from chalicelib.shared_kernel.calendar import Period, jakarta_today
from chalicelib.shared_kernel.errors import Conflict, Forbidden, ValidationFailed
from chalicelib.shared_kernel.records import audit_entry, next_value

from . import identifiers as ids
from .store import (BILLING_SHARDS, EmployerRecord, EmploymentRecord, ParticipantRecord,
                    RegistrationStore, UniqueKeyRecord)

PENDING = "PENDING_VERIFICATION"
REJECTED = "REJECTED"
VERIFIED = "VERIFIED"   # approved; a participant becomes ACTIVE on the first payment
ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"


def _shard(identifier: str, prefix: str) -> str:
    return f"{prefix}#{zlib.crc32(identifier.encode()) % BILLING_SHARDS}"


class RegistrationService:
    def __init__(self, store: RegistrationStore, clock: Callable[[], datetime],
                 notify: Callable[..., None] | None = None):
        self.store = store
        self.clock = clock
        self.notify = notify

    # ------------------------------------------------------------------ apply
    def register_employer(self, reg, principal: Principal | None) -> dict:
        branch(reg.branch_code)  # unknown branch -> 400
        if principal is not None and principal.is_staff:
            principal.require_branch(reg.branch_code)
        now = self.clock()
        record = EmployerRecord(
            str(uuid.uuid4()), status=PENDING, branch=reg.branch_code, name=reg.name,
            risk_class=reg.jkk_risk_class, sector=reg.industry_sector, phone=reg.phone,
            profile=reg.model_dump_json(), queue_key=f"{reg.branch_code}#{PENDING}",
            created_at=now, updated_at=now)
        self.store.add_employer(record)
        return {"employer_id": record.employer_id, "status": PENDING}

    def register_participant(self, reg, principal: Principal | None) -> dict:
        now = self.clock()
        employer = None
        if reg.segment == "PU":
            employer = self.store.employer_by_npp(reg.employer_npp)
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
        participant_id = str(uuid.uuid4())
        record = ParticipantRecord(
            participant_id, segment=reg.segment, status=PENDING, branch=branch_code,
            name=reg.name, nik=reg.nik, phone=reg.phone, profile=reg.model_dump_json(),
            queue_key=f"{branch_code}#{PENDING}", created_at=now, updated_at=now)
        if reg.segment == "PU":
            record.employer_id, record.npp = employer.employer_id, employer.npp
            record.programs = ["JKK", "JKM", "JHT", "JP"]
            period = str(Period.of(jakarta_today(now)))
            record.wage = reg.monthly_wage
            record.wage_history = json.dumps([{"from": period, "wage": reg.monthly_wage}])
        elif reg.segment == "BPU":
            record.programs = list(reg.programs)
            record.declared_income = reg.declared_income
        else:
            record.programs = ["JKK", "JKM"]
        self.store.add_participant(record)
        return {"participant_id": participant_id, "status": PENDING}

    # ------------------------------------------------------------------ read
    def employer(self, employer_id: str, principal: Principal) -> dict:
        record = self.store.employer(employer_id)
        self._may_see_employer(record, principal)
        return employer_view(record)

    def participant(self, participant_id: str, principal: Principal) -> dict:
        record = self.store.participant(participant_id)
        self._may_see_participant(record, principal)
        return participant_view(record)

    def status(self, participant_id: str, principal: Principal) -> dict:
        record = self.store.participant(participant_id)
        self._may_see_participant(record, principal)
        return {"participant_id": record.participant_id, "kpj": record.kpj,
                "segment": record.segment, "status": record.status,
                "programs": record.programs or [], "paid_through": record.paid_through}

    def verification_queue(self, principal: Principal) -> list[dict]:
        principal.require_role([Role.VERIFIER, Role.ADMIN])
        if not principal.branch:
            raise ValidationFailed("an ADMIN token needs a branch to list a queue",
                                   field="branch")
        out = []
        for record in self.store.pending(principal.branch):
            if isinstance(record, EmployerRecord):
                out.append({"kind": "EMPLOYER", "id": record.employer_id, "name": record.name,
                            "submitted_at": record.created_at.isoformat()})
            else:
                out.append({"kind": "PARTICIPANT", "id": record.participant_id,
                            "segment": record.segment, "name": record.name,
                            "submitted_at": record.created_at.isoformat()})
        return out

    # ------------------------------------------------------------------ verify
    def verify_employer(self, employer_id: str, decision, principal: Principal) -> dict:
        record = self.store.employer(employer_id)
        self._verifier_of(record.branch, principal)
        if record.status != PENDING:
            raise Conflict(f"employer is {record.status}, not awaiting verification",
                           code="NOT_PENDING")
        subject = f"employer#{employer_id}"
        if decision.decision == "APPROVE":
            npp = ids.format_npp(next_value("npp"))
            record.status, record.npp, record.queue_key = VERIFIED, npp, None
            record.billing_shard = _shard(employer_id, "EMP")
            audit = audit_entry(subject, principal.subject, "APPROVED",
                                details={"npp": npp}, at=self.clock())
            self.store.transition(record, expected_status=PENDING, extra_saves=[audit],
                                  extra_keys=[UniqueKeyRecord(f"NPP#{npp}", owner=employer_id)])
            return {"employer_id": employer_id, "status": VERIFIED, "npp": npp}
        record.status, record.queue_key = REJECTED, None
        record.rejection_reasons = list(decision.reasons)
        audit = audit_entry(subject, principal.subject, "REJECTED",
                            reason="; ".join(decision.reasons), at=self.clock())
        self.store.transition(record, expected_status=PENDING, extra_saves=[audit])
        self._tell_rejected("EMPLOYER", employer_id, record.name, decision.reasons)
        return {"employer_id": employer_id, "status": REJECTED, "reasons": decision.reasons}

    def verify_participant(self, participant_id: str, decision, principal: Principal) -> dict:
        record = self.store.participant(participant_id)
        self._verifier_of(record.branch, principal)
        if record.status != PENDING:
            raise Conflict(f"participant is {record.status}, not awaiting verification",
                           code="NOT_PENDING")
        subject = f"participant#{participant_id}"
        if decision.decision == "APPROVE":
            kpj = ids.format_kpj(next_value("kpj"))
            record.status, record.kpj, record.queue_key = VERIFIED, kpj, None
            extra = [audit_entry(subject, principal.subject, "APPROVED",
                                 details={"kpj": kpj}, at=self.clock())]
            if record.segment == "BPU":
                record.billing_shard = _shard(participant_id, "BPU")
            if record.segment == "PU":
                now = self.clock()
                extra.append(EmploymentRecord(
                    record.employer_id, participant_id, kpj=kpj, name=record.name,
                    wage_history=record.wage_history, started=str(Period.of(jakarta_today(now)))))
            self.store.transition(record, expected_status=PENDING, extra_saves=extra,
                                  extra_keys=[UniqueKeyRecord(f"KPJ#{kpj}",
                                                              owner=participant_id)])
            return {"participant_id": participant_id, "status": VERIFIED, "kpj": kpj}
        record.status, record.queue_key = REJECTED, None
        record.rejection_reasons = list(decision.reasons)
        audit = audit_entry(subject, principal.subject, "REJECTED",
                            reason="; ".join(decision.reasons), at=self.clock())
        self.store.transition(record, expected_status=PENDING, extra_saves=[audit])
        self._tell_rejected("PARTICIPANT", participant_id, record.name, decision.reasons)
        return {"participant_id": participant_id, "status": REJECTED,
                "reasons": decision.reasons}

    # ------------------------------------------------------------------ for billing
    def billable_employers(self):
        return self.store.billable_employers()

    def workers_of(self, employer_id: str):
        return self.store.workers_of(employer_id)

    def billable_bpu_participants(self):
        return self.store.billable_bpu()

    def employer_by_npp(self, npp: str):
        return self.store.employer_by_npp(npp)

    def participant_by_kpj(self, kpj: str):
        return self.store.participant_by_kpj(kpj)

    def participant_record(self, participant_id: str):
        return self.store.participant(participant_id)

    def record_payment(self, participant_ids: list[str], period: str) -> None:
        """A paid contribution: the membership becomes (or stays) ACTIVE and its
        paid-through period moves forward (never back)."""
        for participant_id in participant_ids:
            self.store.record_payment(participant_id, period)

    # ------------------------------------------------------------------ helpers
    def _tell_rejected(self, kind: str, record_id: str, name: str, reasons) -> None:
        """The applicant is told what to complete (Indonesian template, through blast)."""
        if self.notify:
            from chalicelib.shared_kernel.messaging import MessageRequest

            self.notify(MessageRequest(
                dedupe_key=f"rejected:{record_id}:{self.clock().isoformat()}",
                template="registration_rejected", recipient_kind=kind, recipient_id=record_id,
                params={"nama": name, "nomor_pendaftaran": record_id, "alasan": list(reasons)},
                source="registration"))

    @staticmethod
    def _verifier_of(branch_code: str, principal: Principal) -> None:
        principal.require_role([Role.VERIFIER, Role.ADMIN])
        principal.require_branch(branch_code)

    @staticmethod
    def _may_see_employer(record: EmployerRecord, principal: Principal) -> None:
        if principal.role is Role.EMPLOYER:
            if record.npp is None or principal.npp != record.npp:
                raise Forbidden("this employer is not yours", code="NPP_FORBIDDEN")
            return
        if principal.role is Role.PARTICIPANT:
            raise Forbidden("participants cannot read employer records", code="ROLE_FORBIDDEN")
        principal.require_branch(record.branch)

    @staticmethod
    def _may_see_participant(record: ParticipantRecord, principal: Principal) -> None:
        if principal.role is Role.PARTICIPANT:
            if record.kpj is None or principal.kpj != record.kpj:
                raise Forbidden("this membership is not yours", code="KPJ_FORBIDDEN")
            return
        if principal.role is Role.EMPLOYER:
            if record.npp is None or principal.npp != record.npp:
                raise Forbidden("this worker is not registered under your NPP",
                                code="NPP_FORBIDDEN")
            return
        principal.require_branch(record.branch)


def employer_view(record: EmployerRecord) -> dict:
    profile = record.profile_dict()
    return {"employer_id": record.employer_id, "status": record.status, "npp": record.npp,
            "branch_code": record.branch, "name": record.name,
            "jkk_risk_class": record.risk_class, "industry_sector": record.sector,
            "npwp": profile.get("npwp"), "nib": profile.get("nib"),
            "address": profile.get("address"), "contact_person": profile.get("contact_person"),
            "phone": profile.get("phone"), "email": profile.get("email"),
            "rejection_reasons": record.rejection_reasons or [],
            "created_at": record.created_at.isoformat()}


def participant_view(record: ParticipantRecord) -> dict:
    profile = record.profile_dict()
    view = {"participant_id": record.participant_id, "segment": record.segment,
            "status": record.status, "kpj": record.kpj, "branch_code": record.branch,
            "name": record.name, "nik": record.nik, "birth_date": profile.get("birth_date"),
            "sex": profile.get("sex"), "phone": record.phone, "email": profile.get("email"),
            "address": profile.get("address"), "programs": record.programs or [],
            "rejection_reasons": record.rejection_reasons or [],
            "paid_through": record.paid_through, "created_at": record.created_at.isoformat()}
    if record.segment == "PU":
        view.update(npp=record.npp, monthly_wage=record.wage)
    elif record.segment == "BPU":
        view.update(declared_income=record.declared_income,
                    wadah_code=profile.get("wadah_code"))
    else:
        view.update(project=profile.get("project"))
    return view


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
