"""Campaign audiences, pure: which bills a filter selects, who their recipient is, what the
message says about each, and who is held out.

An audience is read from billing's `by_branch_status` index in pages (keyed reads of the
"<branch>#<status>" partitions, never a scan); the filter below runs on each page. A bill's
effective state is what a person sees on it: an OPEN bill past its due date is OVERDUE even
before the daily check has marked it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

OPEN, OVERDUE = "OPEN", "OVERDUE"
BILL_STATES = (OPEN, OVERDUE)

# Templates a bill audience can fill from a bill, and the segment each needs.
BILL_TEMPLATES: dict[str, str | None] = {
    "bill_issued": None,
    "reminder_before_due": None,
    "overdue": None,
    "fine_notice": "PU",           # an employer's fine: names the NPP
}


@dataclass(frozen=True)
class AudienceSpec:
    branch: str
    bill_states: tuple[str, ...] = BILL_STATES
    segment: str | None = None           # PU | BPU | None (both)
    days_overdue_min: int | None = None  # today - due date; negative: days before due
    days_overdue_max: int | None = None
    amount_min: int | None = None        # amount due today, rupiah
    amount_max: int | None = None

    def partitions(self) -> tuple[str, ...]:
        """Stored statuses to read: OPEN bills can be effectively OVERDUE, so an OVERDUE
        audience reads the OPEN partition too."""
        return (OPEN, OVERDUE) if OVERDUE in self.bill_states else (OPEN,)

    def to_json(self) -> dict:
        return {"branch": self.branch, "bill_states": list(self.bill_states),
                "segment": self.segment, "days_overdue_min": self.days_overdue_min,
                "days_overdue_max": self.days_overdue_max, "amount_min": self.amount_min,
                "amount_max": self.amount_max}

    @classmethod
    def from_json(cls, data: dict) -> "AudienceSpec":
        return cls(**{**data, "bill_states": tuple(data["bill_states"])})


def effective_state(stored_status: str, due: date, today: date) -> str:
    return OVERDUE if stored_status == OPEN and today > due else stored_status


def selects(spec: AudienceSpec, *, segment: str, stored_status: str, due: date,
            amount_due: int, today: date) -> bool:
    if spec.segment and segment != spec.segment:
        return False
    if effective_state(stored_status, due, today) not in spec.bill_states:
        return False
    days = (today - due).days
    if spec.days_overdue_min is not None and days < spec.days_overdue_min:
        return False
    if spec.days_overdue_max is not None and days > spec.days_overdue_max:
        return False
    if spec.amount_min is not None and amount_due < spec.amount_min:
        return False
    if spec.amount_max is not None and amount_due > spec.amount_max:
        return False
    return amount_due > 0


def recipient_of(party_key: str) -> tuple[str, str]:
    """("EMPLOYER", id) for "EMP#id", ("PARTICIPANT", id) for "PAR#id"."""
    prefix, _, party_id = party_key.partition("#")
    return ("EMPLOYER" if prefix == "EMP" else "PARTICIPANT"), party_id


def is_held_out(campaign_id: str, party_key: str, share: Decimal) -> bool:
    """A uniform draw from a hash of (campaign, recipient): random across recipients,
    the same on every re-run of a page, so a recipient's group is decided once."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{campaign_id}:{party_key}".encode()).digest()
    draw = Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2 ** 64)
    return draw < share


def bill_params(template: str, *, party_name: str, npp: str | None, period: str, due: date,
                payment_code: str | None, contribution: int, fine: int, amount_due: int,
                today: date) -> dict[str, Any]:
    """The template's parameters from a bill, as JSON (the MessageRequest contract)."""
    code = payment_code or "-"
    if template == "fine_notice":
        from chalicelib.billing.fines import months_of_delay

        return {"nama": party_name, "npp": npp or "-", "periode": period,
                "iuran": contribution, "bulan_terlambat": max(1, months_of_delay(
                    due, today, True)), "denda": fine, "total": amount_due,
                "kode_bayar": code}
    return {"nama": party_name, "periode": period, "jumlah": amount_due,
            "jatuh_tempo": due.isoformat(), "kode_bayar": code}
