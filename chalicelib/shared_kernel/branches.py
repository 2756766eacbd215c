"""Branch offices as data: which branch serves a registration, and its letterhead."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import ValidationFailed

_DATA = Path(__file__).parent / "data" / "branches.toml"


@dataclass(frozen=True)
class Branch:
    code: str
    name: str
    address: str
    city: str
    head_name: str
    serves: tuple[str, ...]
    default_for_province: str | None = None


@lru_cache(maxsize=1)
def all_branches() -> dict[str, Branch]:
    data = tomllib.loads(_DATA.read_text())
    branches = {}
    for raw in data["branch"]:
        raw["serves"] = tuple(raw.get("serves", ()))
        branches[raw["code"]] = Branch(**raw)
    return branches


def branch(code: str) -> Branch:
    try:
        return all_branches()[code]
    except KeyError as exc:
        raise ValidationFailed(f"unknown branch code {code!r}", field="branch_code",
                               code="UNKNOWN_BRANCH") from exc


def branch_for_nik(nik: str) -> Branch:
    """The branch serving the regency in a NIK (its first four digits)."""
    regency, province = nik[:4], nik[:2]
    branches = all_branches().values()
    for candidate in branches:
        if regency in candidate.serves:
            return candidate
    for candidate in branches:
        if candidate.default_for_province == province:
            return candidate
    raise ValidationFailed("Belum ada kantor cabang yang melayani wilayah NIK ini",
                           field="nik", code="NO_BRANCH_FOR_REGION")
