"""Exactly once under retries and concurrency, against moto (whose condition checks the test
setup makes atomic, as DynamoDB's are): 200 concurrent copies of one payment and 200
concurrent different payments for the same bill post exactly one payment."""
from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.integration.factories import drain
from tests.integration.test_snap_setup import *  # noqa: F401,F403 - fixtures
from tests.integration.test_snap_setup import (BPU_JHT_BILL, DAY, bill_record, payments_of,
                                               receipts, service_transport)
from tests.support.snap_client import SnapPartner

COPIES = 200
OTHERS = 200
SNAP_POOL = {"saver": 1}


def _threaded_partner(bank: SnapPartner) -> SnapPartner:
    """The same partner, its requests going straight to the service (thread-safe)."""
    threaded = SnapPartner(client_id=bank.client_id, client_secret=bank.client_secret,
                           private_key_pem=bank.private_key_pem,
                           partner_service_id=bank.partner_service_id,
                           channel_id=bank.channel_id, transport=service_transport(),
                           clock=bank.clock)
    threaded.access_token = bank.access_token
    return threaded


def test_400_concurrent_payments_of_one_bill_post_exactly_once(bank, bills, client,
                                                               auth_header):
    bill = bills["saver"]
    code = bill["payment_code"]
    before = bill_record(bill["bill_id"])
    partner = _threaded_partner(bank)
    # Retries of one payment each carry a fresh X-EXTERNAL-ID, as the standard requires;
    # the other payments are other channels' attempts with their own paymentRequestIds.
    requests = ["PAY-SAME"] * COPIES + [f"PAY-OTHER-{i:03d}" for i in range(OTHERS)]
    random.Random(7).shuffle(requests)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda prid: (prid, partner.payment(code, BPU_JHT_BILL, prid)),
                                requests))

    outcome = Counter(result.body["responseCode"] for _, result in results)
    winners = {prid for prid, result in results if result.body["responseCode"] == "2002500"}
    assert len(winners) == 1, winners
    [winner] = winners
    posted = COPIES if winner == "PAY-SAME" else 1
    assert outcome == {"2002500": posted, "4042514": COPIES + OTHERS - posted}
    bodies = {str(result.body) for prid, result in results if prid == winner}
    assert len(bodies) == 1  # every copy answered the original response

    [payment] = payments_of(DAY, bank.client_id)
    assert payment.payment_key == f"{bank.client_id}#{winner}"
    after = bill_record(bill["bill_id"])
    assert (after.status, after.amount_paid, after.payment_id) == (
        "PAID", BPU_JHT_BILL, payment.payment_id)
    assert after.version == before.version + 1  # changed by exactly one transaction

    from chalicelib.billing.store import BillingStore

    used = BillingStore().code(code)
    assert (used.status, used.payment_id) == ("USED", payment.payment_id)

    assert drain("payments") == 1
    jht = client.http.get(f"/v1/participants/{bill['party']['participant_id']}/jht",
                          headers=auth_header("RECEIVABLES", branch="BLT")).json_body
    assert (jht["balance"], len(jht["entries"])) == (20_000, 1)
    [receipt] = receipts()
    assert receipt["dedupe_key"] == f"receipt:{payment.payment_id}"


def test_one_external_id_sent_concurrently_is_accepted_once(bank, bills):
    partner = _threaded_partner(bank)
    code = bills["open"]["payment_code"]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: partner.inquiry(code, external_id="4242"),
                                range(50)))
    assert Counter(r.body["responseCode"] for r in results) == {"2002400": 1, "4092400": 49}
