"""Worker imports on moto: a 200-row file of mixed rows through presigned upload, the
imports queue and its consumer; row outcomes, progress, the report, re-uploads, resuming
after a crash, and the file-level refusals."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
import requests

from chalicelib.shared_kernel.calendar import JAKARTA
from tests.integration.factories import Parties, drain, post
from tests.unit.registration.builders import a_pu_participant, worker_csv

NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA)
CHUNK = 50


def item_level_transactions() -> None:
    """moto's transactions at DynamoDB's per-item cost (infra/moto_atomic)."""
    from infra.moto_atomic import make_dynamodb_atomic

    make_dynamodb_atomic()


@pytest.fixture(autouse=True)
def fast_moto_transactions():
    item_level_transactions()


@pytest.fixture
def settings(jwt_keys):
    from chalicelib.shared_kernel.config import Settings

    _, public_path = jwt_keys
    return Settings(stage="test", resource_prefix="smile-test",
                    bucket_name="smile-test-documents", jwt_public_key_path=str(public_path),
                    import_chunk_rows=CHUNK)


@pytest.fixture
def employer(stack, client, auth_header):
    stack.clock = lambda: NOV_20
    verified = Parties(client, auth_header).employer()
    return {**verified, "headers": auth_header("EMPLOYER", branch=None, npp=verified["npp"])}


def upload(client, employer: dict, data: bytes) -> str:
    path = f"/v1/employers/{employer['employer_id']}/imports/uploads"
    answer = post(client, path, {"size_bytes": len(data), "file_name": "pekerja.csv"},
                  employer["headers"])
    assert answer.status_code == 201, answer.body
    body = answer.json_body
    assert body["headers"]["Content-Type"] == "text/csv"
    assert f"imports/{employer['employer_id']}/uploads/" in body["url"]
    assert requests.put(body["url"], data=data,
                        headers={"Content-Type": "text/csv"}).status_code == 200
    return body["upload_id"]


def start(client, employer: dict, upload_id: str):
    return post(client, f"/v1/employers/{employer['employer_id']}/imports",
                {"upload_id": upload_id, "file_name": "pekerja.csv"}, employer["headers"])


def progress(client, employer, import_id) -> dict:
    response = client.http.get(f"/v1/employers/{employer['employer_id']}/imports/{import_id}",
                               headers=employer["headers"])
    assert response.status_code == 200, response.body
    return response.json_body


def report_rows(client, employer, import_id) -> list[dict]:
    link = client.http.get(f"/v1/employers/{employer['employer_id']}/imports/{import_id}/report",
                           headers=employer["headers"])
    assert link.status_code == 200, link.body
    text = requests.get(link.json_body["url"]).content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def expected_counts(expected):
    accepted = [e for e in expected if e[0] == "ACCEPTED"]
    return {"total": len(expected), "processed": len(expected), "accepted": len(accepted),
            "rejected": len(expected) - len(accepted), "already_registered": 0,
            "verified": sum(1 for e in accepted if e[1] == "VERIFIED"),
            "pending_verification": sum(1 for e in accepted if e[1] != "VERIFIED")}


def counts(view: dict) -> dict:
    return {k: view[k] for k in ("total", "processed", "accepted", "rejected",
                                 "already_registered", "verified", "pending_verification")}


def test_a_mixed_file_registers_the_valid_rows_and_reports_every_row(client, auth_header,
                                                                     employer, stack):
    data, expected = worker_csv(200)
    started = start(client, employer, upload(client, employer, data))
    assert started.status_code == 202, started.body
    import_id = started.json_body["import_id"]
    assert (started.json_body["status"], started.json_body["total"],
            started.json_body["processed"]) == ("QUEUED", 200, 0)
    assert drain("imports") >= 1

    done = progress(client, employer, import_id)
    assert done["status"] == "COMPLETED" and done["report_ready"]
    assert counts(done) == expected_counts(expected)
    assert counts(done) == {"total": 200, "processed": 200, "accepted": 142, "rejected": 58,
                            "already_registered": 0, "verified": 126,
                            "pending_verification": 16}

    rows = report_rows(client, employer, import_id)
    assert [int(r["row"]) for r in rows] == list(range(1, 201))
    for row, (outcome, detail) in zip(rows, expected):
        assert row["outcome"] == outcome, row
        if outcome == "ACCEPTED":
            assert row["status"] == detail and row["participant_id"]
            assert (len(row["kpj"]) == 11) == (detail == "VERIFIED")
        else:
            assert row["field"] == detail and row["reason"], row
    assert rows[24]["reason"] == "NIK sama dengan baris 24"
    assert "Teks" in rows[12]["reason"]  # the spreadsheet hint for a mangled NIK
    assert "Upah bulanan" in rows[6]["reason"]
    assert "di bawah upah minimum" in rows[4]["warnings"]

    # approved rows are billable workers; warned rows wait in the branch's queue
    workers = list(stack.registration.workers_of(employer["employer_id"]))
    assert len(workers) == 126 and all(w.employed_in("2026-11") for w in workers)
    assert {w.wage_for("2026-11") for w in workers} == {3_000_000}
    queue = client.http.get("/v1/verification-queue", headers=auth_header(
        "VERIFIER", branch="BLT")).json_body["items"]
    assert len([q for q in queue if q.get("import_id") == import_id]) == 16
    from chalicelib.shared_kernel.records import audit_trail

    [approval] = audit_trail(f"participant#{rows[0]['participant_id']}")
    assert (approval["action"], approval["actor"], approval["reason"]) == (
        "APPROVED", "system:worker-import", "BULK_VERIFIED_EMPLOYER_NO_WARNINGS")
    assert approval["details"]["requested_by"] == "user-employer"


def test_the_same_file_again_is_the_same_import_and_registers_no_one_twice(client, employer,
                                                                          stack):
    data, _ = worker_csv(60)
    first = start(client, employer, upload(client, employer, data)).json_body
    drain("imports")
    again = start(client, employer, upload(client, employer, data))
    assert again.status_code == 200
    assert again.json_body["import_id"] == first["import_id"]
    assert again.json_body["duplicate_upload"] is True
    assert again.json_body["status"] == "COMPLETED"
    assert drain("imports") == 0

    # the same workers in a different file: already registered, nothing written
    edited = data.replace(b"\r\n", b"\n")
    other = start(client, employer, upload(client, employer, edited))
    assert other.status_code == 202 and other.json_body["import_id"] != first["import_id"]
    drain("imports")
    view = progress(client, employer, other.json_body["import_id"])
    accepted_first = progress(client, employer, first["import_id"])["accepted"]
    assert (view["accepted"], view["already_registered"]) == (0, accepted_first)
    rows = report_rows(client, employer, other.json_body["import_id"])
    assert {r["reason"] for r in rows if r["outcome"] == "ALREADY_REGISTERED"} == {
        "Pekerja sudah terdaftar pada perusahaan ini"}
    assert len(list(stack.registration.workers_of(employer["employer_id"]))) == sum(
        1 for r in rows if r["outcome"] == "ALREADY_REGISTERED" and r["kpj"])


def test_a_worker_of_another_employer_is_rejected(client, auth_header, employer):
    data, _ = worker_csv(3, mixed=False)
    other = Parties(client, auth_header).employer(name="PT Lain Sekali")
    first_nik = data.decode().splitlines()[1].split(",")[0]
    taken = post(client, "/v1/participants", a_pu_participant(
        employer_npp=other["npp"], nik=first_nik, birth_date=data.decode().splitlines()[1]
        .split(",")[2], sex=data.decode().splitlines()[1].split(",")[3]))
    assert taken.status_code == 201, taken.body
    import_id = start(client, employer, upload(client, employer, data)).json_body["import_id"]
    drain("imports")
    rows = report_rows(client, employer, import_id)
    assert [r["outcome"] for r in rows] == ["REJECTED", "ACCEPTED", "ACCEPTED"]
    assert "NIK sudah terdaftar" in rows[0]["reason"]


def test_a_crash_mid_chunk_resumes_from_the_last_committed_chunk(client, employer, stack,
                                                                 monkeypatch):
    data, expected = worker_csv(200)
    import_id = start(client, employer, upload(client, employer, data)).json_body["import_id"]
    store = stack.registration.store
    real = store.add_verified_participant
    writes = []

    def dies_in_the_third_chunk(*args, **kwargs):
        writes.append(1)
        if len(writes) == 2 * 32 + 10:  # about 32 approved rows per chunk of 50
            raise RuntimeError("Lambda killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "add_verified_participant", dies_in_the_third_chunk)
    message = {"type": "import_workers", "import_id": import_id}
    with pytest.raises(RuntimeError):
        stack.registration.handle_work(message, lambda: 900_000)
    halfway = progress(client, employer, import_id)
    assert (halfway["status"], halfway["processed"]) == ("RUNNING", 2 * CHUNK)

    result = stack.registration.handle_work(message, lambda: 900_000)  # SQS redelivers
    assert result["status"] == "COMPLETED"
    done = progress(client, employer, import_id)
    assert counts(done) == expected_counts(expected)
    rows = report_rows(client, employer, import_id)
    assert [r["outcome"] for r in rows] == [e[0] for e in expected]
    ids = [r["participant_id"] for r in rows if r["participant_id"]]
    assert len(ids) == len(set(ids)) == done["accepted"]
    assert len(list(stack.registration.workers_of(employer["employer_id"]))) == done["verified"]


def test_a_short_time_budget_continues_in_a_new_message(client, employer, stack):
    data, expected = worker_csv(120, mixed=False)
    import_id = start(client, employer, upload(client, employer, data)).json_body["import_id"]
    drain_work = stack.registration.handle_work
    budget = iter([900_000, 10_000])  # one chunk, then too little time for another
    first = drain_work({"type": "import_workers", "import_id": import_id},
                       lambda: next(budget, 10_000))
    assert first == {"import_id": import_id, "continued_at": CHUNK}
    assert drain("imports") >= 2  # the original message, then the continuation
    assert counts(progress(client, employer, import_id)) == expected_counts(expected)


def test_a_file_replaced_after_the_start_fails_the_import(client, employer, stack):
    data, _ = worker_csv(10, mixed=False)
    upload_id = upload(client, employer, data)
    import_id = start(client, employer, upload_id).json_body["import_id"]
    stack.registration.objects.put_bytes(
        f"imports/{employer['employer_id']}/uploads/{upload_id}.csv", data + data[-40:],
        "text/csv")
    drain("imports")
    view = progress(client, employer, import_id)
    assert view["status"] == "FAILED" and view["error"].startswith("SOURCE_CHANGED")
    assert view["processed"] == 0


UNIMPORTABLE = [
    (b" ", "EMPTY"),
    (b"nik,name,birth_date,sex,phone\r\n", "MISSING_COLUMNS"),
    (b"nik,nama,tanggal_lahir,jenis_kelamin,no_hp,upah,gaji_pokok\r\n1,2,3,4,5,6,7\r\n",
     "UNKNOWN_COLUMNS"),
    (b"nik,name,birth_date,sex,phone,monthly_wage\r\n", "NO_ROWS"),
    (b"nik,name,name,birth_date,sex,phone,monthly_wage\r\n1,2,3,4,5,6,7\r\n",
     "REPEATED_COLUMNS"),
]


def test_a_file_that_cannot_be_imported_is_a_400_and_creates_nothing(client, employer):
    for content, reason in UNIMPORTABLE:
        response = start(client, employer, upload(client, employer, content))
        assert response.status_code == 400, response.body
        error = response.json_body["error"]
        assert (error["code"], error["field"], error["details"]["reason"]) == (
            "IMPORT_FILE_REJECTED", "file", reason)
    listed = client.http.get(f"/v1/employers/{employer['employer_id']}/imports",
                             headers=employer["headers"]).json_body
    assert listed["items"] == []


def test_import_requests_are_checked(client, auth_header, employer):
    base = f"/v1/employers/{employer['employer_id']}/imports"
    bad_id = post(client, base, {"upload_id": "abc"}, employer["headers"])
    assert bad_id.status_code == 400 and bad_id.json_body["error"]["field"] == "upload_id"
    never = post(client, base, {"upload_id": "0" * 32}, employer["headers"])
    assert never.status_code == 404 and never.json_body["error"]["code"] == "UPLOAD_NOT_FOUND"
    huge = post(client, base + "/uploads", {"size_bytes": 10 ** 9}, employer["headers"])
    assert huge.status_code == 400 and huge.json_body["error"]["field"] == "size_bytes"
    for headers, status, code in [
            (auth_header("EMPLOYER", branch=None, npp="000099992"), 403, "NPP_FORBIDDEN"),
            (auth_header("PARTICIPANT", branch=None, kpj="00000000017"), 403, "ROLE_FORBIDDEN"),
            (auth_header("RECEIVABLES", branch="BLT"), 403, "ROLE_FORBIDDEN"),
            (auth_header("VERIFIER", branch="MDN"), 403, "BRANCH_FORBIDDEN"),
            ({"Content-Type": "application/json"}, 401, "TOKEN_MISSING")]:
        response = post(client, base + "/uploads", {"size_bytes": 10}, headers)
        assert (response.status_code, response.json_body["error"]["code"]) == (status, code)
    pending = post(client, "/v1/employers", json.loads(json.dumps(
        __import__("tests.unit.registration.builders", fromlist=["x"]).an_employer(
            branch_code="BLT")))).json_body
    not_yet = post(client, f"/v1/employers/{pending['employer_id']}/imports/uploads",
                   {"size_bytes": 10}, auth_header("VERIFIER", branch="BLT"))
    assert not_yet.status_code == 409
    assert not_yet.json_body["error"]["code"] == "EMPLOYER_NOT_VERIFIED"
    unknown = client.http.get(f"{base}/{'f' * 32}", headers=employer["headers"])
    assert unknown.status_code == 404


def test_report_is_not_ready_before_completion_and_template_is_public(client, employer):
    data, _ = worker_csv(5, mixed=False)
    import_id = start(client, employer, upload(client, employer, data)).json_body["import_id"]
    early = client.http.get(f"/v1/employers/{employer['employer_id']}/imports/{import_id}/report",
                            headers=employer["headers"])
    assert early.status_code == 409 and early.json_body["error"]["code"] == "REPORT_NOT_READY"
    template = client.http.get("/v1/import-template")
    assert template.status_code == 200
    assert template.headers["Content-Type"].startswith("text/csv")
    assert template.body.decode().splitlines()[0].startswith(
        "nik,name,birth_date,sex,phone,monthly_wage")
