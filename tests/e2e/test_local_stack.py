"""The local stack as a newcomer meets it: make run serves health and OpenAPI, tokens from
the CLI are accepted, tick fires schedules against it, Ctrl-C leaves nothing behind."""
from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_serves_health_and_openapi(local_stack):
    assert requests.get(local_stack.base_url + "/health").json() == {
        "status": "ok", "stage": "local"}
    document = requests.get(local_stack.base_url + "/openapi.json").json()
    assert "/v1/me" in document["paths"]


def test_cli_token_is_accepted_and_bound_to_its_branch(local_stack):
    token = local_stack.token("RECEIVABLES", branch="BLT")
    me = requests.get(local_stack.base_url + "/v1/me",
                      headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json() == {"subject": "local-receivables", "role": "RECEIVABLES",
                         "branch": "BLT", "npp": None, "kpj": None}


def test_requests_without_a_token_are_refused_in_the_error_contract(local_stack):
    response = requests.get(local_stack.base_url + "/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TOKEN_MISSING"


def test_tick_fires_the_schedules_due_up_to_the_instant(local_stack):
    local_stack.cli("tick", "--at", "2026-11-30T00:00:00+07:00")
    out = local_stack.cli("tick", "--at", "2026-12-02T02:00:00+07:00")
    assert "generate_monthly_bills" in out
    assert out.count("check_due_dates") == 3  # 01:00 WIB on 30 Nov, 1 and 2 Dec
    assert "clock now 2026-12-01T19:00:00+00:00" in out


def test_demo_data_is_billed_on_the_first_of_the_month(local_stack):
    """After the December 1st run: the seeded employers' November bills and the BPU
    participants' December bills, visible to the branch's receivables officer."""
    local_stack.cli("tick", "--at", "2026-12-03T09:00:00+07:00")
    token = local_stack.token("RECEIVABLES", branch="BLT")
    response = requests.get(local_stack.base_url + "/v1/bills?status=OPEN",
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    bills = response.json()["items"]
    assert sorted((b["segment"], b["period"]) for b in bills) == [
        ("BPU", "2026-12")] * 3 + [("PU", "2026-11")] * 3
    assert all(len(b["payment_code"]) == 12 for b in bills)
