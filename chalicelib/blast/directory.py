"""Who a message goes to, read through registration's public service (blast never reads
registration's tables): name, mobile number (E.164), branch, NPP/KPJ and the consent the
person recorded per channel."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True)
class Contact:
    kind: str                      # PARTICIPANT | EMPLOYER
    id: str
    name: str
    phone: str | None              # E.164; a landline cannot take WhatsApp or SMS
    branch: str | None = None
    npp: str | None = None
    kpj: str | None = None
    opted_in: frozenset[str] = field(default_factory=frozenset)
    opted_out: frozenset[str] = field(default_factory=frozenset)  # said no explicitly

    @classmethod
    def from_view(cls, kind: str, record_id: str, view: dict) -> "Contact":
        consent = view.get("consent") or {}
        opted_in = frozenset(c for c, e in consent.items() if e and e.get("opted_in"))
        opted_out = frozenset(c for c, e in consent.items()
                              if e and not e.get("opted_in") and e.get("at"))
        return cls(kind=kind, id=record_id, name=view.get("name") or "", phone=view.get("phone"),
                   branch=view.get("branch"), npp=view.get("npp"), kpj=view.get("kpj"),
                   opted_in=opted_in, opted_out=opted_out)


class RegistrationDirectory:
    def __init__(self, registration):
        self.registration = registration

    def contacts(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Contact]:
        """(kind, id) -> Contact for the records that exist; one batch read per kind."""
        by_kind: dict[str, list[str]] = {}
        for kind, record_id in dict.fromkeys(wanted):
            by_kind.setdefault(kind, []).append(record_id)
        found: dict[tuple[str, str], Contact] = {}
        for kind, ids in by_kind.items():
            for record_id, view in self.registration.recipients(kind, ids).items():
                found[(kind, record_id)] = Contact.from_view(kind, record_id, view)
        return found

    def participant_by_kpj(self, kpj: str):
        from chalicelib.shared_kernel.errors import NotFound

        try:
            return self.registration.participant_by_kpj(kpj)
        except NotFound:
            return None

    def employer_by_npp(self, npp: str):
        from chalicelib.shared_kernel.errors import NotFound

        try:
            return self.registration.employer_by_npp(npp)
        except NotFound:
            return None

    def participant_ids_by_phone(self, phone: str) -> list[str]:
        return self.registration.store.participant_ids_by_phone(phone)

    def record_consent(self, kind: str, record_id: str, channel: str, opted_in: bool, *,
                       actor: str, source: str, at=None) -> dict:
        return self.registration.record_consent(kind.lower(), record_id, channel, opted_in,
                                                actor=actor, source=source, at=at)
