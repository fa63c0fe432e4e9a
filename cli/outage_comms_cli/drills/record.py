"""The drill record: what happened in one drill, in plan minutes and wall seconds, against its targets.

Both runners build it the same way: the steps the runner took itself (the script's events, the
approvers' decisions) plus the incident's *activity* — the workflow's events and every delivery
result, as ``GET /incidents/{id}/activity`` serves it (the embedded runner reads the same data with
the same code, from the embedded tables). The report (:mod:`.report`) is computed from this record
alone, so a record saved as JSON can be re-reported.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from outage_comms.plan import Plan
from outage_comms.workflow.channels_plan import STATUS_SURFACES, TEAM_CHANNELS
from outage_comms_cli.drills.scenario import DrillScenario

#: Lanes of the timeline chart, top to bottom.
LANES = ("drill script", "workflow", "team chat", "approvers", "customers", "channel failures")
WORKFLOW_LANE = {
    "team_notified": "team chat",
    "approval_requested": "approvers",
    "approval": "approvers",
    "delivery_failed": "channel failures",
}
_DECIDED = re.compile(r"^(approved|rejected|edited)\b.*\bby (.+)$")


@dataclass(frozen=True)
class Step:
    minute: float
    seconds: float
    actor: str
    kind: str
    text: str


@dataclass
class ApprovalRecord:
    update: str
    requested_minute: float
    decided_minute: float | None = None
    decision: str = "pending"
    by: list[str] = field(default_factory=list)

    @property
    def minutes(self) -> float | None:
        return None if self.decided_minute is None else self.decided_minute - self.requested_minute


@dataclass(frozen=True)
class ChannelRecord:
    channel: str
    outcome: str  # delivered | failed | skipped
    injected: bool
    team: bool
    detail: str = ""


@dataclass(frozen=True)
class Targets:
    internal_notice: float
    approval: float | None
    first_message: float
    cadence: float
    #: Where each target comes from: "plan" (the severity's minutes) or "scenario" (its ``expect``).
    sources: dict[str, str] = field(default_factory=dict)


@dataclass
class DrillRecord:
    scenario: str
    description: str
    target: str  # embedded | deployed
    plan: str
    incident_id: str
    severity: str
    status: str
    seconds_per_minute: float
    targets: Targets
    steps: list[Step] = field(default_factory=list)
    internal_notice_minute: float | None = None
    first_message_minute: float | None = None
    update_minutes: list[float] = field(default_factory=list)
    resolved_minute: float | None = None
    approvals: list[ApprovalRecord] = field(default_factory=list)
    channels: list[ChannelRecord] = field(default_factory=list)
    reminders: int = 0
    escalations: int = 0
    expected_reminders: int | None = None
    expected_escalations: int | None = None
    notes: list[str] = field(default_factory=list)
    #: What the status publisher published for this drill (embedded: read back from the status bucket).
    status_site: str = ""
    #: The plan-clock time of the trigger (ISO), when the drill ran on a plan clock.
    start: str = ""
    #: Score slots (plan minutes): each time is read as the end of its slot (see DrillScenario.resolution).
    resolution: float = 0.0
    #: Wall seconds the handlers took (measured apart; not plan minutes).
    processing_seconds: float = 0.0

    @property
    def compressed(self) -> bool:
        return self.seconds_per_minute < 60

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DrillRecord:
        values = dict(data)
        values["targets"] = Targets(**values["targets"])
        values["steps"] = [Step(**s) for s in values.get("steps", [])]
        values["approvals"] = [ApprovalRecord(**a) for a in values.get("approvals", [])]
        values["channels"] = [ChannelRecord(**c) for c in values.get("channels", [])]
        return cls(**values)


def targets_for(plan: Plan, severity_id: str, scenario: DrillScenario) -> Targets:
    """The plan's targets for the severity, overridden by the scenario's ``expect``."""
    severity = plan.severity(severity_id)
    expect = scenario.expect
    approval = severity.approval.timeout_minutes if severity.approval.required else None
    explicit = [a.within for a in scenario.approvals if a.within is not None]
    scenario_sets = expect.model_fields_set
    sources = {
        "internal_notice": "scenario" if "internal_notice_within" in scenario_sets else "scenario default",
        "approval": "scenario" if expect.approval_within or explicit else "plan",
        "first_message": "scenario" if expect.first_message_within else "plan",
        "cadence": "scenario" if expect.cadence else "plan",
        "channels": "drill rule",
    }
    return Targets(
        internal_notice=expect.internal_notice_within,
        approval=expect.approval_within or (min(explicit) if explicit else approval),
        first_message=expect.first_message_within or float(severity.first_message_minutes),
        cadence=expect.cadence or float(severity.cadence_minutes),
        sources=sources,
    )


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def build_record(
    *,
    scenario: DrillScenario,
    plan: Plan,
    target: str,
    incident: dict[str, Any],
    activity: dict[str, Any],
    trigger: datetime,
    seconds_per_minute: float,
    script: list[Step],
    status: str,
    injected: list[str],
) -> DrillRecord:
    """One record from what the runner did (``script``) and the incident's activity."""

    def when(moment: str) -> tuple[float, float]:
        # Stamps are on the clock people read (the plan clock in an embedded drill, real time when
        # deployed): plan minutes are their difference; wall seconds follow the compression.
        minutes = (_parse(moment) - trigger).total_seconds() / 60.0
        return round(minutes, 3), round(minutes * seconds_per_minute, 3)

    record = DrillRecord(
        scenario=scenario.name,
        description=scenario.description,
        target=target,
        plan=plan.organization.name,
        incident_id=str(incident.get("id", "")),
        severity=str(incident.get("severity", "")),
        status=status,
        seconds_per_minute=seconds_per_minute,
        targets=targets_for(plan, str(incident.get("severity") or plan.severities[0].id), scenario),
        expected_reminders=scenario.expect.reminders,
        expected_escalations=scenario.expect.escalations,
        resolution=float(scenario.resolution),
    )
    steps = list(script)
    team = {c.value for c in TEAM_CHANNELS}
    status_surfaces = {c.value for c in STATUS_SURFACES}
    team_status: dict[str, list[str]] = {}
    pending: list[ApprovalRecord] = []
    for event in activity.get("events", []):
        minute, seconds = when(str(event["at"]))
        kind, text = str(event["kind"]), str(event["text"])
        steps.append(Step(minute, seconds, WORKFLOW_LANE.get(kind, "workflow"), kind, text))
        if kind == "team_notified":
            parts = [p.partition(": ") for p in text.split(", ")]
            for channel, _, result in parts:
                if result:
                    team_status.setdefault(channel, []).append(result)
            if record.internal_notice_minute is None and any(r == "delivered" for _, _, r in parts):
                record.internal_notice_minute = minute
            for channel, _, result in parts:
                if result == "failed":
                    steps.append(Step(minute, seconds, "channel failures", "failed", f"{channel}: team chat"))
        elif kind == "approval_requested":
            update_id = text.split(" ", 1)[0]
            approval = ApprovalRecord(update=update_id.split("-", 1)[-1], requested_minute=minute)
            record.approvals.append(approval)
            pending.append(approval)
        elif kind == "approval" and pending and (decided := _DECIDED.match(text)):
            approval = pending.pop(0)
            approval.decided_minute = minute
            approval.decision = decided.group(1)
            approval.by = [p.strip().rsplit("/", 1)[-1] for p in decided.group(2).split(",")]
        elif kind == "reminder":
            record.reminders += 1
        elif kind == "escalation":
            record.escalations += 1
    first_by_update: dict[str, float] = {}
    outcomes: dict[str, list[tuple[str, str]]] = {}
    for delivery in activity.get("deliveries", []):
        channel, result = str(delivery["channel"]), str(delivery["status"])
        outcomes.setdefault(channel, []).append((result, str(delivery.get("detail", ""))))
        if not delivery.get("at"):
            continue
        minute, seconds = when(str(delivery["at"]))
        if result == "failed":
            steps.append(
                Step(minute, seconds, "channel failures", "failed", f"{channel}: {delivery['detail']}")
            )
        elif result == "delivered" and channel not in team and channel not in status_surfaces:
            update = str(delivery["update_id"])
            if update not in first_by_update or minute < first_by_update[update]:
                first_by_update[update] = minute
    for update, minute in sorted(first_by_update.items(), key=lambda item: item[1]):
        steps.append(Step(minute, round(minute * seconds_per_minute, 3), "customers", "message", update))
    record.update_minutes = sorted(first_by_update.values())
    record.first_message_minute = record.update_minutes[0] if record.update_minutes else None
    if incident.get("resolved_at"):
        record.resolved_minute = when(str(incident["resolved_at"]))[0]
    for channel in plan.channels.enabled():
        name = channel.value
        if channel in STATUS_SURFACES:
            continue
        results = [r for r, _ in outcomes.get(name, [])] + team_status.get(name, [])
        details = sorted({d for r, d in outcomes.get(name, []) if d and r != "delivered"})
        if name in team_status and "failed" in team_status[name]:
            details.append(
                f"failed {team_status[name].count('failed')} of {len(team_status[name])} team notices"
            )
        outcome = "failed" if "failed" in results else "delivered" if "delivered" in results else "skipped"
        record.channels.append(
            ChannelRecord(name, outcome, name in injected, name in team, "; ".join(details)[:300])
        )
        if name in injected and outcome != "failed":
            record.notes.append(
                f"{name} was meant to fail (injected) but {outcome}: the injection did not take effect"
            )
    record.steps = sorted(steps, key=lambda s: (s.minute, LANES.index(s.actor) if s.actor in LANES else 99))
    if record.expected_reminders is not None and record.reminders != record.expected_reminders:
        record.notes.append(f"expected {record.expected_reminders} reminder(s), saw {record.reminders}")
    if record.expected_escalations is not None and record.escalations != record.expected_escalations:
        record.notes.append(f"expected {record.expected_escalations} escalation(s), saw {record.escalations}")
    return record
