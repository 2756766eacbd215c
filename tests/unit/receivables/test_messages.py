"""The escalation's queue messages render through blast's templates and validate against
the letters workflow's request model: the contracts, checked from this side."""
from __future__ import annotations

import pytest

from chalicelib.receivables.messages import (BillFacts, Debtor, letter_request,
                                             message_request, params_for)
from chalicelib.receivables.policy.model import MESSAGE_TEMPLATES

EMPLOYER = Debtor("EMP#e-1", "EMPLOYER", "PU", "BLT", "PT Maju Jaya", npp="12345678")
BPU = Debtor("PAR#p-1", "PARTICIPANT", "BPU", "BLT", "Sri Wahyuni", kpj="12345678901")
BILL = BillFacts("B-2026-11-e-1", "2026-11", "2026-12-15", 477_000, 19_080, 496_080,
                 "880012345678", months_late=2)


@pytest.mark.parametrize("template", MESSAGE_TEMPLATES)
def test_every_template_the_policy_may_name_renders_with_our_parameters(template):
    from chalicelib.blast.rendering import render_json

    debtor = BPU if template == "bpu_inactive" else EMPLOYER
    params = params_for(template, debtor, BILL, unpaid_months=3, total_owed=50_400,
                        arrears_code="880099999990")
    rendered = render_json(template, params)
    assert rendered.sms_text


def test_a_policy_message_is_keyed_by_debtor_step_and_anchor_and_names_its_bill():
    request = message_request("overdue", "WHATSAPP", EMPLOYER, BILL, step_id="OVERDUE_R2",
                              anchor="2026-12-15")
    assert request.dedupe_key == "policy:EMP#e-1:OVERDUE_R2:2026-12-15"
    assert (request.recipient_kind, request.recipient_id, request.bill_id) == (
        "EMPLOYER", "e-1", "B-2026-11-e-1")
    assert request.params["jumlah"] == 496_080 and request.source == "policy"


def test_letter_requests_follow_the_letters_contract():
    from chalicelib.receivables.letters.schemas import LetterRequest

    message = letter_request("LEGAL_HANDOVER", "KEJAKSAAN", EMPLOYER, step_id="LEGAL_HANDOVER",
                             anchor="2026-12-15", bill_ids=["B-1", "B-2"], as_of="2027-12-15")
    assert message == {
        "type": "letter_request", "dedupe_key": "letter:EMP#e-1:LEGAL_HANDOVER:2026-12-15",
        "letter_type": "LEGAL_HANDOVER", "legal_handover_target": "KEJAKSAAN",
        "debtor_key": "EMP#e-1", "employer_id": "e-1", "npp": "12345678", "branch": "BLT",
        "bill_ids": ["B-1", "B-2"], "as_of": "2027-12-15"}
    LetterRequest.model_validate(message)
    LetterRequest.model_validate(letter_request("SP1", None, EMPLOYER, step_id="SP1",
                                                anchor="2026-12-15", bill_ids=["B-1"],
                                                as_of="2027-02-13"))
