"""The `outage-comms` command line."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from outage_comms.guard import guard_message, sms_size
from outage_comms.plan import PlanError, load_plan
from outage_comms.rendering import DEFAULT_TEMPLATES_DIR, TemplateProblem, build_context, render_message
from outage_comms.sample import sample_facts
from outage_comms.vocabulary import CHANNEL_FORMAT, Channel, Scenario
from outage_comms_cli import incident_commands, triage_command
from outage_comms_cli.lint import EXIT_FINDINGS, EXIT_UNUSABLE, LintReport, lint_plan

app = typer.Typer(
    name="outage-comms",
    help="Your customer communication plan for outages, as code. Lint it, preview it, drill it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

DEFAULT_PLAN = Path("plans/example.yaml")


class OutputFormat(StrEnum):
    human = "human"
    json = "json"


PlanArg = Annotated[Path, typer.Argument(help="The plan YAML file.", show_default=True)]
TemplatesOpt = Annotated[Path, typer.Option("--templates", help="Templates folder.")]


@app.command()
def lint(
    plan: PlanArg = DEFAULT_PLAN,
    output: Annotated[OutputFormat, typer.Option("--format", help="human or json")] = OutputFormat.human,
    templates: TemplatesOpt = DEFAULT_TEMPLATES_DIR,
) -> None:
    """Check a plan: schema, references, templates, message quality. Exit 0 clean, 1 findings, 2 unusable."""
    report = lint_plan(plan, templates)
    if output is OutputFormat.json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        _print_report(report)
    raise typer.Exit(report.exit_code)


def _print_report(report: LintReport) -> None:
    if report.sms:
        table = Table(title="SMS size per scenario and locale", show_lines=False)
        for col in ("scenario", "locale", "encoding", "units", "segments"):
            table.add_column(col)
        for row in report.sms:
            table.add_row(
                row["scenario"], row["locale"], row["encoding"], str(row["units"]), str(row["segments"])
            )
        out.print(table)
    if not report.findings:
        out.print(
            f"[green]✔ {report.plan_path}: {report.messages_checked} messages checked, no findings.[/green]"
        )
        return
    for finding in report.findings:
        colour = "red" if finding.severity == "error" else "yellow"
        out.print(
            f"[{colour}]{finding.severity}[/{colour}] [bold]{finding.where}[/bold]: {finding.message}.\n"
            f"    [dim]Fix:[/dim] {finding.fix}",
            highlight=False,
        )
    label = "unusable input" if report.unusable else f"{len(report.findings)} finding(s)"
    out.print(f"[red]✘ {report.plan_path}: {label}.[/red]")


@app.command()
def preview(
    plan: PlanArg = DEFAULT_PLAN,
    scenario: Annotated[Scenario, typer.Option(help="Which situation.")] = Scenario.INVESTIGATING,
    channel: Annotated[Channel, typer.Option(help="Which channel.")] = Channel.EMAIL,
    locale: Annotated[str, typer.Option(help="Which locale, e.g. en or pt-BR.")] = "en",
    templates: TemplatesOpt = DEFAULT_TEMPLATES_DIR,
) -> None:
    """Print one message rendered with sample data, as the customer would read it."""
    try:
        loaded = load_plan(plan)
    except PlanError as exc:
        for problem in exc.problems:
            err.print(str(problem), highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None
    if locale not in loaded.locale_codes:
        err.print(f"locale '{locale}' is not in the plan; use one of {loaded.locale_codes}")
        raise typer.Exit(EXIT_UNUSABLE)
    fmt = CHANNEL_FORMAT[channel]
    try:
        message = render_message(
            scenario=scenario,
            fmt=fmt,
            locale=locale,
            context=build_context(loaded, sample_facts(loaded, scenario), locale),
            templates_dir=templates,
        )
    except TemplateProblem as exc:
        err.print(str(exc), highlight=False)
        raise typer.Exit(EXIT_FINDINGS) from None
    for name, value in message.fields.items():
        out.print(
            Panel(value, title=f"{channel.value} · {scenario.value} · {locale} · {name}", expand=False),
            highlight=False,
        )
    if fmt.value == "sms":
        size = sms_size(message.fields["body"])
        out.print(f"SMS: {size.encoding}, {size.units} units, {size.segments} segment(s)")
    findings = guard_message(loaded, message)
    for finding in findings:
        err.print(f"[red]{finding.message}[/red]. Fix: {finding.fix}", highlight=False)
    raise typer.Exit(EXIT_FINDINGS if findings else 0)


@app.command()
def drill(
    plan: Annotated[Path, typer.Option("--plan", help="The plan YAML file.")] = DEFAULT_PLAN,
    out_dir: Annotated[
        Path,
        typer.Option("--out", help="Where to write the timeline, the report and every delivered message."),
    ] = Path("out/drill"),
    scenario: Annotated[
        Scenario, typer.Option(help="The incident's opening scenario.")
    ] = Scenario.MAJOR_OUTAGE,
    seconds_per_minute: Annotated[
        float, typer.Option(help="Compressed clock: real seconds per plan minute (waits and timeouts).")
    ] = 0.5,
    templates: TemplatesOpt = DEFAULT_TEMPLATES_DIR,
) -> None:
    """Run a whole incident on the embedded AWS: alarm, approval, fan-out, reminder, update, resolution."""
    import sys as _sys

    from outage_comms_cli.drill import run_embedded_drill

    try:
        loaded = load_plan(plan)
    except PlanError as exc:
        for problem in exc.problems:
            err.print(str(problem), highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None
    live = Console(
        file=_sys.__stdout__, soft_wrap=True
    )  # handlers' stdout is captured while they run; progress is not
    summary = run_embedded_drill(
        loaded,
        out_dir,
        templates,
        plan_path=plan,
        scenario=scenario,
        seconds_per_minute=seconds_per_minute,
        progress=lambda line: live.print(line, highlight=False),
    )
    out.print(
        f"Drill {summary['status']}: first customer message "
        f"{summary['first_customer_delivery_seconds']:.3f} s after "
        f"the alarm; {summary['customer_messages']} customer messages delivered; written to {out_dir}/ "
        "(report.md, timeline.json, deliveries/, status/)"
    )
    if "status_site" in summary:
        out.print(f"Status page: {summary['status_site']['open']}", highlight=False)
    raise typer.Exit(0 if summary["status"] == "SUCCEEDED" else 1)


triage_command.register(app)
incident_commands.register(app)


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
