"""Campaign audiences: which bills a filter selects, who is held out, what a message says."""
from datetime import date
from decimal import Decimal

import pytest

from chalicelib.blast.audience import (AudienceSpec, bill_params, effective_state,
                                       is_held_out, recipient_of, selects)

TODAY = date(2026, 12, 20)
DUE = date(2026, 12, 15)


def pick(spec, *, segment="BPU", status="OPEN", due=DUE, amount=16_800, today=TODAY):
    return selects(spec, segment=segment, stored_status=status, due=due, amount_due=amount,
                   today=today)


def test_an_open_bill_past_its_due_date_is_overdue_before_the_daily_check_marks_it():
    assert effective_state("OPEN", DUE, date(2026, 12, 15)) == "OPEN"
    assert effective_state("OPEN", DUE, date(2026, 12, 16)) == "OVERDUE"
    assert effective_state("OVERDUE", DUE, date(2026, 12, 16)) == "OVERDUE"


def test_an_overdue_audience_reads_the_open_partition_too():
    assert AudienceSpec("BLT", ("OPEN",)).partitions() == ("OPEN",)
    assert AudienceSpec("BLT", ("OVERDUE",)).partitions() == ("OPEN", "OVERDUE")


@pytest.mark.parametrize("spec_args, bill_args, chosen", [
    ({"bill_states": ("OVERDUE",)}, {}, True),
    ({"bill_states": ("OPEN",)}, {}, False),                        # past due: not OPEN
    ({"bill_states": ("OPEN",)}, {"today": date(2026, 12, 10)}, True),
    ({"segment": "PU"}, {}, False),
    ({"days_overdue_min": 1, "days_overdue_max": 5}, {}, True),    # 5 days
    ({"days_overdue_min": 6}, {}, False),
    ({"days_overdue_min": -7, "days_overdue_max": -1}, {"today": date(2026, 12, 10)}, True),
    ({"amount_min": 20_000}, {}, False),
    ({"amount_max": 16_800}, {}, True),
    ({}, {"amount": 0}, False),                                     # nothing owed
])
def test_the_filter(spec_args, bill_args, chosen):
    assert pick(AudienceSpec("BLT", **spec_args), **bill_args) is chosen


def test_holdout_is_random_across_recipients_and_fixed_for_each():
    share = Decimal("0.2")
    drawn = [is_held_out("campaign-1", f"PAR#{i}", share) for i in range(5000)]
    assert 900 < sum(drawn) < 1100
    assert drawn == [is_held_out("campaign-1", f"PAR#{i}", share) for i in range(5000)]
    other = [is_held_out("campaign-2", f"PAR#{i}", share) for i in range(5000)]
    assert other != drawn
    assert not any(is_held_out("campaign-1", f"PAR#{i}", Decimal(0)) for i in range(100))


def test_the_recipient_of_a_bill():
    assert recipient_of("EMP#e-1") == ("EMPLOYER", "e-1")
    assert recipient_of("PAR#p-1") == ("PARTICIPANT", "p-1")


def test_bill_parameters_are_json_as_the_message_contract_says():
    common = dict(party_name="PT Maju Jaya", npp="12345678", period="2026-10",
                  due=date(2026, 11, 16), payment_code="880012345678",
                  contribution=2_500_000, fine=100_000, amount_due=2_600_000,
                  today=date(2026, 12, 20))
    assert bill_params("overdue", **common) == {
        "nama": "PT Maju Jaya", "periode": "2026-10", "jumlah": 2_600_000,
        "jatuh_tempo": "2026-11-16", "kode_bayar": "880012345678"}
    fine = bill_params("fine_notice", **common)
    assert fine["bulan_terlambat"] == 2 and fine["denda"] == 100_000
    assert fine["iuran"] == 2_500_000 and fine["total"] == 2_600_000
