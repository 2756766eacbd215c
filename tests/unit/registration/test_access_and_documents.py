"""Application tokens, document rules and keys, and the small pure helpers of the
registration use cases."""
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from chalicelib.registration import access, documents
from chalicelib.registration.documents import DocumentKind, DocumentRules
from chalicelib.registration.imports import _count, row_participant_id
from chalicelib.registration.bulk import RowResult
from chalicelib.registration.service import _changed_fields, effective_status
from chalicelib.shared_kernel.errors import Unauthorized, ValidationFailed

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)


# ----------------------------------------------------------------------- application tokens

def test_a_token_is_random_stored_as_its_hash_and_expires():
    token, stored, expires = access.issue_token(NOW, 90)
    other, _, _ = access.issue_token(NOW, 90)
    assert token != other and len(token) >= 43
    assert stored == access.token_hash(token) and token not in stored
    assert expires == NOW + timedelta(days=90)
    access.check_token(access.ApplicationToken(token), stored, expires, NOW)
    access.check_token(access.ApplicationToken(token), stored, expires, expires)


@pytest.mark.parametrize("presented, stored, at, code", [
    ("wrong", "HASH", NOW, "APPLICATION_TOKEN_INVALID"),
    ("TOKEN", None, NOW, "APPLICATION_TOKEN_INVALID"),
    ("TOKEN", "HASH", NOW + timedelta(days=91), "APPLICATION_TOKEN_EXPIRED"),
])
def test_a_token_that_does_not_open_the_registration(presented, stored, at, code):
    hashes = {"HASH": access.token_hash("TOKEN"), None: None}
    with pytest.raises(Unauthorized) as caught:
        access.check_token(access.ApplicationToken(presented), hashes[stored],
                           NOW + timedelta(days=90), at)
    assert caught.value.code == code
    assert "Token aplikasi" in caught.value.message


def test_a_token_never_prints_its_secret():
    assert "s3cr3t" not in repr(access.ApplicationToken("s3cr3t"))


# ----------------------------------------------------------------------- documents

RULES = DocumentRules.from_dict({
    "content_types": ["image/jpeg", "application/pdf"],
    "required": {"EMPLOYER": ["NPWP"], "BPU": ["KTP"]},
    "accepted": {"EMPLOYER": ["NPWP", "KTP"], "BPU": ["KTP", "KK"]},
})


def test_shipped_document_rules_load_and_are_consistent():
    rules = documents.load_document_rules()
    assert rules.required_for("JK") == (DocumentKind.KTP, DocumentKind.WORK_ORDER)
    assert rules.required_for("EMPLOYER") == (DocumentKind.NPWP, DocumentKind.BUSINESS_LICENCE)
    assert "application/pdf" in rules.content_types


def test_rules_whose_required_documents_are_not_accepted_are_refused():
    with pytest.raises(ValueError):
        DocumentRules.from_dict({"content_types": [], "required": {"BPU": ["KTP"]},
                                 "accepted": {"BPU": ["KK"]}})


@pytest.mark.parametrize("owner, kind, ctype, size, code", [
    ("BPU", DocumentKind.NPWP, "image/jpeg", 10, "DOCUMENT_KIND_NOT_ACCEPTED"),
    ("BPU", DocumentKind.KTP, "image/gif", 10, "DOCUMENT_TYPE_NOT_ACCEPTED"),
    ("BPU", DocumentKind.KTP, "image/jpeg", 2049, "DOCUMENT_TOO_LARGE"),
    ("BPU", DocumentKind.KTP, "image/jpeg", 0, "DOCUMENT_EMPTY"),
])
def test_uploads_outside_the_rules_are_refused_in_indonesian(owner, kind, ctype, size, code):
    with pytest.raises(ValidationFailed) as caught:
        RULES.check_upload(owner, kind, ctype, size, max_bytes=2048)
    assert caught.value.code == code


def test_keys_are_per_registration_and_kind_and_never_take_a_path():
    participant = SimpleNamespace(participant_id="p-1", segment="BPU")
    employer = SimpleNamespace(employer_id="e-1")
    upload_id = "a" * 32
    assert documents.upload_key(participant, DocumentKind.KTP, upload_id) == (
        f"documents/participants/p-1/KTP/{upload_id}")
    assert documents.upload_key(employer, DocumentKind.NPWP, upload_id) == (
        f"documents/employers/e-1/NPWP/{upload_id}")
    with pytest.raises(ValidationFailed):
        documents.upload_key(participant, DocumentKind.KTP, "../../letters/x")
    assert documents.owner_of(participant) == "BPU" and documents.owner_of(employer) == "EMPLOYER"


def test_summary_lists_what_is_missing():
    listed = documents.listed("k", "image/jpeg", 10, NOW, "applicant:p-1")
    record = SimpleNamespace(participant_id="p-1", segment="BPU",
                             documents_dict=lambda: {"KK": listed})
    summary = documents.summary(record, RULES)
    assert (summary["required"], summary["missing"]) == (["KTP"], ["KTP"])
    assert summary["items"] == [{"kind": "KK", "content_type": "image/jpeg", "size_bytes": 10,
                                 "uploaded_at": "2026-11-20T03:00:00+00:00",
                                 "uploaded_by": "applicant:p-1"}]
    assert "key" not in summary["items"][0]  # S3 keys stay inside


# ----------------------------------------------------------------------- use-case helpers

def test_a_worker_who_left_is_inactive_from_the_first_period_not_worked():
    record = SimpleNamespace(status="ACTIVE", left_from="2026-12")
    assert effective_status(record, date(2026, 11, 30)) == "ACTIVE"
    assert effective_status(record, date(2026, 12, 1)) == "INACTIVE"
    assert effective_status(SimpleNamespace(status="VERIFIED", left_from=None),
                            date(2030, 1, 1)) == "VERIFIED"


def test_resubmission_names_changed_fields_not_values():
    old = {"nik": "1", "name": "Budi Santosa", "address": {"city": "Blitar"}, "email": None}
    new = {"nik": "1", "name": "Budi Santoso", "address": {"city": "Kediri"}}
    assert _changed_fields(old, new) == ["address", "name"]


def test_import_rows_have_stable_ids_and_outcomes_are_counted():
    assert row_participant_id("imp", 7) == row_participant_id("imp", 7)
    assert row_participant_id("imp", 7) != row_participant_id("imp", 8)
    assert row_participant_id("imp", 7) != row_participant_id("other", 7)
    results = [RowResult(1, "", "", "ACCEPTED", status="VERIFIED"),
               RowResult(2, "", "", "ACCEPTED", status="PENDING_VERIFICATION"),
               RowResult(3, "", "", "ALREADY_REGISTERED"), RowResult(4, "", "", "REJECTED")]
    assert _count(results) == {"accepted": 2, "already_registered": 1, "rejected": 1,
                               "verified": 1, "pending": 1}
