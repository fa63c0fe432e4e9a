"""The `outage-comms` command line."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from outage_comms.guard import guard_message, sms_size
from outage_comms.plan import Plan, PlanError, load_plan
from outage_comms.plan_lint import EXIT_FINDINGS, EXIT_UNUSABLE, LintReport, lint_plan
from outage_comms.rendering import TemplateProblem, build_context, render_message
from outage_comms.sample import sample_facts
from outage_comms.templates_location import templates_dir_for
from outage_comms.vocabulary import CHANNEL_FORMAT, Channel, Scenario
from outage_comms_cli import breakglass, incident_commands, incident_reads, preflight, redrive, triage_command
from outage_comms_cli import init as init_command
from outage_comms_cli.local import command as local_command

if TYPE_CHECKING:
    from outage_comms.drill_scenario import DrillScenario


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"outage-comms {version('outage-comms')}")
        raise typer.Exit(0)


app = typer.Typer(
    name="outage-comms",
    help="Your customer communication plan for outages, as code. Lint it, preview it, drill it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

#: A team's repository (outage-comms init) has plan.yaml; this repository has plans/example.yaml.
DEFAULT_PLAN = Path("plan.yaml") if Path("plan.yaml").is_file() else Path("plans/example.yaml")


class OutputFormat(StrEnum):
    human = "human"
    json = "json"


PlanArg = Annotated[Path, typer.Argument(help="The plan YAML file.", show_default=True)]
TemplatesOpt = Annotated[
    Path | None,
    typer.Option(
        "--templates", help="Templates folder (default: the plan's 'templates:', else templates/ beside it)."
    ),
]


@app.command()
def lint(
    plan: PlanArg = DEFAULT_PLAN,
    output: Annotated[OutputFormat, typer.Option("--format", help="human or json")] = OutputFormat.human,
    templates: TemplatesOpt = None,
) -> None:
    """Check a plan: schema, references, templates, message quality. Exit 0 clean, 1 findings, 2 unusable."""
    report = lint_plan(plan, templates)
    if output is OutputFormat.json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        _print_report(report)
    raise typer.Exit(report.exit_code)


def _print_feedback_coverage(report: LintReport) -> None:
    """Per channel and locale: how many scenarios carry the feedback question, in which form."""
    table = Table(title="Feedback question in SMS and social posts (scenarios)", show_lines=False)
    for col in ("channel", "locale", "two links", "reply YES/NO", "compact (1 link)", "no room", "total"):
        table.add_column(col)
    groups: dict[tuple[str, str], list[str]] = {}
    for row in report.feedback:
        key = (row.get("channel") or row["format"], row["locale"])
        groups.setdefault(key, []).append(row["feedback_links"])
    for (fmt, locale), forms in sorted(groups.items()):
        table.add_row(
            fmt,
            locale,
            *(str(forms.count(form)) for form in ("links", "reply", "compact", "no room")),
            str(len(forms)),
        )
    out.print(table)


def _print_report(report: LintReport) -> None:
    if report.templates_dir:
        out.print(f"Plan {report.plan_path}, templates {report.templates_dir}", highlight=False)
    if report.sms:
        table = Table(title="SMS size per scenario and locale", show_lines=False)
        for col in ("scenario", "locale", "encoding", "units", "segments", "feedback links"):
            table.add_column(col)
        for row in report.sms:
            table.add_row(
                row["scenario"],
                row["locale"],
                row["encoding"],
                str(row["units"]),
                str(row["segments"]),
                str(row.get("feedback_links", "")),
            )
        out.print(table)
    if report.feedback:
        _print_feedback_coverage(report)
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
    label = (
        f"unusable plan: fix these {len(report.findings)} problem(s) first, then templates are checked"
        if report.unusable
        else f"{len(report.findings)} finding(s)"
    )
    out.print(f"[red]✘ {report.plan_path}: {label}.[/red]")


@app.command()
def preview(
    plan: PlanArg = DEFAULT_PLAN,
    scenario: Annotated[Scenario, typer.Option(help="Which situation.")] = Scenario.INVESTIGATING,
    channel: Annotated[Channel, typer.Option(help="Which channel.")] = Channel.EMAIL,
    locale: Annotated[str, typer.Option(help="Which locale, e.g. en or pt-BR.")] = "en",
    templates: TemplatesOpt = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="human or json")] = OutputFormat.human,
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
            templates_dir=templates or templates_dir_for(plan, loaded.templates),
        )
    except TemplateProblem as exc:
        err.print(str(exc), highlight=False)
        raise typer.Exit(EXIT_FINDINGS) from None
    findings = guard_message(loaded, message)
    if output is OutputFormat.json:
        size = sms_size(message.fields["body"]) if fmt.value == "sms" else None
        document = {
            "channel": channel.value,
            "scenario": scenario.value,
            "locale": locale,
            "fields": dict(message.fields),
            "sms": {"encoding": size.encoding, "units": size.units, "segments": size.segments}
            if size
            else None,
            "findings": [{"message": f.message, "fix": f.fix} for f in findings],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        raise typer.Exit(EXIT_FINDINGS if findings else 0)
    for name, value in message.fields.items():
        out.print(
            Panel(value, title=f"{channel.value} · {scenario.value} · {locale} · {name}", expand=False),
            highlight=False,
        )
    if fmt.value == "sms":
        size = sms_size(message.fields["body"])
        out.print(f"SMS: {size.encoding}, {size.units} units, {size.segments} segment(s)")
    for finding in findings:
        err.print(f"[red]{finding.message}[/red]. Fix: {finding.fix}", highlight=False)
    raise typer.Exit(EXIT_FINDINGS if findings else 0)


class DrillTarget(StrEnum):
    embedded = "embedded"
    deployed = "deployed"


@app.command()
def drill(
    plan: Annotated[Path, typer.Option("--plan", help="The plan YAML file.")] = DEFAULT_PLAN,
    out_dir: Annotated[
        Path,
        typer.Option("--out", help="Where to write the report, the timeline and every delivered message."),
    ] = Path("out/drill"),
    scenario: Annotated[
        str | None,
        typer.Option(
            help="Game-day scenario YAML (default: drills/default.yaml). A scenario name such as "
            "partial_outage instead sets the default story's opening scenario."
        ),
    ] = None,
    target: Annotated[
        DrillTarget, typer.Option(help="embedded (moto, compressed clock) or deployed (the real API).")
    ] = DrillTarget.embedded,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", help="deployed: the incident API URL (or $OUTAGE_COMMS_API_URL)."),
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="deployed: AWS region of the API.")] = None,
    time_scale: Annotated[
        float,
        typer.Option(
            help="deployed: compress the runner's own waits between events (0.1 = ten times faster); "
            "the deployed workflow keeps real time."
        ),
    ] = 1.0,
    seconds_per_minute: Annotated[
        float, typer.Option(help="embedded: compressed clock, real seconds per plan minute.")
    ] = 0.5,
    templates: TemplatesOpt = None,
) -> None:
    """Run a game-day scenario: on the embedded AWS, or (--target deployed) on the real deployment."""
    import sys as _sys

    loaded, story = _drill_story(plan, scenario)
    live = Console(
        file=_sys.__stdout__, soft_wrap=True
    )  # handlers' stdout is captured while they run; progress is not
    if target is DrillTarget.deployed:
        _deployed_drill(loaded, story, out_dir, api_url, region, time_scale, live)
    _embedded_drill(loaded, story, out_dir, plan, templates, seconds_per_minute, live)


def _drill_story(plan: Path, scenario: str | None) -> tuple[Plan, DrillScenario]:
    """The plan and the scenario to play: a scenario file, or the default story opening as ``scenario``."""
    from outage_comms_cli.drills.scenario import ScenarioError, default_scenario, load_scenario

    try:
        loaded = load_plan(plan)
    except PlanError as exc:
        for problem in exc.problems:
            err.print(str(problem), highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None
    opening = None
    scenario_path = default_scenario(plan)
    if scenario is not None and scenario in {s.value for s in Scenario} and not Path(scenario).exists():
        opening = Scenario(scenario)
    elif scenario is not None:
        scenario_path = Path(scenario)
    try:
        story = load_scenario(scenario_path, loaded)
    except ScenarioError as exc:
        for problem in exc.problems:
            err.print(str(problem), highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None
    if opening is not None:
        story = story.model_copy(update={"opening": opening})
    return loaded, story


def _deployed_drill(
    loaded: Plan,
    story: DrillScenario,
    out_dir: Path,
    api_url: str | None,
    region: str | None,
    time_scale: float,
    live: Console,
) -> NoReturn:
    import os as _os

    from outage_comms_cli.api_call import API_URL_ENV
    from outage_comms_cli.drills.deployed import DeployedDrillError, api_caller, run_deployed_drill
    from outage_comms_cli.drills.report import measures, score

    url = api_url or _os.environ.get(API_URL_ENV)
    if not url:
        err.print(f"no API URL: pass --api-url or set {API_URL_ENV}", highlight=False)
        raise typer.Exit(EXIT_UNUSABLE)
    if not 0 < time_scale <= 1:
        err.print("--time-scale must be above 0 and at most 1 (e.g. 0.1)", highlight=False)
        raise typer.Exit(EXIT_UNUSABLE)
    try:
        record = run_deployed_drill(
            loaded,
            story,
            out_dir,
            call=api_caller(url, region),
            time_scale=time_scale,
            progress=lambda line: live.print(line, highlight=False),
        )
    except DeployedDrillError as exc:
        err.print(f"[red]✘[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    out.print(
        f"Deployed drill {record.status}: incident {record.incident_id}, score "
        f"{score(measures(record))}/100; report in {out_dir}/ (report.md, report.html, timeline.svg)"
    )
    raise typer.Exit(0 if record.status == "SUCCEEDED" else 1)


def _embedded_drill(
    loaded: Plan,
    story: DrillScenario,
    out_dir: Path,
    plan: Path,
    templates: Path | None,
    seconds_per_minute: float,
    live: Console,
) -> NoReturn:
    from outage_comms_cli.drills.embedded import run_embedded_drill

    summary = run_embedded_drill(
        loaded,
        out_dir,
        templates,
        plan_path=plan,
        scenario=story,
        seconds_per_minute=seconds_per_minute,
        progress=lambda line: live.print(line, highlight=False),
    )
    record_file = Path(out_dir) / "record.json"
    first_minute = (
        json.loads(record_file.read_text()).get("first_message_minute") if record_file.is_file() else None
    )
    wall = summary.get("first_customer_delivery_seconds")
    first = (
        f"first customer message {first_minute:.1f} plan minutes after the trigger"
        + (f" ({wall:.1f} wall s)" if wall is not None else "")
        if first_minute is not None
        else "no customer message"
    )
    out.print(
        f"Drill {summary['status']} ({story.name}): score {summary['record']['score']}/100; {first}; "
        f"{summary['customer_messages']} customer messages delivered; written to {out_dir}/ "
        "(report.md, report.html, timeline.svg, timeline.json, deliveries/, status/)"
    )
    if "status_site" in summary:
        out.print(f"Status site: {summary['status_site']['headline']}", highlight=False)
        out.print(f"Status page: {summary['status_site']['open']}", highlight=False)
    raise typer.Exit(0 if summary["status"] == "SUCCEEDED" else 1)


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Your customer communication plan for outages, as code. Lint it, preview it, drill it."""


triage_command.register(app)
init_command.register(app)
incident_commands.register(app)
preflight.register(app)
redrive.register(app)
breakglass.register(app)
local_command.register(app)
incident_reads.register(app)


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
