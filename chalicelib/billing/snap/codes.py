"""SNAP service codes, response codes and the one error type of the SNAP endpoints.

A SNAP `responseCode` is seven digits: HTTP status (3) + service code (2) + case code (2),
e.g. "4042412" = 404, VA inquiry, bill not found. The `responseMessage` texts follow the
standard's response-code table (SNAP developer site, "Keamanan" → Response Code); the
placeholders it writes as `{field name}` and `[reason]` are filled in by the factories below.

`SnapError` is a `SmileError`, so the project's single error mapper can render it; its
`to_body` gives the SNAP shape (`responseCode`, `responseMessage`) instead of `{"error": ...}`.
The service code is usually known only to the route, so an error may be raised without one
and be given its service where it is turned into a response (`to_body(service)`).
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any

from chalicelib.shared_kernel.errors import SmileError


class Service(StrEnum):
    """Service codes of the SNAP services we serve (their `Informasi Umum` tables)."""

    ACCESS_TOKEN_B2B = "73"
    VA_INQUIRY = "24"
    VA_PAYMENT = "25"
    VA_STATUS = "26"


# Used only when an error escapes before any route has named its service.
GENERAL_SERVICE = "00"

SUCCESS_CASE = "00"
SUCCESS_MESSAGE = "Successful"


def response_code(http_status: int, service: str, case: str) -> str:
    """(404, "24", "12") -> "4042412"."""
    if not 100 <= int(http_status) <= 599:
        raise ValueError(f"http_status {http_status!r} is not an HTTP status")
    service, case = str(service), str(case)
    if len(service) != 2 or not service.isdigit():
        raise ValueError(f"service code {service!r} must be two digits")
    if len(case) != 2 or not case.isdigit():
        raise ValueError(f"case code {case!r} must be two digits")
    return f"{int(http_status)}{service}{case}"


def success_code(service: str) -> str:
    return response_code(200, service, SUCCESS_CASE)


class SnapError(SmileError):
    """A SNAP answer other than success: HTTP status, case code and the standard message.

    Business refusals of an inquiry or payment may carry `virtual_account_data`
    (e.g. inquiryStatus "01" with a reason in English and Indonesian), which some channels
    show to the payer; it is added to the body as `virtualAccountData`.
    """

    def __init__(self, http_status: int, case: str, message: str, *,
                 service: str | None = None,
                 virtual_account_data: dict[str, Any] | None = None):
        response_code(http_status, service or GENERAL_SERVICE, case)  # validates the parts
        super().__init__(message)
        self.status = int(http_status)
        self.case = case
        self.service = service
        self.virtual_account_data = virtual_account_data

    # SmileError.code is the stable machine-readable code: for SNAP, the response code.
    @property
    def code(self) -> str:  # type: ignore[override]
        return self.response_code()

    def response_code(self, service: str | None = None) -> str:
        return response_code(self.status, service or self.service or GENERAL_SERVICE,
                             self.case)

    @property
    def response_message(self) -> str:
        return self.message

    def for_service(self, service: str) -> "SnapError":
        """This error, answered as `service`, unless it already names its own service."""
        if self.service is None:
            self.service = str(service)
        return self

    def to_body(self, service: str | None = None) -> dict[str, Any]:  # type: ignore[override]
        body: dict[str, Any] = {"responseCode": self.response_code(service),
                                "responseMessage": self.message}
        if self.virtual_account_data is not None:
            body["virtualAccountData"] = self.virtual_account_data
        return body

    def __repr__(self) -> str:
        return f"SnapError({self.response_code()!r}, {self.message!r})"

    # --- the cases SMILE answers, with the standard's messages -------------------------

    @classmethod
    def bad_request(cls, reason: str | None = None) -> "SnapError":
        """400xx00: the message could not be parsed at all (e.g. not JSON)."""
        return cls(400, "00", _with_reason("Bad Request", reason))

    @classmethod
    def invalid_field_format(cls, field: str) -> "SnapError":
        """400xx01 Invalid Field Format {field name}."""
        return cls(400, "01", f"Invalid Field Format {field}")

    @classmethod
    def invalid_mandatory_field(cls, field: str) -> "SnapError":
        """400xx02 Invalid Mandatory Field {field name}."""
        return cls(400, "02", f"Invalid Mandatory Field {field}")

    @classmethod
    def unauthorized(cls, reason: str | None = None) -> "SnapError":
        """401xx00 Unauthorized. [reason]: bad signature, unknown client, stale timestamp."""
        return cls(401, "00", _with_reason("Unauthorized.", reason, "Unauthorized"))

    @classmethod
    def invalid_token(cls) -> "SnapError":
        """401xx01 Invalid Token (B2B): token missing, unknown or expired."""
        return cls(401, "01", "Invalid Token (B2B)")

    @classmethod
    def transaction_not_found(cls) -> "SnapError":
        """404xx01 Transaction Not Found (a status request for a payment never received)."""
        return cls(404, "01", "Transaction Not Found")

    @classmethod
    def bill_not_found(cls, reason: str | None = "Not Found") -> "SnapError":
        """404xx12 Invalid Bill/Virtual Account [Reason]: unknown, blocked or suspended."""
        return cls(404, "12", _with_reason("Invalid Bill/Virtual Account", reason))

    @classmethod
    def invalid_amount(cls) -> "SnapError":
        """404xx13 Invalid Amount: the amount differs from the closed bill's amount."""
        return cls(404, "13", "Invalid Amount")

    @classmethod
    def paid_bill(cls) -> "SnapError":
        """404xx14 Paid Bill."""
        return cls(404, "14", "Paid Bill")

    @classmethod
    def inconsistent_request(cls) -> "SnapError":
        """404xx18 Inconsistent Request: same reference, different content."""
        return cls(404, "18", "Inconsistent Request")

    @classmethod
    def bill_expired(cls) -> "SnapError":
        """404xx19 Invalid Bill/Virtual Account: the bill or VA is expired."""
        return cls(404, "19", "Invalid Bill/Virtual Account")

    @classmethod
    def conflict(cls) -> "SnapError":
        """409xx00 Conflict: the same X-EXTERNAL-ID was used on the same day."""
        return cls(409, "00", "Conflict")

    @classmethod
    def too_many_requests(cls) -> "SnapError":
        return cls(429, "00", "Too Many Requests")

    @classmethod
    def general_error(cls) -> "SnapError":
        """500xx00 General Error: never says more, whatever went wrong inside."""
        return cls(500, "00", "General Error")


def _with_reason(message: str, reason: str | None, bare: str | None = None) -> str:
    # The standard writes "[reason]" as a placeholder; the brackets are kept around the
    # filled-in reason so the standard's text stays recognisable: "Unauthorized. [Signature]".
    if not reason:
        return bare or message
    return f"{message} [{reason}]"
