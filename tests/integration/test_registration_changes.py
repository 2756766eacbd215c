"""Registration over time, on moto: rejection and resubmission, rule warnings, wage changes,
a worker leaving, contact updates, consent, and who sees which status."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from chalicelib.shared_kernel.calendar import JAKARTA
from chalicelib.shared_kernel.records import audit_trail
from tests.integration.factories import Parties, post
from tests.unit.registration.builders import (a_bpu_participant, a_nik, a_pu_participant,
                                              an_employer, ticking)

NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA)
DEC_2 = datetime(2026, 12, 2, 10, 0, tzinfo=JAKARTA)


@pytest.fixture(autouse=True)
def at(stack):
    stack.clock = ticking(NOV_20)


@pytest.fixture
def parties(client, auth_header):
    return Parties(client, auth_header)


def verifier(auth_header, branch="BLT"):
    return auth_header("VERIFIER", branch=branch)


def with_token(token: str) -> dict:
    return {"X-Application-Token": token, "Content-Type": "application/json"}


def put(client, path, body, headers):
    return client.http.put(path, body=json.dumps(body), headers=headers)


def patch(client, path, body, headers):
    return client.http.patch(path, body=json.dumps(body), headers=headers)


def rejection_messages(stack) -> list[dict]:
    from chalicelib.shared_kernel.aws import client as aws_client
    from chalicelib.shared_kernel.resources import QUEUES

    sqs = aws_client("sqs", stack.settings.region)
    url = sqs.get_queue_url(QueueName=QUEUES["reminders"].name)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


# ----------------------------------------------------------------------- resubmission

def test_rejected_participant_corrects_and_resubmits_with_history_kept(client, auth_header,
                                                                       stack):
    wrong = a_bpu_participant(nik=a_nik(serial=5), name="Budi Santosa")
    created = post(client, "/v1/participants", wrong).json_body
    participant_id, token = created["participant_id"], created["application_token"]
    path = f"/v1/participants/{participant_id}"
    rejected = post(client, f"{path}/verification",
                    {"decision": "REJECT", "reasons": ["Nama tidak sesuai KTP"]},
                    verifier(auth_header))
    assert rejected.json_body["status"] == "REJECTED"
    [message] = rejection_messages(stack)
    assert (message["template"], message["recipient_id"]) == ("registration_rejected",
                                                              participant_id)
    assert message["params"]["alasan"] == ["Nama tidak sesuai KTP"]

    corrected = {**wrong, "name": "Budi Santoso"}
    resubmitted = put(client, path, corrected, with_token(token))
    assert resubmitted.status_code == 200, resubmitted.body
    assert resubmitted.json_body == {"participant_id": participant_id,
                                     "status": "PENDING_VERIFICATION", "submissions": 2,
                                     "changed": ["name"], "warnings": []}
    queue = client.http.get("/v1/verification-queue",
                            headers=verifier(auth_header)).json_body["items"]
    assert [(i["id"], i["submissions"]) for i in queue] == [(participant_id, 2)]

    view = client.http.get(path, headers=with_token(token)).json_body
    assert (view["name"], view["status"], view["rejection_reasons"]) == (
        "Budi Santoso", "PENDING_VERIFICATION", [])
    assert [r["reasons"] for r in view["rejections"]] == [["Nama tidak sesuai KTP"]]
    assert view["rejections"][0]["by"] == "user-verifier"
    history = client.http.get(f"{path}/history", headers=verifier(auth_header)).json_body
    assert [(e["action"], e["actor"]) for e in history["items"]] == [
        ("SUBMITTED", f"applicant:{participant_id}"), ("REJECTED", "user-verifier"),
        ("RESUBMITTED", f"applicant:{participant_id}")]
    assert history["items"][1]["reason"] == "Nama tidak sesuai KTP"
    approved = post(client, f"{path}/verification", {"decision": "APPROVE"},
                    verifier(auth_header))
    assert approved.json_body["status"] == "VERIFIED"


def test_a_corrected_nik_moves_the_uniqueness_key(client, auth_header):
    typo, right = a_nik(serial=6), a_nik(serial=7)
    created = post(client, "/v1/participants", a_bpu_participant(nik=typo)).json_body
    path = f"/v1/participants/{created['participant_id']}"
    post(client, f"{path}/verification", {"decision": "REJECT", "reasons": ["NIK salah"]},
         verifier(auth_header))
    taken = post(client, "/v1/participants", a_bpu_participant(nik=a_nik(serial=8)))
    clash = put(client, path, a_bpu_participant(nik=a_nik(serial=8)),
                with_token(created["application_token"]))
    assert taken.status_code == 201 and clash.status_code == 409
    assert clash.json_body["error"]["code"] == "DUPLICATE_NIK"
    still = client.http.get(path, headers=verifier(auth_header)).json_body
    assert (still["status"], still["nik"]) == ("REJECTED", typo)  # nothing half-written

    moved = put(client, path, a_bpu_participant(nik=right),
                with_token(created["application_token"]))
    assert moved.status_code == 200 and moved.json_body["changed"] == ["nik"]
    reuse_typo = post(client, "/v1/participants", a_bpu_participant(nik=typo))
    assert reuse_typo.status_code == 201  # the old NIK is free again
    again = post(client, "/v1/participants", a_bpu_participant(nik=right))
    assert again.json_body["error"]["code"] == "DUPLICATE_NIK"
    assert "NIK ini sudah terdaftar" in again.json_body["error"]["message"]


def test_resubmission_rules(client, auth_header):
    created = post(client, "/v1/participants", a_bpu_participant(nik=a_nik(serial=11))).json_body
    path = f"/v1/participants/{created['participant_id']}"
    headers = with_token(created["application_token"])
    pending = put(client, path, a_bpu_participant(nik=a_nik(serial=11)), headers)
    assert (pending.status_code, pending.json_body["error"]["code"]) == (409, "NOT_REJECTED")
    post(client, f"{path}/verification", {"decision": "REJECT", "reasons": ["KTP buram"]},
         verifier(auth_header))
    segment = put(client, path, {**a_bpu_participant(nik=a_nik(serial=11)), "segment": "JK"},
                  headers)
    assert (segment.status_code, segment.json_body["error"]["field"]) == (400, "project")
    segment = put(client, path, a_pu_participant(nik=a_nik(serial=11)), headers)
    assert (segment.status_code, segment.json_body["error"]["code"]) == (400, "SEGMENT_CHANGED")
    assert segment.json_body["error"]["field"] == "segment"
    invalid = put(client, path, {**a_bpu_participant(nik=a_nik(serial=11)), "phone": "12"},
                  headers)
    assert invalid.status_code == 400 and invalid.json_body["error"]["field"] == "phone"
    other_branch = put(client, path, a_bpu_participant(nik=a_nik(serial=11)),
                       verifier(auth_header, "MDN"))
    assert other_branch.json_body["error"]["code"] == "BRANCH_FORBIDDEN"
    by_staff = put(client, path, a_bpu_participant(nik=a_nik(serial=11)), verifier(auth_header))
    assert by_staff.status_code == 200


def test_rejected_employer_resubmits_and_is_approved(client, auth_header):
    created = post(client, "/v1/employers", an_employer(branch_code="BLT")).json_body
    path = f"/v1/employers/{created['employer_id']}"
    post(client, f"{path}/verification", {"decision": "REJECT", "reasons": ["NIB tidak aktif"]},
         verifier(auth_header))
    resubmitted = put(client, path, an_employer(branch_code="BLT", nib="9120001234999"),
                      with_token(created["application_token"]))
    assert resubmitted.status_code == 200, resubmitted.body
    assert resubmitted.json_body["changed"] == ["nib"]
    approved = post(client, f"{path}/verification", {"decision": "APPROVE"},
                    verifier(auth_header))
    assert approved.json_body["status"] == "VERIFIED"
    actions = [e["action"] for e in audit_trail(f"employer#{created['employer_id']}")]
    assert actions == ["SUBMITTED", "REJECTED", "RESUBMITTED", "APPROVED"]


# ----------------------------------------------------------------------- rule warnings

def test_rule_warnings_come_back_in_the_201_and_reach_the_verifier(client, auth_header,
                                                                   parties):
    employer = parties.employer()
    low = post(client, "/v1/participants", a_pu_participant(
        employer_npp=employer["npp"], monthly_wage=2_000_000, nik=a_nik(serial=21)))
    assert low.status_code == 201
    [warning] = low.json_body["warnings"]
    assert (warning["code"], warning["field"]) == ("BELOW_MINIMUM_WAGE", "monthly_wage")
    assert "di bawah upah minimum provinsi Rp2.305.984" in warning["message"]

    from datetime import date

    teen_birth = date(2010, 3, 4)  # 16 on 20 November 2026
    teen = post(client, "/v1/participants", a_bpu_participant(
        nik=a_nik(teen_birth, serial=22), birth_date="2010-03-04"))
    assert [w["code"] for w in teen.json_body["warnings"]] == ["AGE_BELOW_ADULT"]
    queue = client.http.get("/v1/verification-queue",
                            headers=verifier(auth_header)).json_body["items"]
    assert {i["id"]: i["warnings"] for i in queue if i["kind"] == "PARTICIPANT"} == {
        low.json_body["participant_id"]: ["BELOW_MINIMUM_WAGE"],
        teen.json_body["participant_id"]: ["AGE_BELOW_ADULT"]}

    child = post(client, "/v1/participants", a_bpu_participant(
        nik=a_nik(date(2013, 1, 1), serial=23), birth_date="2013-01-01"))
    assert child.status_code == 400
    assert (child.json_body["error"]["field"], child.json_body["error"]["message"]) == (
        "birth_date", "Usia 13 tahun di bawah batas usia minimal 15 tahun untuk peserta BPU")


def test_reject_mode_refuses_a_wage_below_the_minimum_and_writes_nothing(client, auth_header,
                                                                         stack, parties):
    from chalicelib.bootstrap import Container, override

    employer = parties.employer()
    override(Container(stack.settings.model_copy(update={"minimum_wage_mode": "REJECT"}),
                       clock=ticking(NOV_20)))
    body = a_pu_participant(employer_npp=employer["npp"], monthly_wage=2_000_000,
                            nik=a_nik(serial=31))
    refused = post(client, "/v1/participants", body)
    assert refused.status_code == 400
    assert refused.json_body["error"]["field"] == "monthly_wage"
    accepted = post(client, "/v1/participants", {**body, "monthly_wage": 2_400_000})
    assert accepted.status_code == 201  # the NIK was not taken by the refused request


# ----------------------------------------------------------------------- wages and leaving

@pytest.fixture
def worker(parties, client, auth_header):
    employer = parties.employer()
    body = a_pu_participant(employer_npp=employer["npp"], monthly_wage=5_000_000,
                            nik=a_nik(serial=41))
    created = post(client, "/v1/participants", body).json_body
    approved = post(client, f"/v1/participants/{created['participant_id']}/verification",
                    {"decision": "APPROVE"}, verifier(auth_header)).json_body
    return {"employer": employer, "body": body, **approved,
            "as_employer": auth_header("EMPLOYER", branch=None, npp=employer["npp"])}


def test_wage_change_applies_from_its_period_for_billing(client, stack, worker):
    path = f"/v1/participants/{worker['participant_id']}/wage-changes"
    response = post(client, path, {"effective_period": "2027-01", "wage": 6_000_000},
                    worker["as_employer"])
    assert response.status_code == 201, response.body
    assert response.json_body["wage_history"] == [{"from": "2026-11", "wage": 5_000_000},
                                                  {"from": "2027-01", "wage": 6_000_000}]
    assert response.json_body["monthly_wage"] == 5_000_000
    employment = stack.registration.store.employment(worker["employer"]["employer_id"],
                                                     worker["participant_id"])
    assert [employment.wage_for(p) for p in ("2026-11", "2026-12", "2027-01", "2027-06")] == [
        5_000_000, 5_000_000, 6_000_000, 6_000_000]
    again = post(client, path, {"effective_period": "2027-01", "wage": 6_500_000},
                 worker["as_employer"])
    assert again.json_body["wage_history"][-1] == {"from": "2027-01", "wage": 6_500_000}
    [entry, second] = [e for e in audit_trail(f"participant#{worker['participant_id']}")
                       if e["action"] == "WAGE_CHANGED"]
    assert entry["details"] == {"effective_period": "2027-01", "wage": 6_000_000}
    assert entry["actor"] == "user-employer"


BAD_WAGE_CHANGES = [
    ({"effective_period": "2026-10", "wage": 6_000_000}, "effective_period"),
    ({"effective_period": "2028-01", "wage": 6_000_000}, "effective_period"),
    ({"effective_period": "2026-13", "wage": 6_000_000}, "effective_period"),
    ({"effective_period": "2027-01", "wage": "6000000"}, "wage"),
    ({"effective_period": "2027-01", "wage": 0}, "wage"),
    ({"effective_period": "2027-01"}, "wage"),
    ({"effective_period": "2027-01", "wage": 6_000_000, "bonus": 1}, "bonus"),
]


def test_bad_wage_changes_are_400_naming_the_field(client, worker, stack):
    path = f"/v1/participants/{worker['participant_id']}/wage-changes"
    for body, field in BAD_WAGE_CHANGES:
        response = post(client, path, body, worker["as_employer"])
        assert response.status_code == 400, (body, response.body)
        assert response.json_body["error"]["field"] == field, body
    assert stack.registration.store.participant(worker["participant_id"]).wage_history_list() \
        == [{"from": "2026-11", "wage": 5_000_000}]  # nothing written


def test_only_the_employer_or_its_branch_changes_wages(client, auth_header, worker):
    path = f"/v1/participants/{worker['participant_id']}/wage-changes"
    body = {"effective_period": "2027-01", "wage": 6_000_000}
    for headers, code in [
            (auth_header("EMPLOYER", branch=None, npp="000099992"), "NPP_FORBIDDEN"),
            (auth_header("PARTICIPANT", branch=None, kpj=worker["kpj"]), "ROLE_FORBIDDEN"),
            (auth_header("RECEIVABLES", branch="BLT"), "ROLE_FORBIDDEN"),
            (verifier(auth_header, "MDN"), "BRANCH_FORBIDDEN")]:
        response = post(client, path, body, headers)
        assert (response.status_code, response.json_body["error"]["code"]) == (403, code)
    assert post(client, path, body, verifier(auth_header)).status_code == 201
    bpu = Parties(client, auth_header)
    bpu._serial = 300
    member = bpu.bpu()
    not_pu = post(client, f"/v1/participants/{member['participant_id']}/wage-changes", body,
                  verifier(auth_header))
    assert not_pu.json_body["error"]["code"] == "NOT_A_PU_WORKER"


def test_a_worker_who_leaves_is_billed_through_that_month_then_inactive(client, auth_header,
                                                                        stack, worker, parties):
    path = f"/v1/participants/{worker['participant_id']}"
    left = post(client, f"{path}/employment-end",
                {"last_working_day": "2026-11-25", "reason": "RESIGNED"}, worker["as_employer"])
    assert left.status_code == 200, left.body
    assert left.json_body == {"participant_id": worker["participant_id"],
                              "last_working_day": "2026-11-25", "left_from": "2026-12",
                              "status": "VERIFIED"}
    employment = stack.registration.store.employment(worker["employer"]["employer_id"],
                                                     worker["participant_id"])
    assert employment.employed_in("2026-11") and not employment.employed_in("2026-12")
    twice = post(client, f"{path}/employment-end",
                 {"last_working_day": "2026-11-26", "reason": "RESIGNED"}, worker["as_employer"])
    assert twice.json_body["error"]["code"] == "ALREADY_LEFT"
    no_raise_after = post(client, f"{path}/wage-changes",
                          {"effective_period": "2027-01", "wage": 7_000_000},
                          worker["as_employer"])
    assert no_raise_after.json_body["error"]["code"] == "WORKER_LEFT"

    # still a member through November: the next employer cannot register them yet
    next_employer = parties.employer(name="PT Karya Baru")
    rehire = {**worker["body"], "employer_npp": next_employer["npp"]}
    too_soon = post(client, "/v1/participants", rehire)
    assert (too_soon.status_code, too_soon.json_body["error"]["code"]) == (409, "DUPLICATE_NIK")

    stack.clock = ticking(DEC_2)
    status = client.http.get(f"{path}/status", headers=auth_header(
        "PARTICIPANT", branch=None, kpj=worker["kpj"])).json_body
    assert (status["status"], status["left_from"]) == ("INACTIVE", "2026-12")
    # from December the next employer can register the same person, exactly once
    rehired = post(client, "/v1/participants", rehire)
    assert rehired.status_code == 201, rehired.body
    assert post(client, "/v1/participants", rehire).status_code == 409


BAD_LEAVING = [
    ({"last_working_day": "2026-09-30", "reason": "RESIGNED"}, "last_working_day"),
    ({"last_working_day": "2027-06-30", "reason": "RESIGNED"}, "last_working_day"),
    ({"last_working_day": "2026-11-25", "reason": "KABUR"}, "reason"),
    ({"last_working_day": "25-11-2026", "reason": "RESIGNED"}, "last_working_day"),
    ({"reason": "RESIGNED"}, "last_working_day"),
]


def test_bad_leaving_dates_are_400(client, worker, stack):
    for body, field in BAD_LEAVING:
        response = post(client, f"/v1/participants/{worker['participant_id']}/employment-end",
                        body, worker["as_employer"])
        assert response.status_code == 400, (body, response.body)
        assert response.json_body["error"]["field"] == field, body
    assert stack.registration.store.participant(worker["participant_id"]).left_from is None


# ----------------------------------------------------------------------- contact, consent

def test_participant_updates_phone_and_consent_is_asked_again(client, auth_header, stack,
                                                              worker):
    path = f"/v1/participants/{worker['participant_id']}"
    own = auth_header("PARTICIPANT", branch=None, kpj=worker["kpj"])
    opted = post(client, f"{path}/consents", {"channel": "WHATSAPP", "opted_in": True}, own)
    assert opted.status_code == 200, opted.body
    consent = stack.registration.consent(worker["participant_id"])
    assert consent["WHATSAPP"]["opted_in"] is True
    assert consent["WHATSAPP"]["at"].startswith("2026-11-20T03:00")
    assert consent["SMS"] == {"opted_in": False, "at": None}

    changed = patch(client, f"{path}/contact", {"phone": "0813-1111-2222"}, own)
    assert changed.status_code == 200, changed.body
    assert (changed.json_body["changed"], changed.json_body["phone"]) == (["phone"],
                                                                          "+6281311112222")
    assert stack.registration.consent(worker["participant_id"])["WHATSAPP"] == {
        "opted_in": False, "at": None}
    entry = [e for e in audit_trail(f"participant#{worker['participant_id']}")
             if e["action"] == "CONTACT_UPDATED"][0]
    assert entry["details"] == {"fields": ["phone"], "consent_reset": ["WHATSAPP"]}
    assert "81311112222" not in json.dumps(audit_trail(f"participant#{worker['participant_id']}"))
    assert stack.registration.store.participant_ids_by_phone("+6281311112222") == [
        worker["participant_id"]]


BAD_CONTACTS = [
    ({}, "body"), ({"phone": "021-555-1234"}, "phone"), ({"email": "budi@"}, "email"),
    ({"address": {"street": "Jl"}}, "address.street"), ({"fax": "1"}, "fax"),
]


def test_bad_contact_updates_are_400_in_indonesian(client, auth_header, worker):
    for body, field in BAD_CONTACTS:
        response = patch(client, f"/v1/participants/{worker['participant_id']}/contact", body,
                         auth_header("PARTICIPANT", branch=None, kpj=worker["kpj"]))
        assert response.status_code == 400, (body, response.body)
        error = response.json_body["error"]
        assert error["field"] == field, body
        assert any(w in error["message"] for w in ("Isi minimal", "harus", "tidak", "minimal",
                                                   "Kolom")), error


def test_consent_is_the_persons_own_and_needs_a_mobile_number(client, auth_header, worker):
    path = f"/v1/participants/{worker['participant_id']}/consents"
    by_employer = post(client, path, {"channel": "SMS", "opted_in": True}, worker["as_employer"])
    assert by_employer.json_body["error"]["code"] == "ROLE_FORBIDDEN"
    bad = post(client, path, {"channel": "EMAIL", "opted_in": True},
               auth_header("PARTICIPANT", branch=None, kpj=worker["kpj"]))
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "channel"
    not_bool = post(client, path, {"channel": "SMS", "opted_in": "ya"},
                    auth_header("PARTICIPANT", branch=None, kpj=worker["kpj"]))
    assert not_bool.status_code == 400 and not_bool.json_body["error"]["field"] == "opted_in"
    # the employer's phone in the builder is a landline: no WhatsApp/SMS to opt into
    landline = post(client, f"/v1/employers/{worker['employer']['employer_id']}/consents",
                    {"channel": "WHATSAPP", "opted_in": True}, worker["as_employer"])
    assert landline.json_body["error"]["code"] == "NO_MOBILE_NUMBER"
    contact = patch(client, f"/v1/employers/{worker['employer']['employer_id']}/contact",
                    {"phone": "0812-9999-0000", "contact_person": "Rina Wati"},
                    worker["as_employer"])
    assert contact.json_body["changed"] == ["contact_person", "phone"]
    mobile = post(client, f"/v1/employers/{worker['employer']['employer_id']}/consents",
                  {"channel": "WHATSAPP", "opted_in": True}, worker["as_employer"])
    assert mobile.json_body["consent"]["WHATSAPP"]["opted_in"] is True


def test_blast_reads_recipients_and_records_keyword_opt_outs(stack, worker):
    registration = stack.registration
    view = registration.recipient("PARTICIPANT", worker["participant_id"])
    assert (view["name"], view["phone"], view["kpj"], view["branch"]) == (
        "Budi Santoso", "+6281234567890", worker["kpj"], "BLT")
    registration.record_consent("participant", worker["participant_id"], "SMS", False,
                                actor="blast:keyword", source="KEYWORD")
    batch = registration.recipients("PARTICIPANT", [worker["participant_id"], "missing"])
    assert list(batch) == [worker["participant_id"]]
    assert batch[worker["participant_id"]]["consent"]["SMS"]["opted_in"] is False
    assert batch[worker["participant_id"]]["consent"]["SMS"]["at"] is not None


# ----------------------------------------------------------------------- who sees what

def test_employers_see_their_own_workers_and_staff_their_branch(client, auth_header, worker,
                                                                parties):
    path = f"/v1/participants/{worker['participant_id']}/status"
    assert client.http.get(path, headers=worker["as_employer"]).status_code == 200
    assert client.http.get(path, headers=auth_header("RECEIVABLES", branch="BLT")
                           ).status_code == 200
    for headers, code in [(auth_header("EMPLOYER", branch=None, npp="000099992"),
                           "NPP_FORBIDDEN"),
                          (auth_header("RECEIVABLES", branch="MDN"), "BRANCH_FORBIDDEN"),
                          (auth_header("PARTICIPANT", branch=None, kpj="00000000000"),
                           "KPJ_FORBIDDEN")]:
        response = client.http.get(path, headers=headers)
        assert (response.status_code, response.json_body["error"]["code"]) == (403, code)

    employer_id = worker["employer"]["employer_id"]
    second = post(client, "/v1/participants", a_pu_participant(
        employer_npp=worker["employer"]["npp"], nik=a_nik(serial=42), name="Siti Aminah"))
    assert second.status_code == 201
    first_page = client.http.get(f"/v1/employers/{employer_id}/workers?limit=1",
                                 headers=worker["as_employer"]).json_body
    assert len(first_page["items"]) == 1 and first_page["next_token"]
    second_page = client.http.get(
        f"/v1/employers/{employer_id}/workers?limit=1&next_token={first_page['next_token']}",
        headers=worker["as_employer"]).json_body
    names = {first_page["items"][0]["name"], second_page["items"][0]["name"]}
    assert names == {"Budi Santoso", "Siti Aminah"}
    statuses = {i["status"] for i in first_page["items"] + second_page["items"]}
    assert statuses == {"VERIFIED", "PENDING_VERIFICATION"}
    other = client.http.get(f"/v1/employers/{employer_id}/workers",
                            headers=auth_header("EMPLOYER", branch=None, npp="000099992"))
    assert other.status_code == 403
    bad_page = client.http.get(f"/v1/employers/{employer_id}/workers?limit=500",
                               headers=worker["as_employer"])
    assert bad_page.status_code == 400 and bad_page.json_body["error"]["field"] == "limit"
    bad_token = client.http.get(f"/v1/employers/{employer_id}/workers?next_token=%%%",
                                headers=worker["as_employer"])
    assert bad_token.status_code == 400
