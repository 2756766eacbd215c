"""Receivables on moto: the daily check (overdue, fines, policy steps once), pre-due
reminders, payments allocated oldest first, plans, exemptions, ageing, worklist, history,
compliance, and the faults the check must survive (twice a day, a crash, a bill paid while
it runs)."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from urllib.parse import quote

import pytest

from chalicelib.shared_kernel.calendar import JAKARTA
from tests.integration.factories import Parties, drain, post, run_schedule

NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA)
NOV_DUE = date(2026, 12, 15)      # the November 2026 PU bill's due date (a Tuesday)
WAGE = 5_000_000                  # risk class II: 477,000 a month, employer and worker
MONTHLY = 477_000
FINE_PER_MONTH = 9_540            # 2 % per program: 540 + 300 + 5,700 + 3,000


# ---------------------------------------------------------------------- helpers
def at_wib(day: date, hour: int = 1, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=JAKARTA)


class Clock:
    """Moves the app's clock and fires the schedules of each day, as EventBridge would."""

    def __init__(self, stack):
        self.stack = stack
        self.results: dict[tuple[str, date], dict] = {}

    def set(self, moment: datetime) -> None:
        self.stack.clock = lambda: moment

    def day(self, day: date, *, pre_due: bool = True) -> None:
        if day.day == 1:
            self.set(at_wib(day, 0, 5))
            run_schedule("generate_monthly_bills", at_wib(day, 0, 5))
        self.set(at_wib(day, 1))
        self.results[("check", day)] = run_schedule("check_due_dates", at_wib(day, 1))
        if pre_due:
            self.set(at_wib(day, 9))
            self.results[("pre_due", day)] = run_schedule("send_pre_due_reminders",
                                                          at_wib(day, 9))
        self.set(at_wib(day, 10))

    def replay(self, first: date, last: date, **kwargs) -> None:
        day = first
        while day <= last:
            self.day(day, **kwargs)
            day += timedelta(days=1)

    def days(self, *days: date, **kwargs) -> None:
        """Only the days that matter: the check catches up with whatever fell between."""
        for day in days:
            self.day(day, **kwargs)

    def bill_month(self, first_of_month: date) -> None:
        self.set(at_wib(first_of_month, 0, 5))
        run_schedule("generate_monthly_bills", at_wib(first_of_month, 0, 5))


def take(queue_key: str) -> list[dict]:
    """Every message waiting on a queue (received and deleted): what was enqueued."""
    from chalicelib.bootstrap import container
    from chalicelib.shared_kernel.aws import client
    from chalicelib.shared_kernel.resources import QUEUES

    sqs = client("sqs", container().settings.region)
    url = sqs.get_queue_url(QueueName=QUEUES[queue_key].name)["QueueUrl"]
    out = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return out
        for message in batch:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def keyed(messages: list[dict]) -> list[str]:
    return sorted(m["dedupe_key"] for m in messages)


def bill_of(party_key: str, period: str):
    from chalicelib.bootstrap import container

    return container().billing.store.bills_of_party(party_key, period)[0]


def debtor(party_key: str):
    from chalicelib.bootstrap import container

    return container().receivables.store.debtor(party_key)


def outstanding_index() -> set[str]:
    """The bill ids in the outstanding index (every shard)."""
    from chalicelib.billing.store import OUTSTANDING_SHARDS, OutstandingBillRecord

    return {entry.bill_id for shard in range(OUTSTANDING_SHARDS)
            for entry in OutstandingBillRecord.query(f"OUT#{shard}")}


def path_key(party_key: str) -> str:
    return quote(party_key, safe="")


@pytest.fixture
def clock(stack):
    c = Clock(stack)
    c.set(NOV_20)
    return c


@pytest.fixture
def parties(client, auth_header, clock):
    return Parties(client, auth_header)


@pytest.fixture
def employer(client, parties, clock):
    """An employer with one 5,000,000 worker, registered in November 2026, billed 1 Dec."""
    created = parties.employer(jkk_risk_class=2)
    parties.worker(created["npp"], WAGE)
    clock.set(at_wib(date(2026, 12, 1), 0, 5))
    run_schedule("generate_monthly_bills", at_wib(date(2026, 12, 1), 0, 5))
    take("reminders")
    return {**created, "key": f"EMP#{created['employer_id']}"}


def officer(auth_header):
    return auth_header("RECEIVABLES", branch="BLT")


# ---------------------------------------------------------------------- the daily check
def test_first_overdue_day_marks_the_bill_stores_the_fine_and_reminds_once_however_often(
        client, auth_header, employer, clock):
    clock.day(date(2026, 12, 15), pre_due=False)          # due today: nothing yet
    assert take("reminders") == []
    clock.day(date(2026, 12, 16), pre_due=False)
    bill = bill_of(employer["key"], "2026-11")
    assert (bill.status, int(bill.fine)) == ("OVERDUE", FINE_PER_MONTH)
    [message] = take("reminders")
    assert message["dedupe_key"] == f"policy:{employer['key']}:OVERDUE:2026-12-15"
    assert message["template"] == "overdue" and message["bill_id"] == bill.bill_id
    assert message["params"] == {"nama": bill.party_name, "periode": "2026-11",
                                 "jumlah": MONTHLY + FINE_PER_MONTH,
                                 "jatuh_tempo": "2026-12-15", "kode_bayar": bill.payment_code}
    record = debtor(employer["key"])
    assert (record.state, record.anchor, int(record.amount_owed)) == (
        "OVERDUE", "2026-12-15", MONTHLY + FINE_PER_MONTH)
    assert json.loads(record.next_action) == {"step": "OVERDUE_R1", "on": "2026-12-23"}
    # the same day again: no fine written twice, no action twice, the debtor not rewritten
    clock.set(at_wib(date(2026, 12, 16), 13))
    again = run_schedule("check_due_dates", at_wib(date(2026, 12, 16), 13))
    assert take("reminders") == []
    assert again.get("bills_updated", 0) == 0 and again.get("steps", 0) == 0
    assert debtor(employer["key"]).version == record.version
    assert int(bill_of(employer["key"], "2026-11").fine) == FINE_PER_MONTH


def test_a_crash_after_writing_leaves_actions_pending_and_the_next_run_sends_them_once(
        client, employer, clock, stack, monkeypatch):
    service = stack.receivables
    real_send = service.send_batch
    monkeypatch.setattr(service, "send_batch", lambda *a: (_ for _ in ()).throw(
        RuntimeError("SQS down")))
    clock.set(at_wib(date(2026, 12, 16), 1))
    with pytest.raises(RuntimeError):
        run_schedule("check_due_dates", at_wib(date(2026, 12, 16), 1))
    [pending] = list(service.store.pending_actions())
    assert pending.dedupe_key == f"policy:{employer['key']}:OVERDUE:2026-12-15"
    monkeypatch.setattr(service, "send_batch", real_send)
    result = run_schedule("check_due_dates", at_wib(date(2026, 12, 16), 1, 30))
    assert result["redriven"] == 1 and result.get("steps", 0) == 0
    assert keyed(take("reminders")) == [pending.dedupe_key]
    assert list(service.store.pending_actions()) == []


def test_a_bill_paid_while_the_check_runs_is_left_alone_and_not_chased(
        client, auth_header, employer, clock, stack, monkeypatch):
    store = stack.receivables.billing_store
    real_update = store.update_fine
    bill = bill_of(employer["key"], "2026-11")

    def paid_just_before(record, fine, status):
        clock.set(at_wib(date(2026, 12, 16), 0, 59))
        response = post(client, f"/v1/bills/{bill.bill_id}/payments",
                        {"amount": MONTHLY + FINE_PER_MONTH, "receipt_number": "KW-RACE",
                         "reason": "setor tunai"}, officer(auth_header))
        assert response.status_code == 201, response.body
        return real_update(record, fine, status)

    monkeypatch.setattr(store, "update_fine", paid_just_before)
    result = run_schedule("check_due_dates", at_wib(date(2026, 12, 16), 1))
    assert result["paid_meanwhile"] == 1 and result.get("steps", 0) == 0
    assert bill_of(employer["key"], "2026-11").status == "PAID"
    assert [m for m in take("reminders") if m["template"] != "payment_received"] == []
    assert debtor(employer["key"]) is None


def test_pre_due_reminders_7_3_1_days_before_once_each(client, employer, clock):
    clock.days(date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9), date(2026, 12, 12),
               date(2026, 12, 13), date(2026, 12, 14), date(2026, 12, 15))
    messages = [m for m in take("reminders") if m["template"] == "reminder_before_due"]
    key = employer["key"]
    assert keyed(messages) == sorted(f"policy:{key}:PRE_DUE_{d}:2026-12-15" for d in (7, 3, 1))
    assert {m["params"]["jumlah"] for m in messages} == {MONTHLY}
    clock.set(at_wib(date(2026, 12, 14), 15))
    run_schedule("send_pre_due_reminders", at_wib(date(2026, 12, 14), 15))  # again: nothing
    assert take("reminders") == []


def test_pre_due_catches_up_with_the_latest_reminder_only(client, employer, clock):
    clock.day(date(2026, 12, 13))                          # 2 days before: the 3-day one
    [message] = take("reminders")
    assert message["dedupe_key"].endswith(":PRE_DUE_3:2026-12-15")


# ---------------------------------------------------------------------- payments
def test_partial_payment_pays_the_oldest_month_first_and_keeps_the_rest_owed(
        client, auth_header, employer, clock):
    clock.days(date(2026, 12, 16), date(2027, 1, 1), date(2027, 1, 2), pre_due=False)
    take("reminders")
    on = date(2027, 1, 2)
    november = bill_of(employer["key"], "2026-11")
    # the daily check reads unpaid bills from their own index: both months are in it
    assert outstanding_index() == {november.bill_id, bill_of(employer["key"], "2026-12").bill_id}
    owed_nov = MONTHLY + FINE_PER_MONTH                    # one started month on 2 January
    response = post(client, f"/v1/receivables/debtors/{path_key(employer['key'])}/payments",
                    {"amount": owed_nov + 100_000, "receipt_number": "KW-0001",
                     "reason": "setor tunai sebagian"}, officer(auth_header))
    assert response.status_code == 201, response.body
    body = response.json_body
    assert body["allocation"] == [
        {"bill_id": november.bill_id, "period": "2026-11", "amount": owed_nov,
         "settled": True, "remaining": 0},
        {"bill_id": bill_of(employer["key"], "2026-12").bill_id, "period": "2026-12",
         "amount": 100_000, "settled": False, "remaining": MONTHLY - 100_000}]
    assert body["credit_added"] == 0
    assert bill_of(employer["key"], "2026-11").status == "PAID"
    december = bill_of(employer["key"], "2026-12")
    assert (december.status, int(december.amount_paid)) == ("OPEN", 100_000)
    # paid November left the index in the payment's transaction; part-paid December stays
    assert outstanding_index() == {december.bill_id}
    assert drain("payments") == 1
    # a retry of the same receipt answers the first result; another body is refused
    again = post(client, f"/v1/receivables/debtors/{path_key(employer['key'])}/payments",
                 {"amount": owed_nov + 100_000, "receipt_number": "KW-0001",
                  "reason": "setor tunai sebagian"}, officer(auth_header))
    assert again.status_code == 201 and again.json_body == body
    reused = post(client, f"/v1/receivables/debtors/{path_key(employer['key'])}/payments",
                  {"amount": 5, "receipt_number": "KW-0001", "reason": "lain"},
                  officer(auth_header))
    assert reused.status_code == 409
    assert reused.json_body["error"]["code"] == "RECEIPT_REUSED"
    # the debtor is CURRENT: nothing overdue any more (December is due 15 January)
    assert debtor(employer["key"]).state == "CURRENT"
    # ours (also for the partial part) and billing's for the settled bill: one dedupe key,
    # so blast sends one receipt
    receipts = [m for m in take("reminders") if m["template"] == "payment_received"]
    assert {r["dedupe_key"] for r in receipts} == {f"receipt:{body['payment_id']}"}
    receipt = receipts[0]
    assert receipt["params"]["jumlah"] == owed_nov + 100_000
    assert on.isoformat() == receipt["params"]["tanggal_bayar"]


def test_overpayment_becomes_credit_that_pays_the_next_bill(client, auth_header, employer,
                                                            clock):
    clock.set(at_wib(date(2026, 12, 10), 10))
    response = post(client, f"/v1/receivables/debtors/{path_key(employer['key'])}/payments",
                    {"amount": MONTHLY + 500_000, "receipt_number": "KW-0002",
                     "reason": "bayar lebih"}, officer(auth_header))
    assert response.status_code == 201, response.body
    assert response.json_body["credit_added"] == 500_000
    assert int(debtor(employer["key"]).credit) == 500_000
    clock.days(date(2027, 1, 1), pre_due=False)          # December billed, credit applied
    december = bill_of(employer["key"], "2026-12")
    assert (december.status, int(december.amount_paid)) == ("PAID", MONTHLY)
    assert int(debtor(employer["key"]).credit) == 500_000 - MONTHLY
    history = client.http.get(f"/v1/receivables/debtors/{path_key(employer['key'])}/history",
                              headers=officer(auth_header)).json_body
    assert [p["kind"] for p in history["payments"] if p.get("kind")] == [
        "PAYMENT_RECEIVED", "CREDIT_APPLIED"]


def test_bad_input_is_a_4xx_with_a_stable_code_and_nothing_is_written(client, auth_header,
                                                                       employer, clock):
    url = f"/v1/receivables/debtors/{path_key(employer['key'])}/payments"
    for body, status in (({"amount": 0, "receipt_number": "K1", "reason": "abc"}, 400),
                         ({"amount": "10", "receipt_number": "K1", "reason": "abc"}, 400),
                         ({"amount": 10, "receipt_number": "K 1", "reason": "abc"}, 400)):
        assert post(client, url, body, officer(auth_header)).status_code == status
    bad_key = post(client, "/v1/receivables/debtors/XYZ/payments",
                   {"amount": 10, "receipt_number": "K1", "reason": "abc"}, officer(auth_header))
    assert bad_key.status_code == 400
    assert bad_key.json_body["error"]["code"] == "BAD_DEBTOR_KEY"
    unknown = post(client, "/v1/receivables/debtors/EMP%23nobody/payments",
                   {"amount": 10, "receipt_number": "K1", "reason": "abc"}, officer(auth_header))
    assert unknown.status_code == 404
    other_branch = post(client, url, {"amount": 10, "receipt_number": "K1", "reason": "abc"},
                        auth_header("RECEIVABLES", branch="MDN"))
    assert other_branch.status_code == 403
    head = post(client, url, {"amount": 10, "receipt_number": "K1", "reason": "abc"},
                auth_header("BRANCH_HEAD", branch="BLT"))
    assert head.status_code == 403
    assert bill_of(employer["key"], "2026-11").status == "OPEN"
    # payment plans and exemption tags
    url = f"/v1/receivables/debtors/{path_key(employer['key'])}/payment-plans"
    early = post(client, url, {"reason": "angsuran", "instalments": 3,
                               "first_due_date": "2026-12-20"}, officer(auth_header))
    assert early.status_code == 409 and early.json_body["error"]["code"] == "NO_ARREARS"
    clock.days(date(2026, 12, 16), pre_due=False)
    for body, code in (({"reason": "x", "instalments": 3, "first_due_date": "2027-01-05"},
                        "VALIDATION_FAILED"),
                       ({"reason": "angsuran", "instalments": 13,
                         "first_due_date": "2027-01-05"}, "PLAN_TOO_LONG"),
                       ({"reason": "angsuran", "instalments": 3,
                         "first_due_date": "2026-12-10"}, "PLAN_DATES"),
                       ({"reason": "angsuran", "schedule": [
                           {"due_date": "2027-01-05", "amount": 1000},
                           {"due_date": "2027-02-05", "amount": 1000}]}, "PLAN_TOO_SMALL")):
        response = post(client, url, body, officer(auth_header))
        assert response.status_code == 400, (body, response.body)
        assert response.json_body["error"]["code"] == code
    for path in ("/exemptions", "/exemptions/PAYMENT_PLAN/lift"):
        body = ({"tag": "PAYMENT_PLAN", "reason": "coba"} if path == "/exemptions"
                else {"reason": "coba"})
        response = post(client, f"/v1/receivables/debtors/{path_key(employer['key'])}{path}",
                        body, officer(auth_header))
        assert response.status_code == 400, response.body


# ---------------------------------------------------------------------- views
def test_history_worklist_and_ageing_of_an_unpaid_employer(client, auth_header, employer,
                                                            clock):
    clock.days(date(2026, 12, 16), date(2026, 12, 23), date(2026, 12, 30), date(2027, 1, 1),
               date(2027, 1, 6), date(2027, 1, 13), date(2027, 1, 14), pre_due=False)
    response = client.http.get(f"/v1/receivables/debtors/{path_key(employer['key'])}/history",
                               headers=auth_header("BRANCH_HEAD", branch="BLT"))
    assert response.status_code == 200, response.body
    body = response.json_body
    assert [b["period"] for b in body["bills"]] == ["2026-11", "2026-12"]
    assert [m["step"] for m in body["messages"]] == [
        "OVERDUE", "OVERDUE_R1", "OVERDUE_R2", "OVERDUE_R3", "OVERDUE_R4",
        "COLLECTION_LETTER"]
    assert [(l["step"], l["letter_type"], l["status"]) for l in body["letters"]] == [
        ("COLLECTION_LETTER", "REMINDER", "SENT")]
    assert [(c["details"]["from"], c["details"]["to"]) for c in body["state_changes"]] == [
        ("CURRENT", "OVERDUE"), ("OVERDUE", "COLLECTION_LETTER")]

    # the worklist on 20 January: who owes what since when, last and next action
    clock.days(date(2027, 1, 20), pre_due=False)
    response = client.http.get("/v1/receivables/debtors?branch=BLT&state=COLLECTION_LETTER",
                               headers=officer(auth_header))
    assert response.status_code == 200, response.body
    [item] = response.json_body["items"]
    assert item["debtor_key"] == employer["key"] and item["owed_since"] == "2026-12-15"
    assert item["days_overdue"] == 36 and item["unpaid_months"] == 2
    assert item["last_action"]["step"] == "COLLECTION_LETTER"
    assert item["next_action"] == {"step": "SP1", "on": "2027-02-13"}
    everyone = client.http.get("/v1/receivables/debtors?branch=BLT",
                               headers=officer(auth_header)).json_body
    assert [i["debtor_key"] for i in everyone["items"]] == [employer["key"]]
    bad = client.http.get("/v1/receivables/debtors?branch=BLT&state=NOPE",
                          headers=officer(auth_header))
    assert bad.status_code == 400 and bad.json_body["error"]["code"] == "UNKNOWN_STATE"

    # ageing on 16 February: Nov due 15 Dec (63 days, 3 started months), Dec due 15 Jan
    # (32 days, 2 months), Jan due 15 Feb (1 day, 1 month)
    clock.days(date(2027, 2, 1), date(2027, 2, 16), pre_due=False)
    response = client.http.get("/v1/receivables/aging?branch=BLT", headers=officer(auth_header))
    assert response.status_code == 200, response.body
    body = response.json_body
    rows = {b["bucket"]: b for b in body["buckets"]}
    assert rows["61-90"]["by_segment"]["PU"] == {"count": 1,
                                                 "amount": MONTHLY + 3 * FINE_PER_MONTH}
    assert rows["31-60"]["by_segment"]["PU"] == {"count": 1,
                                                 "amount": MONTHLY + 2 * FINE_PER_MONTH}
    assert rows["1-30"]["by_segment"]["PU"] == {"count": 1, "amount": MONTHLY + FINE_PER_MONTH}
    assert body["receivables"]["amount"] == 3 * MONTHLY + 6 * FINE_PER_MONTH
    forbidden = client.http.get("/v1/receivables/aging?branch=MDN",
                                headers=officer(auth_header))
    assert forbidden.status_code == 403


# ---------------------------------------------------------------------- plans and tags
def test_payment_plan_pauses_escalation_and_a_missed_instalment_resumes_it(
        client, auth_header, employer, clock):
    clock.days(date(2026, 12, 16), date(2027, 1, 1), date(2027, 1, 14), date(2027, 1, 20),
               pre_due=False)
    take("reminders")
    take("letters")
    url = f"/v1/receivables/debtors/{path_key(employer['key'])}/payment-plans"
    response = post(client, url, {"reason": "kesepakatan angsuran 3 bulan", "instalments": 3,
                                  "first_due_date": "2027-01-25"}, officer(auth_header))
    assert response.status_code == 201, response.body
    plan = response.json_body
    assert [i["due_date"] for i in plan["instalments"]] == ["2027-01-25", "2027-02-25",
                                                            "2027-03-25"]
    # Nov and Dec with fines up to 25 March 2027 (4 and 3 started months)
    assert plan["total"] == 2 * MONTHLY + 7 * FINE_PER_MONTH
    assert sum(i["amount"] for i in plan["instalments"]) == plan["total"]
    assert debtor(employer["key"]).state == "PAYMENT_PLAN"
    twice = post(client, url, {"reason": "lagi", "instalments": 2,
                               "first_due_date": "2027-01-30"}, officer(auth_header))
    assert twice.status_code == 409 and twice.json_body["error"]["code"] == "PLAN_EXISTS"
    # first instalment paid on time: SP1 (due 13 Feb) does not come
    clock.set(at_wib(date(2027, 1, 24), 10))
    paid = post(client, f"/v1/receivables/debtors/{path_key(employer['key'])}/payments",
                {"amount": plan["instalments"][0]["amount"], "receipt_number": "ANG-1",
                 "reason": "angsuran 1"}, officer(auth_header))
    assert paid.status_code == 201, paid.body
    clock.days(date(2027, 1, 25), date(2027, 2, 1), date(2027, 2, 13), date(2027, 2, 16),
               date(2027, 2, 28), pre_due=False)
    assert take("letters") == []                     # SP1 was due on 13 February
    assert debtor(employer["key"]).state == "PAYMENT_PLAN"
    # the second instalment (25 Feb, 3 days' grace) was not paid: escalation resumes
    clock.day(date(2027, 3, 1), pre_due=False)
    record = debtor(employer["key"])
    assert record.plan_id is None and "PAYMENT_PLAN" not in record.tags
    # day 76 of November's arrears (partly paid): the next step is SP1, none repeated
    assert record.state == "SP1"
    [letter] = take("letters")
    assert letter["dedupe_key"] == f"letter:{employer['key']}:SP1:2026-12-15"
    plans = client.http.get(url, headers=officer(auth_header)).json_body["items"]
    assert plans[0]["status"] == "BROKEN"
    assert "angsuran ke-2" in plans[0]["closed_reason"]


def test_a_disputed_debt_is_not_escalated_until_the_tag_is_lifted(client, auth_header,
                                                                   employer, clock):
    clock.days(date(2026, 12, 16), date(2026, 12, 20), pre_due=False)
    take("reminders")
    url = f"/v1/receivables/debtors/{path_key(employer['key'])}/exemptions"
    response = post(client, url, {"tag": "DISPUTE", "reason": "upah dilaporkan salah"},
                    officer(auth_header))
    assert response.status_code == 201, response.body
    assert response.json_body["state"] == "DISPUTED"
    clock.days(date(2026, 12, 23), date(2027, 1, 1), date(2027, 1, 14), date(2027, 1, 20),
               pre_due=False)
    assert take("reminders") == [] and take("letters") == []
    lifted = post(client, url + "/DISPUTE/lift", {"reason": "upah sudah dikoreksi"},
                  officer(auth_header))
    assert lifted.status_code == 200, lifted.body
    assert lifted.json_body["state"] == "COLLECTION_LETTER"   # its step is the check's job
    clock.day(date(2027, 1, 21), pre_due=False)
    # day 37: the way up is taken one step a day, never skipping the collection letter
    [letter] = take("letters")
    assert letter["letter_type"] == "REMINDER"
    assert letter["dedupe_key"] == f"letter:{employer['key']}:COLLECTION_LETTER:2026-12-15"


# ---------------------------------------------------------------------- compliance
def test_compliance_per_month_from_the_bills_due_in_it(client, auth_header, employer, parties,
                                                       clock):
    bpu = parties.bpu(1_000_000)
    bpu_key = f"PAR#{bpu['participant_id']}"
    # the BPU participant pays December on time; the employer pays November late
    clock.bill_month(date(2026, 12, 1))
    clock.set(at_wib(date(2026, 12, 10), 10))
    on_time = post(client, f"/v1/receivables/debtors/{path_key(bpu_key)}/payments",
                   {"amount": 16_800, "receipt_number": "BPU-1", "reason": "tunai"},
                   officer(auth_header))
    assert on_time.status_code == 201, on_time.body
    clock.days(date(2026, 12, 16), date(2026, 12, 20), pre_due=False)
    late = post(client, f"/v1/receivables/debtors/{path_key(employer['key'])}/payments",
                {"amount": MONTHLY + FINE_PER_MONTH, "receipt_number": "PU-1",
                 "reason": "tunai"}, officer(auth_header))
    assert late.status_code == 201, late.body
    clock.days(date(2026, 12, 31), pre_due=False)
    clock.set(at_wib(date(2027, 1, 5), 10))
    response = client.http.get("/v1/receivables/compliance?branch=BLT&from=2026-12",
                               headers=auth_header("BRANCH_HEAD", branch="BLT"))
    assert response.status_code == 200, response.body
    [month] = response.json_body["items"]
    assert (month["month"], month["bills"], month["paid"], month["paid_on_time"]) == (
        "2026-12", 2, 2, 1)
    assert month["share_paid_on_time"] == "0.5000"
    assert month["contribution_billed"] == MONTHLY + 16_800
    assert month["collection_rate"] == "1.0000"
    assert month["fines_collected"] == FINE_PER_MONTH
    assert month["active_participants"] == {"PU": 1, "BPU": 1}
    assert month["receivables"]["amount"] == 0      # nothing owed on 31 December

