"""Registration end to end over HTTP on the local stack (moto server, chalice local, pump):
an employer and a worker apply, the worker attaches a KTP through a presigned upload, an
officer rejects, the worker corrects and resubmits, the officer approves, and each party
reads the status it may see; the month is billed and paid, and the worker is ACTIVE with a
participation card; then the employer imports workers from a CSV and the pump runs
the import consumer."""
from __future__ import annotations

import csv
import io
import random
import time
from datetime import date

import pytest
import requests

from tests.unit.registration.builders import (a_pu_participant, an_employer, build_nik,
                                              worker_csv)

pytestmark = pytest.mark.e2e


class Api:
    def __init__(self, stack):
        self.base = stack.base_url
        self.stack = stack

    def bearer(self, role: str, **binding: str) -> dict:
        return {"Authorization": f"Bearer {self.stack.token(role, **binding)}"}

    def call(self, method: str, path: str, *, expect: int, headers=None, **kwargs):
        response = requests.request(method, self.base + path, headers=headers or {},
                                    timeout=30, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code,
                                                response.text)
        return response.json() if "json" in response.headers.get("Content-Type", "") else (
            response.text)


def test_registration_to_verification_to_status(local_stack):
    api = Api(local_stack)
    verifier = api.bearer("VERIFIER", branch="BLT")
    employer = api.call("POST", "/v1/employers", json=an_employer(branch_code="BLT"),
                        expect=201)
    assert employer["status"] == "PENDING_VERIFICATION" and employer["application_token"]
    npp = api.call("POST", f"/v1/employers/{employer['employer_id']}/verification",
                   json={"decision": "APPROVE"}, headers=verifier, expect=200)["npp"]

    serial = random.randint(1000, 8999)  # the session's stack may hold other tests' people
    nik = build_nik("35", "72", "01", date(1991, 7, 9), "P", serial)
    body = a_pu_participant(employer_npp=npp, nik=nik, name="Sri Wahyuni",
                            birth_date="1991-07-09", sex="P", monthly_wage=4_000_000)
    wrong = {**body, "name": "Sri Wahyu"}
    applied = api.call("POST", "/v1/participants", json=wrong, expect=201)
    participant_id, token = applied["participant_id"], applied["application_token"]
    assert (applied["documents_required"], applied["warnings"]) == (["KTP"], [])
    as_applicant = {"X-Application-Token": token}
    path = f"/v1/participants/{participant_id}"

    # the KTP goes straight to the private bucket through a presigned PUT
    ktp = b"\xff\xd8\xff\xe0" + b"KTP" * 100
    upload = api.call("POST", f"{path}/documents/uploads", headers=as_applicant, expect=201,
                      json={"kind": "KTP", "content_type": "image/jpeg",
                            "size_bytes": len(ktp)})
    put = requests.put(upload["url"], data=ktp, headers=upload["headers"], timeout=30)
    assert put.status_code == 200, put.text
    listed = api.call("PUT", f"{path}/documents/KTP", headers=as_applicant, expect=200,
                      json={"upload_id": upload["upload_id"]})
    assert listed["missing"] == []

    queue = api.call("GET", "/v1/verification-queue", headers=verifier, expect=200)["items"]
    mine = next(item for item in queue if item["id"] == participant_id)
    assert mine["documents_missing"] == [] and mine["submissions"] == 1

    api.call("POST", f"{path}/verification", headers=verifier, expect=200,
             json={"decision": "REJECT", "reasons": ["Nama tidak sesuai KTP"]})
    seen = api.call("GET", path, headers=as_applicant, expect=200)
    assert (seen["status"], seen["rejection_reasons"]) == ("REJECTED", ["Nama tidak sesuai KTP"])
    again = api.call("PUT", path, headers=as_applicant, json=body, expect=200)
    assert (again["status"], again["changed"]) == ("PENDING_VERIFICATION", ["name"])
    kpj = api.call("POST", f"{path}/verification", headers=verifier, expect=200,
                   json={"decision": "APPROVE"})["kpj"]

    status = api.call("GET", f"{path}/status", headers=api.bearer("PARTICIPANT", kpj=kpj),
                      expect=200)
    assert (status["status"], status["kpj"], status["programs"]) == (
        "VERIFIED", kpj, ["JKK", "JKM", "JHT", "JP"])
    api.call("GET", f"{path}/status", headers=api.bearer("EMPLOYER", npp=npp), expect=200)
    api.call("GET", f"{path}/status", headers=api.bearer("RECEIVABLES", branch="BLT"),
             expect=200)
    api.call("GET", f"{path}/status", headers=api.bearer("EMPLOYER", npp="000099992"),
             expect=403)
    api.call("GET", f"{path}/status", headers=api.bearer("RECEIVABLES", branch="MDN"),
             expect=403)
    history = api.call("GET", f"{path}/history", headers=verifier, expect=200)["items"]
    # sorted: the local stack's virtual clock can stand still, and entries of one instant
    # have no order between them
    assert sorted(e["action"] for e in history) == ["APPROVED", "DOCUMENT_ATTACHED",
                                                    "REJECTED", "RESUBMITTED", "SUBMITTED"]
    bad = api.call("POST", "/v1/participants", json={**body, "nik": "3572"}, expect=400)
    assert (bad["error"]["field"], bad["error"]["message"]) == ("nik", "NIK harus 16 digit angka")
    api.call("POST", "/v1/participants", json=body, expect=409)

    # November is billed on 1 December; the employer pays at the branch: the worker becomes
    # ACTIVE, paid through November, and gets the participation card (a PDF in S3)
    local_stack.cli("tick", "--at", "2026-12-01T09:00:00+07:00")
    cashier = api.bearer("RECEIVABLES", branch="BLT")
    [bill] = api.call("GET", f"/v1/bills?npp={npp}&period=2026-11", headers=cashier,
                      expect=200)["items"]
    assert bill["amount_due"] == 381_600  # 9.54 % of Rp4.000.000 (JKK II, JKM, JHT, JP)
    api.call("POST", f"/v1/bills/{bill['bill_id']}/payments", headers=cashier, expect=201,
             json={"amount": 381_600, "receipt_number": f"KW-E2E-{serial}",
                   "reason": "setor tunai"})
    local_stack.cli("tick", "--at", "2026-12-01T09:00:00+07:00")  # drains the queues
    as_worker = api.bearer("PARTICIPANT", kpj=kpj)
    status = api.call("GET", f"{path}/status", headers=as_worker, expect=200)
    assert (status["status"], status["paid_through"], status["card_issued"]) == (
        "ACTIVE", "2026-11", True)
    card = api.call("GET", f"{path}/card", headers=as_worker, expect=200)
    assert requests.get(card["url"], timeout=30).content.startswith(b"%PDF")


def test_worker_import_runs_through_the_pump(local_stack):
    api = Api(local_stack)
    employer = api.call("POST", "/v1/employers", expect=201,
                        json=an_employer(branch_code="BLT", name="PT Impor Pekerja"))
    npp = api.call("POST", f"/v1/employers/{employer['employer_id']}/verification",
                   json={"decision": "APPROVE"}, expect=200,
                   headers=api.bearer("VERIFIER", branch="BLT"))["npp"]
    as_employer = api.bearer("EMPLOYER", npp=npp)
    data, expected = worker_csv(30, first=random.randint(20_000, 80_000))
    base = f"/v1/employers/{employer['employer_id']}/imports"
    upload = api.call("POST", f"{base}/uploads", headers=as_employer, expect=201,
                      json={"size_bytes": len(data), "file_name": "pekerja.csv"})
    assert requests.put(upload["url"], data=data, headers=upload["headers"],
                        timeout=30).status_code == 200
    started = api.call("POST", base, headers=as_employer, expect=202,
                       json={"upload_id": upload["upload_id"]})
    deadline = time.monotonic() + 90
    while True:
        view = api.call("GET", f"{base}/{started['import_id']}", headers=as_employer,
                        expect=200)
        if view["status"] in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert view["status"] == "COMPLETED", view
    assert (view["processed"], view["accepted"]) == (
        30, sum(1 for e in expected if e[0] == "ACCEPTED"))
    link = api.call("GET", f"{base}/{started['import_id']}/report", headers=as_employer,
                    expect=200)
    report = requests.get(link["url"], timeout=30).content.decode("utf-8-sig")
    assert [r["outcome"] for r in csv.DictReader(io.StringIO(report))] == [
        e[0] for e in expected]
