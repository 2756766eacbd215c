"""The queue messages the escalation policy sends: blast message requests (through the
message port) and letter requests (the letters workflow's contract). Pure.

Template parameters follow blast's templates exactly (amounts int rupiah, dates ISO
"YYYY-MM-DD", periods "YYYY-MM"); tests render each one through blast to prove it.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.shared_kernel.messaging import MessageRequest


@dataclass(frozen=True)
class Debtor:
    debtor_key: str          # "EMP#<employer_id>" / "PAR#<participant_id>"
    kind: str                # EMPLOYER | PARTICIPANT
    segment: str
    branch: str
    name: str
    npp: str | None = None
    kpj: str | None = None

    @property
    def party_id(self) -> str:
        return self.debtor_key.split("#", 1)[1]


@dataclass(frozen=True)
class BillFacts:
    """One unpaid bill as a message speaks of it, on the day of the message."""

    bill_id: str
    period: str
    due_date: str
    contribution: int
    fine: int
    owed: int                # contribution + fine - paid
    payment_code: str | None
    months_late: int = 0


def params_for(template: str, debtor: Debtor, bill: BillFacts, *, unpaid_months: int = 0,
               total_owed: int = 0, arrears_code: str | None = None) -> dict:
    if template in ("overdue", "reminder_before_due"):
        return {"nama": debtor.name, "periode": bill.period, "jumlah": bill.owed,
                "jatuh_tempo": bill.due_date, "kode_bayar": bill.payment_code or "-"}
    if template == "fine_notice":
        return {"nama": debtor.name, "npp": debtor.npp or "-", "periode": bill.period,
                "iuran": bill.contribution, "bulan_terlambat": bill.months_late,
                "denda": bill.fine, "total": bill.owed, "kode_bayar": bill.payment_code or "-"}
    if template == "bpu_inactive":
        return {"nama": debtor.name, "kpj": debtor.kpj or "-", "bulan_tunggakan": unpaid_months,
                "total_tunggakan": total_owed,
                "kode_bayar": arrears_code or bill.payment_code or "-"}
    raise ValueError(f"no parameters known for template {template!r}")


def message_request(template: str, channel: str, debtor: Debtor, bill: BillFacts, *,
                    step_id: str, anchor: str, **extra) -> MessageRequest:
    """One message per debtor, step and anchor: blast sends at most one per dedupe key and
    skips it when `bill_id` is paid by the time it is sent."""
    return MessageRequest(
        dedupe_key=f"policy:{debtor.debtor_key}:{step_id}:{anchor}", template=template,
        recipient_kind=debtor.kind, recipient_id=debtor.party_id,
        params=params_for(template, debtor, bill, **extra), source="policy",
        bill_id=bill.bill_id, branch=debtor.branch, channel_preference=channel)


def letter_request(letter_type: str, target: str | None, debtor: Debtor, *, step_id: str,
                   anchor: str, bill_ids: list[str], as_of: str) -> dict:
    """The "letters" queue message, exactly as the letters workflow takes it."""
    return {"type": "letter_request",
            "dedupe_key": f"letter:{debtor.debtor_key}:{step_id}:{anchor}",
            "letter_type": letter_type, "legal_handover_target": target,
            "debtor_key": debtor.debtor_key, "employer_id": debtor.party_id,
            "npp": debtor.npp, "branch": debtor.branch, "bill_ids": bill_ids[:100],
            "as_of": as_of}
