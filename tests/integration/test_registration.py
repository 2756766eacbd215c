"""Registration over HTTP on moto: apply, verify, read, and uniqueness under concurrency."""
from __future__ import annotations

import json
import threading

from tests.unit.registration.builders import (a_bpu_participant, a_nik, a_pu_participant,
                                              an_employer)


def post(client, path, body, headers=None):
    return client.http.post(path, body=json.dumps(body),
                            headers=headers or {"Content-Type": "application/json"})


def register_verified_employer(client, auth_header, **overrides) -> dict:
    created = post(client, "/v1/employers", an_employer(branch_code="BLT", **overrides))
    assert created.status_code == 201, created.body
    employer_id = created.json_body["employer_id"]
    verified = post(client, f"/v1/employers/{employer_id}/verification", {"decision": "APPROVE"},
                    auth_header("VERIFIER", branch="BLT"))
    assert verified.status_code == 200, verified.body
    return verified.json_body


def test_employer_application_waits_for_verification_then_gets_an_npp(client, auth_header):
    created = post(client, "/v1/employers", an_employer(branch_code="BLT"))
    assert created.status_code == 201
    assert created.json_body["status"] == "PENDING_VERIFICATION"
    queue = client.http.get("/v1/verification-queue",
                            headers=auth_header("VERIFIER", branch="BLT")).json_body["items"]
    assert [item["id"] for item in queue] == [created.json_body["employer_id"]]

    verified = post(client, f"/v1/employers/{created.json_body['employer_id']}/verification",
                    {"decision": "APPROVE"}, auth_header("VERIFIER", branch="BLT"))
    assert verified.json_body["status"] == "VERIFIED"
    assert len(verified.json_body["npp"]) == 9
    assert client.http.get("/v1/verification-queue", headers=auth_header(
        "VERIFIER", branch="BLT")).json_body["items"] == []


def test_verifier_of_another_branch_is_forbidden(client, auth_header):
    created = post(client, "/v1/employers", an_employer(branch_code="BLT"))
    response = post(client, f"/v1/employers/{created.json_body['employer_id']}/verification",
                    {"decision": "APPROVE"}, auth_header("VERIFIER", branch="MDN"))
    assert response.status_code == 403
    assert response.json_body["error"]["code"] == "BRANCH_FORBIDDEN"


def test_receivables_officer_cannot_verify(client, auth_header):
    created = post(client, "/v1/employers", an_employer(branch_code="BLT"))
    response = post(client, f"/v1/employers/{created.json_body['employer_id']}/verification",
                    {"decision": "APPROVE"}, auth_header("RECEIVABLES", branch="BLT"))
    assert response.status_code == 403
    assert response.json_body["error"]["code"] == "ROLE_FORBIDDEN"


def test_rejection_records_reasons_and_approving_twice_conflicts(client, auth_header):
    created = post(client, "/v1/employers", an_employer(branch_code="BLT"))
    path = f"/v1/employers/{created.json_body['employer_id']}/verification"
    rejected = post(client, path, {"decision": "REJECT", "reasons": ["NIB tidak terbaca"]},
                    auth_header("VERIFIER", branch="BLT"))
    assert rejected.json_body == {"employer_id": created.json_body["employer_id"],
                                  "status": "REJECTED", "reasons": ["NIB tidak terbaca"]}
    again = post(client, path, {"decision": "APPROVE"}, auth_header("VERIFIER", branch="BLT"))
    assert again.status_code == 409
    assert again.json_body["error"]["code"] == "NOT_PENDING"


def test_pu_worker_needs_a_verified_employer(client, auth_header):
    response = post(client, "/v1/participants", a_pu_participant(employer_npp="000012342"))
    assert response.status_code == 404
    employer = register_verified_employer(client, auth_header)
    created = post(client, "/v1/participants",
                   a_pu_participant(employer_npp=employer["npp"], monthly_wage=5_000_000))
    assert created.status_code == 201, created.body
    participant_id = created.json_body["participant_id"]
    approved = post(client, f"/v1/participants/{participant_id}/verification",
                    {"decision": "APPROVE"}, auth_header("VERIFIER", branch="BLT"))
    kpj = approved.json_body["kpj"]
    assert len(kpj) == 11
    status = client.http.get(f"/v1/participants/{participant_id}/status",
                             headers=auth_header("PARTICIPANT", branch=None, kpj=kpj))
    assert status.json_body == {"participant_id": participant_id, "kpj": kpj, "segment": "PU",
                                "status": "VERIFIED", "programs": ["JKK", "JKM", "JHT", "JP"],
                                "paid_through": None, "left_from": None, "card_issued": False}
    other = client.http.get(f"/v1/participants/{participant_id}/status",
                            headers=auth_header("PARTICIPANT", branch=None, kpj="99999999999"))
    assert other.status_code == 403


def test_invalid_nik_is_a_400_naming_the_field_in_indonesian(client):
    response = post(client, "/v1/participants", a_bpu_participant(nik="12345"))
    assert response.status_code == 400
    error = response.json_body["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert error["field"] == "BPU.nik" or error["field"].endswith("nik")
    assert "NIK" in error["message"]


def test_malformed_json_is_a_400(client):
    response = client.http.post("/v1/participants", body=b"{not json",
                                headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "MALFORMED_JSON"


def test_same_nik_registered_concurrently_exactly_one_wins(client):
    from chalicelib.bootstrap import container
    from chalicelib.registration.schemas import parse_participant_registration
    from chalicelib.shared_kernel.errors import Conflict

    body = a_bpu_participant(nik=a_nik(serial=77))
    service = container().registration
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt():
        reg = parse_participant_registration(body)
        barrier.wait()
        try:
            service.register_participant(reg, None)
            outcomes.append("created")
        except Conflict:
            outcomes.append("duplicate")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created"] + ["duplicate"] * 7, outcomes
    again = post(client, "/v1/participants", body)
    assert again.status_code == 409
    assert again.json_body["error"]["code"] == "DUPLICATE_NIK"


def test_one_membership_per_nik_per_segment_under_concurrent_pu_and_bpu(client, auth_header):
    """Two employers register the same worker at the same instant while the same person
    also applies as BPU: one PU registration wins, and the BPU one (another segment) too."""
    from chalicelib.bootstrap import container
    from chalicelib.registration.schemas import parse_participant_registration
    from chalicelib.shared_kernel.errors import Conflict

    first = register_verified_employer(client, auth_header)
    second = register_verified_employer(client, auth_header, name="PT Kedua Jaya",
                                        npwp="02.345.678.9-012.000", nib="9120007654321")
    nik = a_nik(serial=88)
    bodies = [("PU", a_pu_participant(nik=nik, employer_npp=npp, monthly_wage=3_000_000))
              for npp in (first["npp"], second["npp"]) for _ in range(3)]
    bodies.append(("BPU", a_bpu_participant(nik=nik)))
    service = container().registration
    outcomes: list[tuple[str, str]] = []
    barrier = threading.Barrier(len(bodies))

    def attempt(segment: str, body: dict):
        reg = parse_participant_registration(body)
        barrier.wait()
        try:
            service.register_participant(reg, None)
            outcomes.append((segment, "created"))
        except Conflict as exc:
            outcomes.append((segment, exc.code))

    threads = [threading.Thread(target=attempt, args=b) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [("BPU", "created"), ("PU", "DUPLICATE_NIK"),
                                ("PU", "DUPLICATE_NIK"), ("PU", "DUPLICATE_NIK"),
                                ("PU", "DUPLICATE_NIK"), ("PU", "DUPLICATE_NIK"),
                                ("PU", "created")], outcomes
