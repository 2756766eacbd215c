"""API models shared by every context (list pages, the caller's identity)."""
from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

from .auth import Principal

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_token: str | None = None


class PrincipalOut(BaseModel):
    subject: str
    role: str
    branch: str | None
    npp: str | None
    kpj: str | None

    @classmethod
    def of(cls, principal: Principal) -> "PrincipalOut":
        return cls(subject=principal.subject, role=principal.role.value,
                   branch=principal.branch, npp=principal.npp, kpj=principal.kpj)
