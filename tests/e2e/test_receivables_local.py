"""Receivables on the real local stack, driven only by `python -m infra.local tick` and
HTTP: the seeded Blitar branch goes unpaid from its first bills (1 December 2026). An
employer gets its pre-due reminders, its first overdue day with the fine to the rupiah, pays
part of the month at the branch, and still meets every weekly reminder and the collection
letter on day 30, each once. (The year, the BPU reactivation and SP1 after a partial payment
are replayed on moto: tests/integration/test_receivables_year.py.)

A stack of its own (own ports, own state, virtual clock from 20 November 2026), so no other
test's ticks move its dates."""
from __future__ import annotations

import json
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


def test_an_employer_left_unpaid_through_the_ticks(stack):
    officer = api(stack, "RECEIVABLES", branch="BLT")
    tick(stack, "2026-12-01T00:10:00+07:00")                 # bills for Nov (PU), Dec (BPU)
    tick(stack, "2026-12-16T08:00:00+07:00")                 # first overdue day

    overdue = officer("GET", "/v1/receivables/debtors?branch=BLT&state=OVERDUE&limit=100")
    debtors = {d["name"]: d for d in overdue["items"]}
    employer = debtors["CV Sumber Rejeki Blitar"]
    assert {"Sri Wahyuni", "PT Kendang Jaya Mebel"} <= set(debtors)
    assert (employer["owed_since"], employer["days_overdue"]) == ("2026-12-15", 1)
    key = quote(employer["debtor_key"], safe="")

    [bill] = officer("GET", f"/v1/bills?npp={employer['npp']}")["items"]
    assert bill["status"] == "OVERDUE" and bill["fine"] == fine_for(bill, 1)
    assert employer["amount_owed"] == bill["contribution"] + fine_for(bill, 1)
    history = officer("GET", f"/v1/receivables/debtors/{key}/history")
    assert [m["step"] for m in history["messages"]] == ["PRE_DUE_7", "PRE_DUE_3",
                                                        "PRE_DUE_1", "OVERDUE"]

    # a partial payment: the oldest month stays unpaid, so the anchor (and the ladder) stay
    paid = officer("POST", f"/v1/receivables/debtors/{key}/payments",
                   {"amount": 100_000, "receipt_number": "E2E-0001",
                    "reason": "setoran sebagian di loket"}, expect=201)
    assert paid["allocation"] == [{"bill_id": bill["bill_id"], "period": "2026-11",
                                   "amount": 100_000, "settled": False,
                                   "remaining": bill["amount_due"] - 100_000}]
    tick(stack, "2027-01-14T08:00:00+07:00")                 # day 30 of the same anchor

    history = officer("GET", f"/v1/receivables/debtors/{key}/history")
    ladder = [(m["step"], m["anchor"]) for m in history["messages"]
              if not m["step"].startswith("PRE_DUE")]
    assert ladder == [(step, "2026-12-15") for step in (
        "OVERDUE", "OVERDUE_R1", "OVERDUE_R2", "OVERDUE_R3", "OVERDUE_R4",
        "COLLECTION_LETTER")]
    assert [(l["step"], l["letter_type"], l["status"]) for l in history["letters"]] == [
        ("COLLECTION_LETTER", "REMINDER", "SENT")]
    november = next(b for b in history["bills"] if b["period"] == "2026-11")
    assert november["fine"] == fine_for(november, 1)          # 15 Dec -> 14 Jan: 1 month
    assert november["amount_paid"] == 100_000
    assert history["debtor"]["state"] == "COLLECTION_LETTER"
    assert history["debtor"]["next_action"] == {"step": "SP1", "on": "2027-02-13"}

    ageing = officer("GET", "/v1/receivables/aging?branch=BLT")
    rows = {b["bucket"]: b for b in ageing["buckets"]}
    assert rows["1-30"]["by_segment"]["PU"]["count"] >= 1    # November's bills, day 30
    assert ageing["receivables"]["amount"] > 0
