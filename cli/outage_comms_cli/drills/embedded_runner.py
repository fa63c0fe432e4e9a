"""The scenario on the embedded AWS: intake for the script, the review page for the approvers."""

from __future__ import annotations

import contextlib
import json
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
from outage_comms_cli.drills.embedded_inputs import (
    _LAMBDA_FAULT_CHANNELS,
    _REVIEW_LINK,
    _SUBJECT,
    CUSTOMER_HANDLER,
    DRILL_PRINCIPAL,
    DrillGateway,
    InjectedChannelFailure,
    _Changes,
    alarm_event,
    human_request,
)
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
from outage_comms_embedded import EmbeddedAws, review, session_arn


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

    # -- maintenance: the incident API, its schedules fired on the plan clock ------------------------
    def _api(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A person's signed request to the incident API, through its real function."""
        from outage_comms_embedded import rest_event

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
        self.regions.tick(self.incident_id)
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
        for region in self.aws.regions:
            with contextlib.suppress(KeyError):
                topic = self.aws.output("InternalChatTopicArn", region=region)
                if topic.split(":")[3] != region:
                    continue  # that region has no chat topic of its own
                for notification in self.aws.published(topic):
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

    def _decide(
        self, reference: str, what: str, expectation: ApprovalExpectation, region: str | None = None
    ) -> None:
        from botocore.exceptions import EndpointConnectionError

        used: dict[str, int] = {}
        self.approvals += 1
        for number, role in enumerate(expectation.by):
            principals = getattr(self.plan.roles, role).approver_principals
            principal = principals[used.get(role, 0) % len(principals)]
            used[role] = used.get(role, 0) + 1
            try:
                result = review(
                    self.aws,
                    self.incident_id,
                    reference,
                    caller_arn=session_arn(principal, f"approver{number}"),
                    decision=expectation.decision,
                    edits=expectation.edits,
                    region=region,
                )
            except EndpointConnectionError:  # the link's region is down: a fresh link will come
                self.approvals -= 1
                self.step("approvers", "link down", f"{role}'s link for the {what} update did not answer")
                return
            verb = {"approve": "approved", "edit": "edited", "reject": "rejected"}[expectation.decision]
            self.step(
                "approvers",
                expectation.decision,
                f"{role} ({principal.rsplit('/', 1)[-1]}) {verb} the {what} update "
                f"(GET {result.get_status}, POST {result.post_status})",
            )

    def executions(self) -> list[tuple[str, str]]:
        """(execution ARN, status) of every execution of the story's incident, in every region, oldest
        first (a standby that took the incident over runs its own; so does the primary after failback).
        With one region, the story's one execution (status not read); listed afresh at most every 0.2 wall
        seconds."""
        if not self.regions.two_regions:
            return [(self.execution, "")] if self.execution else []
        cached = self._executions_seen
        if cached is not None and time.perf_counter() - cached[0] < 0.2:
            return cached[1]
        found: dict[str, tuple[Any, str]] = {}
        for region in self.aws.regions if self.incident_id else ():
            with contextlib.suppress(LookupError):
                machine = self.aws.state_machine_arn_in(region)
                if machine.split(":")[3] != region:
                    continue
                sfn = self.aws.client("stepfunctions", region=region)
                for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
                    for item in page["executions"]:
                        if item["name"].startswith(self.incident_id):
                            found[item["executionArn"]] = (item["startDate"], str(item["status"]))
        if self.execution and self.execution not in found:
            sfn = self.aws.client("stepfunctions", region=self.execution.split(":")[3])
            described = sfn.describe_execution(executionArn=self.execution)
            found[self.execution] = (described["startDate"], str(described["status"]))
        listed = [(arn, status) for arn, (_, status) in sorted(found.items(), key=lambda item: item[1][0])]
        self._executions_seen = (time.perf_counter(), listed)
        return listed

    def _status_of(self, arn: str) -> str:
        sfn = self.aws.client("stepfunctions", region=arn.split(":")[3])
        return str(sfn.describe_execution(executionArn=arn)["status"])

    def follow(self) -> None:
        if not self.execution:
            return
        for arn, _ in self.executions():
            for event in self.aws.history(arn):
                key = (arn, event["id"])
                if key in self.seen_states or "stateEnteredEventDetails" not in event:
                    continue
                self.seen_states.add(key)
                where = f" [{arn.split(':')[3]}]" if arn != self.execution else ""
                self.note("workflow", event["stateEnteredEventDetails"]["name"] + where)

    def status(self) -> str:
        """RUNNING while any execution of the incident runs; then the last one's outcome."""
        if not self.regions.two_regions:
            return self._status_of(self.execution)
        statuses = [status for _, status in self.executions()]
        if "RUNNING" in statuses:
            return "RUNNING"
        return statuses[-1] if statuses else "UNKNOWN"

    def states(self) -> list[str]:
        """The states every execution of the incident entered (the opening one's first)."""
        return [state for arn, _ in self.executions() for state in self.aws.states_entered(arn)]

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
