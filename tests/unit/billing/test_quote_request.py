"""The quote API contract (design.md §4): request validation and the response shape."""
import json
import re

import pytest

from chalicelib.billing.calculator import (
    EmployerProfile,
    QuoteRequest,
    QuoteResponse,
    parse_quote_request,
    quote_from_request,
)
from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.errors import NoRuleForPeriod, ValidationFailed

PU_EXAMPLE = {"segment": "PU", "period": "2026-11", "wage": 5000000, "risk_class": 2,
              "programs": ["JKK", "JKM", "JHT", "JP"]}
BPU_EXAMPLE = {"segment": "BPU", "period": "2026-11", "declared_income": 1000000,
               "programs": ["JKK", "JKM"]}
JK_EXAMPLE = {"segment": "JK", "period": "2026-11", "contract_value": 250000000}


def test_pu_example_answers_the_documented_shape(rulebook):
    body = quote_from_request(rulebook, parse_quote_request(PU_EXAMPLE)).to_dict()

    assert body == {
        "segment": "PU",
        "period": "2026-11",
        "lines": [
            {"program": "JKK", "payer": "EMPLOYER", "base": 5000000, "rate": "0.0054", "amount": 27000},
            {"program": "JKM", "payer": "EMPLOYER", "base": 5000000, "rate": "0.003", "amount": 15000},
            {"program": "JHT", "payer": "EMPLOYER", "base": 5000000, "rate": "0.037", "amount": 185000},
            {"program": "JHT", "payer": "WORKER", "base": 5000000, "rate": "0.02", "amount": 100000},
            {"program": "JP", "payer": "EMPLOYER", "base": 5000000, "rate": "0.02", "amount": 100000},
            {"program": "JP", "payer": "WORKER", "base": 5000000, "rate": "0.01", "amount": 50000},
        ],
        "employer_total": 327000,
        "worker_total": 150000,
        "total": 477000,
    }
    json.dumps(body)  # plain JSON types only


def test_bpu_example_has_a_null_rate_for_the_flat_jkm(rulebook):
    body = quote_from_request(rulebook, parse_quote_request(BPU_EXAMPLE)).to_dict()

    assert body["lines"][1] == {"program": "JKM", "payer": "PARTICIPANT", "base": 1000000,
                                "rate": None, "amount": 6800}
    assert (body["employer_total"], body["worker_total"], body["total"]) == (0, 16800, 16800)


def test_jk_example_defaults_to_jkk_and_jkm(rulebook):
    body = quote_from_request(rulebook, parse_quote_request(JK_EXAMPLE)).to_dict()

    assert body["total"] == 525000
    assert all(re.fullmatch(r"\d+\.\d+", line["rate"]) for line in body["lines"])


def test_omitted_programs_take_the_segment_default(rulebook):
    request = parse_quote_request({**PU_EXAMPLE, "programs": None})

    assert request.requested_programs == ("JKK", "JKM", "JHT", "JP")
    assert parse_quote_request({"segment": "BPU", "period": "2026-11",
                                "declared_income": 1000000}).requested_programs == ("JKK", "JKM")


def test_an_employer_profile_passes_through_to_the_relief(rulebook):
    employer = EmployerProfile(active_workers=80, sector="TOYS", jkk_paid_through=Period(2025, 1))
    request = parse_quote_request({**PU_EXAMPLE, "period": "2025-05"})

    quote = quote_from_request(rulebook, request, employer=employer)

    assert quote.lines[0].amount == 13_500


def test_period_outside_the_rule_data_is_a_422_not_a_400(rulebook):
    request = parse_quote_request({**PU_EXAMPLE, "period": "2015-06"})

    with pytest.raises(NoRuleForPeriod) as caught:
        quote_from_request(rulebook, request)
    assert caught.value.status == 422


def test_bpu_income_out_of_range_is_refused_naming_the_field(rulebook):
    request = parse_quote_request({**BPU_EXAMPLE, "declared_income": 999_999})

    with pytest.raises(ValidationFailed) as caught:
        quote_from_request(rulebook, request)
    assert caught.value.field == "declared_income"


@pytest.mark.parametrize("change, field", [
    ({"segment": "PBI"}, "segment"),
    ({"period": "2026-13"}, "period"),
    ({"period": "11-2026"}, "period"),
    ({"period": 202611}, "period"),
    ({"risk_class": 0}, "risk_class"),
    ({"risk_class": 6}, "risk_class"),
    ({"risk_class": None}, "risk_class"),
    ({"wage": -1}, "wage"),
    ({"wage": 0}, "wage"),
    ({"wage": 1_000_000_001}, "wage"),
    ({"wage": 5000000.5}, "wage"),
    ({"wage": "5000000"}, "wage"),
    ({"wage": True}, "wage"),
    ({"wage": None}, "wage"),
    ({"programs": ["JKK", "JKP"]}, "programs.1"),
    ({"programs": []}, "programs"),
    ({"programs": ["JP", "JP"]}, "programs"),
    ({"declared_income": 1000000}, "declared_income"),
    ({"contract_value": 250000000}, "contract_value"),
    ({"salary": 5000000}, "salary"),
])
def test_bad_pu_request_names_the_field(change, field):
    with pytest.raises(ValidationFailed) as caught:
        parse_quote_request({**PU_EXAMPLE, **change})

    assert caught.value.field == field
    assert caught.value.status == 400
    assert caught.value.to_body()["error"]["field"] == field


@pytest.mark.parametrize("change, field", [
    ({"programs": ["JKK", "JKM", "JP"]}, "programs"),
    ({"programs": ["JKK"]}, "programs"),
    ({"declared_income": None}, "declared_income"),
    ({"declared_income": -16800}, "declared_income"),
    ({"wage": 1000000}, "wage"),
])
def test_bad_bpu_request_names_the_field(change, field):
    with pytest.raises(ValidationFailed) as caught:
        parse_quote_request({**BPU_EXAMPLE, **change})

    assert caught.value.field == field


@pytest.mark.parametrize("change, field", [
    ({"contract_value": None}, "contract_value"),
    ({"wages": 1000000}, "contract_value"),
    ({"contract_value": None, "wages": 0}, "wages"),
    ({"risk_class": 2}, "risk_class"),
    ({"programs": ["JHT"]}, "programs"),
])
def test_bad_jk_request_names_the_field(change, field):
    with pytest.raises(ValidationFailed) as caught:
        parse_quote_request({**JK_EXAMPLE, **change})

    assert caught.value.field == field


def test_every_problem_is_listed_in_details():
    with pytest.raises(ValidationFailed) as caught:
        parse_quote_request({"segment": "PU", "period": "bad", "wage": -1, "risk_class": 9})

    fields = [problem["field"] for problem in caught.value.details]
    assert fields == ["period", "risk_class", "wage"]


def test_a_body_that_is_not_an_object_is_refused():
    with pytest.raises(ValidationFailed):
        parse_quote_request(["PU"])


def test_the_model_describes_itself_for_openapi():
    schema = QuoteRequest.model_json_schema()

    assert set(schema["properties"]) == {"segment", "period", "programs", "risk_class", "wage",
                                         "declared_income", "wages", "contract_value"}
    assert schema["required"] == ["segment", "period"]


@pytest.mark.parametrize("example", [PU_EXAMPLE, BPU_EXAMPLE, JK_EXAMPLE])
def test_the_response_model_describes_to_dict_exactly(rulebook, example):
    body = quote_from_request(rulebook, parse_quote_request(example)).to_dict()

    assert QuoteResponse.model_validate(body).model_dump() == body
