"""The pure rules of the SNAP use cases: billDetails that always add up to the total, what
makes two payments "the same", and reading partners' settlement files."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from chalicelib.billing.snap.messages import parse_payment_request
from chalicelib.billing.snap_service import (bill_details, compare, parse_settlement,
                                             payment_content)
from chalicelib.shared_kernel.errors import ValidationFailed


def lookup(*bills):
    lines = [{"period": period, "contribution": sum(a for _, a in programs), "fine": fine,
              "amount": sum(a for _, a in programs) + fine,
              "lines": [{"program": p, "payer": "PARTICIPANT", "amount": a}
                        for p, a in programs]} for period, programs, fine in bills]
    return SimpleNamespace(lines=lines, amount_due=sum(b["amount"] for b in lines))


def test_one_line_per_program_and_one_for_the_fine():
    found = lookup(("2026-11", [("JKK", 27_000), ("JHT", 100_000), ("JHT", 185_000)], 2_540))
    details = [d.to_json() for d in bill_details(found)]
    assert [(d["billCode"], d["billNo"], d["billAmount"]["value"]) for d in details] == [
        ("01", "2026-11-JKK", "27000.00"), ("02", "2026-11-JHT", "285000.00"),
        ("03", "2026-11-DENDA", "2540.00")]
    assert details[2]["billDescription"] == {"english": "Late payment fine",
                                             "indonesia": "Denda"}


def test_a_year_of_prepayment_is_one_line_per_month_and_more_is_one_line():
    two_programs = lookup(*[(f"2027-{m:02d}", [("JKK", 10_000), ("JKM", 6_800)], 0)
                            for m in range(1, 13)])
    assert len(bill_details(two_programs)) == 24          # still one line per program
    year = lookup(*[(f"2027-{m:02d}", [("JKK", 10_000), ("JKM", 6_800), ("JHT", 20_000)], 0)
                    for m in range(1, 13)])
    details = bill_details(year)
    assert len(details) == 12 and sum(d.amount for d in details) == 12 * 36_800
    assert details[0].bill_no == "2027-01"
    many = lookup(*[(f"20{y}-{m:02d}", [("JKK", 10_000), ("JKM", 6_800)], 0)
                    for y in (27, 28, 29) for m in range(1, 13)])
    [single] = bill_details(many)
    assert single.amount == 36 * 16_800


def _payment(**changes) -> bytes:
    body = {"partnerServiceId": "   88801", "customerNo": "000000000019",
            "virtualAccountNo": "   88801000000000019", "paymentRequestId": "P-1",
            "paidAmount": {"value": "16800.00", "currency": "IDR"},
            "trxDateTime": "2026-12-10T08:00:00+07:00", "referenceNo": "R-1"}
    body.update(changes)
    return json.dumps(body).encode()


def test_a_retry_stamped_again_is_the_same_payment_but_other_content_is_not():
    original = payment_content(parse_payment_request(_payment()))
    assert payment_content(parse_payment_request(
        _payment(trxDateTime="2026-12-10T08:01:00+07:00", flagAdvise="Y"))) == original
    for change in ({"paidAmount": {"value": "16900.00", "currency": "IDR"}},
                   {"referenceNo": "R-2"},
                   {"customerNo": "000000000027",
                    "virtualAccountNo": "   88801000000000027"}):
        assert payment_content(parse_payment_request(_payment(**change))) != original


def test_settlement_files_in_the_shapes_banks_send():
    rows, invalid = parse_settlement(
        "\ufeffPayment Request ID|Paid Amount|Kode Bayar\n"
        "P-1|16800.00|000000000019\n"
        "P-2|16800|000000000027\n"
        "\n"
        "P-3|16.800,00|x\n"
        "P-1|16800.00|again\n"
        "|100|y\n")
    assert [(r["payment_request_id"], r["amount"], r["customer_no"]) for r in rows] == [
        ("P-1", 16_800, "000000000019"), ("P-2", 16_800, "000000000027")]
    assert [(i["line"], i["message"].split(" ")[0]) for i in invalid] == [
        (5, "amount"), (6, "paymentRequestId"), (7, "paymentRequestId")]


@pytest.mark.parametrize("text, code", [("", "SETTLEMENT_EMPTY"),
                                        ("reference,total\nP-1,1\n", "SETTLEMENT_HEADER")])
def test_unreadable_settlement_files_are_refused(text, code):
    with pytest.raises(ValidationFailed) as caught:
        parse_settlement(text)
    assert caught.value.code == code


def test_comparison_sorts_every_row_into_exactly_one_list():
    ours = {ref: SimpleNamespace(request_id=ref, amount=amount, payment_id=f"id-{ref}",
                                 day="2026-12-10", paid_at=None, channel="SNAP",
                                 client_id="B", channel_id="1", external_id="1", code="c",
                                 bill_ids=["b"], response=None)
            for ref, amount in (("P-1", 100), ("P-2", 200), ("P-3", 300))}
    late = SimpleNamespace(request_id="P-4", amount=400, payment_id="id-P-4",
                           day="2026-12-11")
    rows, _ = parse_settlement("paymentRequestId,amount\nP-1,100\nP-2,250\nP-4,400\n"
                               "P-9,900\n")
    result = compare(rows, ours, [], {"B#P-4": late})
    assert result["counts"] == {"partner_rows": 4, "smile_payments": 3, "matched": 1,
                                "amount_differences": 1, "missing_in_smile": 1,
                                "missing_in_partner": 1, "posted_on_other_day": 1,
                                "invalid_rows": 0}
    assert result["amount_differences"][0]["difference"] == 50
