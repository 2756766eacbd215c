"""Participant-facing message templates (TOML data in this folder) and their loader."""
from __future__ import annotations

from functools import lru_cache

from .catalog import (
    Category,
    DocumentHeader,
    Param,
    ParamType,
    Template,
    TemplateCatalog,
    TemplateError,
    UrlButton,
    WhatsAppMode,
    load_catalog,
)


@lru_cache(maxsize=1)
def default_catalog() -> TemplateCatalog:
    """The catalog shipped with the code, loaded (and checked) once per process."""
    return load_catalog()


__all__ = [
    "Category", "DocumentHeader", "Param", "ParamType", "Template", "TemplateCatalog",
    "TemplateError", "UrlButton", "WhatsAppMode", "default_catalog", "load_catalog",
]
