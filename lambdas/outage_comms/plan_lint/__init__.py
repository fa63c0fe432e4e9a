"""The plan linter (``outage-comms lint``), as a library: the CLI command and ``cdk synth``'s lint gate
(``outage_comms_cdk.lint_gate``) both call :func:`lint_plan`, so the stacks never import the CLI.

Never imported by a Lambda handler, so never in a function's asset (textstat stays out of it).
:mod:`.engine` (the passes and the report), :mod:`.quality` (per-message quality), :mod:`.sentences`
(a sample note repeating a template sentence), :mod:`.locales` (word files and CLDR locales); the game-day
scenarios it checks are :mod:`outage_comms.drill_scenario`.
"""

from outage_comms.plan_lint.engine import EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNUSABLE, LintReport, lint_plan

__all__ = ["EXIT_CLEAN", "EXIT_FINDINGS", "EXIT_UNUSABLE", "LintReport", "lint_plan"]
