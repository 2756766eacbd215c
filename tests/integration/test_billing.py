"""Monthly billing on moto: bills to the rupiah, idempotent generation, codes, payments."""
from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.shared_kernel.calendar import JAKARTA
from tests.integration.factories import Parties, drain, post, run_schedule

NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA)
DEC_1 = datetime(2026, 12, 1, 0, 5, tzinfo=JAKARTA)


@pytest.fixture
def at(stack):
    def set_clock(moment: datetime):
        stack.clock = lambda: moment
    set_clock(NOV_20)
    return set_clock


@pytest.fixture
def parties(client, auth_header, at):
    return Parties(client, auth_header)


@pytest.fixture
def billed(client, parties, at):
    """An employer with two workers (5,000,000 and 12,000,000) and a BPU participant,
    registered in November 2026 and billed on 1 December."""
    employer = parties.employer(jkk_risk_class=2)
    parties.worker(employer["npp"], 5_000_000)
    parties.worker(employer["npp"], 12_000_000)
    bpu = parties.bpu(1_000_000)
    at(DEC_1)
    result = run_schedule("generate_monthly_bills", DEC_1)
    return {"employer": employer, "bpu": bpu, "run": result}


def bills_of(client, auth_header, **query):
    path = "/v1/bills?" + "&".join(f"{k}={v}" for k, v in query.items())
    response = client.http.get(path, headers=auth_header("RECEIVABLES", branch="BLT"))
    assert response.status_code == 200, response.body
    return response.json_body["items"]


def test_employer_bill_itemises_each_worker_to_the_rupiah(client, auth_header, billed):
    assert billed["run"]["pu_created"] == 1 and billed["run"]["bpu_created"] == 1
    [bill] = bills_of(client, auth_header, npp=billed["employer"]["npp"])
    assert bill["period"] == "2026-11"
    assert bill["due_date"] == "2026-12-15"
    assert bill["status"] == "OPEN"
    # 5,000,000: employer 27,000+15,000+185,000+100,000; worker 100,000+50,000
    # 12,000,000 (JP on the 2026 cap 11,086,300): employer 64,800+36,000+444,000+221,726;
    # worker 240,000+110,863
    assert bill["employer_total"] == 327_000 + 766_526
    assert bill["worker_total"] == 150_000 + 350_863
    assert bill["amount_due"] == 1_594_389
    assert bill["fine"] == 0
    detail = client.http.get(f"/v1/bills/{bill['bill_id']}",
                             headers=auth_header("RECEIVABLES", branch="BLT")).json_body
    assert sorted(w["wage"] for w in detail["workers"]) == [5_000_000, 12_000_000]
    jp = [l for w in detail["workers"] for l in w["lines"]
          if l["program"] == "JP" and l["payer"] == "EMPLOYER"]
    assert sorted(l["amount"] for l in jp) == [100_000, 221_726]


def test_bpu_bill_is_for_this_month_due_the_15th(client, auth_header, billed):
    [bill] = bills_of(client, auth_header, kpj=billed["bpu"]["kpj"])
    assert (bill["period"], bill["due_date"], bill["amount_due"]) == ("2026-12", "2026-12-15",
                                                                     16_800)
    assert [(l["program"], l["amount"]) for l in bill["lines"]] == [("JKK", 10_000),
                                                                   ("JKM", 6_800)]


def test_generating_twice_creates_nothing_new(client, auth_header, billed):
    again = run_schedule("generate_monthly_bills", DEC_1)
    assert again["pu_created"] == 0 and again["pu_skipped"] == 1
    assert again["bpu_created"] == 0 and again["bpu_skipped"] == 1
    assert len(bills_of(client, auth_header, npp=billed["employer"]["npp"])) == 1


def test_payment_code_carries_a_check_digit(client, auth_header, billed):
    from chalicelib.shared_kernel.check_digits import has_valid_check_digit

    [bill] = bills_of(client, auth_header, kpj=billed["bpu"]["kpj"])
    code = bill["payment_code"]
    assert len(code) == 12 and has_valid_check_digit(code)
    mistyped = code[:-2] + str((int(code[-2]) + 1) % 10) + code[-1]
    assert not has_valid_check_digit(mistyped)


def test_overdue_bill_owes_two_percent_per_started_month(client, auth_header, billed, at):
    at(datetime(2027, 1, 20, 9, 0, tzinfo=JAKARTA))  # 1 month 5 days late: two started months
    [bill] = bills_of(client, auth_header, npp=billed["employer"]["npp"])
    assert bill["status"] == "OVERDUE"
    # per program: JKK 91,800 JKM 51,000 JHT 969,000 JP 482,589 -> 4 % each, rounded half-up
    assert bill["fine"] == 3_672 + 2_040 + 38_760 + 19_304
    assert bill["amount_due"] == 1_594_389 + bill["fine"]


def test_reissued_code_retires_the_old_one_and_is_audited(client, auth_header, billed):
    [bill] = bills_of(client, auth_header, kpj=billed["bpu"]["kpj"])
    response = post(client, f"/v1/bills/{bill['bill_id']}/payment-code",
                    {"reason": "kode hilang, diminta peserta"},
                    auth_header("RECEIVABLES", branch="BLT"))
    assert response.status_code == 201, response.body
    assert response.json_body["replaces"] == bill["payment_code"]
    assert response.json_body["payment_code"] != bill["payment_code"]
    from chalicelib.shared_kernel.records import audit_trail

    [entry] = audit_trail(f"bill#{bill['bill_id']}")
    assert entry["action"] == "PAYMENT_CODE_ISSUED" and entry["actor"] == "user-receivables"


def test_participant_cannot_reissue_codes(client, auth_header, billed):
    [bill] = bills_of(client, auth_header, kpj=billed["bpu"]["kpj"])
    response = post(client, f"/v1/bills/{bill['bill_id']}/payment-code", {"reason": "saya"},
                    auth_header("PARTICIPANT", branch=None, kpj=billed["bpu"]["kpj"]))
    assert response.status_code == 403


def test_manual_payment_posts_once_and_credits_jht(client, auth_header, billed):
    [bill] = bills_of(client, auth_header, npp=billed["employer"]["npp"])
    body = {"amount": 1_594_389, "receipt_number": "KW-2026-0001", "reason": "setor tunai"}
    first = post(client, f"/v1/bills/{bill['bill_id']}/payments", body,
                 auth_header("RECEIVABLES", branch="BLT"))
    assert first.status_code == 201, first.body
    retry = post(client, f"/v1/bills/{bill['bill_id']}/payments", body,
                 auth_header("RECEIVABLES", branch="BLT"))
    assert retry.json_body["payment_id"] == first.json_body["payment_id"]
    assert drain("payments") == 1
    [paid] = bills_of(client, auth_header, npp=billed["employer"]["npp"])
    assert (paid["status"], paid["amount_due"], paid["payment_code"]) == ("PAID", 0, None)

    detail = client.http.get(f"/v1/bills/{bill['bill_id']}",
                             headers=auth_header("RECEIVABLES", branch="BLT")).json_body
    worker = next(w for w in detail["workers"] if w["wage"] == 5_000_000)
    jht = client.http.get(f"/v1/participants/{worker['participant_id']}/jht",
                          headers=auth_header("RECEIVABLES", branch="BLT")).json_body
    assert jht["balance"] == 185_000 + 100_000
    status = client.http.get(f"/v1/participants/{worker['participant_id']}/status",
                             headers=auth_header("RECEIVABLES", branch="BLT")).json_body
    assert (status["status"], status["paid_through"]) == ("ACTIVE", "2026-11")


def test_wrong_amount_is_refused_and_nothing_is_written(client, auth_header, billed):
    [bill] = bills_of(client, auth_header, kpj=billed["bpu"]["kpj"])
    response = post(client, f"/v1/bills/{bill['bill_id']}/payments",
                    {"amount": 16_000, "receipt_number": "KW-9", "reason": "setor tunai"},
                    auth_header("RECEIVABLES", branch="BLT"))
    assert response.status_code == 409
    assert response.json_body["error"]["code"] == "AMOUNT_MISMATCH"
    [still] = bills_of(client, auth_header, kpj=billed["bpu"]["kpj"])
    assert still["status"] == "OPEN"


def test_quote_endpoint_is_public_and_follows_the_contract(client):
    response = post(client, "/v1/contributions/quote",
                    {"segment": "PU", "period": "2026-11", "wage": 5_000_000, "risk_class": 2,
                     "programs": ["JKK", "JKM", "JHT", "JP"]})
    assert response.status_code == 200, response.body
    body = response.json_body
    assert (body["employer_total"], body["worker_total"], body["total"]) == (327_000, 150_000,
                                                                            477_000)
    assert body["lines"][0] == {"program": "JKK", "payer": "EMPLOYER", "base": 5_000_000,
                                "rate": "0.0054", "amount": 27_000}


@pytest.mark.parametrize("body, field", [
    ({"segment": "XX", "period": "2026-11", "wage": 1}, "segment"),
    ({"segment": "PU", "period": "2026-13", "wage": 5_000_000, "risk_class": 2}, "period"),
    ({"segment": "PU", "period": "2026-11", "wage": 5_000_000, "risk_class": 6}, "risk_class"),
    ({"segment": "PU", "period": "2026-11", "wage": -5, "risk_class": 2}, "wage"),
    ({"segment": "PU", "period": "2026-11", "wage": "5000000", "risk_class": 2}, "wage"),
])
def test_bad_quote_input_is_a_400_naming_the_field(client, body, field):
    response = post(client, "/v1/contributions/quote", body)
    assert response.status_code == 400, response.body
    assert field in response.json_body["error"]["field"]


def test_quote_for_a_period_without_rules_is_422(client):
    response = post(client, "/v1/contributions/quote",
                    {"segment": "PU", "period": "2010-01", "wage": 5_000_000, "risk_class": 2})
    assert response.status_code == 422
    assert response.json_body["error"]["code"] == "NO_RULE_FOR_PERIOD"


def test_bpu_prepays_three_months_with_one_code(client, auth_header, billed, at):
    kpj = billed["bpu"]["kpj"]
    [december] = bills_of(client, auth_header, kpj=kpj)
    december_detail = client.http.get(f"/v1/bills/{december['bill_id']}",
                                  headers=auth_header("RECEIVABLES", branch="BLT")).json_body
    participant_id = december["bill_id"].split("-", 3)[3]
    response = post(client, f"/v1/participants/{participant_id}/prepayments", {"months": 3},
                    auth_header("PARTICIPANT", branch=None, kpj=kpj))
    assert response.status_code == 201, response.body
    body = response.json_body
    assert body["periods"] == ["2026-12", "2027-01", "2027-02"]
    assert body["amount_due"] == 3 * 16_800
    bills = bills_of(client, auth_header, kpj=kpj)
    assert [b["payment_code"] for b in bills] == [body["payment_code"]] * 3
    # the December bill's own code was retired; the new one settles all three months
    from chalicelib.bootstrap import container
    from chalicelib.billing.payments import CodeProblem

    with pytest.raises(CodeProblem) as problem:
        container().payments.lookup(december_detail["payment_code"], DEC_1.date())
    assert problem.value.reason == "EXPIRED"
    lookup = container().payments.lookup(body["payment_code"], DEC_1.date())
    assert lookup.amount_due == 50_400
    # the January run finds January already billed
    at(datetime(2027, 1, 1, 0, 5, tzinfo=JAKARTA))
    run = run_schedule("generate_monthly_bills", datetime(2027, 1, 1, 0, 5, tzinfo=JAKARTA))
    assert run["bpu_created"] == 0 and run["bpu_skipped"] == 1


def test_prepayment_months_must_be_1_3_6_or_12(client, auth_header, billed):
    [december] = bills_of(client, auth_header, kpj=billed["bpu"]["kpj"])
    participant_id = december["bill_id"].split("-", 3)[3]
    response = post(client, f"/v1/participants/{participant_id}/prepayments", {"months": 4},
                    auth_header("RECEIVABLES", branch="BLT"))
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "PREPAYMENT_MONTHS"
