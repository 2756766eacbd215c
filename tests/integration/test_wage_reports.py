"""Monthly wage reports on moto: wages carried over, corrections re-issuing the unpaid bill,
paid periods refused, bad input refused whole."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from chalicelib.shared_kernel.calendar import JAKARTA
from tests.integration.factories import Parties, post, run_schedule

NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA)
DEC_1 = datetime(2026, 12, 1, 0, 5, tzinfo=JAKARTA)
DEC_5 = datetime(2026, 12, 5, 9, 0, tzinfo=JAKARTA)
JAN_1 = datetime(2027, 1, 1, 0, 5, tzinfo=JAKARTA)
JAN_5 = datetime(2027, 1, 5, 9, 0, tzinfo=JAKARTA)

# Risk class 2. 5,000,000: employer 27,000+15,000+185,000+100,000, worker 100,000+50,000.
# 6,000,000: employer 32,400+18,000+222,000+120,000, worker 120,000+60,000.
# 12,000,000 (JP on the 2026 cap 11,086,300): employer 766,526, worker 350,863.
AT_5M = 327_000 + 150_000 + 766_526 + 350_863          # 1,594,389
AT_6M = 392_400 + 180_000 + 766_526 + 350_863          # 1,689,789


@pytest.fixture
def clock(stack):
    def set_clock(moment: datetime):
        stack.clock = lambda: moment
    set_clock(NOV_20)
    return set_clock


@pytest.fixture
def employer(client, auth_header, clock):
    parties = Parties(client, auth_header)
    employer = parties.employer(jkk_risk_class=2)
    first = parties.worker(employer["npp"], 5_000_000)
    second = parties.worker(employer["npp"], 12_000_000)
    return {**employer, "first": first, "second": second}


def as_employer(auth_header, employer):
    return auth_header("EMPLOYER", branch=None, npp=employer["npp"])


def report(client, auth_header, employer, period, rows, ref=None, headers=None):
    return post(client, f"/v1/employers/{ref or employer['employer_id']}/wage-reports",
                {"period": period, "rows": rows}, headers or as_employer(auth_header, employer))


def bills(client, auth_header, employer):
    response = client.http.get(f"/v1/bills?npp={employer['npp']}",
                               headers=auth_header("RECEIVABLES", branch="BLT"))
    assert response.status_code == 200, response.body
    return {b["bill_id"]: b for b in response.json_body["items"]}


def open_bill(client, auth_header, employer, period):
    [bill] = [b for b in bills(client, auth_header, employer).values()
              if b["period"] == period and b["status"] in ("OPEN", "OVERDUE")]
    return bill


def test_reported_wage_is_billed_and_carried_over_to_the_next_month(
        client, auth_header, employer, clock):
    answer = report(client, auth_header, employer, "2026-11",
                    [{"kpj": employer["first"]["kpj"], "wage": 6_000_000}])
    assert answer.status_code == 201, answer.body
    body = answer.json_body
    assert (body["workers_reported"], body["workers_carried_over"], body["bill"]) == (1, 1, None)

    clock(DEC_1)
    run_schedule("generate_monthly_bills", DEC_1)
    assert open_bill(client, auth_header, employer, "2026-11")["amount_due"] == AT_6M
    clock(JAN_1)                                     # no report for December: 6,000,000 stays
    run_schedule("generate_monthly_bills", JAN_1)
    december = open_bill(client, auth_header, employer, "2026-12")
    assert december["contribution"] == AT_6M

    stored = client.http.get(f"/v1/employers/{employer['npp']}/wage-reports/2026-11",
                             headers=as_employer(auth_header, employer))
    assert stored.status_code == 200 and stored.json_body["rows"] == [
        {"kpj": employer["first"]["kpj"], "wage": 6_000_000}]


def test_correction_before_payment_supersedes_the_bill_and_its_code(
        client, auth_header, employer, clock):
    from chalicelib.billing.store import PaymentCodeRecord

    clock(DEC_1)
    run_schedule("generate_monthly_bills", DEC_1)
    before = open_bill(client, auth_header, employer, "2026-11")
    assert before["amount_due"] == AT_5M
    clock(DEC_5)
    answer = report(client, auth_header, employer, "2026-11",
                    [{"kpj": employer["first"]["kpj"], "wage": 6_000_000},
                     {"kpj": employer["second"]["kpj"], "wage": 12_000_000}])
    assert answer.status_code == 201, answer.body
    corrected = answer.json_body["bill"]
    assert answer.json_body["superseded_bill_id"] == before["bill_id"]
    assert corrected["bill_id"] == before["bill_id"] + "-K1"
    assert corrected["amount_due"] == AT_6M and corrected["due_date"] == "2026-12-15"
    assert corrected["payment_code"] != before["payment_code"]
    assert PaymentCodeRecord.get(before["payment_code"]).status == "SUPERSEDED"
    old = client.http.get(f"/v1/bills/{before['bill_id']}",
                          headers=as_employer(auth_header, employer)).json_body
    assert old["status"] == "SUPERSEDED" and old["payment_code"] is None
    assert open_bill(client, auth_header, employer, "2026-11")["bill_id"] == corrected["bill_id"]

    # the same report again changes nothing and issues no third bill
    again = report(client, auth_header, employer, "2026-11",
                   [{"kpj": employer["first"]["kpj"], "wage": 6_000_000}])
    assert again.status_code == 201 and again.json_body["superseded_bill_id"] is None
    assert again.json_body["bill"]["bill_id"] == corrected["bill_id"]
    assert len(bills(client, auth_header, employer)) == 2
    # generation for the period stays idempotent after a correction
    assert run_schedule("generate_monthly_bills", DEC_1)["pu_created"] == 0


def test_correcting_a_past_month_leaves_later_billed_months_as_billed(
        client, auth_header, employer, clock):
    clock(DEC_1)
    run_schedule("generate_monthly_bills", DEC_1)
    clock(JAN_1)
    run_schedule("generate_monthly_bills", JAN_1)
    december = open_bill(client, auth_header, employer, "2026-12")
    clock(JAN_5)
    answer = report(client, auth_header, employer, "2026-11",
                    [{"kpj": employer["first"]["kpj"], "wage": 6_000_000}])
    assert answer.status_code == 201, answer.body
    assert answer.json_body["bill"]["amount_due"] > AT_6M       # November, now with its fine
    assert open_bill(client, auth_header, employer, "2026-12") == december
    from chalicelib.registration.store import EmploymentRecord

    history = json.loads(EmploymentRecord.get(employer["employer_id"],
                                              employer["first"]["participant_id"]).wage_history)
    assert history == [{"from": "2026-11", "wage": 6_000_000},
                       {"from": "2026-12", "wage": 5_000_000}]


def test_a_paid_period_is_refused_and_nothing_changes(client, auth_header, employer, clock):
    clock(DEC_1)
    run_schedule("generate_monthly_bills", DEC_1)
    bill = open_bill(client, auth_header, employer, "2026-11")
    paid = post(client, f"/v1/bills/{bill['bill_id']}/payments",
                {"amount": AT_5M, "receipt_number": "KW-1", "reason": "setor tunai"},
                auth_header("RECEIVABLES", branch="BLT"))
    assert paid.status_code == 201, paid.body
    answer = report(client, auth_header, employer, "2026-11",
                    [{"kpj": employer["first"]["kpj"], "wage": 6_000_000}])
    assert answer.status_code == 409
    assert answer.json_body["error"]["code"] == "PERIOD_ALREADY_PAID"
    from chalicelib.registration.store import EmploymentRecord

    assert json.loads(EmploymentRecord.get(
        employer["employer_id"], employer["first"]["participant_id"]).wage_history) == [
        {"from": "2026-11", "wage": 5_000_000}]


def test_csv_upload_with_the_npp_in_the_path(client, auth_header, employer):
    csv = (f"kpj,upah\n{employer['first']['kpj']},6000000\n"
           f"{employer['second']['kpj']},12500000\n")
    headers = {**as_employer(auth_header, employer), "Content-Type": "text/csv"}
    answer = client.http.post(f"/v1/employers/{employer['npp']}/wage-reports?period=2026-11",
                              body=csv, headers=headers)
    assert answer.status_code == 201, answer.body
    assert answer.json_body["workers_reported"] == 2
    assert answer.json_body["employer_id"] == employer["employer_id"]


@pytest.mark.parametrize("rows, status, code, field", [
    ([{"kpj": "00000000000", "wage": 6_000_000}], 400, "WAGE_REPORT_INVALID", "rows"),
    ([{"kpj": "FIRST", "wage": 0}], 400, "VALIDATION_FAILED", "rows.0.wage"),
    ([{"kpj": "FIRST", "wage": "6000000"}], 400, "VALIDATION_FAILED", "rows.0.wage"),
    ([{"kpj": "FIRST", "wage": 2_000_000_000}], 400, "VALIDATION_FAILED", "rows.0.wage"),
    ([{"kpj": "FIRST", "wage": 6_000_000}, {"kpj": "FIRST", "wage": 7_000_000}], 400,
     "WAGE_REPORT_INVALID", "rows"),
    ([], 400, "VALIDATION_FAILED", "rows"),
])
def test_bad_rows_refuse_the_whole_report(client, auth_header, employer, rows, status, code,
                                          field):
    rows = [{**r, "kpj": employer["first"]["kpj"] if r["kpj"] == "FIRST" else r["kpj"]}
            for r in rows]
    good = {"kpj": employer["second"]["kpj"], "wage": 13_000_000}
    answer = report(client, auth_header, employer, "2026-11", [good, *rows] if rows else [])
    assert answer.status_code == status, answer.body
    error = answer.json_body["error"]
    assert (error["code"], error.get("field")) == (code, field if rows == [] else
                                                    field.replace("rows.0", "rows.1"))
    if code == "WAGE_REPORT_INVALID":
        assert error["details"][0]["row"] == len(rows) + 1 and error["details"][0]["message"]
    from chalicelib.registration.store import EmploymentRecord

    second = EmploymentRecord.get(employer["employer_id"], employer["second"]["participant_id"])
    assert json.loads(second.wage_history) == [{"from": "2026-11", "wage": 12_000_000}]


def test_other_bad_requests_answer_a_stable_code(client, auth_header, employer):
    row = [{"kpj": employer["first"]["kpj"], "wage": 6_000_000}]
    cases = [
        (report(client, auth_header, employer, "2027-01", row), 400, "PERIOD_IN_FUTURE"),
        (report(client, auth_header, employer, "2026-13", row), 400, "VALIDATION_FAILED"),
        (report(client, auth_header, employer, "2026-11", row, ref="emp-nope"), 404,
         "EMPLOYER_NOT_FOUND"),
        (report(client, auth_header, employer, "2026-11", row,
                headers=auth_header("EMPLOYER", branch=None, npp="123456789")), 403,
         "NPP_FORBIDDEN"),
        (report(client, auth_header, employer, "2026-11", row,
                headers=auth_header("VERIFIER", branch="BLT")), 403, None),
        (client.http.post(f"/v1/employers/{employer['employer_id']}/wage-reports",
                          body="{not json", headers=as_employer(auth_header, employer)),
         400, "MALFORMED_JSON"),
        (client.http.post(f"/v1/employers/{employer['employer_id']}/wage-reports?period=2026-11",
                          body="nomor,gaji\n1,2\n",
                          headers={**as_employer(auth_header, employer),
                                   "Content-Type": "text/csv"}), 400, "CSV_HEADER_INVALID"),
        (client.http.get(f"/v1/employers/{employer['employer_id']}/wage-reports/2026-11",
                         headers=as_employer(auth_header, employer)), 404,
         "WAGE_REPORT_NOT_FOUND"),
        (client.http.get(f"/v1/employers/{employer['employer_id']}/wage-reports/11-2026",
                         headers=as_employer(auth_header, employer)), 400, "VALIDATION_FAILED"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.body
        if code:
            assert response.json_body["error"]["code"] == code
