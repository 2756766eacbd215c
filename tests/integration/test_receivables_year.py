"""A year of the daily check (moto, run_schedule as EventBridge fires it), for three debtors
at once. The check runs on the first of every month (after billing), on every day a step
falls due and on the day before it (nothing early, nothing twice), on payment days and on the
days figures are read: 54 of the 385 days, because a daily check that finds nothing to
do changes nothing, and the ones that do are all there. (`tests/e2e/test_receivables_local.py`
ticks the local stack through every day of the first month.)

- A, an employer who never pays: every step of the default policy exactly once, on its
  day, fines to the rupiah, and nothing after the legal handover;
- B, an employer who pays part of the oldest month (no step skipped or repeated), then the
  rest of it (the anchor moves to the next month and its steps follow), then everything
  (CURRENT);
- C, a BPU participant with three unpaid months: INACTIVE and told how to reactivate, not
  billed while inactive, reactivated by paying the arrears code, billed again.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from tests.integration.factories import drain, post
from tests.integration.test_receivables import (FINE_PER_MONTH, MONTHLY, NOV_20, WAGE, Clock,
                                                at_wib, bill_of, debtor, path_key, take)

START, END = date(2026, 12, 1), date(2027, 12, 20)
# the days a step falls due for A, B or C (see the assertions below)
STEP_DAYS = {date(2026, 12, 16), date(2026, 12, 23), date(2026, 12, 30), date(2027, 1, 6),
             date(2027, 1, 13), date(2027, 1, 14), date(2027, 2, 13), date(2027, 2, 16),
             date(2027, 2, 21), date(2027, 3, 16), date(2027, 4, 16), date(2027, 4, 23),
             date(2027, 4, 30), date(2027, 5, 7), date(2027, 5, 14), date(2027, 6, 13),
             date(2027, 6, 16), date(2027, 12, 15)}
EVENT_DAYS = {date(2027, 1, 16), date(2027, 1, 29), date(2027, 2, 20), date(2027, 3, 10),
              date(2027, 3, 20), date(2027, 12, 16), END}


def check_days() -> list[date]:
    firsts = {date(2026 + (11 + m) // 12, (11 + m) % 12 + 1, 1) for m in range(13)}
    around = {d - timedelta(days=1) for d in STEP_DAYS} | STEP_DAYS
    return sorted(d for d in firsts | around | EVENT_DAYS if START <= d <= END)


def test_a_year_of_arrears_every_step_once_fines_partial_payment_and_reactivation(
        stack, client, auth_header):
    from chalicelib.bootstrap import container
    from tests.integration.factories import Parties

    clock = Clock(stack)
    clock.set(NOV_20)
    parties = Parties(client, auth_header)
    a = parties.employer(jkk_risk_class=2, name="PT Tidak Pernah Bayar")
    b = parties.employer(jkk_risk_class=2, name="CV Bayar Sebagian")
    parties.worker(a["npp"], WAGE)
    parties.worker(b["npp"], WAGE)
    c = parties.bpu(1_000_000)
    key_a, key_b = f"EMP#{a['employer_id']}", f"EMP#{b['employer_id']}"
    key_c = f"PAR#{c['participant_id']}"
    officer = auth_header("RECEIVABLES", branch="BLT")
    sent: list[dict] = []
    fines: dict[date, int] = {}
    status_of_c: dict[date, str] = {}
    reactivation_code: list[str] = []

    def status(participant_id: str) -> str:
        return client.http.get(f"/v1/participants/{participant_id}/status",
                               headers=officer).json_body["status"]

    def pay(key: str, amount: int, receipt: str) -> dict:
        response = post(client, f"/v1/receivables/debtors/{path_key(key)}/payments",
                        {"amount": amount, "receipt_number": receipt, "reason": "setor tunai"},
                        officer)
        assert response.status_code == 201, response.body
        drain("payments")
        return response.json_body

    def owed(key: str) -> int:
        history = client.http.get(f"/v1/receivables/debtors/{path_key(key)}/history",
                                  headers=officer).json_body
        return sum(bill["amount_due"] for bill in history["bills"])

    for day in check_days():
        clock.day(day, pre_due=False)
        if day in (date(2026, 12, 16), date(2027, 1, 16), date(2027, 6, 13),
                   date(2027, 12, 15), date(2027, 12, 16)):
            fines[day] = int(bill_of(key_a, "2026-11").fine)
        if day == date(2027, 1, 29):      # B: part of November (day 45)
            assert debtor(key_b).state == "COLLECTION_LETTER"
            pay(key_b, 200_000, "B-1")
            assert debtor(key_b).anchor == "2026-12-15"
        if day == date(2027, 2, 20):      # B: the rest of November: the anchor moves
            november = bill_of(key_b, "2026-11")
            rest = container().billing.owed(november, day).due
            body = pay(key_b, rest, "B-2")
            assert [a_["settled"] for a_ in body["allocation"]] == [True]
            assert debtor(key_b).anchor == "2027-01-15"
        if day == date(2027, 3, 10):      # C pays the arrears code at a partner channel
            record = debtor(key_c)
            code = _arrears_code(record)
            reactivation_code.append(code)
            lookup = container().payments.lookup(code, day)
            assert lookup.amount_due == 3 * 16_800
            container().payments.post(
                payment_key=f"PARTNER#{code}", lookup=lookup, amount=lookup.amount_due,
                channel="SNAP", content_fingerprint="year", posted_by="partner:POS")
            drain("payments")
        if day in (date(2027, 2, 16), date(2027, 3, 10), date(2027, 6, 16)):
            status_of_c[day] = status(c["participant_id"])
        if day == date(2027, 3, 20):      # B pays everything
            pay(key_b, owed(key_b), "B-3")
            assert debtor(key_b).state == "CURRENT"
        sent += take("reminders") + take("letters")

    # every action of the policy enqueued once (receipts: ours and billing's share a key)
    counts = Counter(m["dedupe_key"] for m in sent if not m["dedupe_key"].startswith("receipt:"))
    assert [k for k, n in counts.items() if n > 1] == []
    steps = _steps(sent)

    # A: the whole ladder on its days, then nothing after the final state
    assert steps[key_a] == [
        ("2026-12-16", "OVERDUE"), ("2026-12-23", "OVERDUE_R1"), ("2026-12-30", "OVERDUE_R2"),
        ("2027-01-06", "OVERDUE_R3"), ("2027-01-13", "OVERDUE_R4"),
        ("2027-01-14", "COLLECTION_LETTER"), ("2027-02-13", "SP1"), ("2027-06-13", "SP2"),
        ("2027-12-15", "LEGAL_HANDOVER")]
    [handover] = [m for m in sent if m.get("letter_type") == "LEGAL_HANDOVER"]
    assert handover == {
        "type": "letter_request", "dedupe_key": f"letter:{key_a}:LEGAL_HANDOVER:2026-12-15",
        "letter_type": "LEGAL_HANDOVER", "legal_handover_target": "KEJAKSAAN",
        "debtor_key": key_a, "employer_id": a["employer_id"], "npp": a["npp"], "branch": "BLT",
        "bill_ids": [bill_of(key_a, p).bill_id for p in ("2026-11", "2026-12", "2027-01",
                                                           "2027-02")],
        "as_of": "2027-12-15"}
    assert debtor(key_a).state == "LEGAL_HANDOVER" and debtor(key_a).next_action is None
    # fines: 2 % of 477,000 per started month, simple
    assert fines == {date(2026, 12, 16): FINE_PER_MONTH, date(2027, 1, 16): 2 * FINE_PER_MONTH,
                     date(2027, 6, 13): 6 * FINE_PER_MONTH, date(2027, 12, 15): 114_480,
                     date(2027, 12, 16): 13 * FINE_PER_MONTH}
    fine_notice = next(m for m in sent if m["dedupe_key"] == f"policy:{key_a}:SP1:2026-12-15")
    assert fine_notice["params"] == {
        "nama": "PT Tidak Pernah Bayar", "npp": a["npp"], "periode": "2026-11",
        "iuran": MONTHLY, "bulan_terlambat": 2, "denda": 2 * FINE_PER_MONTH,
        "total": MONTHLY + 2 * FINE_PER_MONTH,
        "kode_bayar": bill_of(key_a, "2026-11").payment_code}

    # B: the partial payment on day 45 skipped nothing (SP1 on day 60); settling November
    # moved the anchor to December's due date and its steps followed, one a day
    assert steps[key_b] == [
        ("2026-12-16", "OVERDUE"), ("2026-12-23", "OVERDUE_R1"), ("2026-12-30", "OVERDUE_R2"),
        ("2027-01-06", "OVERDUE_R3"), ("2027-01-13", "OVERDUE_R4"),
        ("2027-01-14", "COLLECTION_LETTER"), ("2027-02-13", "SP1"),
        ("2027-02-21", "COLLECTION_LETTER@2027-01-15"), ("2027-03-16", "SP1@2027-01-15")]
    assert debtor(key_b).state == "CURRENT"

    # C: weekly in the first month, then INACTIVE when the third month went unpaid; after
    # reactivation the rule applies afresh to the new arrears (April, May, June)
    assert steps[key_c][:6] == [
        ("2026-12-16", "OVERDUE"), ("2026-12-23", "OVERDUE_R1"), ("2026-12-30", "OVERDUE_R2"),
        ("2027-01-06", "OVERDUE_R3"), ("2027-01-13", "OVERDUE_R4"),
        ("2027-02-16", "BPU_INACTIVE")]
    assert steps[key_c][6:] == [
        ("2027-04-16", "OVERDUE@2027-04-15"), ("2027-04-23", "OVERDUE_R1@2027-04-15"),
        ("2027-04-30", "OVERDUE_R2@2027-04-15"), ("2027-05-07", "OVERDUE_R3@2027-04-15"),
        ("2027-05-14", "OVERDUE_R4@2027-04-15"), ("2027-06-16", "BPU_INACTIVE@2027-04-15")]
    inactive = next(m for m in sent if m.get("template") == "bpu_inactive")
    assert inactive["dedupe_key"] == f"policy:{key_c}:BPU_INACTIVE:2026-12-15"
    assert inactive["params"] == {"nama": inactive["params"]["nama"], "kpj": c["kpj"],
                                  "bulan_tunggakan": 3, "total_tunggakan": 3 * 16_800,
                                  "kode_bayar": reactivation_code[0]}
    periods = [bill.period for bill in container().billing.store.bills_of_party(key_c)]
    assert "2027-03" not in periods and "2027-04" in periods   # not billed while inactive
    assert status_of_c == {date(2027, 2, 16): "INACTIVE", date(2027, 3, 10): "ACTIVE",
                           date(2027, 6, 16): "INACTIVE"}


def _arrears_code(record) -> str:
    from chalicelib.bootstrap import container

    [action] = [a for a in container().receivables.store.actions(record.debtor_key)
                if a.kind == "deactivate"]
    return action.payload_dict()["arrears_code"]


def _steps(messages: list[dict]) -> dict[str, list[tuple[str, str]]]:
    """Per debtor: (day enqueued, step) of the escalation ladder (one entry per step, its
    message or letter), the anchor shown when it is not the debtor's first."""
    from chalicelib.bootstrap import container

    out: dict[str, list[tuple[str, str]]] = {}
    first_anchor: dict[str, str] = {}
    store = container().receivables.store
    seen = set()
    for message in messages:
        parts = message["dedupe_key"].split(":")
        if len(parts) != 4 or parts[0] not in ("policy", "letter"):
            continue
        _, debtor_key, step, anchor = parts
        if step.startswith("PRE_DUE") or (debtor_key, step, anchor) in seen:
            continue
        seen.add((debtor_key, step, anchor))
        first_anchor.setdefault(debtor_key, anchor)
        action = next(a for a in store.actions(debtor_key, anchor) if a.step_id == step)
        from chalicelib.shared_kernel.calendar import jakarta_today

        label = step if anchor == first_anchor[debtor_key] else f"{step}@{anchor}"
        out.setdefault(debtor_key, []).append(
            (jakarta_today(action.created_at).isoformat(), label))
    return {k: sorted(v) for k, v in out.items()}
