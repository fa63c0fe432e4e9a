"""`outage-comms drill`: one whole incident on an embedded AWS, through the real workflow.

The app ``app.py`` builds is synthesized and deployed into moto (see ``embedded_aws``); an alarm
goes through intake's domain and the real incident store; the synthesized state machine runs
with the real handlers; the communications manager approves on the review page (GET, then POST
with the CSRF token, as their IAM role); a cadence is missed on purpose (reminder), an update is
posted through intake, the incident is resolved and the post-incident summary task is created.

Waits run on a compressed clock passed in the execution input (``seconds_per_minute``) to the
same definition. Output in ``--out``: ``timeline.json``, ``report.md`` (with one row per enabled
channel: what the workflow recorded and what the provider side received) and every delivered
message under ``deliveries/<channel>/``. The provider side is the embedded AWS (moto; SMS, voice and
push answered by the model-validated fake) and the local HTTP sink for the web channels.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outage_comms.incident import Incident
from outage_comms.intake.coalesce import Decision
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.intake.service import apply_signal
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan
from outage_comms.rendering import DEFAULT_TEMPLATES_DIR
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.channels_plan import STATUS_SURFACES
from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway
from outage_comms_cli.embedded_aws import EmbeddedAws, synthesize_app
from outage_comms_cli.embedded_aws.people import review, review_links, session_arn

#: 1 plan minute = 0.5 s: a 10-minute approval timeout is 5 s, a 30-minute cadence 15 s.
DRILL_SECONDS_PER_MINUTE = 0.5
CUSTOMER_HANDLER = "handlers.workflow_deliver_channel.handler"
STATUS_HANDLER = "handlers.publish_status.handler"
PROVIDER_LABELS = {"SendTextMessage": "sms", "SendVoiceMessage": "voice", "SendMessages": "push"}
#: Point at a cdk.out that ``synthesize_app`` wrote for this plan to skip synthesis (tests, benchmarks).
REUSE_CDK_OUT_ENV = "OUTAGE_COMMS_EMBEDDED_CDK_OUT"

Progress = Callable[[str], None]


@dataclass
class DrillGateway:
    """Intake's gateway, starting the execution with the drill's compressed clock in its input."""

    real: StepFunctionsWorkflowGateway
    seconds_per_minute: float
    started: list[str] = field(default_factory=list)

    def start(self, incident: Incident) -> str:
        arn = self.real.stepfunctions.start_execution(
            stateMachineArn=self.real.state_machine_arn,
            name=incident.id,
            input=json.dumps(
                {"incident_id": incident.id, "clock": {"seconds_per_minute": self.seconds_per_minute}}
            ),
        )["executionArn"]
        self.started.append(str(arn))
        return str(arn)

    def deliver_update(self, token: str, update: Mapping[str, Any]) -> None:
        self.real.deliver_update(token, update)


class _Changes:
    """Intake's "incident changed" events, kept in the timeline (the bus is not part of the drill)."""

    def __init__(self, timeline: Callable[[str, str], None]) -> None:
        self._timeline = timeline

    def publish(self, incident: Incident, decision: Decision) -> None:
        self._timeline("intake", f"{decision.kind}: {incident.id} ({incident.status}, {incident.scenario})")


def alarm_event(plan: Plan, scenario: Scenario) -> dict[str, Any]:
    """A CloudWatch alarm for the alarm-mapped component reaching the most audiences (so every channel,
    voice's critical audience included, has someone to tell), tagged with a fitting severity."""
    mapped = [c for c in plan.components if c.signals.alarm_name_patterns]
    component = max(mapped, key=lambda c: len(c.audiences))  # first of the widest, in plan order
    name = component.signals.alarm_name_patterns[0].replace("*", "drill-errors")
    severity = next((s for s in plan.severities if s.default_scenario == scenario), plan.severities[0])
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": now,
        "region": "us-east-1",
        "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"],
        "detail": {
            "alarmName": name,
            "state": {"value": "ALARM", "reason": "drill", "timestamp": now},
            "previousState": {"value": "OK", "reason": "drill", "timestamp": now},
            "configuration": {"description": "[drill] error rate above threshold", "metrics": []},
            "alarmTags": {"severity": severity.id},
        },
    }


def human_request(action: str, incident: Incident, **fields: Any) -> dict[str, Any]:
    return {
        "action": action,
        "request_id": uuid.uuid4().hex,
        "principal": "arn:aws:sts::123456789012:assumed-role/OutageCommsIncidentManager/drill",
        "incident_id": incident.id,
        **fields,
    }


def run_embedded_drill(
    plan: Plan,
    out_dir: Path,
    templates_dir: Path = DEFAULT_TEMPLATES_DIR,
    *,
    plan_path: Path,
    scenario: Scenario = Scenario.MAJOR_OUTAGE,
    seconds_per_minute: float = DRILL_SECONDS_PER_MINUTE,
    progress: Progress = lambda line: None,
) -> dict[str, Any]:
    """Run the drill; write ``timeline.json``, ``report.md`` and ``deliveries/``; return the summary."""
    del templates_dir  # the deployed asset carries the templates the app was synthesized with
    out_dir.mkdir(parents=True, exist_ok=True)
    timeline: list[dict[str, Any]] = []
    origin = time.perf_counter()

    def note(actor: str, text: str) -> None:
        entry = {"t": round(time.perf_counter() - origin, 3), "actor": actor, "text": text}
        timeline.append(entry)
        progress(f"{entry['t']:7.2f}s  {actor:<22} {text}")

    with tempfile.TemporaryDirectory(prefix="outage-comms-drill-") as scratch:
        reuse = os.environ.get(REUSE_CDK_OUT_ENV)
        note("drill", "synthesizing the app (cdk-nag gate on) and deploying it into the embedded AWS")
        cdk_out = Path(reuse) if reuse else synthesize_app(Path(scratch) / "cdk.out", plan_path)
        with EmbeddedAws(cdk_out) as aws:
            note(
                "drill",
                f"deployed {', '.join(aws.stacks)}; template patches: {sum(map(len, aws.patches.values()))}",
            )
            seeded = _seed_subscribers(aws, plan)
            note("drill", f"subscribers confirmed (double opt-in done): {', '.join(seeded)}")
            summary = _run(aws, plan, scenario, seconds_per_minute, note)
            summary["moto_patches"] = aws.patches
            _write_deliveries(aws, out_dir, summary)
            summary["channels"] = _channel_results(aws, plan, summary)
            for channel, result in summary["channels"].items():
                note("channels", f"{channel}: {result['outcome']} ({result['why']})")
            summary["status_site"] = _write_status_site(aws, plan, out_dir / "status", summary["incident_id"])
            note(
                "status",
                f"status site, Statuspage JSON, feeds, banner and dashboard body: "
                f"{summary['status_site']['files']} files in {out_dir / 'status'}",
            )
    summary["timeline"] = timeline
    (out_dir / "timeline.json").write_text(json.dumps(timeline, indent=2, ensure_ascii=False))
    (out_dir / "report.md").write_text(_report(plan, summary), encoding="utf-8")
    (out_dir / "summary.json").write_text(
        json.dumps(
            {k: v for k, v in summary.items() if k != "timeline"}, indent=2, ensure_ascii=False, default=str
        )
    )
    return summary


def _run(
    aws: EmbeddedAws,
    plan: Plan,
    scenario: Scenario,
    seconds_per_minute: float,
    note: Callable[[str, str], None],
) -> dict[str, Any]:
    repository = DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"))
    gateway = DrillGateway(StepFunctionsWorkflowGateway(aws.state_machine_arn), seconds_per_minute)
    changes = _Changes(note)
    comms = plan.roles.communications_manager
    approvers = comms.approver_principals + plan.roles.incident_manager.approver_principals

    def intake(raw: dict[str, Any]) -> dict[str, Any]:
        signal = to_signal(raw, plan)
        if not isinstance(signal, Signal):
            raise RuntimeError(f"intake rejected the drill event: {signal.reason}")
        return apply_signal(
            signal, plan=plan, incidents=repository, workflow=gateway, changes=changes
        ).as_dict()

    # Trigger -> intake -> workflow
    event = alarm_event(plan, scenario)
    note("CloudWatch", f"alarm {event['detail']['alarmName']} is ALARM")
    trigger = time.perf_counter()
    outcome = intake(event)
    incident_id = str(outcome["incident_id"])
    incident = repository.get(incident_id)
    if incident.scenario != scenario:
        intake(human_request("update", incident, scenario=scenario.value))
    execution = gateway.started[0]
    note("intake", f"opened {incident_id} ({incident.severity}); workflow started")
    seen: set[int] = set()

    def follow() -> None:
        for event_ in aws.history(execution):
            if event_["id"] in seen or "stateEnteredEventDetails" not in event_:
                continue
            seen.add(event_["id"])
            note("workflow", event_["stateEnteredEventDetails"]["name"])

    def wait_for(state: str, count: int = 1, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while aws.states_entered(execution).count(state) < count:
            follow()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the drill waited {timeout}s for '{state}'")
            time.sleep(0.02)
        follow()

    approvals = 0
    first_delivery_seconds: float | None = None

    def approve_if_asked(wait_state: str = "Wait for approval") -> None:
        nonlocal approvals, first_delivery_seconds
        links = review_links(aws, incident_id, comms.email)
        if len(links) <= approvals:
            return
        approvals += 1
        _, reference = links[-1]
        for number, role in enumerate(
            approvers[: 2 if plan.severity(incident.severity).approval.dual else 1]
        ):
            result = review(
                aws,
                incident_id,
                reference,
                caller_arn=session_arn(role, f"approver{number}"),
                decision="approve",
            )
            note(
                "review page",
                f"{role.rsplit('/', 1)[-1]} approved (GET {result.get_status}, POST {result.post_status})",
            )

    def until_waiting_for_update(count: int) -> None:
        deadline = time.monotonic() + 60
        while (
            aws.states_entered(execution).count("Wait for next update") < count
            and aws.client("stepfunctions").describe_execution(executionArn=execution)["status"] == "RUNNING"
        ):
            follow()
            approve_if_asked()
            if time.monotonic() > deadline:
                raise TimeoutError("the drill waited 60s for the update to go out")
            time.sleep(0.02)
        follow()

    until_waiting_for_update(1)
    first_delivery_seconds = _first_customer_delivery(aws, trigger)
    note("drill", f"first customer-facing delivery {first_delivery_seconds:.3f}s after the alarm")
    # A missed cadence: nobody posts; the communications manager is reminded
    wait_for("Remind communications manager", timeout=120)
    note("drill", "cadence missed on purpose: the reminder went out")
    # The update arrives through intake (an engineer posts 'identified')
    wait_for("Wait for update after reminder")
    incident = repository.get(incident_id)
    intake(
        human_request(
            "update",
            incident,
            scenario="identified",
            status="identified",
            note={
                "en": "We found the cause and are fixing it",
                "pt-BR": "Encontramos a causa e estamos corrigindo",
            },
        )
    )
    until_waiting_for_update(2)
    incident = repository.get(incident_id)
    intake(human_request("resolve", incident, status="resolved"))
    deadline = time.monotonic() + 60
    while aws.client("stepfunctions").describe_execution(executionArn=execution)["status"] == "RUNNING":
        follow()
        approve_if_asked()
        if time.monotonic() > deadline:
            raise TimeoutError("the drill waited 60s for resolution")
        time.sleep(0.02)
    follow()
    status = aws.client("stepfunctions").describe_execution(executionArn=execution)["status"]
    note("workflow", f"execution {status}")
    states = aws.states_entered(execution)
    return {
        "plan": plan.organization.name,
        "team_addresses": sorted(
            {
                plan.roles.communications_manager.email,
                plan.roles.incident_manager.email,
                plan.roles.support_manager.email,
            }
        ),
        "incident_id": incident_id,
        "scenario": scenario.value,
        "severity": incident.severity,
        "status": status,
        "seconds_per_minute": seconds_per_minute,
        "first_customer_delivery_seconds": first_delivery_seconds,
        "reminders": states.count("Remind communications manager"),
        "escalations": states.count("Escalate to incident manager"),
        "approvals": approvals,
        "states": states,
        "handler_seconds": _handler_seconds(aws),
    }


#: Who the drill's customers are, per subscriber channel (confirmed, as after double opt-in).
DRILL_SUBSCRIBERS: dict[str, list[dict[str, Any]]] = {
    "email": [
        {"address": "ana.customer@example.com", "locale": "en"},
        {"address": "joao.cliente@example.com.br", "locale": "pt-BR"},
    ],
    "sms": [{"address": "+12065550123", "locale": "en"}, {"address": "+5511955550123", "locale": "pt-BR"}],
    "voice": [{"address": "+12065550188", "locale": "en", "audiences": ("enterprise",)}],
    "push": [{"address": "drill-device-token-1", "locale": "en", "platform": "GCM"}],
}


def _write_status_site(aws: EmbeddedAws, plan: Plan, target: Path, incident_id: str) -> dict[str, Any]:
    """The public face as the publisher builds it, from the drill's incident in the embedded store.

    The status stacks live in another account/region and are not deployed into the embedded AWS,
    so the drill writes the same artefacts (same generator) to disk for a person to open.
    """
    from outage_comms.status import write_status_artifacts

    repository = DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"))
    return write_status_artifacts(target, plan, [repository.get(incident_id)], datetime.now(UTC))


def _seed_subscribers(aws: EmbeddedAws, plan: Plan) -> list[str]:
    enabled = {c.value for c in plan.channels.enabled()}
    seeded = []
    for channel, people in DRILL_SUBSCRIBERS.items():
        if channel not in enabled:
            continue
        for person in people:
            aws.subscribe(
                channel,
                person["address"],
                person["locale"],
                audiences=tuple(person.get("audiences", ())),
                platform=str(person.get("platform", "")),
            )
        seeded.append(f"{channel} x{len(people)}")
    return seeded


def _recorded(aws: EmbeddedAws, incident_id: str) -> dict[str, list[dict[str, Any]]]:
    """What the workflow recorded on the incident, per channel: the fan-out's results."""
    table = aws.physical_id("AWS::DynamoDB::Table", contains="Incidents")
    items = aws.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
        ExpressionAttributeValues={":pk": {"S": f"INCIDENT#{incident_id}"}, ":d": {"S": "DELIVERY#"}},
    )["Items"]
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_channel.setdefault(item["channel"]["S"], []).append(json.loads(item["result"]["S"]))
    return by_channel


def _team_notified(aws: EmbeddedAws, incident_id: str) -> dict[str, list[str]]:
    """``Notify team first`` records ``slack: delivered, teams: failed`` events: per channel, each status."""
    table = aws.physical_id("AWS::DynamoDB::Table", contains="State")
    from outage_comms.workflow.store import DynamoWorkflowStore

    store = DynamoWorkflowStore(table_name=table, client=aws.client("dynamodb"))
    statuses: dict[str, list[str]] = {}
    for event in store.events(incident_id):
        if event.get("kind") != "team_notified":
            continue
        for part in str(event.get("text", "")).split(", "):
            channel, _, status = part.partition(": ")
            if status:
                statuses.setdefault(channel, []).append(status)
    return statuses


def _channel_results(aws: EmbeddedAws, plan: Plan, summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every enabled channel: what the workflow recorded and what the provider side received."""
    recorded = _recorded(aws, summary["incident_id"])
    team = _team_notified(aws, summary["incident_id"])
    files: dict[str, int] = {}
    for path in summary["delivered_files"]:
        label = path.split("/")[1]
        files[label] = files.get(label, 0) + 1
    results: dict[str, dict[str, Any]] = {}
    for channel in plan.channels.enabled():
        name = channel.value
        statuses = [r["status"] for r in recorded.get(name, [])] + team.get(name, [])
        received = files.get(name, 0)
        counts = {s: statuses.count(s) for s in sorted(set(statuses))}
        if channel in STATUS_SURFACES:
            runs = [i for i in aws.invocations if i.handler == STATUS_HANDLER]
            errors = sorted({i.error for i in runs if i.error})
            outcome = "published" if runs and not errors else "not published"
            why = (
                f"the status publisher (not a fan-out branch) ran {len(runs)}x"
                + (f", failing with {', '.join(errors)}" if errors else "")
                + "; the status site's stacks are not deployed in the embedded AWS" * bool(errors)
            )
        elif counts.get("delivered") and received:
            outcome, why = "delivered", f"{received} message(s) received by the provider side"
        elif counts.get("delivered"):
            outcome, why = "delivered (no recipients)", "the workflow delivered, nobody was in the audience"
        else:
            details = [r.get("detail") or r.get("error", "") for r in recorded.get(name, [])]
            outcome = "failed" if counts.get("failed") else "skipped"
            why = "; ".join(sorted({d for d in details if d})) or "no delivery recorded"
        results[name] = {"outcome": outcome, "why": why, "recorded": counts, "received": received}
    return results


def _first_customer_delivery(aws: EmbeddedAws, trigger: float) -> float:
    ends = [
        inv.started + inv.seconds - trigger
        for inv in aws.invocations
        if inv.handler == CUSTOMER_HANDLER and inv.error is None and inv.started >= trigger
    ]
    return min(ends) if ends else float("nan")


def _handler_seconds(aws: EmbeddedAws) -> dict[str, list[float]]:
    seconds: dict[str, list[float]] = {}
    for inv in aws.invocations:
        seconds.setdefault(inv.handler.split(".")[1], []).append(round(inv.seconds, 4))
    return seconds


def _write_deliveries(aws: EmbeddedAws, out_dir: Path, summary: dict[str, Any]) -> None:
    """Every message the provider side received, one file each under ``deliveries/<channel>/``."""
    target = out_dir / "deliveries"
    files: list[str] = []

    counters: dict[str, int] = {}

    def write(label: str, name: str, text: str) -> None:
        counters[label] = counters.get(label, 0) + 1
        name = f"{counters[label]:03d}{name}"
        folder = target / label
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
        files.append(str((folder / name).relative_to(out_dir)))

    topics = {"sns": aws.output("SubscribersTopicArn"), "chatbot": aws.output("InternalChatTopicArn")}
    for label, topic in topics.items():
        for message in aws.published(topic):
            attributes = {k: v.get("Value") for k, v in (message["attributes"] or {}).items()}
            if label == "sns" and attributes.get("incident_id") != summary["incident_id"]:
                continue
            scenario, locale = attributes.get("scenario", "notification"), attributes.get("locale", "all")
            body = message["message"]
            if label == "chatbot":
                content = json.loads(body).get("content", {})
                body = f"{content.get('title', '')}\n\n{content.get('description', '')}"
            text = (f"Subject: {message['subject']}\n\n" if message.get("subject") else "") + body + "\n"
            write(label, f"-{scenario}.{locale}.txt", text)
    team = set(summary.get("team_addresses", []))
    for email in aws.sent_emails():
        raw = getattr(email, "raw_data", None)
        to = _recipients(email)
        text = raw if raw else f"Subject: {getattr(email, 'subject', '')}\n\n{getattr(email, 'body', '')}"
        label = "email-to-team" if to and set(to) <= team else "email"
        write(label, ".txt", f"To: {', '.join(to)}\n{text}\n")
    for call in aws.providers.calls:
        label = PROVIDER_LABELS[call.operation]
        write(label, ".json", json.dumps(call.params, indent=2, ensure_ascii=False) + "\n")
    for channel, requests in aws.sink.by_channel().items():
        for request in requests:
            if request.path.endswith("com.atproto.server.createSession"):
                continue  # Bluesky's login, not a message
            headers = {k: v for k, v in request.headers.items() if k != "authorization"}
            body = request.body.decode("utf-8", "replace")
            write(
                channel,
                ".http",
                f"{request.method} {request.path}\n{json.dumps(headers, indent=1)}\n\n{body}\n",
            )
    summary["delivered_files"] = files
    summary["customer_messages"] = sum(1 for f in files if f.startswith("deliveries/sns/"))


def _recipients(email: Any) -> list[str]:
    """moto keeps a simple message's ``destinations`` as a dict, a raw one's as a list."""
    destinations = getattr(email, "destinations", None)
    if isinstance(destinations, dict):
        return sorted({str(a) for key in ("ToAddresses", "CcAddresses") for a in destinations.get(key, [])})
    return sorted({str(a) for a in destinations or []})


def _report(plan: Plan, summary: dict[str, Any]) -> str:
    severity = plan.severity(summary["severity"])
    kept = (
        "missed once on purpose (reminder sent, then the update arrived)" if summary["reminders"] else "kept"
    )
    lines = [
        f"# Drill report: {summary['plan']}",
        "",
        f"- Incident `{summary['incident_id']}`, severity {severity.id} ({severity.name['en']}), "
        f"scenario {summary['scenario']}; execution **{summary['status']}**.",
        f"- Time to first customer message: **{summary['first_customer_delivery_seconds']:.3f} s** after the "
        f"alarm (clock: 1 plan minute = {summary['seconds_per_minute']} s).",
        f"- Cadence every {severity.cadence_minutes} plan minutes: {kept}; "
        f"escalations: {summary['escalations']}.",
        f"- Approvals on the review page: {summary['approvals']}.",
        f"- Customer-facing messages delivered (SNS subscribers, per locale): "
        f"{summary['customer_messages']}.",
        "",
        "## Every enabled channel",
        "",
        "| channel | outcome | recorded by the workflow | received | why |",
        "|---|---|---|---:|---|",
        *(
            f"| {name} | {r['outcome']} | {', '.join(f'{k} {v}' for k, v in r['recorded'].items()) or '-'} "
            f"| {r['received']} | {r['why']} |"
            for name, r in summary.get("channels", {}).items()
        ),
        "",
        "## What happened when",
        "",
        "| t (s) | who | what |",
        "|---:|---|---|",
        *(f"| {e['t']:.2f} | {e['actor']} | {e['text']} |" for e in summary["timeline"]),
        "",
    ]
    return "\n".join(lines)
