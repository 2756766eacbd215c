"""SNAP Virtual Account message bodies: the inbound requests as pydantic models, and builders
for the response bodies of inquiry (service 24), payment (25) and status (26).

Field names on the wire are SNAP's camelCase exactly; in Python they are snake_case
(`req.customer_no` is `customerNo`). Only the fields SMILE uses are modelled; everything else
a channel sends (hashedSourceAccountNo, freeTexts, billDetails of a payment, ...) is allowed
and ignored, as the standard lets each PJP send optional fields.

Rules taken from the standard's field tables (SNAP developer site, API Virtual Account):
- partnerServiceId: String(8), the biller's company code left-padded with spaces to 8;
- customerNo: up to 20 digits (for SMILE, the payment code);
- virtualAccountNo: String(28) = partnerServiceId + customerNo, spaces included;
- inquiryRequestId (inquiry) and paymentRequestId (payment): mandatory, up to 128; a payment
  that follows an inquiry carries paymentRequestId equal to the inquiryRequestId;
- amounts: {"value": "16800.00", "currency": "IDR"}, value a string with two decimals.

A body that fails validation becomes a `SnapError`: 400xx02 "Invalid Mandatory Field <field>"
when a mandatory field is absent, null or blank, else 400xx01 "Invalid Field Format <field>";
<field> is the wire name with its path ("paidAmount.value").
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Annotated, Any, Iterable, Literal, Mapping, NamedTuple, TypeVar

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      ValidationInfo, field_validator)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from chalicelib.shared_kernel.calendar import JAKARTA
from chalicelib.shared_kernel.money import Rupiah, parse_snap_value, to_snap_value

from .codes import SUCCESS_MESSAGE, Service, SnapError, success_code

PARTNER_SERVICE_ID_LENGTH = 8
CUSTOMER_NO_MAX = 20
REQUEST_ID_MAX = 128
BILL_DETAILS_MAX = 24
FREE_TEXTS_MAX = 25
CURRENCY = "IDR"
CLOSED_PAYMENT = "C"  # virtualAccountTrxType: the payer pays exactly the billed amount

INQUIRY_SUCCESS = "00"
INQUIRY_FAILED = "01"
PAYMENT_FLAG_SUCCESS = "00"
PAYMENT_FLAG_FAILED = "01"


class Reason(NamedTuple):
    """A reason in the two languages SNAP carries (inquiryReason, paymentFlagReason)."""

    english: str
    indonesia: str

    def to_json(self, limit: int) -> dict[str, str]:
        return {"english": self.english[:limit], "indonesia": self.indonesia[:limit]}


SUCCESS_REASON = Reason("Success", "Sukses")


# --- inbound ---------------------------------------------------------------------------

# String(16,2): up to 16 digits before the point, exactly two after; ASCII digits only.
_SNAP_VALUE_RE = re.compile(r"[0-9]{1,16}\.[0-9]{2}")
_COMPANY_CODE_RE = re.compile(r"[0-9]{1,8}")


def _snap_value(value: Any) -> Rupiah:
    if not isinstance(value, str) or not _SNAP_VALUE_RE.fullmatch(value):
        raise ValueError("amount value must be a string with two decimals, e.g. '16800.00'")
    return parse_snap_value(value)  # refuses sen: rupiah bills are whole


def _iso_instant(value: Any) -> Any:
    """Optional PJP datetimes (trxDateInit, trxDateTime): ISO 8601, checked, kept as text.

    The standard's own samples use both "2020-12-31T23:59:59+07:00" and the basic form
    "20201231T235959Z", and some omit the offset; all are accepted (see `instant_of`).
    """
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 25:
        raise ValueError("must be an ISO 8601 date-time string")
    instant_of(value)
    return value


def instant_of(text: str) -> datetime:
    """ISO 8601 text -> aware datetime. A partner datetime without offset is its local
    (Jakarta) time: every SNAP participant is Indonesian and the field is informational."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError("must be an ISO 8601 date-time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=JAKARTA)


SnapValue = Annotated[Rupiah, BeforeValidator(_snap_value)]
IsoInstant = Annotated[str | None, BeforeValidator(_iso_instant)]
# pattern is a search: the id must hold at least one non-space character.
RequestId = Annotated[str, Field(min_length=1, max_length=REQUEST_ID_MAX, pattern=r"\S")]


class SnapModel(BaseModel):
    # Never strip strings: the spaces of partnerServiceId are part of the value.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              extra="ignore", str_strip_whitespace=False, frozen=True)


class Amount(SnapModel):
    value: SnapValue
    currency: Literal["IDR"]


class VirtualAccountRef(SnapModel):
    """The three fields that name a virtual account in every VA request."""

    partner_service_id: str = Field(min_length=PARTNER_SERVICE_ID_LENGTH,
                                    max_length=PARTNER_SERVICE_ID_LENGTH,
                                    pattern=r"^ *[0-9]+$")
    customer_no: str = Field(min_length=1, max_length=CUSTOMER_NO_MAX, pattern=r"^[0-9]+$")
    virtual_account_no: str = Field(min_length=1,
                                    max_length=PARTNER_SERVICE_ID_LENGTH + CUSTOMER_NO_MAX)

    @field_validator("virtual_account_no")
    @classmethod
    def _is_service_id_plus_customer_no(cls, value: str, info: ValidationInfo) -> str:
        service_id = info.data.get("partner_service_id")
        customer_no = info.data.get("customer_no")
        # If either part is itself invalid, that error is the one to report.
        if service_id is not None and customer_no is not None \
                and value != service_id + customer_no:
            raise PydanticCustomError(
                "virtual_account_mismatch",
                "virtualAccountNo must equal partnerServiceId + customerNo")
        return value

    @property
    def company_code(self) -> str:
        """partnerServiceId without its padding."""
        return self.partner_service_id.lstrip()


class InquiryRequest(VirtualAccountRef):
    inquiry_request_id: RequestId
    trx_date_init: IsoInstant = None
    channel_code: int | None = Field(default=None, ge=0, le=9999)
    language: str | None = Field(default=None, max_length=2)
    amount: Amount | None = None
    additional_info: dict[str, Any] | None = None


class PaymentRequest(VirtualAccountRef):
    payment_request_id: RequestId
    paid_amount: Amount
    total_amount: Amount | None = None
    trx_date_time: IsoInstant = None
    virtual_account_name: str | None = Field(default=None, max_length=255)
    trx_id: str | None = Field(default=None, max_length=64)
    reference_no: str | None = Field(default=None, max_length=64)
    channel_code: int | None = Field(default=None, ge=0, le=9999)
    flag_advise: Literal["Y", "N"] | None = None
    additional_info: dict[str, Any] | None = None


class StatusRequest(VirtualAccountRef):
    """inquiryRequestId is conditional and paymentRequestId optional in the standard; a
    payment code is paid at most once, so the virtual account alone names the payment."""

    inquiry_request_id: RequestId | None = None
    payment_request_id: RequestId | None = None
    additional_info: dict[str, Any] | None = None


M = TypeVar("M", bound=BaseModel)


def parse_request(model: type[M], raw_body: bytes | str | Mapping[str, Any],
                  service: str | None = None) -> M:
    """Raw body -> validated model, or SnapError (400xx00 not JSON, 400xx01, 400xx02)."""
    data: Any = raw_body
    if isinstance(raw_body, (bytes, bytearray, str)):
        try:
            data = json.loads(raw_body) if raw_body.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _for(SnapError.bad_request("body is not valid JSON"), service) from exc
    if not isinstance(data, Mapping):
        raise _for(SnapError.bad_request("body must be a JSON object"), service)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _for(snap_error_from_validation(exc, model), service) from exc


def parse_inquiry_request(raw_body: bytes | str | Mapping[str, Any]) -> InquiryRequest:
    return parse_request(InquiryRequest, raw_body, Service.VA_INQUIRY)


def parse_payment_request(raw_body: bytes | str | Mapping[str, Any]) -> PaymentRequest:
    return parse_request(PaymentRequest, raw_body, Service.VA_PAYMENT)


def parse_status_request(raw_body: bytes | str | Mapping[str, Any]) -> StatusRequest:
    return parse_request(StatusRequest, raw_body, Service.VA_STATUS)


def snap_error_from_validation(exc: ValidationError,
                               model: type[BaseModel] | None = None) -> SnapError:
    """The first missing mandatory field (400xx02), else the first malformed one (400xx01).

    Absent, null and blank count as missing for a mandatory field, as they do for the
    partner reading "Invalid Mandatory Field".
    """
    errors = exc.errors(include_url=False)
    for error in errors:
        if _is_missing(error, model):
            return SnapError.invalid_mandatory_field(_field_name(error["loc"]))
    return SnapError.invalid_field_format(_field_name(errors[0]["loc"]) if errors else "body")


def _is_missing(error: Mapping[str, Any], model: type[BaseModel] | None) -> bool:
    if error["type"] == "missing":
        return True
    value = error.get("input")
    blank = value is None or (isinstance(value, str) and not value.strip())
    return blank and model is not None and _is_required(model, error["loc"])


def _is_required(model: type[BaseModel], loc: Iterable[Any]) -> bool:
    """Whether the field at `loc` (wire names) is mandatory, following nested models."""
    current: Any = model
    required = False
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return False
        field = next((f for name, f in current.model_fields.items()
                      if (f.alias or name) == part), None)
        if field is None:
            return False
        required = field.is_required()
        current = field.annotation
        if not required:
            return False
    return required


def _field_name(loc: Iterable[Any]) -> str:
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def _for(error: SnapError, service: str | None) -> SnapError:
    return error.for_service(service) if service else error


# --- outbound --------------------------------------------------------------------------

@dataclass(frozen=True)
class BillDetail:
    """One line of billDetails. Identifiers that do not fit the standard's lengths are
    refused (they would be wrong); display texts are shortened to fit."""

    bill_no: str | None = None                # String(18)
    bill_name: str | None = None              # String(20)
    amount: Rupiah | None = None
    bill_code: str | None = None              # String(2), e.g. "01"
    bill_short_name: str | None = None        # String(10)
    description_english: str | None = None    # String(18)
    description_indonesia: str | None = None  # String(18)
    additional_info: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        if self.bill_no is not None and len(self.bill_no) > 18:
            raise ValueError(f"billNo {self.bill_no!r} is longer than 18 characters")
        if self.bill_code is not None and len(self.bill_code) != 2:
            raise ValueError(f"billCode {self.bill_code!r} must be 2 characters")
        body: dict[str, Any] = {}
        if self.bill_code is not None:
            body["billCode"] = self.bill_code
        if self.bill_no is not None:
            body["billNo"] = self.bill_no
        if self.bill_name is not None:
            body["billName"] = self.bill_name[:20]
        if self.bill_short_name is not None:
            body["billShortName"] = self.bill_short_name[:10]
        if self.description_english is not None or self.description_indonesia is not None:
            body["billDescription"] = {
                "english": (self.description_english or self.description_indonesia or "")[:18],
                "indonesia": (self.description_indonesia or self.description_english or "")[:18],
            }
        if self.amount is not None:
            body["billAmount"] = amount_json(self.amount)
        if self.additional_info is not None:
            body["additionalInfo"] = dict(self.additional_info)
        return body


_BILL_DETAIL_KEYS = frozenset(f.name for f in fields(BillDetail))


def amount_json(amount: Rupiah) -> dict[str, str]:
    return {"value": to_snap_value(amount), "currency": CURRENCY}


def pad_partner_service_id(company_code: str) -> str:
    """"12345" -> "   12345": partnerServiceId is the company code left-padded to 8."""
    code = company_code.strip()
    if not _COMPANY_CODE_RE.fullmatch(code):
        raise ValueError(f"company code {company_code!r} must be 1 to 8 digits")
    return code.rjust(PARTNER_SERVICE_ID_LENGTH)


def virtual_account_identity(partner_service_id: str, customer_no: str) -> dict[str, str]:
    service_id = pad_partner_service_id(partner_service_id)
    return {"partnerServiceId": service_id, "customerNo": customer_no,
            "virtualAccountNo": service_id + customer_no}


def inquiry_response(*, partner_service_id: str, customer_no: str, virtual_account_name: str,
                     inquiry_request_id: str, total_amount: Rupiah,
                     bill_details: Iterable[BillDetail | Mapping[str, Any]] = (),
                     free_texts: Iterable[Reason | tuple[str, str]] = (),
                     additional_info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """2002400 with the closed-amount bill the payer is about to pay."""
    data: dict[str, Any] = {
        "inquiryStatus": INQUIRY_SUCCESS,
        "inquiryReason": SUCCESS_REASON.to_json(64),
        **virtual_account_identity(partner_service_id, customer_no),
        "virtualAccountName": virtual_account_name[:255],
        "inquiryRequestId": inquiry_request_id,
        "totalAmount": amount_json(total_amount),
        "billDetails": _bill_details(bill_details),
        **_free_texts(free_texts),
        "virtualAccountTrxType": CLOSED_PAYMENT,
    }
    return _success(Service.VA_INQUIRY, data, additional_info)


def payment_response(*, partner_service_id: str, customer_no: str, virtual_account_name: str,
                     payment_request_id: str, paid_amount: Rupiah,
                     total_amount: Rupiah | None = None, trx_date_time: str | None = None,
                     reference_no: str | None = None, trx_id: str | None = None,
                     bill_details: Iterable[BillDetail | Mapping[str, Any]] = (),
                     free_texts: Iterable[Reason | tuple[str, str]] = (),
                     additional_info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """2002500: the payment is posted (paymentFlagStatus "00")."""
    data: dict[str, Any] = {
        "paymentFlagReason": SUCCESS_REASON.to_json(200),
        **virtual_account_identity(partner_service_id, customer_no),
        "virtualAccountName": virtual_account_name[:255],
        **_optional(trxId=trx_id),
        "paymentRequestId": payment_request_id,
        "paidAmount": amount_json(paid_amount),
        **_optional(totalAmount=None if total_amount is None else amount_json(total_amount),
                    trxDateTime=trx_date_time, referenceNo=reference_no),
        "paymentFlagStatus": PAYMENT_FLAG_SUCCESS,
        "billDetails": _bill_details(bill_details),
        **_free_texts(free_texts),
    }
    return _success(Service.VA_PAYMENT, data, additional_info)


def status_response(*, partner_service_id: str, customer_no: str,
                    payment_request_id: str | None, inquiry_request_id: str | None = None,
                    payment_flag_status: str = PAYMENT_FLAG_SUCCESS,
                    payment_flag_reason: Reason | tuple[str, str] = SUCCESS_REASON,
                    paid_amount: Rupiah | None = None, total_amount: Rupiah | None = None,
                    trx_date_time: str | None = None, transaction_date: str | None = None,
                    reference_no: str | None = None,
                    bill_details: Iterable[BillDetail | Mapping[str, Any]] = (),
                    additional_info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """2002600 with the state of the payment: "00" posted, "01" not posted.

    inquiryRequestId is mandatory in the answer; when the payment came without an inquiry
    the paymentRequestId stands in for it (after an inquiry the two are equal anyway).
    """
    data: dict[str, Any] = {
        "paymentFlagReason": Reason(*payment_flag_reason).to_json(200),
        **virtual_account_identity(partner_service_id, customer_no),
        "inquiryRequestId": inquiry_request_id or payment_request_id or "",
        **_optional(
            paymentRequestId=payment_request_id,
            paidAmount=None if paid_amount is None else amount_json(paid_amount),
            totalAmount=None if total_amount is None else amount_json(total_amount),
            trxDateTime=trx_date_time, transactionDate=transaction_date,
            referenceNo=reference_no),
        "paymentFlagStatus": payment_flag_status,
        "billDetails": _bill_details(bill_details),
    }
    return _success(Service.VA_STATUS, data, additional_info)


def inquiry_rejection_data(request: InquiryRequest, reason: Reason | tuple[str, str]
                           ) -> dict[str, Any]:
    """virtualAccountData for a refused inquiry (SnapError(virtual_account_data=...)):
    inquiryStatus "01" and the reason a channel can show to the payer."""
    return {
        "inquiryStatus": INQUIRY_FAILED,
        "inquiryReason": Reason(*reason).to_json(64),
        "partnerServiceId": request.partner_service_id,
        "customerNo": request.customer_no,
        "virtualAccountNo": request.virtual_account_no,
        "inquiryRequestId": request.inquiry_request_id,
    }


def payment_rejection_data(request: PaymentRequest, reason: Reason | tuple[str, str]
                           ) -> dict[str, Any]:
    """virtualAccountData for a refused payment: paymentFlagStatus "01" and the reason."""
    return {
        "paymentFlagReason": Reason(*reason).to_json(200),
        "partnerServiceId": request.partner_service_id,
        "customerNo": request.customer_no,
        "virtualAccountNo": request.virtual_account_no,
        "paymentRequestId": request.payment_request_id,
        "paidAmount": amount_json(request.paid_amount.value),
        "paymentFlagStatus": PAYMENT_FLAG_FAILED,
    }


def _success(service: Service, data: dict[str, Any],
             additional_info: Mapping[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"responseCode": success_code(service),
                            "responseMessage": SUCCESS_MESSAGE,
                            "virtualAccountData": data}
    if additional_info is not None:
        body["additionalInfo"] = dict(additional_info)
    return body


def _bill_details(details: Iterable[BillDetail | Mapping[str, Any]]) -> list[dict[str, Any]]:
    lines = [d if isinstance(d, BillDetail) else _bill_detail_from(d) for d in details]
    if len(lines) > BILL_DETAILS_MAX:
        # Truncating would show the payer a bill whose lines do not add up; the caller
        # groups lines (per program, say) before answering.
        raise ValueError(f"billDetails holds at most {BILL_DETAILS_MAX} lines, "
                         f"got {len(lines)}")
    return [line.to_json() for line in lines]


def _bill_detail_from(mapping: Mapping[str, Any]) -> BillDetail:
    unknown = set(mapping) - _BILL_DETAIL_KEYS
    if unknown:
        raise ValueError(f"unknown bill detail keys: {sorted(unknown)}")
    return BillDetail(**mapping)


def _free_texts(texts: Iterable[Reason | tuple[str, str]]) -> dict[str, Any]:
    items = [Reason(*text).to_json(32) for text in texts]
    if len(items) > FREE_TEXTS_MAX:
        raise ValueError(f"freeTexts holds at most {FREE_TEXTS_MAX} lines")
    return {"freeTexts": items} if items else {}


def _optional(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
