"""The scenario on the embedded AWS: intake for the script, the review page for the approvers."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from outage_comms import clock
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan
from outage_comms.workflow.activity import ActivitySettings, DynamoActivityReader
from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway
from outage_comms_cli.drills.embedded_approvers import Approvers
from outage_comms_cli.drills.embedded_inputs import (
    _LAMBDA_FAULT_CHANNELS,
    _REVIEW_LINK,
    _SUBJECT,
    CUSTOMER_HANDLER,
    DrillGateway,
    InjectedChannelFailure,
    _Changes,
    alarm_event,
    human_request,
)
from outage_comms_cli.drills.embedded_maintenance import MaintenanceScript
from outage_comms_cli.drills.embedded_output import _first_customer_delivery, _handler_seconds
from outage_comms_cli.drills.record import DrillRecord, Step, build_record
from outage_comms_cli.drills.region_play import RegionPlay, channel_deliveries
from outage_comms_cli.drills.scenario import (
    REGION_STEPS,
    AlarmStep,
    ApprovalExpectation,
    CancelMaintenanceStep,
    DeclareStep,
    DrillScenario,
    MaintenanceStep,
    ResolveStep,
    UpdateStep,
)
from outage_comms_cli.drills.story import Story
from outage_comms_embedded import EmbeddedAws


class _EmbeddedRunner(MaintenanceScript, Approvers):
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
        self.repository = DynamoIncidentRepository(  # the drill's own reads: answer during an outage
            aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"), dynamodb=aws.client("dynamodb")
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
        self.seen_states: set[tuple[str, int]] = set()
        self.seen_links: set[tuple[str, str]] = set()  # (region, reference): a standby re-asks afresh
        #: (minute, reference, what, who, region of the link)
        self.due: list[tuple[float, str, str, ApprovalExpectation, str]] = []
        #: reference -> wall deadline: the approvers act by then whatever the plan clock says (see tick)
        self.act_by: dict[str, float] = {}
        self.approvals = 0
        self.resolved = False
        self.summary_link_seen = False
        self.notes: list[str] = []
        self.injected = scenario.injected()
        self.regions = RegionPlay(aws, plan, self.minute, self.step)
        self._executions_seen: tuple[float, list[tuple[str, str]]] | None = None
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
        """A person's request, applied by the intake of the region that answers (the primary, or the
        standby while the primary is down), built by intake's own dependency builder."""
        from outage_comms.intake.runtime import build_dependencies
        from outage_comms.intake.settings import intake_settings

        signal = to_signal(raw, self.plan, received_at=at)
        if not isinstance(signal, Signal):
            raise RuntimeError(f"intake rejected the drill event: {signal.reason}")
        region = self.regions.live_region()
        with self.aws.in_region(region):
            settings = intake_settings()
            gateway = DrillGateway(
                StepFunctionsWorkflowGateway(settings.state_machine_arn), self.spm, self.gateway.started
            )
            dependencies = build_dependencies(
                settings, plan=self.plan, workflow=gateway, changes=self.changes
            )
            return dict(dependencies.apply(signal=signal))

    def perform(self, event: Any) -> None:
        scenario = self.scenario
        if isinstance(event, REGION_STEPS):
            self.step("drill script", event.action, self.regions.perform(event))
        elif isinstance(event, AlarmStep):
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
        self.regions.tick(self.incident_id, still_open=self._still_open())
        for body, subject_text in self._review_requests():
            for match in _REVIEW_LINK.finditer(body):
                reference = match["reference"]
                region = _link_region(match.group(0), self.aws.region)
                if match["incident"] != self.incident_id or (region, reference) in self.seen_links:
                    continue
                self.seen_links.add((region, reference))
                subject = _SUBJECT.search(subject_text)
                what = subject["what"].replace(" ", "_") if subject else "post_incident_summary"
                expectation = self._approver_for(what)
                if what == "post_incident_summary":
                    self.summary_link_seen = True
                if expectation is None:
                    self.note("review page", f"review link for the {what} update: nobody approves (scenario)")
                    continue
                self.due.append((self.minute() + expectation.after, reference, what, expectation, region))
                self.act_by[reference] = time.perf_counter() + self._wall_budget(expectation)
        now = time.perf_counter()
        for item in [d for d in self.due if d[0] <= self.minute() or now >= self.act_by.get(d[1], math.inf)]:
            self.due.remove(item)
            self._decide(item[1], item[2], item[3], item[4])

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
        states = self.states()
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
            **self._regions_summary(),
        }

    def _still_open(self) -> bool:
        if not self.regions.two_regions or not self.incident_id:
            return False
        return bool(self.repository.get(self.incident_id).is_open)

    def _regions_summary(self) -> dict[str, Any]:
        """A two-region drill's figures (``regions``): outage -> the standby's first message, twice, lost."""
        if not self.regions.two_regions:
            return {}
        every = channel_deliveries(self.aws, self.scenario.start)
        deliveries = [d for d in every if d["incident_id"] == self.incident_id]
        return {"regions": self.regions.measures(deliveries), "executions": dict(self.executions())}

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


def _link_region(url: str, home: str) -> str:
    """The region of a review link's API (``https://<api>.execute-api.<region>.amazonaws.com/...``)."""
    match = re.search(r"\.execute-api\.([a-z0-9-]+)\.", url)
    return match.group(1) if match else home
