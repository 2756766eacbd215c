"""Bad input on every registration route: 400 naming the field (Indonesian messages for what
applicants, participants and employers send), 401/403 for the wrong caller, 404 for what does
not exist, 409 for duplicates and wrong states, and nothing written by a refused request.
(Documents, imports, wages, leaving and contacts have their own files, with their own bad
input cases.)"""
from __future__ import annotations

import json

import pytest

from tests.integration.factories import Parties, post
from tests.unit.registration.builders import (a_bpu_participant, a_jk_participant, a_nik,
                                              a_pu_participant, an_employer)

INDONESIAN = ("harus", "wajib", "tidak", "Kolom", "minimal", "maksimal", "Segmen", "NIK",
              "salah satu", "hanya")


def refused(response, status: int, *, field: str | None = None, code: str | None = None):
    assert response.status_code == status, response.body
    error = response.json_body["error"]
    if field is not None:
        assert error["field"] == field, error
    if code is not None:
        assert error["code"] == code, error
    return error


def test_participant_registrations_name_the_field_in_indonesian(client, auth_header, stack):
    cases = [
        ({**a_bpu_participant(), "nik": "3572"}, "nik", "NIK harus 16 digit angka"),
        ({k: v for k, v in a_bpu_participant().items() if k != "phone"}, "phone",
         "Nomor telepon wajib diisi"),
        ({**a_bpu_participant(), "segment": "XX"}, "", "Segmen (segment) wajib diisi"),
        ({**a_bpu_participant(), "birth_date": "12-05-1990"}, "birth_date",
         "Tanggal lahir harus berformat YYYY-MM-DD (contoh 1990-05-12)"),
        ({**a_bpu_participant(), "birth_date": "1990-05-13"}, "birth_date",
         "Tanggal lahir pada NIK (12-05-1990) tidak sesuai dengan tanggal lahir 13-05-1990"),
        ({**a_bpu_participant(), "sex": "P"}, "sex", "Jenis kelamin pada NIK"),
        ({**a_bpu_participant(), "declared_income": 500_000}, "declared_income",
         "Penghasilan yang dilaporkan harus antara Rp1.000.000 dan Rp20.700.000"),
        ({**a_bpu_participant(), "programs": ["JHT"]}, "programs", "Program JKK dan JKM wajib"),
        ({**a_bpu_participant(), "hobby": "catur"}, "hobby", "Kolom 'hobby' tidak dikenal"),
        ({**a_pu_participant(), "monthly_wage": 5_000_000.5}, "monthly_wage",
         "Upah bulanan harus berupa bilangan bulat rupiah"),
        ({**a_jk_participant(), "project": {"contract_value": 1}}, "project.contractor_name",
         "Nama kontraktor wajib diisi"),
        ({**a_bpu_participant(), "address": {**a_bpu_participant()["address"],
                                             "province_code": "99"}},
         "address.province_code", "Kode provinsi 99 tidak dikenal"),
    ]
    for body, field, message in cases:
        error = refused(post(client, "/v1/participants", body), 400, field=field or "body",
                        code="VALIDATION_FAILED")
        assert error["message"].startswith(message), (body, error)
        assert error["details"][0]["message"] == error["message"]
    refused(client.http.post("/v1/participants", body=b"[1, 2",
                             headers={"Content-Type": "application/json"}), 400,
            code="MALFORMED_JSON")
    refused(post(client, "/v1/participants", ["not", "an", "object"]), 400,
            code="VALIDATION_FAILED")
    # nothing was written: the NIK used above is still free
    assert post(client, "/v1/participants", a_bpu_participant()).status_code == 201
    assert stack.registration.store.key_owner(f"NIK#{a_nik()}#BPU") is not None


def test_employer_registrations_name_the_field(client):
    cases = [({**an_employer(), "npwp": "12.345"}, "npwp", "NPWP harus 15 atau 16 digit angka"),
             ({**an_employer(), "nib": "12"}, "nib", "NIB harus 13 digit angka"),
             ({**an_employer(), "jkk_risk_class": 6}, "jkk_risk_class",
              "Kelompok risiko JKK harus antara 1 dan 5"),
             ({**an_employer(), "email": "hrd@"}, "email", "Alamat email tidak valid"),
             ({**an_employer(), "branch_code": "ZZZ"}, "branch_code",
              "Kode kantor cabang ZZZ tidak dikenal")]
    for body, field, message in cases:
        error = refused(post(client, "/v1/employers", body), 400, field=field)
        assert error["message"].startswith(message), (body, error)


def test_pu_workers_need_a_known_verified_employer_of_the_caller(client, auth_header):
    unknown = refused(post(client, "/v1/participants", a_pu_participant()), 404,
                      code="EMPLOYER_NOT_FOUND")
    assert "NPP" in unknown["message"]
    parties = Parties(client, auth_header)
    employer = parties.employer()
    pending = post(client, "/v1/employers", an_employer(branch_code="BLT")).json_body
    assert pending["status"] == "PENDING_VERIFICATION"
    body = a_pu_participant(employer_npp=employer["npp"], nik=a_nik(serial=61))
    refused(post(client, "/v1/participants", body,
                 auth_header("EMPLOYER", branch=None, npp="000099992")), 403,
            code="NPP_FORBIDDEN")
    refused(post(client, "/v1/participants", body, auth_header("VERIFIER", branch="MDN")), 403,
            code="BRANCH_FORBIDDEN")
    refused(post(client, "/v1/participants", body,
                 auth_header("PARTICIPANT", branch=None, kpj="00000000017")), 403,
            code="ROLE_FORBIDDEN")
    assert post(client, "/v1/participants", body).status_code == 201


def test_verification_decisions_are_checked(client, auth_header):
    created = post(client, "/v1/employers", an_employer(branch_code="BLT")).json_body
    path = f"/v1/employers/{created['employer_id']}/verification"
    verifier = auth_header("VERIFIER", branch="BLT")
    for body, field in [({"decision": "MAYBE"}, "decision"), ({"decision": "REJECT"}, "reasons"),
                        ({"decision": "REJECT", "reasons": [""]}, "reasons"),
                        ({"decision": "APPROVE", "reasons": ["x"]}, "reasons"), ({}, "decision")]:
        error = refused(post(client, path, body, verifier), 400, field=field)
        assert any(word in error["message"] for word in INDONESIAN), error
    refused(post(client, path, {"decision": "APPROVE"},
                 auth_header("EMPLOYER", branch=None, npp="000099992")), 403,
            code="ROLE_FORBIDDEN")
    refused(post(client, path, {"decision": "APPROVE"}, {"Content-Type": "application/json"}),
            401, code="TOKEN_MISSING")
    refused(post(client, "/v1/employers/no-such-employer/verification",
                 {"decision": "APPROVE"}, verifier), 404, code="EMPLOYER_NOT_FOUND")
    assert post(client, path, {"decision": "APPROVE"}, verifier).status_code == 200
    refused(post(client, path, {"decision": "APPROVE"}, verifier), 409, code="NOT_PENDING")


def test_reads_answer_401_403_404_as_they_should(client, auth_header):
    created = post(client, "/v1/participants", a_bpu_participant(nik=a_nik(serial=62))).json_body
    path = f"/v1/participants/{created['participant_id']}"
    refused(client.http.get(path), 401, code="TOKEN_MISSING")
    refused(client.http.get(path, headers={"Authorization": "Bearer nonsense"}), 401,
            code="TOKEN_INVALID")
    refused(client.http.get("/v1/participants/nope", headers=auth_header("VERIFIER",
                                                                          branch="BLT")), 404,
            code="PARTICIPANT_NOT_FOUND")
    refused(client.http.get("/v1/employers/nope", headers=auth_header("VERIFIER",
                                                                       branch="BLT")), 404,
            code="EMPLOYER_NOT_FOUND")
    refused(client.http.get(f"{path}/history", headers=auth_header(
        "PARTICIPANT", branch=None, kpj="00000000017")), 403)
    refused(client.http.get("/v1/verification-queue", headers=auth_header("ADMIN", branch=None)),
            400, field="branch")
    refused(client.http.get("/v1/verification-queue", headers=auth_header("RECEIVABLES",
                                                                            branch="BLT")),
            403, code="ROLE_FORBIDDEN")
    refused(client.http.put(path, body=json.dumps(a_bpu_participant(nik=a_nik(serial=62))),
                            headers={"Content-Type": "application/json"}), 401,
            code="TOKEN_MISSING")


@pytest.mark.parametrize("segment_body", [a_jk_participant])
def test_a_jk_project_registration_round_trips(client, auth_header, segment_body):
    created = post(client, "/v1/participants", segment_body(nik=a_nik(serial=63)))
    assert created.status_code == 201, created.body
    view = client.http.get(f"/v1/participants/{created.json_body['participant_id']}",
                           headers=auth_header("VERIFIER", branch="BLT")).json_body
    assert view["project"]["contract_value"] == 250_000_000
    assert view["documents"]["required"] == ["KTP", "WORK_ORDER"]
