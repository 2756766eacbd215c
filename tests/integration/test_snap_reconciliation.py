"""Reconciliation: the daily report per partner and channel (CSV in S3 and the API), a
partner's settlement file compared with it, and payments whose queue message was lost
re-driven by the same schedule."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from chalicelib.shared_kernel.calendar import JAKARTA
from tests.integration.factories import drain, post, run_schedule
from tests.integration.test_snap_setup import *  # noqa: F401,F403 - fixtures
from tests.integration.test_snap_setup import BPU_BILL, BPU_JHT_BILL, DAY, DEC_10

SNAP_POOL = {"bpu": 7, "saver": 2}
DEC_11_0030 = datetime(2026, 12, 11, 0, 30, tzinfo=JAKARTA)


def paid(result) -> None:
    assert result.body["responseCode"] == "2002500", result.body


def s3_csv(key: str) -> list[dict]:
    from chalicelib.bootstrap import container
    from chalicelib.shared_kernel.aws import client

    s = container().settings
    body = client("s3", s.region).get_object(Bucket=s.bucket_name, Key=key)["Body"].read()
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def test_daily_report_per_partner_and_channel(bank, partner_factory, bills, world, client,
                                              auth_header):
    other = partner_factory(channel_id="6011")
    other.get_token()
    paid(bank.payment(bills["bpu"]["payment_code"], BPU_BILL, "A-1"))
    paid(bank.payment(bills["saver"]["payment_code"], BPU_JHT_BILL, "A-2"))
    cash = world.take("bpu")
    paid(other.payment(world.take("bpu")["payment_code"], BPU_BILL, "B-1"))
    response = post(client, f"/v1/bills/{cash['bill_id']}/payments",
                    {"amount": BPU_BILL, "receipt_number": "KW-77", "reason": "setor tunai"},
                    auth_header("RECEIVABLES", branch="BLT"))
    assert response.status_code == 201

    result = run_schedule("daily_reconciliation", DEC_11_0030)
    assert result["date"] == DAY

    rows = s3_csv(f"reconciliation/{DAY}/{bank.client_id}.csv")
    assert [(r["payment_request_id"], r["amount"], r["customer_no"]) for r in rows] == [
        ("A-1", "16800", bills["bpu"]["payment_code"]),
        ("A-2", "36800", bills["saver"]["payment_code"])]
    assert rows[0]["virtual_account_no"] == bank.partner_service_id + rows[0]["customer_no"]
    assert rows[0]["paid_at"] == "2026-12-10T08:00:00+07:00"
    summary = {(r["channel"], r["client_id"]): r for r in s3_csv(f"reconciliation/{DAY}/"
                                                                  "summary.csv")}
    assert (summary[("SNAP", bank.client_id)]["count"],
            summary[("SNAP", bank.client_id)]["amount"]) == ("2", "53600")
    assert summary[("SNAP", other.client_id)]["channel_id"] == "6011"
    assert int(summary[("MANUAL", "")]["count"]) >= 1

    finance = auth_header("RECEIVABLES", branch="BLT")
    report = client.http.get(f"/v1/reconciliation?date={DAY}&client_id={bank.client_id}",
                             headers=finance).json_body
    assert (report["count"], report["amount"]) == (2, 53_600)
    assert [i["payment_request_id"] for i in report["items"]] == ["A-1", "A-2"]
    assert report["groups"] == [{"channel": "SNAP", "client_id": bank.client_id,
                                 "channel_id": "95221", "count": 2, "amount": 53_600}]
    assert report["report_key"] == f"reconciliation/{DAY}/{bank.client_id}.csv"
    assert report["report_url"].startswith("https://")

    page = client.http.get(f"/v1/reconciliation?date={DAY}&client_id={bank.client_id}"
                           f"&limit=1", headers=finance).json_body
    assert ([i["payment_request_id"] for i in page["items"]], page["next_token"]) == (
        ["A-1"], "1")
    everyone = client.http.get(f"/v1/reconciliation?date={DAY}", headers=finance).json_body
    channels = {(g["channel"], g["client_id"]) for g in everyone["groups"]}
    assert {("SNAP", bank.client_id), ("SNAP", other.client_id),
            ("MANUAL", None)} <= channels


def test_reconciliation_access_and_input(bank, client, auth_header):
    participant = auth_header("PARTICIPANT", branch=None, kpj="12345678901")
    assert client.http.get(f"/v1/reconciliation?date={DAY}",
                           headers=participant).status_code == 403
    admin = auth_header("ADMIN", branch=None)
    unknown = client.http.get(f"/v1/reconciliation?date={DAY}&client_id=NOPE", headers=admin)
    assert (unknown.status_code, unknown.json_body["error"]["code"]) == (404,
                                                                         "PARTNER_NOT_FOUND")
    for bad in ("2026-13-01", "10-12-2026"):
        response = client.http.get(f"/v1/reconciliation?date={bad}", headers=admin)
        assert (response.status_code, response.json_body["error"]["field"]) == (400, "date")


def test_settlement_import_lists_matches_differences_and_missing(bank, bills, world, at,
                                                                 client, auth_header):
    first, third = bills["bpu"], world.take("bpu")
    paid(bank.payment(first["payment_code"], BPU_BILL, "P1"))
    paid(bank.payment(bills["saver"]["payment_code"], BPU_JHT_BILL, "P2"))
    paid(bank.payment(third["payment_code"], BPU_BILL, "P3"))
    at(DEC_10 + timedelta(hours=16, minutes=30))  # 00:30 on the 11th: after SMILE's cut-off
    bank.get_token()
    paid(bank.payment(world.take("bpu")["payment_code"], BPU_BILL, "P4"))

    settlement = ("paymentRequestId;customerNo;paidAmount;referenceNo\n"
                  f"P1;{first['payment_code']};16800.00;REF1\n"
                  f"P2;{bills['saver']['payment_code']};36000.00;REF2\n"
                  "P9;000000009999;50000.00;REF9\n"
                  "P4;;16800.00;REF4\n"
                  "P10;;abc;REF10\n")
    finance = auth_header("RECEIVABLES", branch="BLT")
    response = post(client, "/v1/reconciliation/imports",
                    {"client_id": bank.client_id, "date": DAY, "csv": settlement,
                     "filename": "settlement-20261210.csv"}, finance)
    assert response.status_code == 201, response.body
    result = response.json_body
    assert result["counts"] == {"partner_rows": 4, "smile_payments": 3, "matched": 1,
                                "amount_differences": 1, "missing_in_smile": 1,
                                "missing_in_partner": 1, "posted_on_other_day": 1,
                                "invalid_rows": 1}
    assert [m["payment_request_id"] for m in result["matched"]] == ["P1"]
    [difference] = result["amount_differences"]
    assert (difference["payment_request_id"], difference["smile_amount"],
            difference["partner_amount"], difference["difference"]) == ("P2", 36_800,
                                                                         36_000, -800)
    assert [(m["payment_request_id"], m["amount"]) for m in result["missing_in_smile"]] == [
        ("P9", 50_000)]
    assert [m["payment_request_id"] for m in result["missing_in_partner"]] == ["P3"]
    [late] = result["posted_on_other_day"]
    assert (late["payment_request_id"], late["smile_date"]) == ("P4", "2026-12-11")
    assert result["invalid_rows"][0]["line"] == 6
    assert result["totals"] == {"partner_amount": 119_600, "smile_amount": 70_400,
                                "matched_amount": 16_800}

    again = client.http.get(f"/v1/reconciliation/imports/{result['import_id']}",
                            headers=finance).json_body
    assert again == result
    report = client.http.get(f"/v1/reconciliation?date={DAY}&client_id={bank.client_id}",
                             headers=finance).json_body
    [summary] = report["imports"]
    assert (summary["import_id"], summary["counts"]["matched"]) == (result["import_id"], 1)

    from chalicelib.shared_kernel.records import audit_trail

    [entry] = [e for e in audit_trail(f"partner#{bank.client_id}")
               if e["action"] == "SETTLEMENT_IMPORTED"]
    assert entry["details"]["import_id"] == result["import_id"]


def test_a_settlement_file_without_the_needed_columns_is_refused(bank, client, auth_header):
    response = post(client, "/v1/reconciliation/imports",
                    {"client_id": bank.client_id, "date": DAY,
                     "csv": "trx,nominal\nP1,16800.00\n"}, auth_header("ADMIN", branch=None))
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "SETTLEMENT_HEADER"
    assert "paymentRequestId" in response.json_body["error"]["message"]


def test_daily_reconciliation_redrives_payments_whose_message_was_lost(bank, bills, stack):
    payments = stack.payments
    original = payments.publish

    def queue_down(message):
        raise ConnectionError("SQS unreachable")

    payments.publish = queue_down
    try:
        paid(bank.payment(bills["bpu"]["payment_code"], BPU_BILL, "LOST-1"))
    finally:
        payments.publish = original
    assert drain("payments") == 0
    result = run_schedule("daily_reconciliation", DEC_11_0030)
    assert result["redriven"] == 1
    assert drain("payments") == 1
    assert run_schedule("daily_reconciliation", DEC_11_0030)["redriven"] == 0
