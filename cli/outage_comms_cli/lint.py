"""`outage-comms lint`: the plan linter is the library's (:mod:`outage_comms.plan_lint`); re-exported here."""

from outage_comms.plan_lint.engine import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_UNUSABLE,
    FORMATS_EXEMPT_FROM_NEXT_UPDATE,
    MIN_WORDS_FOR_READABILITY,
    LintReport,
    lint_plan,
)

__all__ = [
    "EXIT_CLEAN",
    "EXIT_FINDINGS",
    "EXIT_UNUSABLE",
    "FORMATS_EXEMPT_FROM_NEXT_UPDATE",
    "MIN_WORDS_FOR_READABILITY",
    "LintReport",
    "lint_plan",
]
