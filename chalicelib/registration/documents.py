"""Supporting documents of a registration: which kinds exist, which a registration needs,
where they live in S3 and how an upload is accepted. Plain Python, no I/O beyond reading the
rules file once.

An upload goes in three steps, so the record only ever lists documents that really are in S3
and fit the rules:
1. the caller asks for an upload (kind, content type, size) and gets a presigned PUT for a
   fresh key `documents/<employers|participants>/<id>/<KIND>/<upload_id>`, short-lived, with
   the content type and length signed (S3 refuses any other);
2. the caller PUTs the file;
3. the caller confirms (`PUT .../documents/<KIND>` with the upload id): the service reads the
   object's metadata (head_object), checks type and size again (moto does not check
   presigned signatures, and a confirmation must not trust the client) and records it.
A new upload of the same kind replaces the listed one; the old object stays (versioned
bucket, audit entry), so nothing a verifier saw disappears.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from functools import lru_cache
from typing import Mapping

from chalicelib.shared_kernel.errors import ValidationFailed

from .validation import DATA_DIR

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


class DocumentKind(StrEnum):
    KTP = "KTP"
    KK = "KK"
    NPWP = "NPWP"
    BUSINESS_LICENCE = "BUSINESS_LICENCE"
    WORK_ORDER = "WORK_ORDER"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    DocumentKind.KTP: "KTP", DocumentKind.KK: "Kartu Keluarga", DocumentKind.NPWP: "NPWP",
    DocumentKind.BUSINESS_LICENCE: "NIB / izin usaha", DocumentKind.WORK_ORDER: "SPK proyek",
}


@dataclass(frozen=True)
class DocumentRules:
    content_types: tuple[str, ...]
    required: Mapping[str, tuple[DocumentKind, ...]]
    accepted: Mapping[str, tuple[DocumentKind, ...]]

    @classmethod
    def from_dict(cls, data: Mapping) -> "DocumentRules":
        def kinds(table: Mapping) -> dict[str, tuple[DocumentKind, ...]]:
            return {owner: tuple(DocumentKind(k) for k in values) for owner, values in table.items()}

        rules = cls(tuple(data["content_types"]), kinds(data["required"]), kinds(data["accepted"]))
        for owner, required in rules.required.items():
            if not set(required) <= set(rules.accepted.get(owner, ())):
                raise ValueError(f"documents required for {owner} must also be accepted")
        return rules

    def required_for(self, owner: str) -> tuple[DocumentKind, ...]:
        return self.required.get(owner, ())

    def check_upload(self, owner: str, kind: DocumentKind, content_type: str, size: int,
                     max_bytes: int) -> None:
        """Raises ValidationFailed (Indonesian) unless this upload fits the rules."""
        if kind not in self.accepted.get(owner, ()):
            allowed = ", ".join(k.value for k in self.accepted.get(owner, ()))
            raise ValidationFailed(f"Dokumen {kind.value} tidak diperlukan untuk pendaftaran "
                                   f"ini (yang diterima: {allowed})", field="kind",
                                   code="DOCUMENT_KIND_NOT_ACCEPTED")
        if content_type not in self.content_types:
            raise ValidationFailed(
                "Jenis berkas harus salah satu dari: " + ", ".join(self.content_types),
                field="content_type", code="DOCUMENT_TYPE_NOT_ACCEPTED")
        if size > max_bytes:
            raise ValidationFailed(
                f"Ukuran berkas maksimal {max_bytes // (1024 * 1024)} MB "
                f"({max_bytes} byte)", field="size_bytes", code="DOCUMENT_TOO_LARGE")
        if size <= 0:
            raise ValidationFailed("Berkas kosong", field="size_bytes", code="DOCUMENT_EMPTY")


@lru_cache(maxsize=1)
def load_document_rules() -> DocumentRules:
    with open(DATA_DIR / "registration_rules.toml", "rb") as handle:
        return DocumentRules.from_dict(tomllib.load(handle)["documents"])


def owner_of(record) -> str:
    """EMPLOYER, or the participant's segment: what the rules are keyed by."""
    return getattr(record, "segment", None) or "EMPLOYER"


def folder(record) -> str:
    if hasattr(record, "segment"):
        return f"documents/participants/{record.participant_id}"
    return f"documents/employers/{record.employer_id}"


def upload_key(record, kind: DocumentKind, upload_id: str) -> str:
    if not _UPLOAD_ID.match(upload_id or ""):
        raise ValidationFailed("upload_id tidak valid", field="upload_id", code="BAD_UPLOAD_ID")
    return f"{folder(record)}/{kind.value}/{upload_id}"


def summary(record, rules: DocumentRules) -> dict:
    """What is attached and what is still missing (the verifier's checklist)."""
    present = record.documents_dict()
    required = rules.required_for(owner_of(record))
    return {
        "required": [k.value for k in required],
        "missing": [k.value for k in required if k.value not in present],
        "items": [{"kind": kind, "content_type": doc["content_type"],
                   "size_bytes": doc["size_bytes"], "uploaded_at": doc["uploaded_at"],
                   "uploaded_by": doc["uploaded_by"]}
                  for kind, doc in sorted(present.items())],
    }


def listed(key: str, content_type: str, size: int, at: datetime, by: str) -> dict:
    return {"key": key, "content_type": content_type, "size_bytes": size,
            "uploaded_at": at.astimezone(timezone.utc).isoformat(), "uploaded_by": by}
