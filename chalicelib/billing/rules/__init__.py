"""Contribution rules as dated data (design.md §7): the TOML files under data/, read and
checked by the loader, answering "what applied in this contribution period for this party".
"""
from .loader import DATA_DIRECTORY, default_rulebook, load_rulebook
from .rulebook import (
    PAYERS,
    PROGRAMS,
    SEGMENTS,
    ContributionRule,
    DueDateRule,
    EligibilityCondition,
    EmployerProfile,
    FineRule,
    RuleBook,
    RuleDataError,
    Tier,
    TierSchedule,
    Validity,
    WageCap,
)

__all__ = [
    "DATA_DIRECTORY", "default_rulebook", "load_rulebook",
    "PAYERS", "PROGRAMS", "SEGMENTS",
    "ContributionRule", "DueDateRule", "EligibilityCondition", "EmployerProfile", "FineRule",
    "RuleBook", "RuleDataError", "Tier", "TierSchedule", "Validity", "WageCap",
]
