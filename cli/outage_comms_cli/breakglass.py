"""Break-glass: `outage-comms publish` and `outage-comms send`, for when both engines are unreachable.

- ``publish`` posts an update straight to the status site: it assumes the status stack's publisher
  role (the same narrowly scoped cross-account role the publisher function uses), reads the site's
  stored state from the status bucket, appends the update to the incident the site shows, and
  rebuilds that incident's pages, the home page, feeds and JSON with the project's own publisher.
- ``send`` sends through the standby region's channels: the SNS subscribers topic of the standby
  (subscribers' filter policies apply as usual), claimed first in the standby's delivery ledger (the
  replicated workflow table), so a retry of the command, or the engine coming back, never sends the
  same break-glass update twice.

Both are guarded like every other path (``human_text`` for what a person typed; the message guard for
leaks, jargon and channel limits), logged (an audit record with the caller's identity, and the
incident's ledger), and idempotent: the update id is derived from the incident and the words (or
``--key``), and a second run with the same words is reported and does nothing. The fence of the
two-region engine is bypassed on purpose: a person decided; the ledger still prevents doubles.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console

from outage_comms.guard import guard_message
from outage_comms.human_text import HumanTextError, check_text
from outage_comms.incident import Incident, PublishedUpdate, PublishedWords
from outage_comms.plan import Plan, PlanError, load_plan
from outage_comms.rendering import RenderedMessage
from outage_comms.vocabulary import CHANNEL_FORMAT, Channel, Scenario

EXIT_FAILED = 1
EXIT_USAGE = 2
#: Where the audit records go in the status bucket (never served: the edge answers 404 there).
AUDIT_PREFIX = "_publisher/breakglass/"
STATUSES = ("investigating", "identified", "monitoring", "resolved")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class BreakGlassError(Exception):
    """The break-glass action was refused; the message says why and what to do."""


@dataclass(frozen=True)
class Outcome:
    update_id: str
    done: bool  # False: the same update went out before; nothing was done now
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"update_id": self.update_id, "done": self.done, "detail": self.detail}


def breakglass_update_id(incident_id: str, key: str | None, *parts: str) -> str:
    """Stable per (incident, words) or per ``--key``: the same command run twice is one update."""
    digest = hashlib.sha256(
        "\x1f".join((incident_id, key or "", *([] if key else parts))).encode()
    ).hexdigest()
    return f"breakglass-{digest[:16]}"


def guarded_words(
    plan: Plan, channel: Channel, scenario: Scenario, locale: str, title: str, body: str
) -> None:
    """Refuse what a person typed if it fails the text rules or the message guard for ``channel``."""
    try:
        check_text(title, field="--title", limit=200, multiline=False)
        check_text(body, field="--message", limit=4000)
    except HumanTextError as error:
        raise BreakGlassError(str(error)) from None
    heading = "title" if channel is Channel.STATUS_PAGE else "subject"
    fields = {heading: title, "body": body} if title else {"body": body}
    message = RenderedMessage(scenario=scenario, format=CHANNEL_FORMAT[channel], locale=locale, fields=fields)
    findings = guard_message(plan, message, channel)
    if findings:
        raise BreakGlassError("the guard refused the words: " + "; ".join(str(f) for f in findings))


def publish_update(
    plan: Plan,
    sink: Any,
    *,
    incident_id: str,
    status: str,
    title: str,
    body: str,
    locale: str,
    principal: str,
    options: Any,
    key: str | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Append the update to the incident the status site shows and publish its pages (``sink``: the
    status account's bucket through the publisher role: ``Boto3StatusSink`` or a fake)."""
    from outage_comms.status.publisher import StatusPublisher
    from outage_comms.status.view import Artefact

    if status not in STATUSES:
        raise BreakGlassError(f"--status must be one of {', '.join(STATUSES)}")
    guarded_words(plan, Channel.STATUS_PAGE, Scenario(status), locale, title, body)
    incident = _shown_incident(plan, sink, options, incident_id)
    update_id = breakglass_update_id(incident_id, key, status, title, body, locale)
    if any(p.update_id == update_id for p in incident.published):
        return Outcome(update_id, False, "already on the status site; not published again")
    at = now or datetime.now(UTC)
    updated = _with_update(incident, update_id, at, status, {locale: (title, body)})
    publisher = StatusPublisher(
        plan=plan,
        incidents=cast(Any, _OneIncident(updated)),
        sink=sink,
        options=options,
        clock=lambda: at,
        state_store=sink,
    )
    result = publisher.publish(incident_id)
    if not result.written:
        raise BreakGlassError(f"nothing was written to the status site: {result.failures}")
    audit = {
        "update_id": update_id,
        "incident_id": incident_id,
        "status": status,
        "by": principal,
        "at": at.isoformat(),
    }
    sink.put_object(
        f"{AUDIT_PREFIX}{update_id}.json",
        Artefact(
            json.dumps({**audit, "title": title, "body": body}).encode(), "application/json", "no-store"
        ),
    )
    return Outcome(update_id, True, f"published ({len(result.written)} objects written)")


def _shown_incident(plan: Plan, sink: Any, options: Any, incident_id: str) -> Incident:
    """The incident as the status site last published it (the publisher's state in the bucket)."""
    from outage_comms.status.state import SiteMemory, fingerprint

    stored = sink.read_state()
    memory = SiteMemory.from_bytes(stored, fingerprint(plan, options)) if stored else None
    if memory is None:
        raise BreakGlassError(
            "the status bucket holds no site state of this plan and version: run the same outage-comms "
            "version and plan as the deployment (the state is written by every publish)"
        )
    incident = memory.incidents.get(incident_id)
    if incident is None:
        raise BreakGlassError(f"the status site does not show {incident_id}; pass an incident it shows")
    return incident


def _with_update(
    incident: Incident, update_id: str, at: datetime, status: str, words: dict[str, tuple[str, str]]
) -> Incident:
    """The incident with one more published update (``words``: locale -> title, body) and its status."""
    text = {locale: PublishedWords(title=title, body=body) for locale, (title, body) in words.items()}
    published = PublishedUpdate(
        update_id=update_id, at=at, status=status, scenario=Scenario(status), text=text
    )
    changes: dict[str, Any] = {
        "published": (*incident.published, published),
        "status": status,
        "updated_at": at,
    }
    if status == "resolved" and incident.resolved_at is None:
        changes["resolved_at"] = at
    return incident.evolve(**changes)


class _OneIncident:
    """The publisher's repository during break-glass: the incident being published, nothing else."""

    def __init__(self, incident: Any) -> None:
        self._incident = incident

    def get(self, incident_id: str) -> Any:
        if incident_id != self._incident.id:
            raise KeyError(incident_id)
        return self._incident


def send_update(
    plan: Plan,
    *,
    sns: Any,
    ledger: Any,
    topic_arn: str,
    incident_id: str,
    scenario: Scenario,
    title: str,
    body: str,
    locale: str,
    components: list[str],
    severity: str,
    key: str | None = None,
) -> Outcome:
    """Send through the standby's SNS subscribers topic, once: claimed in the delivery ledger first."""
    from outage_comms.channels.base import Delivery
    from outage_comms.channels.sns_subscribers import SnsSubscribersChannel
    from outage_comms.incident import audiences_for
    from outage_comms.workflow.delivery_ledger import Claim

    unknown = [c for c in components if c not in {p.id for p in plan.components}]
    if unknown or not components:
        raise BreakGlassError(
            f"--component must name the plan's components (unknown: {', '.join(unknown) or '-'})"
        )
    if severity not in {s.id for s in plan.severities}:
        raise BreakGlassError(f"--severity {severity} is not in the plan")
    guarded_words(plan, Channel.SNS, scenario, locale, title, body)
    update_id = breakglass_update_id(incident_id, key, scenario.value, title, body, locale)
    claim = ledger.claim(incident_id, update_id, Channel.SNS.value)
    if claim.outcome is Claim.DONE:
        return Outcome(update_id, False, "sent before; not sent again")
    if claim.outcome is not Claim.CLAIMED:
        raise BreakGlassError(f"another attempt is sending {update_id} right now; run again in a minute")
    delivery = Delivery(
        incident_id=incident_id,
        update_id=update_id,
        channel=Channel.SNS,
        scenario=scenario.value,
        components=components,
        audiences=audiences_for(plan, components),
        severity=severity,
        messages={locale: {"subject": title, "body": body}},
    )
    try:
        result = SnsSubscribersChannel(topic_arn=topic_arn, client=sns).deliver(delivery)
    except Exception as error:
        ledger.release(
            incident_id, update_id, Channel.SNS.value, claim.token, f"{type(error).__name__}: {error}"
        )
        raise BreakGlassError(f"the standby's topic refused the message: {error}") from None
    ledger.finish(incident_id, update_id, Channel.SNS.value, claim.token, result.status)
    return Outcome(update_id, True, f"{result.status}: {result.detail}".rstrip(": "))


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------

PlanOpt = Annotated[Path, typer.Option("--plan", help="The plan YAML file.")]
IncidentOpt = Annotated[
    str, typer.Option("--incident", help="The incident id, e.g. inc-20261202-1000-abc123.")
]
TitleOpt = Annotated[str, typer.Option("--title", help="The update's title (subject).")]
MessageOpt = Annotated[str, typer.Option("--message", help="The update's words, as customers read them.")]
LocaleOpt = Annotated[str, typer.Option("--locale", help="The locale of the words.")]
KeyOpt = Annotated[
    str | None,
    typer.Option("--key", help="Idempotency key (default: derived from the incident and the words)."),
]


def _plan(path: Path) -> Plan:
    try:
        return load_plan(path)
    except PlanError as error:
        err.print(f"[red]✘[/red] {error}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None


def _principal(session: Any) -> str:
    return str(session.client("sts").get_caller_identity()["Arn"])


def _report(action: str, outcome: Outcome, extra: dict[str, Any]) -> None:
    import logging

    logging.getLogger("outage_comms.breakglass").warning(
        "break-glass %s %s", action, {**extra, **outcome.as_dict()}
    )
    mark = "[green]✔[/green]" if outcome.done else "[yellow]=[/yellow]"
    out.print(f"{mark} break-glass {action} {outcome.update_id}: {outcome.detail}", highlight=False)


def publish(
    incident: IncidentOpt,
    status: Annotated[
        str, typer.Option("--status", help="investigating, identified, monitoring or resolved.")
    ],
    title: TitleOpt,
    message: MessageOpt,
    role_arn: Annotated[str, typer.Option("--role-arn", help="The status stack's publisher role ARN.")],
    bucket: Annotated[str, typer.Option("--bucket", help="The status site bucket.")],
    status_region: Annotated[str, typer.Option("--status-region", help="The status stack's region.")],
    dashboard: Annotated[str, typer.Option("--dashboard", help="The public dashboard's name.")] = "",
    distribution: Annotated[
        str | None, typer.Option("--distribution", help="CloudFront distribution id.")
    ] = None,
    plan: PlanOpt = Path("plan.yaml"),
    locale: LocaleOpt = "en",
    key: KeyOpt = None,
) -> None:
    """Break-glass: post an update straight to the status site through the publisher role."""
    import os

    import boto3

    from outage_comms.status.publisher import Boto3StatusSink
    from outage_comms.status.view import SiteOptions

    the_plan = _plan(plan)
    try:
        principal = _principal(boto3.Session())
        sink = Boto3StatusSink.assuming_role(
            role_arn=role_arn,
            region=status_region,
            bucket=bucket,
            dashboard_name=dashboard,
            distribution_id=distribution,
            session_name="outage-comms-breakglass",
        )
        outcome = publish_update(
            the_plan,
            sink,
            incident_id=incident,
            status=status,
            title=title,
            body=message,
            locale=locale,
            principal=principal,
            key=key,
            options=SiteOptions(
                subscribe_url=os.environ.get("STATUS_SUBSCRIBE_URL") or None, region=status_region
            ),
        )
    except BreakGlassError as error:
        err.print(f"[red]✘[/red] {error}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    _report("publish", outcome, {"incident_id": incident, "by": principal})


def send(
    incident: IncidentOpt,
    title: TitleOpt,
    message: MessageOpt,
    topic_arn: Annotated[
        str, typer.Option("--topic-arn", help="The standby region's subscribers topic ARN.")
    ],
    workflow_table: Annotated[
        str, typer.Option("--workflow-table", help="The workflow (ledger) table name.")
    ],
    component: Annotated[list[str], typer.Option("--component", help="A component the update is about.")],
    severity: Annotated[str, typer.Option("--severity", help="The incident's severity id.")],
    scenario: Annotated[
        Scenario, typer.Option("--scenario", help="Which situation.")
    ] = Scenario.INVESTIGATING,
    plan: PlanOpt = Path("plan.yaml"),
    locale: LocaleOpt = "en",
    key: KeyOpt = None,
) -> None:
    """Break-glass: send an update through the standby region's channels (its subscribers topic)."""
    import boto3

    from outage_comms.workflow.delivery_ledger import DynamoDeliveryLedger

    the_plan = _plan(plan)
    standby = the_plan.regions.standby if the_plan.regions else None
    if standby is None:
        err.print("[red]✘[/red] the plan has no regions.standby to send from", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    if topic_arn.split(":")[3:4] != [standby]:
        err.print(f"[red]✘[/red] --topic-arn must be in the standby region {standby}", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    session = boto3.Session(region_name=standby)
    try:
        principal = _principal(session)
        ledger = DynamoDeliveryLedger(table_name=workflow_table, client=session.client("dynamodb"))
        outcome = send_update(
            the_plan,
            sns=session.client("sns"),
            ledger=ledger,
            topic_arn=topic_arn,
            incident_id=incident,
            scenario=scenario,
            title=title,
            body=message,
            locale=locale,
            components=component,
            severity=severity,
            key=key,
        )
    except BreakGlassError as error:
        err.print(f"[red]✘[/red] {error}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    _report("send", outcome, {"incident_id": incident, "by": principal, "region": standby})


def register(app: typer.Typer) -> None:
    app.command("publish")(publish)
    app.command("send")(send)
