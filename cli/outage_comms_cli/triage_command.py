"""`outage-comms triage EVENT.json [--plan PLAN]`: check a plan's mappings against a real event.

Prints the incident (JSON) the event would open under the plan, exit 0. A rejection prints its
reason on stderr and the JSON on stdout, exit 2. No AWS needed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from outage_comms.intake.triage import triage
from outage_comms.plan import PlanError, load_plan

EXIT_REJECTED = 2
DEFAULT_PLAN = Path("plans/example.yaml")


def register(app: typer.Typer) -> None:
    """Add the ``triage`` command to the ``outage-comms`` app."""
    app.command(name="triage")(triage_command)


def triage_command(
    event: Annotated[
        Path, typer.Argument(help="The event JSON file (EventBridge event, runbook input or request).")
    ],
    plan: Annotated[Path, typer.Option("--plan", help="The plan YAML file.")] = DEFAULT_PLAN,
) -> None:
    """Show the incident EVENT would become under the plan, or why it is rejected (exit 2)."""
    try:
        loaded = load_plan(plan)
    except PlanError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        raise typer.Exit(EXIT_REJECTED) from None
    try:
        text = event.read_text(encoding="utf-8")
    except FileNotFoundError:
        _fail(f"{event}: file not found. Pass the path of a JSON event (see tests/fixtures/events).")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{event}: cannot read the file ({exc}). Check the path and that it is UTF-8 text.")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(
            f"{event}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}. Fix the JSON syntax."
        )
    result = triage(raw, loaded)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if "rejected" in result:
        rejected = result["rejected"]
        print(f"rejected ({rejected['code']}): {rejected['reason']}", file=sys.stderr)
        raise typer.Exit(EXIT_REJECTED)


def _fail(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    raise typer.Exit(EXIT_REJECTED)
