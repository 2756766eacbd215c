"""The escalation policy as data: ordered states with conditions and actions (design.md §7).

`default_policies()` reads the TOML files beside this module once per process;
`PolicyBook.policy_for(branch, day)` answers which policy governs a branch on a day.
"""
from .loader import DATA_DIRECTORY, PolicyDataError, default_policies, load_policies
from .model import (CURRENT, FALLBACK_STATE, Action, Conditions, DebtorFacts, PaymentPlanRules,
                    Policy, PolicyBook, PreDue, State)

__all__ = ["Action", "Conditions", "CURRENT", "DATA_DIRECTORY", "DebtorFacts",
           "FALLBACK_STATE", "PaymentPlanRules", "Policy", "PolicyBook", "PolicyDataError",
           "PreDue", "State", "default_policies", "load_policies"]
