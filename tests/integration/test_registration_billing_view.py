"""What billing reads from registration for a PU month, on moto: the employer's workers
employed in the period with the wage in force for it, kept right by approvals (one by one
and by bulk import), wage changes and leavers; then the month's bill, and the cards its
payment issues to every worker it covered."""
from __future__ import annotations

import json
from datetime import datetime

import requests

from chalicelib.shared_kernel.calendar import JAKARTA
from tests.integration.factories import Parties, drain, post, run_schedule
from tests.unit.registration.builders import a_pu_participant, ticking, worker_csv

NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA)
DEC_1 = datetime(2026, 12, 1, 0, 5, tzinfo=JAKARTA)
DEC_3 = datetime(2026, 12, 3, 9, 0, tzinfo=JAKARTA)


def import_workers(client, employer_id: str, headers: dict, data: bytes) -> dict:
    answer = post(client, f"/v1/employers/{employer_id}/imports/uploads",
                  {"size_bytes": len(data), "file_name": "pekerja.csv"}, headers)
    assert answer.status_code == 201, answer.body
    assert requests.put(answer.json_body["url"], data=data,
                        headers={"Content-Type": "text/csv"}).status_code == 200
    started = post(client, f"/v1/employers/{employer_id}/imports",
                   {"upload_id": answer.json_body["upload_id"]}, headers)
    assert started.status_code == 202, started.body
    drain("imports")
    done = client.http.get(f"/v1/employers/{employer_id}/imports/"
                           f"{started.json_body['import_id']}", headers=headers).json_body
    assert done["status"] == "COMPLETED", done
    return done


def reminders(stack) -> list[dict]:
    from chalicelib.shared_kernel.aws import client as aws_client
    from chalicelib.shared_kernel.resources import QUEUES

    sqs = aws_client("sqs", stack.settings.region)
    url = sqs.get_queue_url(QueueName=QUEUES["reminders"].name)["QueueUrl"]
    seen: dict[str, dict] = {}
    for _ in range(20):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    VisibilityTimeout=0).get("Messages", [])
        new = [m for m in batch if m["MessageId"] not in seen]
        if not new:
            break
        seen.update({m["MessageId"]: json.loads(m["Body"]) for m in new})
    return list(seen.values())


def test_billing_reads_each_months_workers_with_their_wage_and_payment_issues_cards(
        client, auth_header, stack):
    # Given an employer registered on 20 November with two workers approved one by one,
    # one application still pending, and a file of ten rows (7 approved by the bulk rule,
    # 1 left to a verifier for its low wage, 2 refused)
    stack.clock = ticking(NOV_20)
    parties = Parties(client, auth_header)
    employer = parties.employer()
    employer_id, npp = employer["employer_id"], employer["npp"]
    as_employer = auth_header("EMPLOYER", branch=None, npp=npp)
    stays = parties.worker(npp, 5_000_000)
    leaves = parties.worker(npp, 4_000_000)
    pending = post(client, "/v1/participants", a_pu_participant(
        employer_npp=npp, nik=parties.next_nik(), monthly_wage=4_500_000))
    assert pending.status_code == 201, pending.body
    data, expected = worker_csv(10, first=4000)
    imported = import_workers(client, employer_id, as_employer, data)
    assert (imported["verified"], imported["pending_verification"], imported["rejected"]) == (
        7, 1, 2)

    # When one worker gets a raise from January and the other leaves on 25 November
    raised = post(client, f"/v1/participants/{stays['participant_id']}/wage-changes",
                  {"effective_period": "2027-01", "wage": 6_000_000}, as_employer)
    assert raised.status_code == 201, raised.body
    left = post(client, f"/v1/participants/{leaves['participant_id']}/employment-end",
                {"last_working_day": "2026-11-25", "reason": "RESIGNED"}, as_employer)
    assert left.status_code == 200, left.body

    # Then each month's workers and wages are what the bill of that month must itemise
    registration = stack.registration

    def month(period: str) -> dict[str, int]:
        return {w.participant_id: wage
                for w, wage in registration.workers_employed_in(employer_id, period)}

    november, december, january = month("2026-11"), month("2026-12"), month("2027-01")
    bulk = {pid: wage for pid, wage in november.items()
            if pid not in (stays["participant_id"], leaves["participant_id"])}
    assert len(bulk) == 7 and set(bulk.values()) == {3_000_000}
    assert november == {stays["participant_id"]: 5_000_000,
                        leaves["participant_id"]: 4_000_000, **bulk}
    assert december == {stays["participant_id"]: 5_000_000, **bulk}
    assert january == {stays["participant_id"]: 6_000_000, **bulk}
    assert month("2026-10") == {}  # nobody was employed before November
    assert pending.json_body["participant_id"] not in november

    # And the November bill, generated on 1 December, itemises exactly those workers:
    # 9.54 % (JKK II 0.54, JKM 0.30, JHT 5.7, JP 3) of 5,000,000 + 4,000,000 + 7 x 3,000,000
    stack.clock = lambda: DEC_1
    run_schedule("generate_monthly_bills", DEC_1)
    staff = auth_header("RECEIVABLES", branch="BLT")
    [bill] = client.http.get(f"/v1/bills?npp={npp}&period=2026-11",
                             headers=staff).json_body["items"]
    assert (bill["worker_count"], bill["amount_due"]) == (9, 2_862_000)

    # When the employer pays it at the branch
    stack.clock = lambda: DEC_3
    paid = post(client, f"/v1/bills/{bill['bill_id']}/payments",
                {"amount": 2_862_000, "receipt_number": "KW-PU-1", "reason": "setor tunai"},
                staff)
    assert paid.status_code == 201, paid.body
    assert drain("payments") == 1
    drain("imports")

    # Then every worker it covered is ACTIVE, paid through November, with one card each,
    # announced once through blast; the pending application gets nothing
    covered = set(november)
    for participant_id in covered:
        record = registration.store.participant(participant_id)
        assert (record.status, record.paid_through) == ("ACTIVE", "2026-11"), participant_id
        assert record.card_issued_at is not None and record.card_key.endswith(".pdf")
    cards = [m for m in reminders(stack) if m.get("template") == "card_issued"]
    assert sorted(m["recipient_id"] for m in cards) == sorted(covered)
    assert {m["dedupe_key"] for m in cards} == {f"card:{p}" for p in covered}
    status = client.http.get(f"/v1/participants/{stays['participant_id']}/status",
                             headers=auth_header("PARTICIPANT", branch=None,
                                                 kpj=stays["kpj"])).json_body
    assert (status["status"], status["paid_through"], status["card_issued"]) == (
        "ACTIVE", "2026-11", True)
    assert registration.store.participant(
        pending.json_body["participant_id"]).status == "PENDING_VERIFICATION"
