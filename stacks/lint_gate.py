"""``cdk synth`` runs the whole ``outage-comms lint`` (schema, references, templates, message quality).

A plan that lint would refuse stops synthesis with lint's own words and exit code (2 unusable, 1 findings);
warnings do not stop it. Lint takes seconds, and tests synthesize the same plan many times in one process,
so a clean report is remembered per plan file, templates folder and drills, by modification time.
The lint is the library's (``outage_comms.plan_lint``, what the CLI command runs too): the stacks never
import the CLI.
"""

from __future__ import annotations

from pathlib import Path

from outage_comms.drill_scenario import scenario_files
from outage_comms.plan import PlanError
from outage_comms.plan_lint import EXIT_UNUSABLE, LintReport, lint_plan

_CLEAN: set[tuple[object, ...]] = set()


class PlanLintError(Exception):
    """Lint found errors: the report says which, each with its fix."""

    def __init__(self, report: LintReport) -> None:
        self.report = report
        super().__init__(f"{report.plan_path}: lint exit code {report.exit_code}")


def _stamp(plan_path: Path, templates_dir: Path) -> tuple[object, ...]:
    files = [plan_path, *scenario_files(plan_path)]
    if templates_dir.is_dir():
        files += sorted(templates_dir.rglob("*"))
    return tuple((str(p), p.stat().st_mtime_ns) for p in files if p.is_file())


def lint_gate(plan_path: Path, templates_dir: Path) -> None:
    """Raise :class:`PlanLintError` unless the plan lints without errors (as ``outage-comms lint``)."""
    key = (str(plan_path.resolve()), str(templates_dir), _stamp(plan_path, templates_dir))
    if key in _CLEAN:
        return
    report = lint_plan(plan_path, templates_dir)
    if report.exit_code != 0:
        raise PlanLintError(report)
    _CLEAN.add(key)


def unusable_report(error: PlanError, plan_path: str) -> LintReport:
    """The report lint gives for a plan that does not validate (exit code 2)."""
    report = lint_plan(plan_path)
    if report.exit_code != EXIT_UNUSABLE:  # e.g. a context problem raised as PlanError: keep its words
        from outage_comms.guard import Finding

        report.unusable = True
        report.findings = [
            Finding("plan", p.message, p.fix, where=f"{p.file}: {p.path}") for p in error.problems
        ]
    return report


def report_lines(report: LintReport) -> list[str]:
    """Lint's human output for the findings, without colour (what ``outage-comms lint`` prints)."""
    lines = [f"{f.severity} {f.where}: {f.message}.\n    Fix: {f.fix}" for f in report.findings]
    label = (
        f"unusable plan: fix these {len(report.findings)} problem(s) first, then templates are checked"
        if report.unusable
        else f"{len(report.findings)} finding(s)"
    )
    return [*lines, f"✘ {report.plan_path}: {label}."]
