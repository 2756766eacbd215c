"""Supporting documents and the application token, on moto: presigned uploads into the
private bucket, confirmation against what S3 holds, the registration's checklist."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from chalicelib.shared_kernel.calendar import JAKARTA
from tests.integration.factories import Parties, post
from tests.unit.registration.builders import a_bpu_participant, a_nik, an_employer, ticking

NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA)
JPEG = b"\xff\xd8\xff\xe0" + b"KTP" * 300  # 904 bytes, shaped like a JPEG
MAX_BYTES = 2048


@pytest.fixture
def settings(jwt_keys):
    from chalicelib.shared_kernel.config import Settings

    _, public_path = jwt_keys
    return Settings(stage="test", resource_prefix="smile-test",
                    bucket_name="smile-test-documents", jwt_public_key_path=str(public_path),
                    document_max_bytes=MAX_BYTES)


@pytest.fixture(autouse=True)
def at(stack):
    stack.clock = ticking(NOV_20)


def with_token(token: str) -> dict:
    return {"X-Application-Token": token, "Content-Type": "application/json"}


def applied(client, serial: int = 1) -> dict:
    created = post(client, "/v1/participants", a_bpu_participant(nik=a_nik(serial=serial)))
    assert created.status_code == 201, created.body
    return created.json_body


def ask_upload(client, path: str, headers: dict, *, kind="KTP", content_type="image/jpeg",
               size=len(JPEG)):
    return post(client, f"{path}/documents/uploads",
                {"kind": kind, "content_type": content_type, "size_bytes": size}, headers)


def put_file(upload: dict, data: bytes, content_type: str | None = None) -> None:
    headers = dict(upload["headers"])
    if content_type:
        headers["Content-Type"] = content_type
    headers.pop("Content-Length")  # requests sets it from the data
    assert requests.put(upload["url"], data=data, headers=headers).status_code == 200


def test_applicant_attaches_a_ktp_with_the_application_token(client, auth_header, stack):
    application = applied(client)
    assert application["documents_required"] == ["KTP"]
    assert len(application["application_token"]) >= 43
    path = f"/v1/participants/{application['participant_id']}"
    headers = with_token(application["application_token"])

    before = client.http.get(f"{path}/documents", headers=headers).json_body
    assert (before["required"], before["missing"], before["items"]) == (["KTP"], ["KTP"], [])

    upload = ask_upload(client, path, headers)
    assert upload.status_code == 201, upload.body
    body = upload.json_body
    assert body["method"] == "PUT" and body["expires_in"] == 300
    assert body["headers"] == {"Content-Type": "image/jpeg", "Content-Length": str(len(JPEG))}
    url = urlparse(body["url"])
    assert f"/documents/participants/{application['participant_id']}/KTP/" in url.path
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["300"]
    assert set(query["X-Amz-SignedHeaders"][0].split(";")) >= {"content-length",
                                                               "content-type", "host"}
    put_file(body, JPEG)

    confirmed = client.http.put(f"{path}/documents/KTP", headers=headers,
                                body=f'{{"upload_id": "{body["upload_id"]}"}}')
    assert confirmed.status_code == 200, confirmed.body
    assert confirmed.json_body["missing"] == []
    [item] = confirmed.json_body["items"]
    assert (item["kind"], item["size_bytes"], item["content_type"]) == ("KTP", len(JPEG),
                                                                        "image/jpeg")
    assert item["uploaded_by"] == f"applicant:{application['participant_id']}"

    queue = client.http.get("/v1/verification-queue",
                            headers=auth_header("VERIFIER", branch="BLT")).json_body["items"]
    assert queue[0]["documents_missing"] == []
    link = client.http.get(f"{path}/documents/KTP", headers=auth_header("VERIFIER",
                                                                        branch="BLT"))
    assert requests.get(link.json_body["url"]).content == JPEG

    from chalicelib.shared_kernel.records import audit_trail

    actions = [e["action"] for e in audit_trail(f"participant#{application['participant_id']}")]
    assert actions == ["SUBMITTED", "DOCUMENT_ATTACHED"]


def test_confirmation_checks_the_object_s3_holds_and_records_nothing_wrong(client):
    application = applied(client)
    path = f"/v1/participants/{application['participant_id']}"
    headers = with_token(application["application_token"])

    early = ask_upload(client, path, headers).json_body
    missing = client.http.put(f"{path}/documents/KTP", headers=headers,
                              body=f'{{"upload_id": "{early["upload_id"]}"}}')
    assert missing.status_code == 404
    assert missing.json_body["error"]["code"] == "UPLOAD_NOT_FOUND"

    # moto does not enforce the signed headers; the confirmation does
    wrong_type = ask_upload(client, path, headers).json_body
    put_file(wrong_type, JPEG, content_type="text/html")
    refused = client.http.put(f"{path}/documents/KTP", headers=headers,
                              body=f'{{"upload_id": "{wrong_type["upload_id"]}"}}')
    assert refused.status_code == 400
    assert refused.json_body["error"]["code"] == "DOCUMENT_TYPE_NOT_ACCEPTED"

    too_big = ask_upload(client, path, headers).json_body
    put_file(too_big, b"x" * (MAX_BYTES + 1))
    refused = client.http.put(f"{path}/documents/KTP", headers=headers,
                              body=f'{{"upload_id": "{too_big["upload_id"]}"}}')
    assert refused.status_code == 400
    assert refused.json_body["error"]["code"] == "DOCUMENT_TOO_LARGE"

    still = client.http.get(f"{path}/documents", headers=headers).json_body
    assert still["missing"] == ["KTP"] and still["items"] == []


BAD_UPLOADS = [
    ({"kind": "PASPOR", "content_type": "image/jpeg", "size_bytes": 10}, "kind",
     "VALIDATION_FAILED"),
    ({"kind": "KTP", "content_type": "image/gif", "size_bytes": 10}, "content_type",
     "DOCUMENT_TYPE_NOT_ACCEPTED"),
    ({"kind": "KTP", "content_type": "image/jpeg", "size_bytes": MAX_BYTES + 1}, "size_bytes",
     "DOCUMENT_TOO_LARGE"),
    ({"kind": "KTP", "content_type": "image/jpeg", "size_bytes": 0}, "size_bytes",
     "VALIDATION_FAILED"),
    ({"kind": "KTP", "content_type": "image/jpeg", "size_bytes": "10"}, "size_bytes",
     "VALIDATION_FAILED"),
    ({"kind": "BUSINESS_LICENCE", "content_type": "application/pdf", "size_bytes": 10},
     "kind", "DOCUMENT_KIND_NOT_ACCEPTED"),
    ({"kind": "KTP", "content_type": "image/jpeg"}, "size_bytes", "VALIDATION_FAILED"),
]


def test_bad_upload_requests_are_400_in_indonesian(client):
    application = applied(client)
    path = f"/v1/participants/{application['participant_id']}/documents/uploads"
    for body, field, code in BAD_UPLOADS:
        response = post(client, path, body, with_token(application["application_token"]))
        assert response.status_code == 400, (body, response.body)
        error = response.json_body["error"]
        assert (error["field"], error["code"]) == (field, code), body
        assert any(word in error["message"] for word in ("harus", "wajib", "maksimal",
                                                         "tidak", "Berkas")), error


def test_bad_confirmations_are_400_naming_the_field(client):
    application = applied(client)
    path = f"/v1/participants/{application['participant_id']}/documents"
    headers = with_token(application["application_token"])
    bad_id = client.http.put(f"{path}/KTP", headers=headers, body='{"upload_id": "../x"}')
    assert bad_id.status_code == 400 and bad_id.json_body["error"]["field"] == "upload_id"
    bad_kind = client.http.put(f"{path}/PASPOR", headers=headers,
                               body='{"upload_id": "' + "a" * 32 + '"}')
    assert bad_kind.status_code == 400 and bad_kind.json_body["error"]["field"] == "kind"
    none_yet = client.http.get(f"{path}/KTP", headers=headers)
    assert none_yet.status_code == 404
    assert none_yet.json_body["error"]["code"] == "DOCUMENT_NOT_FOUND"


def test_the_token_opens_its_registration_only_and_only_for_a_while(client, stack):
    mine, other = applied(client, serial=1), applied(client, serial=2)
    path = f"/v1/participants/{mine['participant_id']}"
    cases = [({}, 401, "TOKEN_MISSING"),
             (with_token("x" * 43), 401, "APPLICATION_TOKEN_INVALID"),
             (with_token(other["application_token"]), 401, "APPLICATION_TOKEN_INVALID")]
    for headers, status, code in cases:
        response = client.http.get(path, headers=headers)
        assert (response.status_code, response.json_body["error"]["code"]) == (status, code)
        assert "token" in response.json_body["error"]["message"].lower()
    ok = client.http.get(path, headers=with_token(mine["application_token"]))
    assert ok.status_code == 200 and ok.json_body["status"] == "PENDING_VERIFICATION"
    assert "application_token" not in ok.body.decode()

    stack.clock = lambda: NOV_20 + timedelta(days=91)
    expired = client.http.get(path, headers=with_token(mine["application_token"]))
    assert expired.status_code == 401
    assert expired.json_body["error"]["code"] == "APPLICATION_TOKEN_EXPIRED"


def test_after_approval_the_token_reads_but_changes_nothing(client, auth_header):
    application = applied(client)
    path = f"/v1/participants/{application['participant_id']}"
    post(client, f"{path}/verification", {"decision": "APPROVE"},
         auth_header("VERIFIER", branch="BLT"))
    headers = with_token(application["application_token"])
    assert client.http.get(f"{path}/status", headers=headers).json_body["status"] == "VERIFIED"
    closed = ask_upload(client, path, headers)
    assert closed.status_code == 409
    assert closed.json_body["error"]["code"] == "APPLICATION_CLOSED"
    history = client.http.get(f"{path}/history", headers=headers)
    assert history.status_code == 401  # staff only: a bearer token is required


def test_who_else_may_upload(client, auth_header):
    application = applied(client)
    path = f"/v1/participants/{application['participant_id']}"
    counter = ask_upload(client, path, auth_header("VERIFIER", branch="BLT"))
    assert counter.status_code == 201
    other_branch = ask_upload(client, path, auth_header("VERIFIER", branch="MDN"))
    assert other_branch.json_body["error"]["code"] == "BRANCH_FORBIDDEN"
    receivables = ask_upload(client, path, auth_header("RECEIVABLES", branch="BLT"))
    assert receivables.json_body["error"]["code"] == "ROLE_FORBIDDEN"


def test_employer_documents_follow_the_employer_checklist(client, auth_header):
    created = post(client, "/v1/employers", an_employer(branch_code="BLT"))
    body = created.json_body
    assert body["documents_required"] == ["NPWP", "BUSINESS_LICENCE"]
    path = f"/v1/employers/{body['employer_id']}"
    headers = with_token(body["application_token"])
    spk = ask_upload(client, path, headers, kind="WORK_ORDER", content_type="application/pdf")
    assert spk.json_body["error"]["code"] == "DOCUMENT_KIND_NOT_ACCEPTED"
    upload = ask_upload(client, path, headers, kind="NPWP", content_type="application/pdf",
                        size=5).json_body
    assert f"/documents/employers/{body['employer_id']}/NPWP/" in upload["url"]
    put_file(upload, b"%PDF-")
    summary = client.http.put(f"{path}/documents/NPWP", headers=headers,
                              body=f'{{"upload_id": "{upload["upload_id"]}"}}').json_body
    assert summary["missing"] == ["BUSINESS_LICENCE"]
    view = client.http.get(path, headers=auth_header("VERIFIER", branch="BLT")).json_body
    assert view["documents"]["missing"] == ["BUSINESS_LICENCE"]


def test_a_deployment_can_require_documents_before_approval(client, auth_header, stack):
    from chalicelib.bootstrap import Container, override

    strict = Container(stack.settings.model_copy(update={"documents_required_for_approval":
                                                         True}), clock=ticking(NOV_20))
    override(strict)
    application = applied(client)
    path = f"/v1/participants/{application['participant_id']}"
    refused = post(client, f"{path}/verification", {"decision": "APPROVE"},
                   auth_header("VERIFIER", branch="BLT"))
    assert refused.status_code == 409
    assert refused.json_body["error"]["code"] == "DOCUMENTS_MISSING"
    assert refused.json_body["error"]["details"] == {"missing": ["KTP"]}
    upload = ask_upload(client, path, auth_header("VERIFIER", branch="BLT")).json_body
    put_file(upload, JPEG)
    client.http.put(f"{path}/documents/KTP", headers=auth_header("VERIFIER", branch="BLT"),
                    body=f'{{"upload_id": "{upload["upload_id"]}"}}')
    approved = post(client, f"{path}/verification", {"decision": "APPROVE"},
                    auth_header("VERIFIER", branch="BLT"))
    assert approved.status_code == 200, approved.body


def test_an_employer_uploads_for_its_own_pu_worker(client, auth_header):
    parties = Parties(client, auth_header)
    employer = parties.employer()
    from tests.unit.registration.builders import a_pu_participant

    created = post(client, "/v1/participants", a_pu_participant(
        employer_npp=employer["npp"], nik=a_nik(serial=9)),
        auth_header("EMPLOYER", branch=None, npp=employer["npp"]))
    assert created.status_code == 201, created.body
    path = f"/v1/participants/{created.json_body['participant_id']}"
    own = ask_upload(client, path, auth_header("EMPLOYER", branch=None, npp=employer["npp"]))
    assert own.status_code == 201
    stranger = ask_upload(client, path, auth_header("EMPLOYER", branch=None, npp="000099992"))
    assert stranger.json_body["error"]["code"] == "NPP_FORBIDDEN"
