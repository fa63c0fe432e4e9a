"""The embedded drill: a game-day scenario played on an embedded AWS, through the real workflow.

The app ``app.py`` builds is synthesized and deployed into moto (see ``embedded_aws``). The
scenario's events happen at their offsets on a compressed clock (``seconds_per_minute`` in the
execution input, 1 plan minute = 0.5 s by default, passed to the same definition): an alarm (tagged
``outage-comms-drill: true`` in drill mode) or a declare goes through intake's domain and the real
incident store; updates and the resolution too. The synthesized state machine runs with the real
handlers; the approvers the scenario names act on the review page (GET, then POST with the CSRF
token, as their IAM role) after the delay it gives them; injected channel failures go through the
incident's ``drill_failures`` and, on the provider side, the embedded sink / fakes.

Output in ``--out``: ``report.md`` / ``report.html`` / ``timeline.svg`` / ``record.json`` (the drill
report, see :mod:`.report`), ``timeline.json``, ``summary.json`` (one row per enabled channel: what the
workflow recorded and what the provider side received), every delivered message under
``deliveries/<channel>/`` and the status site under ``status/``: the status stack is deployed into the
same embedded account, the workflow's real status publisher writes its bucket (a drill only under the
plan's ``drill.status_prefix``), and ``status/`` is that bucket's content, read back.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from outage_comms import clock
from outage_comms.incident import Incident
from outage_comms.intake.coalesce import Decision
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.intake.service import apply_signal
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.activity import ActivitySettings, DynamoActivityReader
from outage_comms.workflow.channels_plan import STATUS_SURFACES
from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway
from outage_comms_cli.drills.quiet import LOG_NAME, log_lines, quiet_output
from outage_comms_cli.drills.record import DrillRecord, Step, build_record
from outage_comms_cli.drills.report import write_report
from outage_comms_cli.drills.scenario import (
    DEFAULT_SCENARIO,
    AlarmStep,
    ApprovalExpectation,
    CancelMaintenanceStep,
    DeclareStep,
    DrillScenario,
    MaintenanceStep,
    ResolveStep,
    UpdateStep,
    load_scenario,
)
from outage_comms_cli.drills.story import Story
from outage_comms_embedded import EmbeddedAws, synthesize_app
from outage_comms_embedded.people import review, session_arn

#: 1 plan minute = 0.5 s: a 10-minute approval timeout is 5 s, a 30-minute cadence 15 s.
DRILL_SECONDS_PER_MINUTE = 0.5
CUSTOMER_HANDLER = "handlers.workflow_deliver_channel.handler"
STATUS_HANDLER = "handlers.publish_status.handler"
PROVIDER_LABELS = {"SendTextMessage": "sms", "SendVoiceMessage": "voice", "SendMessages": "push"}
#: Point at a cdk.out that ``synthesize_app`` wrote for this plan to skip synthesis (tests, benchmarks).
REUSE_CDK_OUT_ENV = "OUTAGE_COMMS_EMBEDDED_CDK_OUT"
#: The alarm tag that makes an alarm-opened incident a drill (drill mode runtime).
DRILL_ALARM_TAG = "outage-comms-drill"
DRILL_PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/OutageCommsIncidentManager/drill"
#: Web channels whose delivery runs in the fan-out (a failing Lambda), not over the sink.
_LAMBDA_FAULT_CHANNELS = {"sns", "email", "sms", "voice", "push", "chatbot"}
_REVIEW_LINK = re.compile(r"https?://\S+/incidents/(?P<incident>inc-[\w-]+)/review/(?P<reference>[\w.-]+)")
_SUBJECT = re.compile(r"Approve the (?P<what>.+?) update for")

Progress = Callable[[str], None]


class InjectedChannelFailure(Exception):
    """The drill's provider-side fault: the channel's provider is 'down' (not retried: not retryable)."""


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


def alarm_event(
    plan: Plan,
    scenario: Scenario,
    *,
    component: str | None = None,
    severity: str | None = None,
    drill: bool = False,
) -> dict[str, Any]:
    """A CloudWatch alarm for an alarm-mapped component (default: the one reaching the most audiences, so
    every channel, voice's critical audience included, has someone to tell), tagged with a severity."""
    mapped = [c for c in plan.components if c.signals.alarm_name_patterns]
    chosen = next((c for c in mapped if c.id == component), None) or max(
        mapped, key=lambda c: len(c.audiences)
    )  # first of the widest, in plan order
    name = chosen.signals.alarm_name_patterns[0].replace("*", "drill-errors")
    level = (
        plan.severity(severity)
        if severity
        else next((s for s in plan.severities if s.default_scenario == scenario), plan.severities[0])
    )
    now = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    tags = {"severity": level.id, **({DRILL_ALARM_TAG: "true"} if drill else {})}
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
            "alarmTags": tags,
        },
    }


def human_request(action: str, incident: Incident | None, **fields: Any) -> dict[str, Any]:
    return {
        "action": action,
        "request_id": uuid.uuid4().hex,
        "principal": DRILL_PRINCIPAL,
        **({"incident_id": incident.id} if incident is not None else {}),
        **{k: v for k, v in fields.items() if v not in (None, {}, [])},
    }


def run_embedded_drill(
    plan: Plan,
    out_dir: Path,
    templates_dir: Path | None = None,
    *,
    plan_path: Path,
    scenario: DrillScenario | None = None,
    opening: Scenario | None = None,
    seconds_per_minute: float = DRILL_SECONDS_PER_MINUTE,
    progress: Progress = lambda line: None,
) -> dict[str, Any]:
    """Play ``scenario`` (default: ``drills/default.yaml``); write everything; return a summary."""
    scenario = scenario or load_scenario(DEFAULT_SCENARIO, plan)
    if opening is not None:
        scenario = scenario.model_copy(update={"opening": opening})
    out_dir.mkdir(parents=True, exist_ok=True)
    with quiet_output(out_dir) as shown:
        summary = _play(
            plan, out_dir, templates_dir, plan_path, scenario, seconds_per_minute, shown(progress)
        )
    summary["log"] = {"file": str(out_dir / LOG_NAME), "lines": log_lines(out_dir)}
    progress(f"moto's and the handlers' own output: {out_dir / LOG_NAME} ({summary['log']['lines']} lines)")
    return summary


def _play(
    plan: Plan,
    out_dir: Path,
    templates_dir: Path | None,
    plan_path: Path,
    scenario: DrillScenario,
    seconds_per_minute: float,
    progress: Progress,
) -> dict[str, Any]:
    timeline: list[dict[str, Any]] = []
    origin = time.perf_counter()

    def note(actor: str, text: str) -> None:
        entry = {"t": round(time.perf_counter() - origin, 3), "actor": actor, "text": text}
        timeline.append(entry)
        progress(f"{entry['t']:7.2f}s  {actor:<22} {text}")

    with tempfile.TemporaryDirectory(prefix="outage-comms-drill-") as scratch:
        reuse = os.environ.get(REUSE_CDK_OUT_ENV)
        note("drill", "synthesizing the app (cdk-nag gate on) and deploying it into the embedded AWS")
        cdk_out = (
            Path(reuse) if reuse else synthesize_app(Path(scratch) / "cdk.out", plan_path, templates_dir)
        )
        with EmbeddedAws(cdk_out, with_status_site=True, with_intake=True) as aws:
            note(
                "drill",
                f"deployed {', '.join(aws.stacks)}; template patches: {sum(map(len, aws.patches.values()))}",
            )
            public_dashboard = _dashboard_body(aws)
            seeded = _seed_subscribers(aws, plan)
            note("drill", f"subscribers confirmed (double opt-in done): {', '.join(seeded)}")
            _create_drill_secrets(aws, plan)
            _warm_up(aws)
            note("drill", "the approvers' review page is warm (a first request loaded its code)")
            runner = _EmbeddedRunner(aws, plan, scenario, seconds_per_minute, note)
            summary = runner.run()
            summary["moto_patches"] = aws.patches
            _write_deliveries(aws, out_dir, summary)
            summary["status_site"] = _write_published_status(
                aws, plan, out_dir / "status", summary["incident_id"], public_dashboard
            )
            summary["channels"] = _channel_results(aws, plan, summary)
            for channel, result in summary["channels"].items():
                note("channels", f"{channel}: {result['outcome']} ({result['why']})")
            record = runner.record(summary["status"])
            record.status_site = summary["status_site"]["headline"]
            note("status", f"{summary['status_site']['headline']}; copied to {out_dir / 'status'}")
    summary["timeline"] = timeline
    summary["report"] = {k: str(v) for k, v in write_report(record, out_dir).items()}
    summary["quality"] = _write_quality(out_dir, summary["delivered_files"])
    summary["record"] = _headline(record)
    (out_dir / "timeline.json").write_text(json.dumps(timeline, indent=2, ensure_ascii=False))
    (out_dir / "summary.json").write_text(
        json.dumps(
            {k: v for k, v in summary.items() if k != "timeline"}, indent=2, ensure_ascii=False, default=str
        )
    )
    return summary


def _write_quality(out_dir: Path, files: list[str]) -> dict[str, Any]:
    """Every delivered message's quality in ``quality.json``; the summary table appended to ``report.md``."""
    from outage_comms_cli.quality import assess_deliveries, markdown_table, summary_rows

    rows = assess_deliveries(out_dir, files)
    (out_dir / "quality.json").write_text(
        json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False), encoding="utf-8"
    )
    report = out_dir / "report.md"
    if report.exists():
        report.write_text(report.read_text(encoding="utf-8") + "\n" + markdown_table(rows), encoding="utf-8")
    return {
        "messages": len(rows),
        "findings": sum(len(r.findings) for r in rows),
        "by_channel": summary_rows(rows),
    }


def _warm_up(aws: EmbeddedAws) -> None:
    """One request to the review page before the story: its first load (seconds on a busy machine)
    would otherwise eat into the first approval's timeout, which moto counts in wall seconds."""
    from outage_comms_embedded.people import api_event

    with contextlib.suppress(Exception):
        aws.invoke(
            aws.function_name("workflow_review_page"),
            api_event("GET", "inc-20000101-0000-000000", "warm-up", DRILL_PRINCIPAL),
        )


def _headline(record: DrillRecord) -> dict[str, Any]:
    from outage_comms_cli.drills.report import improvements, measures, score

    found = measures(record)
    return {
        "score": score(found),
        "improvements": [m.advice for m in improvements(found)],
        "channels": {c.channel: {"outcome": c.outcome, "injected": c.injected} for c in record.channels},
        "notes": record.notes,
    }


class _EmbeddedRunner:
    """The scenario on the embedded AWS: intake for the script, the review page for the approvers."""

    def __init__(
        self,
        aws: EmbeddedAws,
        plan: Plan,
        scenario: DrillScenario,
        seconds_per_minute: float,
        note: Callable[[str, str], None],
    ) -> None:
        self.aws, self.plan, self.scenario = aws, plan, scenario
        self.spm = seconds_per_minute
        self.note = note
        self.repository = DynamoIncidentRepository(
            aws.physical_id("AWS::DynamoDB::Table", contains="Incidents")
        )
        self.reader = DynamoActivityReader(
            ActivitySettings(
                incidents_table=self.repository.table_name,
                workflow_table=aws.physical_id("AWS::DynamoDB::Table", contains="State"),
            ),
            aws.client("dynamodb"),
        )
        self.gateway = DrillGateway(StepFunctionsWorkflowGateway(aws.state_machine_arn), seconds_per_minute)
        self.changes = _Changes(note)
        self.incident_id = ""
        self.execution = ""
        self.trigger_wall = datetime.now(UTC)
        self.trigger = time.perf_counter()
        self.clock_started = False
        self.windows: list[str] = []  # maintenance windows this story scheduled
        self.fired: set[str] = set()  # schedules already fired
        self.script: list[Step] = []
        self.seen_states: set[int] = set()
        self.seen_links: set[str] = set()
        self.due: list[tuple[float, str, str, ApprovalExpectation]] = []  # (minute, reference, what, who)
        #: reference -> wall deadline: the approvers act by then whatever the plan clock says (see tick)
        self.act_by: dict[str, float] = {}
        self.approvals = 0
        self.resolved = False
        self.summary_link_seen = False
        self.notes: list[str] = []
        self.injected = scenario.injected()
        self._install_faults()

    # -- clock and steps -------------------------------------------------------------------------
    def minute(self) -> float:
        """Plan minutes since the trigger, on the plan clock (handler processing takes none)."""
        if not self.clock_started:
            return (time.perf_counter() - self.trigger) / self.spm
        return (clock.now() - self.scenario.start).total_seconds() / 60.0

    def scheduled(self, event: Any) -> datetime | None:
        """When a person acted, as the story reads: the event's scheduled plan time when the runner got
        to it within the scenario's resolution (its polling is not the person's delay), else now."""
        if not self.clock_started:
            return None
        if self.minute() - float(event.at) <= self.scenario.resolution:
            return self.scenario.start + timedelta(minutes=float(event.at))
        return clock.now()

    def wall(self) -> float:
        """Wall seconds since the trigger."""
        return time.perf_counter() - self.trigger

    def start_clock(self) -> None:
        """Plan minute 0: the plan clock reads the scenario's ``start`` now (handlers stamp plan time)."""
        self.aws.set_plan_clock(self.scenario.start, self.spm)
        self.trigger_wall, self.trigger = self.scenario.start, time.perf_counter()
        self.clock_started = True

    def step(self, actor: str, kind: str, text: str, *, at_trigger: bool = False) -> None:
        minute = 0.0 if at_trigger or not self.incident_id else self.minute()
        seconds = 0.0 if at_trigger or not self.incident_id else self.wall()
        self.script.append(Step(round(minute, 3), round(seconds, 3), actor, kind, text))
        self.note(actor, text)

    def activity(self) -> dict[str, Any]:
        return (
            self.reader.activity(self.incident_id) if self.incident_id else {"events": [], "deliveries": []}
        )

    # -- faults ----------------------------------------------------------------------------------
    def _install_faults(self) -> None:
        provider = set(self.scenario.injected(("provider", "both")))
        for channel in provider - _LAMBDA_FAULT_CHANNELS:
            self.aws.sink.failing[channel] = 503
        lambda_faults = provider & _LAMBDA_FAULT_CHANNELS
        if lambda_faults:

            def fault(event: dict[str, Any]) -> Exception | None:
                if str(event.get("channel")) in lambda_faults:
                    return InjectedChannelFailure(f"{event.get('channel')} provider is down (drill)")
                return None

            self.aws.faults[CUSTOMER_HANDLER] = fault

    # -- the story ------------------------------------------------------------------------------
    def intake(self, raw: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
        signal = to_signal(raw, self.plan, received_at=at)
        if not isinstance(signal, Signal):
            raise RuntimeError(f"intake rejected the drill event: {signal.reason}")
        return apply_signal(
            signal, plan=self.plan, incidents=self.repository, workflow=self.gateway, changes=self.changes
        ).as_dict()

    def perform(self, event: Any) -> None:
        scenario = self.scenario
        if isinstance(event, AlarmStep):
            raw = alarm_event(
                self.plan,
                scenario.opening,
                component=event.component,
                severity=event.severity or scenario.severity,
                drill=scenario.drill,
            )
            self.start_clock()
            raw = {**raw, "time": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")}
            self.note(
                "CloudWatch", f"alarm {raw['detail']['alarmName']} is ALARM (EventBridge -> intake queue)"
            )
            self._opened({"incident_id": self._through_the_bus(raw)}, "CloudWatch alarm")
            incident = self.repository.get(self.incident_id)
            if incident.scenario != scenario.opening:
                self.intake(human_request("update", incident, scenario=scenario.opening.value))
        elif isinstance(event, DeclareStep):
            self.start_clock()
            raw = human_request(
                "declare",
                None,
                components=event.components or scenario.components,
                severity=event.severity or scenario.severity,
                scenario=(event.scenario or scenario.opening).value,
                title=event.title or f"[drill] {scenario.name}",
                note=event.note,
                drill=scenario.drill or None,
                drill_failures=scenario.injected(("drill", "both")) or None,
            )
            self._opened(self.intake(raw), "declared")
        elif isinstance(event, MaintenanceStep):
            self._schedule_window(event)
        elif isinstance(event, CancelMaintenanceStep):
            window = self.windows[-1]
            answer = self._api("POST", f"/maintenances/{window}/cancel", {"note": event.note or None})
            self.pump()
            self.step("drill script", "cancel", f"maintenance window {window} cancelled ({answer['status']})")
        elif isinstance(event, UpdateStep):
            incident = self.repository.get(self.incident_id)
            self.intake(
                human_request(
                    "update",
                    incident,
                    scenario=event.scenario.value if event.scenario else None,
                    status=event.status,
                    severity=event.severity,
                    note=event.note,
                ),
                self.scheduled(event),
            )
            self.step("drill script", "update", f"update posted ({event.scenario or event.status or 'note'})")
        elif isinstance(event, ResolveStep):
            incident = self.repository.get(self.incident_id)
            self.intake(
                human_request(
                    "resolve",
                    incident,
                    status="resolved",
                    note=event.note,
                    cause=event.cause,
                    fix=event.fix,
                    impact=event.impact,
                ),
                self.scheduled(event),
            )
            self.resolved = True
            self.step("drill script", "resolve", "incident resolved")

    # -- maintenance: the incident API, its schedules fired on the plan clock ------------------------
    def _api(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A person's signed request to the incident API, through its real function."""
        from outage_comms_embedded.people import rest_event

        function = self.aws.function_name("incident_api")
        payload = {k: v for k, v in body.items() if v not in (None, {}, [])}
        answer = self.aws.invoke(function, rest_event(method, path, DRILL_PRINCIPAL, payload))
        if "statusCode" not in answer or int(answer["statusCode"]) >= 400:
            raise RuntimeError(f"the incident API refused {method} {path}: {answer}")
        return {"status": int(answer["statusCode"]), **json.loads(answer.get("body") or "{}")}

    def _schedule_window(self, event: MaintenanceStep) -> None:
        opening = not self.incident_id
        if opening:
            self.start_clock()
        starts = clock.now() + timedelta(minutes=event.starts_in)
        answer = self._api(
            "POST",
            "/maintenances",
            {
                "components": event.components or self.scenario.components,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(minutes=event.lasts)).isoformat(),
                "title": event.title or f"[drill] {self.scenario.name}",
                "note": event.note,
                "drill": self.scenario.drill or None,
            },
        )
        window = str(answer["incident_id"])
        self.windows.append(window)
        self.pump()  # the API handed the workflow's start to the intake queue
        kinds = ", ".join(f"{s['kind']} {s['at'][11:16]}" for s in answer.get("schedules", []))
        if opening:
            self.gateway.started.append(self._execution_of(window))
            self._opened({"incident_id": window}, "maintenance scheduled")
        self.step("drill script", "maintenance", f"window {window} scheduled; schedules: {kinds or 'none'}")

    def _execution_of(self, incident_id: str) -> str:
        from outage_comms.workflow_gateway import execution_arn

        return execution_arn(self.aws.state_machine_arn, incident_id)

    def pump(self) -> None:
        """What waits in the intake queue (the API's hand-offs) reaches the intake function."""
        self.aws.pump()

    def fire_schedules(self) -> None:
        """EventBridge Scheduler: each one-time schedule whose moment the plan clock reached invokes its
        target (the maintenance tick function) with its input, then goes (ActionAfterCompletion)."""
        if not self.windows:
            return
        scheduler = self.aws.client("scheduler")
        now = clock.now()
        for group in {s.get("GroupName", "default") for s in scheduler.list_schedules()["Schedules"]}:
            for listed in scheduler.list_schedules(GroupName=group)["Schedules"]:
                schedule = scheduler.get_schedule(Name=listed["Name"], GroupName=group)
                moment = re.fullmatch(r"at\((.+)\)", str(schedule.get("ScheduleExpression", "")))
                if moment is None:
                    continue
                at = datetime.fromisoformat(moment.group(1)).replace(tzinfo=UTC)
                if at > now or listed["Name"] in self.fired:
                    continue
                self.fired.add(listed["Name"])
                target = schedule["Target"]
                function = str(target["Arn"]).split(":function:", 1)[1].split(":", 1)[0]
                result = self.aws.invoke(function, json.loads(target.get("Input") or "{}"))
                scheduler.delete_schedule(Name=listed["Name"], GroupName=group)
                self.note("EventBridge Scheduler", f"{listed['Name']} fired: {result.get('kind', result)}")
        self.pump()

    def _through_the_bus(self, event: dict[str, Any]) -> str:
        """Put ``event`` on the bus; the rule, the intake queue and the real intake function open the
        incident and start its execution. Returns the incident id (the execution's name)."""
        sfn = self.aws.client("stepfunctions")

        def executions() -> dict[str, str]:
            pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=self.aws.state_machine_arn)
            return {e["executionArn"]: e["name"] for page in pages for e in page["executions"]}

        before = executions()
        pumped = len(self.aws.pumped)
        self.aws.put_events([event])
        batches = self.aws.pumped[pumped:]
        failed = [b for b in batches if b.failed or b.error]
        started = {arn: name for arn, name in executions().items() if arn not in before}
        if failed or len(started) != 1:
            errors = [f"{i.error}: {i.error_message}" for i in self.aws.invocations if i.error][-3:]
            raise RuntimeError(
                f"the alarm did not open one incident through intake ({len(batches)} batch(es), "
                f"{len(failed)} failed, {len(started)} execution(s) started; {errors or 'no error recorded'})"
            )
        ((arn, name),) = started.items()
        self.gateway.started.append(arn)
        self.note("intake", f"{len(batches)} SQS batch(es) to the intake function; execution {name} started")
        return name

    def _opened(self, outcome: dict[str, Any], how: str) -> None:
        self.incident_id = str(outcome["incident_id"])
        incident = self.repository.get(self.incident_id)
        self.execution = self.gateway.started[0]
        drill = " (drill)" if incident.drill else ""
        self.step(
            "drill script",
            "opened",
            f"{how}: {self.incident_id} ({incident.severity}){drill}",
            at_trigger=True,
        )
        self.note("intake", "workflow started")

    def tick(self) -> None:
        """While waiting: follow the workflow, fire due schedules, let the approvers act on their links."""
        self.follow()
        self.fire_schedules()
        for body, subject_text in self._review_requests():
            for match in _REVIEW_LINK.finditer(body):
                reference = match["reference"]
                if match["incident"] != self.incident_id or reference in self.seen_links:
                    continue
                self.seen_links.add(reference)
                subject = _SUBJECT.search(subject_text)
                what = subject["what"].replace(" ", "_") if subject else "post_incident_summary"
                expectation = self._approver_for(what)
                if what == "post_incident_summary":
                    self.summary_link_seen = True
                if expectation is None:
                    self.note("review page", f"review link for the {what} update: nobody approves (scenario)")
                    continue
                self.due.append((self.minute() + expectation.after, reference, what, expectation))
                self.act_by[reference] = time.perf_counter() + self._wall_budget(expectation)
        now = time.perf_counter()
        for item in [d for d in self.due if d[0] <= self.minute() or now >= self.act_by.get(d[1], math.inf)]:
            self.due.remove(item)
            self._decide(item[1], item[2], item[3])

    def _wall_budget(self, expectation: ApprovalExpectation) -> float:
        """Wall seconds the approvers may take before acting anyway: the workflow's approval timeout is
        wall time in moto while the plan clock stands still during processing, so on a busy machine an
        approver waiting for plan minutes could miss it. Acting within 40 % of it keeps the story the
        scenario wrote (the score reads approval times in slots, so it does not change)."""
        severity = self.repository.get(self.incident_id).severity if self.incident_id else None
        timeout = self.plan.severity(severity or self.plan.severities[0].id).approval.timeout_minutes
        late = expectation.within is not None and expectation.within <= expectation.after
        if late or expectation.after >= 0.4 * timeout:
            return math.inf  # the scenario means the approver to be slow: the plan clock decides
        return 0.4 * timeout * self.spm

    def _review_requests(self) -> list[tuple[str, str]]:
        """(text, subject) of each review request: by email, and in the team chat (a plan without email)."""
        found = [
            (str(getattr(m, "body", "") or ""), str(getattr(m, "subject", "") or ""))
            for m in self.aws.sent_emails()
        ]
        with contextlib.suppress(KeyError):
            for notification in self.aws.published(self.aws.output("InternalChatTopicArn")):
                with contextlib.suppress(ValueError, AttributeError):
                    content = json.loads(notification["message"]).get("content", {})
                    found.append((str(content.get("description", "")), str(content.get("title", ""))))
        return found

    def _approver_for(self, what: str) -> ApprovalExpectation | None:
        if what == "post_incident_summary":
            if not self.scenario.approve_post_incident_summary:
                return None
            return self.scenario.approval_for(what) or ApprovalExpectation(update=what, after=1.0)
        return self.scenario.approval_for(what)

    def _decide(self, reference: str, what: str, expectation: ApprovalExpectation) -> None:
        used: dict[str, int] = {}
        self.approvals += 1
        for number, role in enumerate(expectation.by):
            principals = getattr(self.plan.roles, role).approver_principals
            principal = principals[used.get(role, 0) % len(principals)]
            used[role] = used.get(role, 0) + 1
            result = review(
                self.aws,
                self.incident_id,
                reference,
                caller_arn=session_arn(principal, f"approver{number}"),
                decision=expectation.decision,
                edits=expectation.edits,
            )
            verb = {"approve": "approved", "edit": "edited", "reject": "rejected"}[expectation.decision]
            self.step(
                "approvers",
                expectation.decision,
                f"{role} ({principal.rsplit('/', 1)[-1]}) {verb} the {what} update "
                f"(GET {result.get_status}, POST {result.post_status})",
            )

    def follow(self) -> None:
        if not self.execution:
            return
        for event in self.aws.history(self.execution):
            if event["id"] in self.seen_states or "stateEnteredEventDetails" not in event:
                continue
            self.seen_states.add(event["id"])
            self.note("workflow", event["stateEnteredEventDetails"]["name"])

    def status(self) -> str:
        described = self.aws.client("stepfunctions").describe_execution(executionArn=self.execution)
        return str(described["status"])

    def run(self) -> dict[str, Any]:
        story = Story(
            self.scenario,
            minute=self.minute,
            activity=self.activity,
            perform=self.perform,
            tick=self.tick,
            poll_seconds=0.05,
        )
        story.run()
        self.notes = story.notes
        # After the script: the workflow finishes (resolved message, post-incident summary approval).
        windows = [e.starts_in + e.lasts for e in self.scenario.events if isinstance(e, MaintenanceStep)]
        longest = max(windows, default=0.0) + self.plan.maintenance.verify_minutes
        waited = max(180.0, (240 + longest) * self.spm * 2)  # wall seconds: handlers add to the plan's
        deadline = time.monotonic() + waited
        while self.status() == "RUNNING":
            self.tick()
            if not self.scenario.approve_post_incident_summary and self._summary_pending():
                self.note("drill", "post-incident summary left for approval (scenario); execution stopped")
                self.aws.client("stepfunctions").stop_execution(
                    executionArn=self.execution, cause="drill over: summary left pending by the scenario"
                )
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the drill waited {waited:.0f} s for the workflow to finish")
            time.sleep(0.05)
        self.follow()
        status = self.status()
        self.note("workflow", f"execution {status}")
        states = self.aws.states_entered(self.execution)
        incident = self.repository.get(self.incident_id)
        first = _first_customer_delivery(self.aws, self.trigger)
        return {
            "plan": self.plan.organization.name,
            "scenario_file": self.scenario.source,
            "scenario_name": self.scenario.name,
            "team_addresses": sorted(
                {
                    self.plan.roles.communications_manager.email,
                    self.plan.roles.incident_manager.email,
                    self.plan.roles.support_manager.email,
                }
            ),
            "incident_id": self.incident_id,
            "drill": incident.drill,
            "scenario": self.scenario.opening.value,
            "severity": incident.severity,
            "status": status,
            "seconds_per_minute": self.spm,
            "first_customer_delivery_seconds": first,
            "reminders": states.count("Remind communications manager"),
            "escalations": states.count("Escalate to incident manager"),
            "approvals": self.approvals,
            "states": states,
            "handler_seconds": _handler_seconds(self.aws),
            "processing_seconds": round(self.aws.processing_seconds, 2),
            "plan_clock_start": self.scenario.start.isoformat(),
        }

    def _summary_pending(self) -> bool:
        return self.resolved and self.summary_link_seen

    def record(self, status: str) -> DrillRecord:
        incident = self.repository.get(self.incident_id)
        record = build_record(
            scenario=self.scenario,
            plan=self.plan,
            target="embedded",
            incident=incident.model_dump(mode="json"),
            activity=self.activity(),
            trigger=self.trigger_wall,
            seconds_per_minute=self.spm,
            script=self.script,
            status=status,
            injected=self.injected,
        )
        record.notes += self.notes
        if self.clock_started:
            record.start = self.scenario.start.isoformat().replace("+00:00", "Z")
        record.processing_seconds = round(self.aws.processing_seconds, 2)
        return record


def _create_drill_secrets(aws: EmbeddedAws, plan: Plan) -> None:
    """The plan's drill targets for the web channels (a test chat channel, a test account ...).

    Each is a secret of its own, aimed at the same local sink as the real one but at a test target
    (its own path or host), as an operator would store the drill targets next to the real ones.
    """
    import secrets as random

    sink = aws.sink.url
    targets: dict[str, dict[str, str]] = {
        "slack": {"url": f"{sink}/slack/services/TDRILL/BDRILL/drill"},
        "teams": {"url": f"{sink}/teams/webhookb2/drill"},
        "support": {"url": f"{sink}/support/api/v2/drill-tickets", "token": random.token_urlsafe(24)},
        "mastodon": {
            "access_token": random.token_urlsafe(24),
            "instance_url": "https://drill.mastodon.example",
        },
        "bluesky": {"app_password": random.token_urlsafe(16), "handle": "drill.status.example"},
        "webhook": {"signing_key": random.token_urlsafe(32), "url": "https://drill-hooks.example/status"},
    }
    client = aws.client("secretsmanager")
    enabled = {c.value for c in plan.channels.enabled()}
    for channel, name in plan.drill.webhook_secrets.items():
        value = targets.get(channel.value)
        if value is None or channel.value not in enabled or name in aws.channel_secrets:
            continue
        for key in ("instance_url", "url"):
            if key in value and not value[key].startswith(sink):
                aws.sink.route_host(value[key], channel.value)
        client.create_secret(Name=name, SecretString=json.dumps(value))


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
#: The plan's drill audience (test addresses): the only subscribers a drill-mode incident reaches.
DRILL_AUDIENCE_SUBSCRIBERS: dict[str, list[dict[str, Any]]] = {
    "email": [
        {"address": "game-day@example.com", "locale": "en"},
        {"address": "dia-de-simulacao@example.com.br", "locale": "pt-BR"},
    ],
    "sms": [{"address": "+12065550142", "locale": "en"}, {"address": "+5511955550142", "locale": "pt-BR"}],
    "voice": [{"address": "+12065550143", "locale": "en"}],
    "push": [{"address": "drill-test-device-1", "locale": "en", "platform": "GCM"}],
}


#: Public keys of the status site a drill must never write: its home page and the Statuspage summary.
PUBLIC_STATUS_KEYS = ("index.html", "api/v2/summary.json")


def _dashboard_body(aws: EmbeddedAws) -> str | None:
    """The public dashboard's body in the embedded status stack (None when it is not there)."""
    with contextlib.suppress(Exception):
        name = aws.output("PublicDashboardName")
        return str(aws.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"])
    return None


def _write_published_status(
    aws: EmbeddedAws, plan: Plan, target: Path, incident_id: str, dashboard_before: str | None
) -> dict[str, Any]:
    """The status site as the real status publisher left it in the embedded bucket, copied to ``target``.

    The status stack is deployed into the embedded account (``with_status_site``): the workflow's
    "Publish status surfaces" step invoked the publisher, which assumed ``OutageCommsStatusPublisherAccess``
    and wrote the bucket. A drill incident goes only under ``plan.drill.status_prefix``; the result
    counts the objects there and names the public keys written (none, for a drill). When the bucket
    holds nothing, the site is generated locally with the same generator instead, and says so.
    """
    from botocore.exceptions import ClientError

    runs = [i for i in aws.invocations if i.handler == STATUS_HANDLER]
    failures = [i for i in runs if i.error]
    reasons = sorted({f"{i.error}: {i.error_message}"[:300] for i in failures})
    drill = (
        DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"))
        .get(incident_id)
        .drill
    )
    prefix = plan.drill.status_prefix
    try:
        objects, bucket = aws.status_objects(), aws.output("StatusBucketName")
    except (ClientError, KeyError) as error:
        objects, bucket = {}, ""
        reasons.append(f"status bucket not readable: {error}")
    shutil.rmtree(target, ignore_errors=True)  # a previous run's files would read as published now
    for key, body in objects.items():
        path = target / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    public = sorted(k for k in objects if not k.startswith(prefix))
    result: dict[str, Any] = {
        "source": "published by the status publisher",
        "bucket": bucket,
        "directory": str(target),
        "files": len(objects),
        "keys": sorted(objects),
        "drill": drill,
        "drill_prefix": prefix,
        "drill_objects": len(objects) - len(public),
        "public_objects": len(public),
        "public_keys_written": [k for k in PUBLIC_STATUS_KEYS if k in objects],
        "public_dashboard_unchanged": _dashboard_body(aws) == dashboard_before,
        "publisher_runs": len(runs),
        "publisher_failures": len(failures),
        "publisher_errors": reasons,
    }
    page = prefix if drill else ""
    if drill:
        untouched = (
            "public keys not written" if not public else f"PUBLIC KEYS WRITTEN: {', '.join(public[:5])}"
        )
        published = len(objects) - len(public)
        headline = f"{published} objects published under {prefix} by the status publisher; {untouched}"
    else:
        headline = f"{len(objects)} objects published on the public status site by the status publisher"
    if not objects:
        why = "; ".join(reasons) or f"it ran {len(runs)}x and wrote nothing"
        fallback = _write_status_site(aws, plan, target, incident_id)
        result.update(source="generated locally (fallback): nothing was published", files=fallback["files"])
        headline = (
            f"status page NOT published ({why}); status/ holds {fallback['files']} files generated locally "
            "from the embedded store by the same generator, as a fallback"
        )
    result["headline"] = headline
    result["open"] = (
        f"python3 -m http.server 8000 --bind 127.0.0.1 --directory {target}  # then http://127.0.0.1:8000/{page}"
    )
    return result


def _status_outcome(channel: str, site: Mapping[str, Any]) -> tuple[str, str]:
    """The status_page / dashboard row: what the real publisher did to the embedded status stack."""
    runs, failed = site["publisher_runs"], site["publisher_failures"]
    ran = f"the status publisher ran {runs}x" + (
        f" ({failed} failed: {'; '.join(site['publisher_errors'])})" * bool(failed)
    )
    if not runs:
        return "not published", "the status publisher was never invoked"
    if not site["files"] or not site["source"].startswith("published"):
        return "failed", f"{ran}; nothing in the status bucket"
    drill, prefix = site["drill"], site["drill_prefix"]
    if channel == "dashboard":
        unchanged = site["public_dashboard_unchanged"]
        if drill and unchanged:
            return "left alone (drill)", f"{ran}; drill mode keeps the public dashboard unchanged"
        if drill:
            return "failed", f"{ran}; the drill changed the public dashboard"
        if unchanged:
            return "failed", f"{ran}; the public dashboard's body was not replaced"
        return "published", f"{ran}; the public dashboard's body was replaced"
    if drill and site["public_objects"]:
        return "failed", f"{ran}; the drill wrote {site['public_objects']} public key(s) outside {prefix}"
    if drill:
        return (
            "published",
            f"{site['drill_objects']} objects under {prefix} in the status bucket; {ran}; "
            "public keys not written",
        )
    return "published", f"{site['files']} objects in the status bucket; {ran}"


def _write_status_site(aws: EmbeddedAws, plan: Plan, target: Path, incident_id: str) -> dict[str, Any]:
    """Fallback when the publisher published nothing: the same artefacts, from the embedded store.

    The drill writes what the publisher would have built (same generator) to disk for a person to open.
    A drill incident goes only on the drill page (``status/<plan.drill.status_prefix>``); the public
    site is written without it, as the publisher keeps it.
    """
    import importlib

    from outage_comms.status import write_status_artifacts

    repository = DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"))
    incident = repository.get(incident_id)
    now = datetime.now(UTC)
    if not incident.drill:
        return write_status_artifacts(target, plan, [incident], now)
    public = write_status_artifacts(target, plan, [], now)
    drill_mode = importlib.import_module("outage_comms.drill_mode")  # the drill-mode runtime
    folder = target / plan.drill.status_prefix.rstrip("/")
    drill_page = write_status_artifacts(folder, drill_mode.drill_site_plan(plan), [incident], now)
    return {**public, "files": public["files"] + drill_page["files"], "drill_page": str(folder)}


def _seed_subscribers(aws: EmbeddedAws, plan: Plan) -> list[str]:
    """The built-in subscribers, covering every locale of the plan on each enabled subscriber channel."""
    from outage_comms_embedded.people import drill_subscribers

    enabled = {c.value for c in plan.channels.enabled()}
    customers = drill_subscribers(plan.locale_codes, DRILL_SUBSCRIBERS)
    audience = drill_subscribers(plan.locale_codes, DRILL_AUDIENCE_SUBSCRIBERS, drill=True)
    seeded = []
    for channel, people in customers.items():
        if channel not in enabled:
            continue
        drill = audience.get(channel, [])
        for person in people + [{**p, "audiences": (plan.drill.audience,)} for p in drill]:
            aws.subscribe(
                channel,
                person["address"],
                person["locale"],
                audiences=tuple(person.get("audiences", ())),
                platform=str(person.get("platform", "")),
            )
        seeded.append(f"{channel} x{len(people)} (+{len(drill)} of the drill audience)")
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
            outcome, why = _status_outcome(name, summary["status_site"])
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

    topics = []  # a channel that is off has no topic (and no stack output): nothing to read there
    outputs = (("sns", "SubscribersTopicArn"), ("chatbot", "InternalChatTopicArn"), ("sns", "DrillTopicArn"))
    for label, output in outputs:
        with contextlib.suppress(KeyError):
            topics.append((label, aws.output(output)))
    for label, topic in topics:
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
    # Messages to subscribers on whichever subscriber channels the plan has (not only an SNS topic).
    customer = tuple(f"deliveries/{label}/" for label in ("sns", "email", "sms", "voice", "push"))
    summary["customer_messages"] = sum(1 for f in files if f.startswith(customer))


def _recipients(email: Any) -> list[str]:
    """moto keeps a simple message's ``destinations`` as a dict, a raw one's as a list."""
    destinations = getattr(email, "destinations", None)
    if isinstance(destinations, dict):
        return sorted({str(a) for key in ("ToAddresses", "CcAddresses") for a in destinations.get(key, [])})
    return sorted({str(a) for a in destinations or []})
