"""SNAP response codes: HTTP status + service code + case code, and the standard messages."""
from __future__ import annotations

import pytest

from chalicelib.billing.snap.codes import Service, SnapError, response_code, success_code
from chalicelib.shared_kernel.errors import SmileError


def test_response_code_concatenates_status_service_and_case():
    assert response_code(404, "24", "12") == "4042412"
    assert response_code(200, Service.ACCESS_TOKEN_B2B, "00") == "2007300"
    assert success_code(Service.VA_PAYMENT) == "2002500"


@pytest.mark.parametrize("status,service,case", [
    (99, "24", "00"), (404, "2", "12"), (404, "24", "1"), (404, "AB", "12"),
])
def test_response_code_refuses_malformed_parts(status, service, case):
    with pytest.raises(ValueError):
        response_code(status, service, case)


@pytest.mark.parametrize("error,service,code,message", [
    (SnapError.bad_request("body is not valid JSON"), Service.VA_INQUIRY, "4002400",
     "Bad Request [body is not valid JSON]"),
    (SnapError.invalid_field_format("customerNo"), Service.VA_INQUIRY, "4002401",
     "Invalid Field Format customerNo"),
    (SnapError.invalid_mandatory_field("paidAmount.value"), Service.VA_PAYMENT, "4002502",
     "Invalid Mandatory Field paidAmount.value"),
    (SnapError.unauthorized("Signature"), Service.VA_INQUIRY, "4012400",
     "Unauthorized. [Signature]"),
    (SnapError.unauthorized(), Service.ACCESS_TOKEN_B2B, "4017300", "Unauthorized"),
    (SnapError.invalid_token(), Service.VA_INQUIRY, "4012401", "Invalid Token (B2B)"),
    (SnapError.transaction_not_found(), Service.VA_STATUS, "4042601",
     "Transaction Not Found"),
    (SnapError.bill_not_found(), Service.VA_INQUIRY, "4042412",
     "Invalid Bill/Virtual Account [Not Found]"),
    (SnapError.invalid_amount(), Service.VA_PAYMENT, "4042513", "Invalid Amount"),
    (SnapError.paid_bill(), Service.VA_INQUIRY, "4042414", "Paid Bill"),
    (SnapError.paid_bill(), Service.VA_PAYMENT, "4042514", "Paid Bill"),
    (SnapError.inconsistent_request(), Service.VA_PAYMENT, "4042518",
     "Inconsistent Request"),
    (SnapError.bill_expired(), Service.VA_INQUIRY, "4042419",
     "Invalid Bill/Virtual Account"),
    (SnapError.conflict(), Service.VA_INQUIRY, "4092400", "Conflict"),
    (SnapError.general_error(), Service.VA_PAYMENT, "5002500", "General Error"),
])
def test_each_case_answers_the_standard_code_and_message(error, service, code, message):
    assert error.to_body(service) == {"responseCode": code, "responseMessage": message}
    assert error.status == int(code[:3])


def test_an_error_raised_without_service_takes_the_routes_service():
    error = SnapError.paid_bill()

    assert error.for_service(Service.VA_PAYMENT).code == "4042514"


def test_an_error_that_names_its_service_keeps_it():
    error = SnapError.paid_bill().for_service(Service.VA_INQUIRY)

    assert error.for_service(Service.VA_PAYMENT).response_code() == "4042414"


def test_an_error_without_any_service_uses_the_general_code():
    assert SnapError.general_error().code == "5000000"


def test_snap_errors_are_project_errors_with_their_status():
    error = SnapError.conflict()

    assert isinstance(error, SmileError)
    assert error.status == 409
    assert error.message == error.response_message == "Conflict"


def test_an_error_can_carry_virtual_account_data():
    error = SnapError(404, "12", "Invalid Bill/Virtual Account [Not Found]",
                      service=Service.VA_INQUIRY,
                      virtual_account_data={"inquiryStatus": "01"})

    assert error.to_body() == {"responseCode": "4042412",
                               "responseMessage": "Invalid Bill/Virtual Account [Not Found]",
                               "virtualAccountData": {"inquiryStatus": "01"}}
