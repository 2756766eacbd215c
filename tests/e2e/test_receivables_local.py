"""Receivables on the real local stack, driven only by `python -m infra.local tick` and
HTTP: the seeded Blitar branch goes unpaid from its first bills (1 December 2026).

- an employer: first overdue day with its fine to the rupiah, the collection letter on day
  30, a partial payment, SP1 still on day 60 (nothing skipped, nothing repeated);
- a BPU participant: INACTIVE after three unpaid months, reactivated by paying the arrears,
  billed again the next month (while another inactive one is not).

A stack of its own (own ports, own state, virtual clock from 20 November 2026), so no other
test's ticks move its dates."""
from __future__ import annotations

import json
import time
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

import pytest
import requests

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    local = LocalStack(tmp_path_factory.mktemp("receivables-stack"))
    local.start()
    yield local
    local.stop()


def api(stack, role: str, **binding):
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {stack.token(role, **binding)}",
                            "Content-Type": "application/json"})

    def call(method: str, path: str, body=None, expect: int = 200):
        response = session.request(method, stack.base_url + path, timeout=60,
                                   data=None if body is None else json.dumps(body))
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response.json()

    return call


def tick(stack, at: str) -> str:
    return stack.cli("tick", "--at", at)


def fine_for(bill: dict, months: int) -> int:
    """2 % of each program's contribution per month of delay, rounded half-up per program."""
    per_program: dict[str, int] = {}
    for line in bill["lines"]:
        per_program[line["program"]] = per_program.get(line["program"], 0) + line["amount"]
    return sum(int((Decimal(total) * Decimal("0.02") * months).quantize(Decimal(1),
                                                                         ROUND_HALF_UP))
               for total in per_program.values())


def test_a_branch_left_unpaid_through_the_ticks(stack):
    officer = api(stack, "RECEIVABLES", branch="BLT")
    tick(stack, "2026-12-01T00:10:00+07:00")                 # bills for Nov (PU), Dec (BPU)
    tick(stack, "2026-12-16T08:00:00+07:00")                 # first overdue day

    overdue = officer("GET", "/v1/receivables/debtors?branch=BLT&state=OVERDUE&limit=100")
    debtors = {d["name"]: d for d in overdue["items"]}
    employer, bpu = debtors["CV Sumber Rejeki Blitar"], debtors["Sri Wahyuni"]
    other_bpu = debtors["Wahyu Nugroho"]
    assert (employer["owed_since"], employer["days_overdue"]) == ("2026-12-15", 1)
    emp_key, bpu_key = quote(employer["debtor_key"], safe=""), quote(bpu["debtor_key"], safe="")

    [bill] = officer("GET", f"/v1/bills?npp={employer['npp']}")["items"]
    assert bill["status"] == "OVERDUE" and bill["fine"] == fine_for(bill, 1)
    assert employer["amount_owed"] == bill["contribution"] + fine_for(bill, 1)
    history = officer("GET", f"/v1/receivables/debtors/{emp_key}/history")
    assert [m["step"] for m in history["messages"]] == ["PRE_DUE_7", "PRE_DUE_3",
                                                        "PRE_DUE_1", "OVERDUE"]

    tick(stack, "2027-01-14T08:00:00+07:00")                 # day 30
    paid = officer("POST", f"/v1/receivables/debtors/{emp_key}/payments",
                   {"amount": 100_000, "receipt_number": "E2E-0001",
                    "reason": "setoran sebagian di loket"}, expect=201)
    assert paid["allocation"][0]["period"] == "2026-11"
    assert not paid["allocation"][0]["settled"]
    tick(stack, "2027-02-13T08:00:00+07:00")                 # day 60 of the same anchor

    history = officer("GET", f"/v1/receivables/debtors/{emp_key}/history")
    ladder = [(m["step"], m["anchor"]) for m in history["messages"]
              if not m["step"].startswith("PRE_DUE")]
    assert ladder == [(step, "2026-12-15") for step in (
        "OVERDUE", "OVERDUE_R1", "OVERDUE_R2", "OVERDUE_R3", "OVERDUE_R4",
        "COLLECTION_LETTER", "SP1")]
    assert [(l["step"], l["letter_type"]) for l in history["letters"]] == [
        ("COLLECTION_LETTER", "REMINDER"), ("SP1", "SP1")]
    november = next(b for b in history["bills"] if b["period"] == "2026-11")
    assert november["fine"] == fine_for(november, 2)          # 15 Dec -> 13 Feb: 2 months
    assert november["amount_paid"] == 100_000
    assert history["debtor"]["state"] == "SP1"

    tick(stack, "2027-02-16T08:00:00+07:00")                 # BPU: third unpaid month
    participant = bpu["debtor_key"].split("#", 1)[1]
    assert officer("GET", f"/v1/participants/{participant}/status")["status"] == "INACTIVE"
    history = officer("GET", f"/v1/receivables/debtors/{bpu_key}/history")
    assert history["debtor"]["state"] == "BPU_INACTIVE"
    assert history["debtor"]["amount_owed"] == 3 * 16_800
    assert [m["step"] for m in history["messages"]][-1] == "BPU_INACTIVE"

    officer("POST", f"/v1/receivables/debtors/{bpu_key}/payments",
            {"amount": 3 * 16_800, "receipt_number": "E2E-BPU-1",
             "reason": "bayar tunggakan"}, expect=201)
    deadline = time.monotonic() + 30                         # the pump feeds the consumer
    while officer("GET", f"/v1/participants/{participant}/status")["status"] != "ACTIVE":
        assert time.monotonic() < deadline, "the payment did not reactivate the participant"
        time.sleep(0.5)

    tick(stack, "2027-03-01T00:10:00+07:00")                 # billed again; the other not
    periods = [b["period"] for b in officer("GET", f"/v1/bills?kpj={bpu['kpj']}")["items"]]
    assert "2027-03" in periods
    others = [b["period"] for b in officer("GET", f"/v1/bills?kpj={other_bpu['kpj']}")["items"]]
    assert "2027-03" not in others
    assert officer("GET", f"/v1/receivables/debtors/{bpu_key}/history")["debtor"][
        "state"] == "CURRENT"
