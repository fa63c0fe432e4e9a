"""`outage-comms declare | update | resolve`: people open, update and close incidents through the API.

Requests are signed with SigV4 (service ``execute-api``) using the default AWS credential chain
(environment, profile, SSO, instance role). The API URL comes from ``--api-url`` or
``OUTAGE_COMMS_API_URL`` (the intake stack's ``IncidentApiUrl`` output); the region from the URL
(``https://<id>.execute-api.<region>.amazonaws.com/v1/``) or ``--region``.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from outage_comms_cli.api_call import (
    API_URL_ENV,
    ApiCallError,
    ApiResponse,
    call_loopback,
    region_for,
    unsigned_loopback,
)
from outage_comms_cli.api_call import response_json as _json
from outage_comms_cli.progress import progress

EXIT_FAILED = 1
EXIT_USAGE = 2

out = Console()
err = Console(stderr=True)

ApiUrlOpt = Annotated[
    str | None, typer.Option("--api-url", help=f"The incident API URL (default: ${API_URL_ENV}).")
]
RegionOpt = Annotated[
    str | None, typer.Option("--region", help="AWS region of the API (default: read from the URL).")
]
ComponentsOpt = Annotated[
    list[str] | None, typer.Option("--component", "-c", help="Affected component id (repeatable).")
]
SeverityOpt = Annotated[str | None, typer.Option("--severity", help="Plan severity id, e.g. sev2.")]
ScenarioOpt = Annotated[str | None, typer.Option("--scenario", help="Scenario, e.g. partial_outage.")]
StatusOpt = Annotated[
    str | None, typer.Option("--status", help="investigating, identified, monitoring or resolved.")
]
TitleOpt = Annotated[str | None, typer.Option("--title", help="Internal title (never shown to customers).")]
NoteOpt = Annotated[
    list[str] | None,
    typer.Option("--note", help="Words for customers as LOCALE=TEXT, e.g. --note 'en=Sign-in is slow'."),
]
_DETAIL_HELP = (
    "as TEXT (the plan's default locale) or LOCALE=TEXT, repeatable per locale; checked like --note"
)
CauseOpt = Annotated[
    list[str] | None,
    typer.Option("--cause", help=f"What went wrong, in customers' words, {_DETAIL_HELP}."),
]
FixOpt = Annotated[
    list[str] | None, typer.Option("--fix", help=f"What the team did to fix it, {_DETAIL_HELP}.")
]
ImpactOpt = Annotated[
    list[str] | None,
    typer.Option("--impact", help=f"What customers noticed, in the past tense, {_DETAIL_HELP}."),
]


class OutputFormat(StrEnum):
    human = "human"
    json = "json"


FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="human or json (for scripts).")]
RequestIdOpt = Annotated[
    str | None, typer.Option("--request-id", help="Idempotency token; repeat it to retry safely.")
]


def call_api(
    method: str, api_url: str, path: str, body: dict[str, Any] | None, *, region: str | None = None
) -> ApiResponse:
    """One SigV4-signed call to the incident API. Raises ApiCallError with the fix on failure."""
    if unsigned_loopback(api_url, region):  # outage-comms local, no AWS credentials: loopback only
        return call_loopback(method, api_url, path, body)  # type: ignore[no-any-return]
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    url = api_url.rstrip("/") + "/" + path.lstrip("/")
    from botocore.exceptions import BotoCoreError

    try:
        credentials = botocore.session.Session().get_credentials()
    except BotoCoreError as error:
        raise ApiCallError(
            f"could not load AWS credentials ({error}). Sign in again (aws sso login) or set AWS_PROFILE"
        ) from None
    if credentials is None:
        raise ApiCallError(
            "no AWS credentials found. Sign in first (aws sso login, AWS_PROFILE, or AWS_ACCESS_KEY_ID / "
            "AWS_SECRET_ACCESS_KEY) with a role allowed to call execute-api:Invoke on the incident API"
        )
    data = json.dumps(body).encode("utf-8") if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region_for(api_url, region)).add_auth(
        request
    )
    prepared = urllib.request.Request(  # noqa: S310 - the URL is the operator's own API endpoint
        url, data=data, method=method, headers=dict(request.headers.items())
    )
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:  # noqa: S310
            return ApiResponse(response.status, _json(response.read()))
    except urllib.error.HTTPError as error:
        payload = _json(error.read())
        message = payload.get("message") or payload.get("Message") or error.reason
        if error.code == 403:
            raise ApiCallError(
                f"the API refused your IAM identity (403: {message}). Check that your role may call "
                "execute-api:Invoke on this API, that the region is right, and that your clock is correct"
            ) from None
        code = payload.get("error", f"HTTP {error.code}")
        raise ApiCallError(f"{code}: {message}") from None
    except (urllib.error.URLError, TimeoutError) as error:
        from outage_comms_cli.standby_api import standby_for

        if standby := standby_for(api_url):  # a two-region engine: the standby's API (its own region)
            return call_api(method, standby, path, body)
        reason = getattr(error, "reason", error)
        raise ApiCallError(f"cannot reach {url} ({reason}); check --api-url / ${API_URL_ENV}") from None


def request_body(
    *,
    components: list[str] | None,
    severity: str | None,
    scenario: str | None,
    status: str | None,
    title: str | None,
    notes: list[str] | None,
    request_id: str | None,
) -> dict[str, Any]:
    """The JSON body the API expects; only the options given.

    Text is checked by the same rule as the API (``outage_comms.human_text``: NFC, no control, bidi or
    noncharacters, per-field limits), so a refusal shows here, with the API's words, before any call.
    """
    from outage_comms.human_text import HumanTextError, check_text
    from outage_comms.intake.sources.human import TITLE_LIMIT, human_note

    note: dict[str, str] = {}
    for item in notes or []:
        locale, sep, text = item.partition("=")
        if not sep or not locale.strip() or not text.strip():
            raise ApiCallError(f"--note {item!r} is not LOCALE=TEXT; write e.g. --note 'en=Sign-in is slow'")
        note[locale.strip()] = text
    try:
        note = human_note(note)
        if title is not None:
            title = check_text(title, field="title", limit=TITLE_LIMIT, multiline=False)
    except HumanTextError as error:
        raise ApiCallError(f"{error}.") from None
    body: dict[str, Any] = {"request_id": request_id or str(uuid.uuid4())}
    optional = {
        "components": components or None,
        "severity": severity,
        "scenario": scenario,
        "status": status,
        "title": title,
        "note": note or None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


def _api_url(api_url: str | None) -> str:
    url = api_url or os.environ.get(API_URL_ENV)
    if not url:
        _fail(f"no API URL: pass --api-url or set {API_URL_ENV} (the intake stack's IncidentApiUrl output)")
    return url


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    err.print(f"[red]✘[/red] {message}", highlight=False)
    raise typer.Exit(code)


def _send(
    method: str,
    api_url: str | None,
    path: str,
    body: dict[str, Any] | None,
    region: str | None,
    output: str = "human",
) -> None:
    try:
        with progress(f"{method} {path}"):
            response = call_api(method, _api_url(api_url), path, body, region=region)
    except ApiCallError as error:
        _fail(str(error), EXIT_FAILED)
    result = response.body
    if output == "json":  # what the API answered, for scripts (incident_id, kind, workflow ...)
        print(json.dumps({"status": response.status, **result}, indent=2, ensure_ascii=False))
        return
    table = Table(show_header=False, title=f"HTTP {response.status}")
    for key in ("incident_id", "kind", "announced", "workflow", "reason"):
        if key in result:
            table.add_row(key, str(result[key]))
    out.print(table)


def declare(
    components: ComponentsOpt = None,
    severity: SeverityOpt = None,
    scenario: ScenarioOpt = None,
    status: StatusOpt = None,
    title: TitleOpt = None,
    note: NoteOpt = None,
    request_id: RequestIdOpt = None,
    api_url: ApiUrlOpt = None,
    region: RegionOpt = None,
    output: FormatOpt = OutputFormat.human,
) -> None:
    """Declare an incident for some components (joins the open incident if one already covers them)."""
    if not components:
        _fail("name the affected components: --component sync --component search")
    body = _body(components, severity, scenario, status, title, note, request_id)
    _send("POST", api_url, "incidents", body, region, output)


def update(
    incident_id: Annotated[str, typer.Argument(help="The incident id, e.g. inc-20261127-1405-3fa2c1.")],
    components: ComponentsOpt = None,
    severity: SeverityOpt = None,
    scenario: ScenarioOpt = None,
    status: StatusOpt = None,
    title: TitleOpt = None,
    note: NoteOpt = None,
    request_id: RequestIdOpt = None,
    api_url: ApiUrlOpt = None,
    region: RegionOpt = None,
    output: FormatOpt = OutputFormat.human,
) -> None:
    """Update an open incident: status, severity, scenario, components or the words for customers."""
    body = _body(components, severity, scenario, status, title, note, request_id)
    _send("POST", api_url, f"incidents/{incident_id}/updates", body, region, output)


def resolve(
    incident_id: Annotated[str, typer.Argument(help="The incident id, e.g. inc-20261127-1405-3fa2c1.")],
    note: NoteOpt = None,
    cause: CauseOpt = None,
    fix: FixOpt = None,
    impact: ImpactOpt = None,
    title: TitleOpt = None,
    request_id: RequestIdOpt = None,
    api_url: ApiUrlOpt = None,
    region: RegionOpt = None,
    output: FormatOpt = OutputFormat.human,
) -> None:
    """Resolve an incident (customers get the resolved message).

    --cause, --fix and --impact are what the resolved message and the post-incident summary tell
    customers went wrong, how it was fixed and what they noticed; the summary's draft asks for any left out.
    """
    body = _body(None, None, None, None, title, note, request_id)
    try:
        body.update(resolution_body(cause=cause, fix=fix, impact=impact))
    except ApiCallError as error:
        _fail(str(error))
    _send("POST", api_url, f"incidents/{incident_id}/resolve", body, region, output)


_LOCALE_PREFIX = re.compile(r"^([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)=(.*)$", re.DOTALL)


def resolution_body(
    *, cause: list[str] | None, fix: list[str] | None, impact: list[str] | None
) -> dict[str, Any]:
    """``cause`` / ``fix`` / ``impact`` for the resolve body: one text, or one per LOCALE=TEXT.

    Checked by the API's own rule (``outage_comms.intake.sources.human.human_detail``) before any call.
    """
    from outage_comms.human_text import HumanTextError
    from outage_comms.intake.sources.human import human_detail

    body: dict[str, Any] = {}
    for option, items in (("cause", cause), ("fix", fix), ("impact", impact)):
        if not items:
            continue
        plain: list[str] = []
        per_locale: dict[str, str] = {}
        for item in items:
            match = _LOCALE_PREFIX.match(item)
            if match:
                per_locale[match.group(1)] = match.group(2)
            else:
                plain.append(item)
        if plain and (per_locale or len(plain) > 1):
            raise ApiCallError(
                f"--{option}: give one text (the plan's default locale) or LOCALE=TEXT per locale, not both; "
                f"e.g. --{option} 'en=...' --{option} 'pt-BR=...'"
            )
        value: str | dict[str, str] = plain[0] if plain else per_locale
        try:
            checked = human_detail(value, option)
        except HumanTextError as error:
            raise ApiCallError(f"{error}.") from None
        texts = [checked] if isinstance(checked, str) else list((checked or {}).values())
        if not any(text.strip() for text in texts):
            raise ApiCallError(f"--{option} is empty; write what to tell customers")
        body[option] = checked
    return body


def _body(
    components: list[str] | None,
    severity: str | None,
    scenario: str | None,
    status: str | None,
    title: str | None,
    note: list[str] | None,
    request_id: str | None,
) -> dict[str, Any]:
    try:
        return request_body(
            components=components,
            severity=severity,
            scenario=scenario,
            status=status,
            title=title,
            notes=note,
            request_id=request_id,
        )
    except ApiCallError as error:
        _fail(str(error))


# ---------------------------------------------------------------------------------------------
# outage-comms maintenance schedule | complete | cancel
# ---------------------------------------------------------------------------------------------

maintenance_app = typer.Typer(
    help="Scheduled maintenance: announce a window, then complete or cancel it.", no_args_is_help=True
)
WindowTimeHelp = "ISO 8601 with a zone, e.g. 2026-12-01T02:00Z or 2026-12-01T04:00-03:00."


def window_time(value: str, option: str) -> str:
    """``value`` as UTC ISO 8601; a time without a zone is refused (maintenance times must not be guessed)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ApiCallError(
            f"{option} {value!r} is not a date and time; write e.g. 2026-12-01T02:00Z"
        ) from None
    if moment.tzinfo is None:
        raise ApiCallError(f"{option} {value!r} has no time zone; add one, e.g. {value.strip()}Z for UTC")
    return moment.astimezone(UTC).isoformat()


def _send_window(api_url: str | None, path: str, body: dict[str, Any], region: str | None) -> None:
    try:
        with progress(f"POST {path}"):
            response = call_api("POST", _api_url(api_url), path, body, region=region)
    except ApiCallError as error:
        _fail(str(error), EXIT_FAILED)
    result = response.body
    table = Table(show_header=False, title=f"HTTP {response.status}")
    for key in ("incident_id", "kind", "maintenance_phase", "scheduled_for", "scheduled_until", "reason"):
        if result.get(key) is not None:
            table.add_row(key, str(result[key]))
    for schedule in result.get("schedules") or []:
        table.add_row(f"schedule {schedule.get('kind')}", str(schedule.get("at")))
    if result.get("schedules_deleted"):
        table.add_row("schedules deleted", ", ".join(result["schedules_deleted"]))
    out.print(table)


@maintenance_app.command(name="schedule")
def schedule_maintenance(
    components: ComponentsOpt = None,
    starts_at: Annotated[
        str | None, typer.Option("--starts-at", help=f"Window start. {WindowTimeHelp}")
    ] = None,
    ends_at: Annotated[str | None, typer.Option("--ends-at", help=f"Window end. {WindowTimeHelp}")] = None,
    title: TitleOpt = None,
    note: NoteOpt = None,
    severity: SeverityOpt = None,
    request_id: RequestIdOpt = None,
    api_url: ApiUrlOpt = None,
    region: RegionOpt = None,
) -> None:
    """Announce a maintenance window: subscribers hear now, before it (24 h, 1 h), at its start and end."""
    if not components:
        _fail("name the components under maintenance: --component sync --component search")
    if not starts_at or not ends_at:
        _fail(f"give the window: --starts-at and --ends-at ({WindowTimeHelp})")
    body = _body(components, severity, None, None, title, note, request_id)
    try:
        body |= {
            "starts_at": window_time(starts_at, "--starts-at"),
            "ends_at": window_time(ends_at, "--ends-at"),
        }
    except ApiCallError as error:
        _fail(str(error))
    _send_window(api_url, "maintenances", body, region)


@maintenance_app.command(name="complete")
def complete_maintenance(
    incident_id: Annotated[str, typer.Argument(help="The window's id, e.g. inc-20261127-1405-3fa2c1.")],
    note: NoteOpt = None,
    title: TitleOpt = None,
    request_id: RequestIdOpt = None,
    api_url: ApiUrlOpt = None,
    region: RegionOpt = None,
) -> None:
    """The work is done early: customers hear it is complete; the remaining schedules are deleted."""
    body = _body(None, None, None, None, title, note, request_id)
    _send_window(api_url, f"maintenances/{incident_id}/complete", body, region)


@maintenance_app.command(name="cancel")
def cancel_maintenance(
    incident_id: Annotated[str, typer.Argument(help="The window's id, e.g. inc-20261127-1405-3fa2c1.")],
    note: NoteOpt = None,
    title: TitleOpt = None,
    request_id: RequestIdOpt = None,
    api_url: ApiUrlOpt = None,
    region: RegionOpt = None,
) -> None:
    """Call the window off: customers hear it is cancelled; the remaining schedules are deleted."""
    body = _body(None, None, None, None, title, note, request_id)
    _send_window(api_url, f"maintenances/{incident_id}/cancel", body, region)


def register(app: typer.Typer) -> None:
    """Add ``declare``, ``update``, ``resolve`` and ``maintenance`` to the ``outage-comms`` app."""
    app.command(name="declare")(declare)
    app.command(name="update")(update)
    app.command(name="resolve")(resolve)
    app.add_typer(maintenance_app, name="maintenance")
