"""Participation cards: issued once, after the first contribution is paid.

How "exactly once" holds across retries and concurrent deliveries:
1. billing's payments consumer calls `RegistrationService.record_payment`; the update that
   makes the membership ACTIVE also sets `card_code` if it has none (if_not_exists), so the
   first payment fixes the card's code for good, and asks for issuance (registration's work
   queue, message type "issue_cards");
2. `issue` renders the PDF to a key derived from that code (a retry overwrites the same
   object), announces it through the message port with dedupe key "card:<participant>"
   (blast sends one message per key, however often it is published), then records the card
   with a conditional write (only if not yet recorded). A crash anywhere repeats steps that
   are idempotent; nothing is issued twice and nothing is lost.
The QR code points to `GET /v1/cards/{card_code}` (public): a 128-bit random code, so cards
cannot be enumerated; it answers masked data and the live membership status.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chalicelib.shared_kernel.calendar import jakarta_today
from chalicelib.shared_kernel.errors import NotFound

if TYPE_CHECKING:  # pragma: no cover
    from .service import RegistrationService

_CODE = re.compile(r"^[0-9a-f]{32}$")
REQUEST_BATCH = 25  # participants per work message: well inside one delivery's time


def mask_name(name: str) -> str:
    """"Budi Santoso" -> "B*** S******": enough to compare with the card in hand."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def mask_kpj(kpj: str | None) -> str | None:
    return None if not kpj else "*" * (len(kpj) - 4) + kpj[-4:]


class Cards:
    def __init__(self, service: "RegistrationService"):
        self.service = service
        self.store = service.store

    def verification_url(self, code: str) -> str:
        return f"{self.service.settings.public_base_url.rstrip('/')}/v1/cards/{code}"

    def request(self, participant_ids: list[str]) -> None:
        for start in range(0, len(participant_ids), REQUEST_BATCH):
            self.service.queues.send("imports", {
                "type": "issue_cards",
                "participant_ids": participant_ids[start:start + REQUEST_BATCH]})

    def issue(self, participant_ids: list[str]) -> dict:
        issued = skipped = 0
        employers: dict[str, str] = {}
        for participant_id in participant_ids:
            record = self.store.find_participant(participant_id)
            if record is None or not record.card_code or record.card_issued_at is not None:
                skipped += 1
                continue
            self._issue_one(record, employers)
            issued += 1
        return {"issued": issued, "skipped": skipped}

    def _issue_one(self, record, employers: dict[str, str]) -> None:
        from .card_pdf import CardContent, render_card

        service = self.service
        now = service.clock()
        employer_name = None
        if record.employer_id:
            if record.employer_id not in employers:
                employers[record.employer_id] = self.store.employer(record.employer_id).name
            employer_name = employers[record.employer_id]
        pdf = render_card(CardContent(
            name=record.name, kpj=record.kpj, segment=record.segment,
            programs=tuple(record.programs or ()), issued_on=jakarta_today(now),
            verification_url=self.verification_url(record.card_code),
            employer_name=employer_name))
        key = f"cards/{record.participant_id}/{record.card_code}.pdf"
        service.objects.put_bytes(key, pdf, "application/pdf")
        self._announce(record)
        self.store.mark_card_issued(record, card_key=key, at=now)

    def _announce(self, record) -> None:
        if not self.service.notify:
            return
        from chalicelib.shared_kernel.messaging import MessageRequest

        base = self.service.settings.public_base_url.rstrip("/")
        self.service.notify(MessageRequest(
            dedupe_key=f"card:{record.participant_id}", template="card_issued",
            recipient_kind="PARTICIPANT", recipient_id=record.participant_id,
            params={"nama": record.name, "kpj": record.kpj,
                    "tautan": f"{base}/v1/participants/{record.participant_id}/card"},
            source="registration", branch=record.branch))

    def download(self, participant_id: str, caller) -> dict:
        from .service import READ

        record = self.store.participant(participant_id)
        self.service._actor(record, caller, READ)
        if record.card_issued_at is None:
            if not record.card_code:
                raise NotFound("Kartu peserta terbit setelah iuran pertama dibayar",
                               code="CARD_NOT_ISSUED")
            # Claimed but its job has not run yet: issue it now rather than make them wait.
            self.issue([participant_id])
            record = self.store.participant(participant_id)
        link = self.service.objects.presigned_get(
            record.card_key, ttl=self.service.settings.presigned_url_ttl_seconds,
            file_name=f"kartu-peserta-{record.kpj}.pdf")
        return {"participant_id": participant_id, "kpj": record.kpj,
                "issued_at": record.card_issued_at.isoformat(), **link}

    def verify(self, code: str) -> dict:
        """Public: what the QR code on a card answers."""
        from .service import effective_status

        owner = self.store.key_owner(f"CARD#{code}") if _CODE.match(code or "") else None
        record = self.store.find_participant(owner) if owner else None
        if record is None or record.card_code != code:
            raise NotFound("Kartu tidak ditemukan atau tidak sah", code="CARD_NOT_FOUND")
        status = effective_status(record, self.service.today())
        return {"valid": True, "name": mask_name(record.name), "kpj": mask_kpj(record.kpj),
                "segment": record.segment, "programs": record.programs or [],
                "status": status, "active": status == "ACTIVE",
                "issued_at": record.card_issued_at.isoformat()}
