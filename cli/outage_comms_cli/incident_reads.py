"""`outage-comms list | show`: open and recent incidents, their updates and deliveries, through the API.

Read-only routes of the incident API (``GET /incidents``, ``GET /incidents/{id}``,
``GET /incidents/{id}/activity``), called like ``declare`` (SigV4, or unsigned to a loopback
``outage-comms local``). ``--format json`` prints exactly what the API answered, for scripts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from outage_comms_cli.incident_commands import (
    EXIT_FAILED,
    ApiCallError,
    ApiResponse,
    ApiUrlOpt,
    FormatOpt,
    OutputFormat,
    RegionOpt,
    _api_url,
    call_api,
)
from outage_comms_cli.progress import progress

out = Console()
err = Console(stderr=True)


def _fail(message: str) -> NoReturn:
    err.print(f"[red]✘[/red] {message}", highlight=False)
    raise typer.Exit(EXIT_FAILED)


def _get(api_url: str | None, path: str, region: str | None) -> ApiResponse:
    url = _api_url(api_url)
    try:
        with progress(f"GET {path}"):
            return call_api("GET", url, path, None, region=region)
    except ApiCallError as error:
        _fail(str(error))


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def list_incidents(
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="At most this many.")] = 50,
    output: FormatOpt = OutputFormat.human,
    api_url: ApiUrlOpt = None,
    region: RegionOpt = None,
) -> None:
    """Open and recent incidents, open ones first, newest change first."""
    response = _get(api_url, f"incidents?limit={limit}", region)
    incidents = list(response.body.get("incidents") or [])
    incidents.sort(key=lambda i: (i.get("status") == "resolved", _negated(str(i.get("updated_at", "")))))
    if output is OutputFormat.json:
        print_json({"incidents": incidents})
        return
    if not incidents:
        out.print("No incidents yet.")
        return
    table = Table(
        title=f"{sum(i.get('status') != 'resolved' for i in incidents)} open, {len(incidents)} shown"
    )
    for column in ("incident", "status", "severity", "scenario", "components", "updated", "title"):
        table.add_column(column)
    for incident in incidents:
        table.add_row(
            str(incident.get("id")),
            str(incident.get("status")),
            str(incident.get("severity")),
            str(incident.get("scenario")),
            ", ".join(incident.get("components") or []),
            str(incident.get("updated_at", ""))[:16].replace("T", " "),
            str(incident.get("internal_title", "")),
        )
    out.print(table)


def _negated(text: str) -> str:
    """Sort key turning an ISO time into descending order inside an ascending sort."""
    return "".join(chr(0x10FFFF - ord(c)) for c in text)


def show_incident(
    incident_id: Annotated[str, typer.Argument(help="The incident id, e.g. inc-20261127-1405-3fa2c1.")],
    output: FormatOpt = OutputFormat.human,
    api_url: ApiUrlOpt = None,
    region: RegionOpt = None,
) -> None:
    """One incident: its state, the updates customers were sent, workflow events and deliveries."""
    incident = _get(api_url, f"incidents/{incident_id}", region).body
    activity = _get(api_url, f"incidents/{incident_id}/activity", region).body
    if output is OutputFormat.json:
        print_json({"incident": incident, "activity": activity})
        return
    facts = Table(show_header=False, title=f"Incident {incident.get('id', incident_id)}")
    for key in (
        "status",
        "severity",
        "scenario",
        "started_at",
        "updated_at",
        "resolved_at",
        "internal_title",
    ):
        if incident.get(key):
            facts.add_row(key, str(incident[key]))
    facts.add_row("components", ", ".join(incident.get("components") or []))
    out.print(facts)
    _rows(
        "Updates customers were sent",
        ("at", "update", "status", "scenario", "words"),
        incident.get("published") or [],
        lambda u: (
            str(u.get("at", ""))[:19],
            str(u.get("update_id", "")),
            str(u.get("status", "")),
            str(u.get("scenario", "")),
            _first_words(u.get("text") or {}),
        ),
    )
    _rows(
        "Workflow events",
        ("at", "kind", "what"),
        activity.get("events") or [],
        lambda e: (str(e.get("at", ""))[:19], str(e.get("kind", "")), str(e.get("text", ""))),
    )
    _rows(
        "Deliveries",
        ("at", "update", "channel", "status"),
        activity.get("deliveries") or [],
        lambda d: (
            str(d.get("at", ""))[:19],
            str(d.get("update_id", "")),
            str(d.get("channel", "")),
            str(d.get("status", "")),
        ),
    )


def _first_words(text: dict[str, Any]) -> str:
    for locale, words in text.items():
        body = words.get("body") if isinstance(words, dict) else words
        return f"{locale}: {str(body)[:80]}"
    return ""


def _rows(
    title: str, columns: tuple[str, ...], items: list[Any], row: Callable[[Any], tuple[str, ...]]
) -> None:
    if not items:
        out.print(f"{title}: none")
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for item in items:
        table.add_row(*row(item))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``list`` and ``show`` to the ``outage-comms`` app."""
    app.command(name="list")(list_incidents)
    app.command(name="show")(show_incident)
