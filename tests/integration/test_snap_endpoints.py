"""SNAP VA over HTTP in process (chalice test client on moto), driven by the independent spec
client: token, inquiry, payment and status to the rupiah, the refusals with their SNAP codes,
and every security refusal writing nothing."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.integration.factories import drain, post
from tests.integration.test_snap_setup import *  # noqa: F401,F403 - fixtures
from tests.integration.test_snap_setup import (BPU_BILL, BPU_JHT_BILL, DAY, DEC_10,
                                               EMPLOYER_BILL, bill_record, payments_of,
                                               receipts)
from tests.support.snap_client import OMIT

# Fresh bills the tests of this module pay or re-issue (see test_snap_setup.World).
SNAP_POOL = {"bpu": 8, "saver": 1}


def code_of(result) -> str:
    return result.body["responseCode"]


# ====================================================================== token
def test_token_is_issued_for_a_signed_request(bank):
    result = bank.get_token()
    assert result.status == 200
    assert {k: result.body[k] for k in ("responseCode", "responseMessage", "tokenType",
                                        "expiresIn")} == {
        "responseCode": "2007300", "responseMessage": "Successful", "tokenType": "Bearer",
        "expiresIn": "900"}
    assert result.body["accessToken"]
    assert result.headers["x-timestamp"] == "2026-12-10T08:00:00+07:00"


@pytest.mark.parametrize("case, expected", [
    ("unknown client", ("4017300", "Unauthorized. [Unknown client]")),
    ("signed with another key", ("4017300", "Unauthorized. [Signature]")),
    ("timestamp 6 minutes old", ("4017300", "Unauthorized. [X-TIMESTAMP outside the "
                                            "allowed window]")),
    ("no signature", ("4007302", "Invalid Mandatory Field X-SIGNATURE")),
    ("timestamp without offset", ("4007301", "Invalid Field Format X-TIMESTAMP")),
    ("other grant type", ("4007301", "Invalid Field Format grantType")),
])
def test_token_refusals_answer_service_73_codes(bank, partner_keys, case, expected):
    if case == "unknown client":
        result = bank.get_token(client_id="BANK-999")
    elif case == "signed with another key":
        from tests.support.snap_client import SnapPartner

        other = SnapPartner(client_id=bank.client_id, private_key_pem=partner_keys[1][0],
                            transport=bank.transport, clock=bank.clock)
        result = other.get_token()
    elif case == "timestamp 6 minutes old":
        result = bank.get_token(timestamp=bank.timestamp(DEC_10 - timedelta(minutes=6)))
    elif case == "no signature":
        result = bank.get_token(headers={"X-SIGNATURE": OMIT})
    elif case == "timestamp without offset":
        stamp = "2026-12-10T08:00:00"
        result = bank.get_token(timestamp=stamp, signature=bank.sign_token_request(stamp))
    else:
        result = bank.get_token(body={"grantType": "password"})
    assert (result.status, code_of(result), result.body["responseMessage"]) == (
        int(expected[0][:3]), *expected)
    assert result.headers["x-timestamp"]


# ====================================================================== inquiry
def test_inquiry_answers_the_employer_bill_to_the_rupiah(bank, bills):
    bill = bills["employer"]
    result = bank.inquiry(bill["payment_code"], "INQ-20261210-0001")
    assert result.status == 200, result.body
    assert code_of(result) == "2002400"
    data = result.body["virtualAccountData"]
    assert data["inquiryStatus"] == "00"
    assert data["inquiryRequestId"] == "INQ-20261210-0001"
    assert data["virtualAccountName"] == bill["party_name"]
    assert data["virtualAccountNo"] == bank.partner_service_id + bill["payment_code"]
    assert data["totalAmount"] == {"value": f"{EMPLOYER_BILL}.00", "currency": "IDR"}
    assert data["virtualAccountTrxType"] == "C"
    # One line per program (employer and worker shares together), adding up to the total.
    lines = {d["billNo"]: int(d["billAmount"]["value"][:-3]) for d in data["billDetails"]}
    assert lines == {"2026-11-JKK": 91_800, "2026-11-JKM": 51_000, "2026-11-JHT": 969_000,
                     "2026-11-JP": 482_589}
    assert sum(lines.values()) == EMPLOYER_BILL
    assert result.headers["x-timestamp"] == "2026-12-10T08:00:00+07:00"


def test_inquiry_of_an_overdue_bill_includes_the_fine(bank, bills, at, client, auth_header):
    at(DEC_10.replace(day=16))  # due on 15 December: one started month late
    bank.get_token()
    bill = bills["employer"]
    view = client.http.get(f"/v1/bills/{bill['bill_id']}",
                           headers=auth_header("RECEIVABLES", branch="BLT")).json_body
    result = bank.inquiry(bill["payment_code"])
    data = result.body["virtualAccountData"]
    assert view["fine"] == 1_836 + 1_020 + 19_380 + 9_652  # 2 % per program, half up
    assert data["totalAmount"]["value"] == f"{EMPLOYER_BILL + view['fine']}.00"
    fine = [d for d in data["billDetails"] if d["billNo"] == "2026-11-DENDA"]
    assert fine[0]["billAmount"]["value"] == f"{view['fine']}.00"
    assert sum(int(d["billAmount"]["value"][:-3]) for d in data["billDetails"]) \
        == EMPLOYER_BILL + view["fine"]


def test_inquiry_of_unknown_and_mistyped_codes(bank, bills):
    from chalicelib.billing.bills import format_payment_code

    unknown = bank.inquiry(format_payment_code(99_999_999))
    assert (unknown.status, code_of(unknown)) == (404, "4042412")
    assert unknown.body["virtualAccountData"]["inquiryStatus"] == "01"
    assert unknown.body["virtualAccountData"]["inquiryReason"]["indonesia"] == \
        "Tagihan tidak ditemukan"
    code = bills["open"]["payment_code"]
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)
    result = bank.inquiry(mistyped)
    assert (result.status, code_of(result), result.body["responseMessage"]) == (
        400, "4002401", "Invalid Field Format customerNo")


def test_inquiry_with_another_company_code_is_not_found(bank, bills):
    code = bills["open"]["payment_code"]
    result = bank.inquiry(code, body_overrides={"partnerServiceId": "   12345",
                                                "virtualAccountNo": "   12345" + code})
    assert (result.status, code_of(result)) == (404, "4042412")


@pytest.mark.parametrize("body_overrides, expected", [
    ({"customerNo": 12}, ("4002401", "Invalid Field Format customerNo")),
    ({"partnerServiceId": "88801"}, ("4002401", "Invalid Field Format partnerServiceId")),
    ({"inquiryRequestId": OMIT}, ("4002402", "Invalid Mandatory Field inquiryRequestId")),
])
def test_inquiry_field_errors(bank, bills, body_overrides, expected):
    result = bank.inquiry(bills["open"]["payment_code"], body_overrides=body_overrides)
    assert (result.status, code_of(result), result.body["responseMessage"]) == (400, *expected)


def test_inquiry_of_an_expired_code_after_reissue(bank, bills, client, auth_header):
    old = bills["bpu"]["payment_code"]
    reissued = post(client, f"/v1/bills/{bills['bpu']['bill_id']}/payment-code",
                    {"reason": "kode hilang"}, auth_header("RECEIVABLES", branch="BLT"))
    assert reissued.status_code == 201
    result = bank.inquiry(old)
    assert (result.status, code_of(result)) == (404, "4042419")
    assert result.body["virtualAccountData"]["inquiryReason"]["english"] == \
        "Payment code has expired"
    fresh = bank.inquiry(reissued.json_body["payment_code"])
    assert fresh.body["virtualAccountData"]["totalAmount"]["value"] == f"{BPU_BILL}.00"


# ====================================================================== payment
def test_payment_posts_once_and_a_retry_answers_the_original(bank, bills, client,
                                                             auth_header):
    bill = bills["saver"]
    code = bill["payment_code"]
    inquiry = bank.inquiry(code, "PAY-0001")
    amount = inquiry.body["virtualAccountData"]["totalAmount"]["value"]
    first = bank.payment(code, amount, "PAY-0001")
    assert first.status == 200, first.body
    assert code_of(first) == "2002500"
    data = first.body["virtualAccountData"]
    assert (data["paymentFlagStatus"], data["paymentRequestId"]) == ("00", "PAY-0001")
    assert data["paidAmount"] == {"value": f"{BPU_JHT_BILL}.00", "currency": "IDR"}
    assert data["paymentFlagReason"] == {"english": "Success", "indonesia": "Sukses"}

    retry = bank.payment(code, amount, "PAY-0001", body_overrides={"flagAdvise": "Y"})
    assert (retry.status, retry.body) == (200, first.body)

    [payment] = payments_of(DAY, bank.client_id)
    assert (payment.payment_key, payment.amount, payment.channel, payment.client_id) == (
        f"{bank.client_id}#PAY-0001", BPU_JHT_BILL, "SNAP", bank.client_id)
    stored = bill_record(bill["bill_id"])
    assert (stored.status, stored.amount_paid, stored.payment_id) == (
        "PAID", BPU_JHT_BILL, payment.payment_id)
    assert first.body["additionalInfo"] == {"paymentId": payment.payment_id}

    # Downstream, once: JHT credited, membership active, one receipt.
    assert drain("payments") == 1
    participant = bill["party"]["participant_id"]
    jht = client.http.get(f"/v1/participants/{participant}/jht",
                          headers=auth_header("RECEIVABLES", branch="BLT")).json_body
    assert jht["balance"] == 20_000
    status = client.http.get(f"/v1/participants/{participant}/status",
                             headers=auth_header("RECEIVABLES", branch="BLT")).json_body
    assert (status["status"], status["paid_through"]) == ("ACTIVE", "2026-12")
    [receipt] = receipts()
    assert receipt["dedupe_key"] == f"receipt:{payment.payment_id}"
    assert receipt["params"]["jumlah"] == BPU_JHT_BILL
    assert receipt["params"]["kanal"] == f"mitra pembayaran {bank.client_id}"


def test_payment_of_a_wrong_amount_is_4042513_and_writes_nothing(bank, bills):
    code = bills["open"]["payment_code"]
    result = bank.payment(code, BPU_BILL - 1, "PAY-LESS")
    assert (result.status, code_of(result)) == (404, "4042513")
    assert result.body["virtualAccountData"]["paymentFlagStatus"] == "01"
    partial_total = bank.payment(code, BPU_BILL, "PAY-TOTAL", total_amount=BPU_BILL + 1)
    assert code_of(partial_total) == "4042513"
    assert payments_of(DAY, bank.client_id) == []
    assert bill_record(bills["open"]["bill_id"]).status == "OPEN"


def test_a_different_payment_for_a_paid_bill_is_4042514(bank, bills):
    code = bills["bpu"]["payment_code"]
    assert code_of(bank.payment(code, BPU_BILL, "PAY-A")) == "2002500"
    other = bank.payment(code, BPU_BILL, "PAY-B")
    assert (other.status, code_of(other)) == (404, "4042514")
    inquiry = bank.inquiry(code)
    assert (inquiry.status, code_of(inquiry)) == (404, "4042414")
    assert len(payments_of(DAY, bank.client_id)) == 1


def test_same_reference_with_other_content_is_4042518(bank, bills):
    code = bills["bpu"]["payment_code"]
    assert code_of(bank.payment(code, BPU_BILL, "PAY-A")) == "2002500"
    changed = bank.payment(code, BPU_BILL + 100, "PAY-A")
    assert (changed.status, code_of(changed)) == (404, "4042518")
    # The same reference for another, unpaid bill is inconsistent too, and posts nothing.
    elsewhere = bank.payment(bills["open"]["payment_code"], BPU_BILL, "PAY-A")
    assert code_of(elsewhere) == "4042518"
    assert bill_record(bills["open"]["bill_id"]).status == "OPEN"
    assert len(payments_of(DAY, bank.client_id)) == 1


def test_manual_payment_and_snap_payment_exclude_each_other(bank, bills, client,
                                                            auth_header):
    bill = bills["bpu"]
    manual = post(client, f"/v1/bills/{bill['bill_id']}/payments",
                  {"amount": BPU_BILL, "receipt_number": "KW-1", "reason": "setor tunai"},
                  auth_header("RECEIVABLES", branch="BLT"))
    assert manual.status_code == 201
    result = bank.payment(bill["payment_code"], BPU_BILL, "PAY-AFTER-CASH")
    assert code_of(result) == "4042514"


@pytest.mark.parametrize("value", ["16800", "16800.5", "16800.50", "abc"])
def test_payment_amount_must_be_whole_rupiah_with_two_decimals(bank, bills, value):
    result = bank.payment(bills["open"]["payment_code"], value, "PAY-FMT")
    assert (result.status, result.body["responseMessage"]) == (
        400, "Invalid Field Format paidAmount.value")
    assert code_of(result) == "4002501"


# ====================================================================== status
def test_status_before_and_after_payment(bank, bills):
    code = bills["bpu"]["payment_code"]
    unpaid = bank.status(code)
    assert code_of(unpaid) == "2002600"
    assert unpaid.body["virtualAccountData"]["paymentFlagStatus"] == "01"
    assert unpaid.body["virtualAccountData"]["paymentFlagReason"]["indonesia"] == "Belum dibayar"
    never = bank.status(code, payment_request_id="PAY-NEVER")
    assert (never.status, code_of(never)) == (404, "4042601")

    bank.payment(code, BPU_BILL, "PAY-1")
    paid = bank.status(code, payment_request_id="PAY-1")
    data = paid.body["virtualAccountData"]
    assert (code_of(paid), data["paymentFlagStatus"], data["paymentRequestId"]) == (
        "2002600", "00", "PAY-1")
    assert data["paidAmount"]["value"] == f"{BPU_BILL}.00"
    assert data["transactionDate"] == "2026-12-10T08:00:00+07:00"
    by_account = bank.status(code)
    assert by_account.body["virtualAccountData"]["paymentFlagStatus"] == "00"


# ====================================================================== security
def _expired_token(ctx):
    ctx["at"](DEC_10 + timedelta(seconds=901))
    return ctx["pay"]()


def _token_of_another_partner(ctx):
    other = ctx["partner_factory"](keys_index=1)
    other.get_token()
    return ctx["pay"](token=other.access_token)


def _signed_without_prefix(ctx):
    bank, code = ctx["bank"], ctx["code"]
    body = json.dumps({"partnerServiceId": bank.partner_service_id, "customerNo": code,
                       "virtualAccountNo": bank.virtual_account_no(code),
                       "paymentRequestId": "PAY-SEC",
                       "paidAmount": {"value": "16800.00", "currency": "IDR"}},
                      separators=(",", ":"))
    stamp = bank.timestamp()
    signature = bank.sign_transaction("POST", "/v1.0/transfer-va/payment", bank.access_token,
                                      body, stamp)
    return ctx["pay"](send_body=body.encode(), timestamp=stamp, signature=signature)


def _disabled_partner(ctx):
    response = post(ctx["client"], f"/v1/partners/{ctx['bank'].client_id}/disable",
                    {"reason": "kontrak berakhir"}, ctx["auth_header"]("ADMIN", branch=None))
    assert response.status_code == 200
    return ctx["pay"]()


SECURITY_CASES = [
    ("tampered body", lambda ctx: ctx["pay"](
        tamper=lambda raw: raw.replace(b'"16800.00"', b'"1680.00"')),
     "4012500", "Unauthorized. [Signature]"),
    ("wrong secret", lambda ctx: ctx["pay"](client_secret="not-the-secret"),
     "4012500", "Unauthorized. [Signature]"),
    ("path signed without the /snap prefix", _signed_without_prefix,
     "4012500", "Unauthorized. [Signature]"),
    ("expired token", _expired_token, "4012501", "Invalid Token (B2B)"),
    ("forged token", lambda ctx: ctx["pay"](token="v1.QkFOSy0wMDF8MXw5OTk5OTk5OTk5fDA.AAAA"),
     "4012501", "Invalid Token (B2B)"),
    ("token of another partner", _token_of_another_partner, "4012501", "Invalid Token (B2B)"),
    ("disabled partner", _disabled_partner, "4012500", "Unauthorized. [Client disabled]"),
    ("timestamp outside the window", lambda ctx: ctx["pay"](
        timestamp=ctx["bank"].timestamp(DEC_10 - timedelta(seconds=301))),
     "4012500", "Unauthorized. [X-TIMESTAMP outside the allowed window]"),
    ("other channel", lambda ctx: ctx["pay"](headers={"CHANNEL-ID": "99999"}),
     "4012500", "Unauthorized. [Unknown CHANNEL-ID]"),
    ("no bearer token", lambda ctx: ctx["pay"](headers={"Authorization": OMIT}),
     "4012501", "Invalid Token (B2B)"),
    ("no X-PARTNER-ID", lambda ctx: ctx["pay"](headers={"X-PARTNER-ID": OMIT}),
     "4002502", "Invalid Mandatory Field X-PARTNER-ID"),
    ("non-numeric X-EXTERNAL-ID", lambda ctx: ctx["pay"](external_id="ABC-1"),
     "4002501", "Invalid Field Format X-EXTERNAL-ID"),
]


@pytest.mark.parametrize("case, send, expected_code, expected_message", SECURITY_CASES,
                         ids=[c[0] for c in SECURITY_CASES])
def test_security_refusals_write_nothing(bank, bills, at, client, auth_header,
                                         partner_factory, case, send, expected_code,
                                         expected_message):
    code = bills["open"]["payment_code"]
    external_id = "2026121000000001"

    def pay(**options):
        options.setdefault("external_id", external_id)
        return bank.payment(code, BPU_BILL, "PAY-SEC", **options)

    result = send({"bank": bank, "at": at, "client": client, "auth_header": auth_header,
                   "partner_factory": partner_factory, "pay": pay, "code": code})
    assert (result.status, code_of(result), result.body["responseMessage"]) == (
        int(expected_code[:3]), expected_code, expected_message)
    assert result.headers["x-timestamp"]
    from chalicelib.bootstrap import container

    assert not container().snap.store.external_id_used(bank.client_id, DAY, external_id)
    assert payments_of(DAY, bank.client_id) == []
    assert bill_record(bills["open"]["bill_id"]).status == "OPEN"


def test_a_pretty_printed_body_verifies_as_sent(bank, bills):
    result = bank.payment(bills["bpu"]["payment_code"], BPU_BILL, "PAY-PRETTY", pretty=True)
    assert code_of(result) == "2002500"


def test_reused_external_id_the_same_day_is_409_and_writes_nothing(bank, bills, at):
    code = bills["bpu"]["payment_code"]
    assert code_of(bank.inquiry(code, external_id="777")) == "2002400"
    again = bank.payment(code, BPU_BILL, "PAY-XID", external_id="777")
    assert (again.status, code_of(again), again.body["responseMessage"]) == (
        409, "4092500", "Conflict")
    assert payments_of(DAY, bank.client_id) == []
    assert bill_record(bills["bpu"]["bill_id"]).status == "OPEN"
    at(DEC_10 + timedelta(days=1))  # a new Jakarta day: the id may be used again
    bank.get_token()
    assert code_of(bank.payment(code, BPU_BILL, "PAY-XID", external_id="777")) == "2002500"


def test_rotating_the_secret_revokes_tokens_and_the_old_secret(bank, bills, client,
                                                               auth_header):
    code = bills["open"]["payment_code"]
    rotated = post(client, f"/v1/partners/{bank.client_id}/secret", {"reason": "rotasi berkala"},
                   auth_header("ADMIN", branch=None))
    assert rotated.status_code == 200
    new_secret = rotated.json_body["client_secret"]
    assert new_secret != bank.client_secret
    assert code_of(bank.inquiry(code)) == "4012401"           # token issued before
    bank.get_token()
    assert code_of(bank.inquiry(code)) == "4012400"           # old secret
    bank.client_secret = new_secret
    assert code_of(bank.inquiry(code)) == "2002400"


def test_replacing_the_key_refuses_tokens_signed_with_the_old_one(bank, bills, client,
                                                                  auth_header, partner_keys):
    replaced = client.http.put(f"/v1/partners/{bank.client_id}/public-key", body=json.dumps(
        {"public_key_pem": partner_keys[1][1], "reason": "kunci bocor"}),
        headers=auth_header("ADMIN", branch=None))
    assert replaced.status_code == 200, replaced.body
    assert code_of(bank.inquiry(bills["open"]["payment_code"])) == "4012401"
    assert code_of(bank.get_token()) == "4017300"
    bank.private_key_pem = partner_keys[1][0]
    assert code_of(bank.get_token()) == "2007300"


def test_secrets_never_reach_the_logs(bank, bills, caplog):
    from chalicelib.shared_kernel.observability import logger

    log = logger()
    level = log.log_level
    log.setLevel("DEBUG")
    try:
        code = bills["bpu"]["payment_code"]
        bank.inquiry(code)
        bank.payment(code, BPU_BILL, "PAY-LOG")
        bank.payment(code, BPU_BILL, "PAY-LOG", client_secret="wrong")
    finally:
        log.setLevel(level)
    # Every record with its structured fields (what powertools prints as JSON).
    logged = "\n".join(str(vars(record)) for record in caplog.records)
    assert "snap_payment_posted" in logged and "4012500" in logged  # the log was captured
    assert bank.client_secret not in logged
    assert bank.access_token not in logged
    assert bills["bpu"]["party_name"] not in logged


def test_a_body_that_is_not_json_is_4002400(bank):
    result = bank.transaction("/v1.0/transfer-va/inquiry", {}, send_body=b"customerNo=1")
    assert (result.status, code_of(result), result.body["responseMessage"]) == (
        400, "4002400", "Bad Request [body is not valid JSON]")


def test_an_internal_failure_answers_snap_general_error(bank, bills, stack, monkeypatch):
    def broken(code, on):
        raise RuntimeError("the database is unreachable")

    monkeypatch.setattr(stack.snap.payments, "lookup", broken)
    result = bank.inquiry(bills["open"]["payment_code"])
    assert (result.status, result.body) == (500, {"responseCode": "5002400",
                                                  "responseMessage": "General Error"})
    assert result.headers["x-timestamp"] == "2026-12-10T08:00:00+07:00"
