"""The deployed drill: a game-day scenario played against the REAL deployment, through the incident API.

Every call is SigV4-signed (:func:`outage_comms_cli.incident_commands.call_api`, the default
credential chain). The incident is declared with ``drill: true`` (and the scenario's injected
``drill_failures``), so only the plan's drill audience hears it, marked as an exercise, and the public
status page is never touched. Updates and the resolution are posted at the scenario's offsets: the
deployed workflow runs on real minutes; ``time_scale`` compresses only this runner's own waits
(``0.1``: a 35-minute offset is waited 3.5 minutes).

Approvals are made by people: the runner cannot approve (the review link goes by email and chat to
the approvers, and the API never hands it out). It prints who was asked and measures how long they
took, from ``GET /incidents/{id}/activity``. An ``alarm`` opening becomes a declare of the same
component (a drill cannot set a real alarm to ALARM).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outage_comms.plan import Plan
from outage_comms_cli.drills.record import DrillRecord, Step, build_record
from outage_comms_cli.drills.report import write_report
from outage_comms_cli.drills.scenario import AlarmStep, DeclareStep, DrillScenario, ResolveStep, UpdateStep
from outage_comms_cli.drills.story import PATIENCE_MINUTES, Story
from outage_comms_cli.incident_commands import ApiCallError, call_api

#: A deployed drill runs on real minutes.
REAL_SECONDS_PER_MINUTE = 60.0
#: After the resolution, how long (real minutes) to wait for the workflow to finish: people approve the
#: resolved message and the post-incident summary first.
FINISH_MINUTES = 30.0

Progress = Callable[[str], None]
Caller = Callable[[str, str, dict[str, Any] | None], dict[str, Any]]


class DeployedDrillError(Exception):
    """The deployed drill could not go on; the message says why and what to do."""


def api_caller(api_url: str, region: str | None = None) -> Caller:
    """``call(method, path, body) -> body``, SigV4-signed, raising DeployedDrillError on failure."""

    def call(method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            return call_api(method, api_url, path, body, region=region).body
        except ApiCallError as error:
            raise DeployedDrillError(f"{method} {path}: {error}") from None

    return call


@dataclass
class DeployedRunner:
    plan: Plan
    scenario: DrillScenario
    call: Caller
    time_scale: float = 1.0
    progress: Progress = lambda line: None
    poll_seconds: float = 5.0
    finish_minutes: float = FINISH_MINUTES
    #: Real minutes an event waits past its offset for its ``after`` condition (the workflow's real time).
    patience_minutes: float = PATIENCE_MINUTES
    incident_id: str = ""
    trigger_wall: datetime = field(default_factory=lambda: datetime.now(UTC))
    script: list[Step] = field(default_factory=list)
    announced: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    _started: float = 0.0
    _activity: dict[str, Any] = field(default_factory=dict)
    _fetched: float = -1.0

    # -- clock: real minutes; the runner's own waits scaled by ``time_scale`` ----------------------
    def minute(self) -> float:
        """Plan minutes the script has reached (its waits are compressed by ``time_scale``)."""
        if not self._started:
            return 0.0
        return (time.monotonic() - self._started) / (REAL_SECONDS_PER_MINUTE * self.time_scale)

    def real_minute(self) -> float:
        return (datetime.now(UTC) - self.trigger_wall).total_seconds() / REAL_SECONDS_PER_MINUTE

    def step(self, kind: str, text: str) -> None:
        minute = round(self.real_minute(), 3) if self._started else 0.0
        self.script.append(
            Step(minute, round(minute * REAL_SECONDS_PER_MINUTE, 3), "drill script", kind, text)
        )
        self.progress(f"{minute:7.2f}m  {kind:<10} {text}")

    def activity(self) -> dict[str, Any]:
        if not self.incident_id:
            return {"events": [], "deliveries": []}
        now = time.monotonic()
        if now - self._fetched >= self.poll_seconds or not self._activity:
            self._activity = self.call("GET", f"incidents/{self.incident_id}/activity", None)
            self._fetched = now
        return self._activity

    # -- the story ------------------------------------------------------------------------------
    def perform(self, event: Any) -> None:
        if getattr(event, "action", "") in ("maintenance", "cancel_maintenance"):
            raise RuntimeError(
                "a maintenance story runs on the embedded AWS only (its schedules would fire on real time "
                "here): run it without --target deployed"
            )
        if getattr(event, "action", "") in ("region_outage", "region_recovery"):
            raise RuntimeError(
                "a region outage is played on the embedded AWS only (a real region cannot be switched off): "
                "run it without --target deployed"
            )
        if isinstance(event, AlarmStep | DeclareStep):
            self._declare(event)
        elif isinstance(event, UpdateStep):
            body = _body(
                scenario=event.scenario.value if event.scenario else None,
                status=event.status,
                severity=event.severity,
                note=event.note,
            )
            self.call("POST", f"incidents/{self.incident_id}/updates", body)
            self.step("update", f"update posted ({event.scenario or event.status or 'note'})")
        elif isinstance(event, ResolveStep):
            details = {"cause": event.cause, "fix": event.fix, "impact": event.impact}
            self.call("POST", f"incidents/{self.incident_id}/resolve", _body(note=event.note, **details))
            self.step("resolve", "incident resolved")
        self._fetched = -1.0

    def _declare(self, event: AlarmStep | DeclareStep) -> None:
        scenario = self.scenario
        if isinstance(event, AlarmStep):
            mapped = [c for c in self.plan.components if c.signals.alarm_name_patterns]
            component = event.component or max(mapped, key=lambda c: len(c.audiences)).id
            components, title, note = [component], f"[drill] {scenario.name}", {}
            severity = event.severity or scenario.severity
            self.notes.append(
                f"the scenario opens with an alarm on {component}: a deployed drill declares it instead"
            )
        else:
            components = event.components or scenario.components
            title, note = event.title or f"[drill] {scenario.name}", event.note
            severity = event.severity or scenario.severity
        body = _body(
            components=components,
            severity=severity,
            scenario=(getattr(event, "scenario", None) or scenario.opening).value,
            title=title,
            note=note,
            drill=True,
            drill_failures=scenario.injected(("drill", "both")) or None,
        )
        provider_only = scenario.injected(("provider",))
        if provider_only:
            self.notes.append(
                f"provider-side failures ({', '.join(provider_only)}) exist only in the embedded drill"
            )
        self.trigger_wall = datetime.now(UTC)
        self._started = time.monotonic()
        answer = self.call("POST", "incidents", body)
        self.incident_id = str(answer.get("incident_id") or "")
        if not self.incident_id:
            raise DeployedDrillError(f"the API declared nothing: {answer}")
        self.step("opened", f"declared {self.incident_id} (drill) for {', '.join(components)}")

    def tick(self) -> None:
        """Tell the operator what people must do now: the approvals the workflow asked for."""
        for index, event in enumerate(self.activity().get("events", [])):
            if index in self.announced:
                continue
            self.announced.add(index)
            kind, text = str(event.get("kind")), str(event.get("text"))
            if kind == "approval_requested":
                self.progress(
                    f"{self.real_minute():7.2f}m  APPROVAL  {text}: the review link went to them by email "
                    "and "
                    "chat; the drill cannot approve for them (it measures how long it takes)"
                )
            elif kind in ("reminder", "escalation", "team_notified", "delivery_failed", "approval"):
                self.progress(f"{self.real_minute():7.2f}m  {kind:<10} {text}")

    def run(self) -> DrillRecord:
        story = Story(
            self.scenario,
            minute=self.minute,
            activity=self.activity,
            perform=self.perform,
            tick=self.tick,
            poll_seconds=min(1.0, self.poll_seconds),
            # Story minutes are the runner's (scaled); the condition waits on the workflow's real minutes.
            patience_minutes=self.patience_minutes / self.time_scale,
        )
        story.run()
        self.notes += story.notes
        status = self._finish()
        incident = self.call("GET", f"incidents/{self.incident_id}", None)
        self._fetched = -1.0
        return build_record(
            scenario=self.scenario,
            plan=self.plan,
            target="deployed",
            incident=incident,
            activity=self.activity(),
            trigger=self.trigger_wall,
            seconds_per_minute=REAL_SECONDS_PER_MINUTE,
            script=self.script,
            status=status,
            injected=self.scenario.injected(("drill", "both")),
        )

    def _finish(self) -> str:
        """Wait (real minutes: people approve) for the workflow's last step, the summary task event."""
        deadline = time.monotonic() + self.finish_minutes * REAL_SECONDS_PER_MINUTE
        while time.monotonic() < deadline:
            self.tick()
            kinds = {str(e.get("kind")) for e in self.activity().get("events", [])}
            if "summary_task" in kinds:
                return "SUCCEEDED"
            time.sleep(min(1.0, self.poll_seconds))
        self.notes.append(
            "the workflow had not finished (no post-incident summary task) when the drill ended"
        )
        return "UNFINISHED"


def _body(**fields: Any) -> dict[str, Any]:
    import uuid

    return {"request_id": str(uuid.uuid4()), **{k: v for k, v in fields.items() if v not in (None, {}, [])}}


def run_deployed_drill(
    plan: Plan,
    scenario: DrillScenario,
    out_dir: Path,
    *,
    call: Caller,
    time_scale: float = 1.0,
    poll_seconds: float = 5.0,
    patience_minutes: float = PATIENCE_MINUTES,
    finish_minutes: float = FINISH_MINUTES,
    progress: Progress = lambda line: None,
) -> DrillRecord:
    """Play the scenario on the deployment behind ``call``; write the report into ``out_dir``."""
    runner = DeployedRunner(
        plan,
        scenario,
        call,
        time_scale=time_scale,
        progress=progress,
        poll_seconds=poll_seconds,
        patience_minutes=patience_minutes,
        finish_minutes=finish_minutes,
    )
    record = runner.run()
    record.notes += runner.notes
    write_report(record, out_dir)
    return record
