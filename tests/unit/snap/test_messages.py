"""SNAP VA bodies: request validation (and its 400 codes) and the response builders."""
from __future__ import annotations

import json

import pytest

from chalicelib.billing.snap.codes import SnapError
from chalicelib.billing.snap.messages import (
    BillDetail, Reason, inquiry_rejection_data, inquiry_response, pad_partner_service_id,
    parse_inquiry_request, parse_payment_request, parse_status_request, payment_rejection_data,
    payment_response, status_response,
)

SERVICE_ID = "   88899"
CUSTOMER_NO = "2612000001"


def inquiry_body(**changes):
    body = {"partnerServiceId": SERVICE_ID, "customerNo": CUSTOMER_NO,
            "virtualAccountNo": SERVICE_ID + CUSTOMER_NO,
            "inquiryRequestId": "INQ-1", "channelCode": 6011, "language": "ID",
            "trxDateInit": "2026-12-16T08:00:00+07:00", "additionalInfo": {}}
    return _apply(body, changes)


def payment_body(**changes):
    body = {"partnerServiceId": SERVICE_ID, "customerNo": CUSTOMER_NO,
            "virtualAccountNo": SERVICE_ID + CUSTOMER_NO, "paymentRequestId": "INQ-1",
            "paidAmount": {"value": "16800.00", "currency": "IDR"},
            "totalAmount": {"value": "16800.00", "currency": "IDR"},
            "trxDateTime": "2026-12-16T08:00:05+07:00", "referenceNo": "123456789012345",
            "flagAdvise": "N", "hashedSourceAccountNo": "abc", "freeTexts": []}
    return _apply(body, changes)


def _apply(body, changes):
    for key, value in changes.items():
        if value is _DROP:
            body.pop(key)
        else:
            body[key] = value
    return json.dumps(body).encode()


_DROP = object()


def refusal(parse, raw) -> str:
    with pytest.raises(SnapError) as caught:
        parse(raw)
    return f"{caught.value.code} {caught.value.message}"


# --- requests --------------------------------------------------------------------------

def test_inquiry_request_is_read_with_its_spaces():
    request = parse_inquiry_request(inquiry_body())

    assert request.partner_service_id == SERVICE_ID
    assert request.company_code == "88899"
    assert request.customer_no == CUSTOMER_NO
    assert request.virtual_account_no == "   888992612000001"
    assert request.inquiry_request_id == "INQ-1"


def test_payment_request_amount_is_integer_rupiah():
    request = parse_payment_request(payment_body())

    assert request.paid_amount.value == 16800
    assert request.total_amount.value == 16800
    assert request.payment_request_id == "INQ-1"


def test_fields_the_standard_allows_but_smile_does_not_use_are_ignored():
    request = parse_payment_request(payment_body(billDetails=[{"billNo": "x"}], journalNum="1"))

    assert request.paid_amount.value == 16800


@pytest.mark.parametrize("field", [
    "partnerServiceId", "customerNo", "virtualAccountNo", "inquiryRequestId"])
def test_inquiry_without_a_mandatory_field_names_it(field):
    assert refusal(parse_inquiry_request, inquiry_body(**{field: _DROP})) == (
        f"4002402 Invalid Mandatory Field {field}")


@pytest.mark.parametrize("field", ["paymentRequestId", "paidAmount"])
def test_payment_without_a_mandatory_field_names_it(field):
    assert refusal(parse_payment_request, payment_body(**{field: _DROP})) == (
        f"4002502 Invalid Mandatory Field {field}")


@pytest.mark.parametrize("value", [None, "", "   "])
def test_null_or_blank_mandatory_field_counts_as_missing(value):
    assert refusal(parse_payment_request, payment_body(paymentRequestId=value)) == (
        "4002502 Invalid Mandatory Field paymentRequestId")


def test_missing_nested_mandatory_field_is_named_with_its_path():
    assert refusal(parse_payment_request,
                   payment_body(paidAmount={"currency": "IDR"})) == (
        "4002502 Invalid Mandatory Field paidAmount.value")


@pytest.mark.parametrize("changes,field", [
    ({"customerNo": 2612000001}, "customerNo"),           # a number, not a string
    ({"customerNo": "26120000AB"}, "customerNo"),
    ({"customerNo": "1" * 21}, "customerNo"),
    ({"partnerServiceId": "88899"}, "partnerServiceId"),   # not padded to 8
    ({"partnerServiceId": "88899   "}, "partnerServiceId"),  # padded on the wrong side
    ({"virtualAccountNo": "888992612000001"}, "virtualAccountNo"),  # spaces dropped
    ({"virtualAccountNo": SERVICE_ID + "2612000002"}, "virtualAccountNo"),
    ({"inquiryRequestId": "x" * 129}, "inquiryRequestId"),
    ({"trxDateInit": "yesterday"}, "trxDateInit"),
    ({"channelCode": "ATM"}, "channelCode"),
])
def test_inquiry_field_in_the_wrong_format_names_it(changes, field):
    assert refusal(parse_inquiry_request, inquiry_body(**changes)) == (
        f"4002401 Invalid Field Format {field}")


@pytest.mark.parametrize("amount,field", [
    ({"value": "16800.50", "currency": "IDR"}, "paidAmount.value"),  # sen on a rupiah bill
    ({"value": "16800", "currency": "IDR"}, "paidAmount.value"),
    ({"value": 16800.00, "currency": "IDR"}, "paidAmount.value"),    # a number
    ({"value": "-1.00", "currency": "IDR"}, "paidAmount.value"),
    ({"value": "１６８００.００", "currency": "IDR"}, "paidAmount.value"),
    ({"value": "16800.00", "currency": "USD"}, "paidAmount.currency"),
])
def test_payment_amount_in_the_wrong_format_names_it(amount, field):
    assert refusal(parse_payment_request, payment_body(paidAmount=amount)) == (
        f"4002501 Invalid Field Format {field}")


@pytest.mark.parametrize("text", [
    "2026-12-16T08:00:05+07:00", "20201231T235959Z", "2020-10-20T17:56:57"])
def test_partner_datetimes_in_the_standards_sample_forms_are_accepted(text):
    request = parse_payment_request(payment_body(trxDateTime=text))

    assert request.trx_date_time == text


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"text"', b"\xff"])
def test_body_that_is_not_a_json_object_is_a_bad_request(raw):
    assert refusal(parse_inquiry_request, raw).startswith("4002400 Bad Request")


def test_status_request_may_name_the_payment_or_only_the_account():
    with_ids = parse_status_request(
        inquiry_body(inquiryRequestId="INQ-1", paymentRequestId="INQ-1"))
    account_only = parse_status_request(inquiry_body(inquiryRequestId=_DROP))

    assert with_ids.payment_request_id == "INQ-1"
    assert account_only.inquiry_request_id is None
    assert account_only.payment_request_id is None


def test_status_request_errors_carry_the_status_service_code():
    assert refusal(parse_status_request, inquiry_body(customerNo=_DROP)) == (
        "4002602 Invalid Mandatory Field customerNo")


# --- responses -------------------------------------------------------------------------

def test_inquiry_response_has_the_standards_shape():
    body = inquiry_response(
        partner_service_id="88899", customer_no=CUSTOMER_NO,
        virtual_account_name="PT Maju Jaya", inquiry_request_id="INQ-1", total_amount=16800,
        bill_details=[BillDetail(bill_no="B-2026-11-1", bill_name="Iuran 2026-11",
                                 amount=16800, description_english="Contribution",
                                 description_indonesia="Iuran")])

    assert body == {
        "responseCode": "2002400",
        "responseMessage": "Successful",
        "virtualAccountData": {
            "inquiryStatus": "00",
            "inquiryReason": {"english": "Success", "indonesia": "Sukses"},
            "partnerServiceId": "   88899",
            "customerNo": CUSTOMER_NO,
            "virtualAccountNo": "   888992612000001",
            "virtualAccountName": "PT Maju Jaya",
            "inquiryRequestId": "INQ-1",
            "totalAmount": {"value": "16800.00", "currency": "IDR"},
            "billDetails": [{
                "billNo": "B-2026-11-1",
                "billName": "Iuran 2026-11",
                "billDescription": {"english": "Contribution", "indonesia": "Iuran"},
                "billAmount": {"value": "16800.00", "currency": "IDR"},
            }],
            "virtualAccountTrxType": "C",
        },
    }


def test_payment_response_has_the_standards_shape():
    body = payment_response(
        partner_service_id="   88899", customer_no=CUSTOMER_NO,
        virtual_account_name="PT Maju Jaya", payment_request_id="INQ-1", paid_amount=16800,
        total_amount=16800, trx_date_time="2026-12-16T08:00:05+07:00",
        reference_no="123456789012345")

    assert body["responseCode"] == "2002500"
    assert body["responseMessage"] == "Successful"
    assert body["virtualAccountData"] == {
        "paymentFlagReason": {"english": "Success", "indonesia": "Sukses"},
        "partnerServiceId": "   88899",
        "customerNo": CUSTOMER_NO,
        "virtualAccountNo": "   888992612000001",
        "virtualAccountName": "PT Maju Jaya",
        "paymentRequestId": "INQ-1",
        "paidAmount": {"value": "16800.00", "currency": "IDR"},
        "totalAmount": {"value": "16800.00", "currency": "IDR"},
        "trxDateTime": "2026-12-16T08:00:05+07:00",
        "referenceNo": "123456789012345",
        "paymentFlagStatus": "00",
        "billDetails": [],
    }


def test_status_response_of_a_posted_payment():
    body = status_response(partner_service_id="88899", customer_no=CUSTOMER_NO,
                           payment_request_id="PAY-9", paid_amount=16800,
                           total_amount=16800, transaction_date="2026-12-16T08:00:05+07:00")

    data = body["virtualAccountData"]
    assert body["responseCode"] == "2002600"
    assert data["paymentFlagStatus"] == "00"
    assert data["inquiryRequestId"] == "PAY-9"  # mandatory; stands in when no inquiry
    assert data["paymentRequestId"] == "PAY-9"
    assert data["paidAmount"] == {"value": "16800.00", "currency": "IDR"}
    assert data["transactionDate"] == "2026-12-16T08:00:05+07:00"


def test_status_response_of_a_payment_not_posted():
    body = status_response(partner_service_id="88899", customer_no=CUSTOMER_NO,
                           payment_request_id="PAY-9", inquiry_request_id="INQ-1",
                           payment_flag_status="01",
                           payment_flag_reason=Reason("Bill not paid", "Tagihan belum dibayar"))

    data = body["virtualAccountData"]
    assert data["paymentFlagStatus"] == "01"
    assert data["paymentFlagReason"] == {"english": "Bill not paid",
                                         "indonesia": "Tagihan belum dibayar"}
    assert "paidAmount" not in data


def test_bill_details_may_be_plain_dicts_and_texts_are_cut_to_the_standards_lengths():
    body = inquiry_response(
        partner_service_id="88899", customer_no=CUSTOMER_NO, virtual_account_name="X" * 300,
        inquiry_request_id="INQ-1", total_amount=5000,
        bill_details=[{"bill_code": "01", "bill_name": "Jaminan Hari Tua November 2026",
                       "bill_short_name": "JHT 2026-11", "amount": 5000,
                       "description_indonesia": "Jaminan Hari Tua pekerja"}],
        free_texts=[("Pay before the 15th", "Bayar sebelum tanggal 15")])

    data = body["virtualAccountData"]
    assert len(data["virtualAccountName"]) == 255
    assert data["billDetails"] == [{
        "billCode": "01", "billName": "Jaminan Hari Tua Nov", "billShortName": "JHT 2026-1",
        "billDescription": {"english": "Jaminan Hari Tua p", "indonesia": "Jaminan Hari Tua p"},
        "billAmount": {"value": "5000.00", "currency": "IDR"}}]
    assert data["freeTexts"] == [{"english": "Pay before the 15th",
                                  "indonesia": "Bayar sebelum tanggal 15"}]


def test_more_than_24_bill_lines_is_refused_rather_than_cut():
    lines = [BillDetail(bill_name=f"line {i}", amount=100) for i in range(25)]

    with pytest.raises(ValueError, match="24"):
        inquiry_response(partner_service_id="88899", customer_no=CUSTOMER_NO,
                         virtual_account_name="X", inquiry_request_id="I",
                         total_amount=2500, bill_details=lines)


@pytest.mark.parametrize("detail", [
    BillDetail(bill_no="1" * 19), BillDetail(bill_code="1"), {"bill_number": "x"}])
def test_bill_identifiers_that_do_not_fit_are_refused(detail):
    with pytest.raises((ValueError, TypeError)):
        inquiry_response(partner_service_id="88899", customer_no=CUSTOMER_NO,
                         virtual_account_name="X", inquiry_request_id="I", total_amount=1,
                         bill_details=[detail])


def test_amounts_must_be_integer_rupiah():
    with pytest.raises(TypeError):
        inquiry_response(partner_service_id="88899", customer_no=CUSTOMER_NO,
                         virtual_account_name="X", inquiry_request_id="I",
                         total_amount=16800.0)


@pytest.mark.parametrize("code,padded", [("88899", "   88899"), ("   88899", "   88899"),
                                          ("12345678", "12345678")])
def test_partner_service_id_is_left_padded_to_eight(code, padded):
    assert pad_partner_service_id(code) == padded


@pytest.mark.parametrize("code", ["123456789", "8889A", ""])
def test_partner_service_id_must_be_up_to_eight_digits(code):
    with pytest.raises(ValueError):
        pad_partner_service_id(code)


def test_rejection_data_tells_the_channel_why_in_both_languages():
    inquiry = parse_inquiry_request(inquiry_body())
    payment = parse_payment_request(payment_body())
    reason = Reason("Bill has been paid", "Tagihan sudah dibayar")

    assert inquiry_rejection_data(inquiry, reason) == {
        "inquiryStatus": "01",
        "inquiryReason": {"english": "Bill has been paid", "indonesia": "Tagihan sudah dibayar"},
        "partnerServiceId": SERVICE_ID, "customerNo": CUSTOMER_NO,
        "virtualAccountNo": SERVICE_ID + CUSTOMER_NO, "inquiryRequestId": "INQ-1"}
    assert payment_rejection_data(payment, reason)["paymentFlagStatus"] == "01"
    assert payment_rejection_data(payment, reason)["paidAmount"] == {
        "value": "16800.00", "currency": "IDR"}
