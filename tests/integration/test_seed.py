"""The demo data a newcomer meets in `make run`: loaded once, billable at once."""
from __future__ import annotations

from datetime import datetime

from chalicelib.shared_kernel.calendar import JAKARTA
from tests.integration.factories import run_schedule


def test_seed_registers_the_blitar_branch_once_and_is_billable(stack):
    from infra.seed import seed

    stack.clock = lambda: datetime(2026, 11, 21, 9, 0, tzinfo=JAKARTA)
    assert seed() == "branch BLT: 3 employers, 6 workers, 3 BPU participants"
    assert seed() == "already seeded (branch BLT)"
    at = datetime(2026, 12, 1, 0, 5, tzinfo=JAKARTA)
    stack.clock = lambda: at
    result = run_schedule("generate_monthly_bills", at)
    assert (result["pu_created"], result["bpu_created"]) == (3, 3)
