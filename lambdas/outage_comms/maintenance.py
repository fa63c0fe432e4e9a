"""Scheduled maintenance: when subscribers hear, and what each scheduled moment does to the record.

A maintenance window is an :class:`~outage_comms.incident.Incident` with ``maintenance_phase`` set
(``scheduled`` -> ``in_progress`` -> ``verifying`` -> ``completed``; or ``cancelled``). It is its
own record: it never absorbs a real incident's signals and a real incident never absorbs it.

Declaring it (intake, ``schedule_maintenance``) opens the record and starts its workflow, which
sends the declaration at once. :func:`schedule_plan` then lists the later moments, each a one-time
EventBridge Scheduler schedule that invokes the maintenance tick function:

* ``reminder`` ``plan.maintenance.reminders_hours_before`` hours before the start (only those still
  in the future: a window declared 30 minutes ahead gets no 24 h / 1 h reminder);
* ``start`` at the start (phase ``in_progress``, scenario ``maintenance_in_progress``);
* ``end`` at the end (phase ``verifying``: status site only, customers are not messaged);
* ``complete`` ``plan.maintenance.verify_minutes`` after the end (phase ``completed``, scenario
  ``maintenance_completed``, status ``resolved``); with ``verify_minutes: 0`` the end completes it.

:func:`decide_tick` is pure; :func:`apply_tick` reads, decides, writes with optimistic locking and
hands an announced change to the waiting workflow execution exactly as intake does. A tick is
recorded on the timeline under the schedule's name, so a tick delivered twice changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from outage_comms.clock import now as clock_now
from outage_comms.incident import (
    Incident,
    IncidentSource,
    MaintenancePhase,
    TimelineEntry,
    TimelineKind,
)
from outage_comms.intake.coalesce import Decision
from outage_comms.intake.service import IncidentChanges, IntakeConflictError, update_message
from outage_comms.plan import Plan
from outage_comms.ports import (
    ConcurrentUpdateError,
    IncidentNotFoundError,
    IncidentRepository,
    TaskRegionUnreachableError,
    WorkflowGateway,
)
from outage_comms.vocabulary import Scenario

#: The EventBridge Scheduler group every maintenance schedule lives in (IAM is scoped to it).
SCHEDULE_GROUP = "outage-comms-maintenance"
#: The workflow waits this much past the next scheduled notification before reminding anyone.
CADENCE_MARGIN_MINUTES = 30
#: Phases after which nothing more is scheduled.
FINAL_PHASES: frozenset[MaintenancePhase] = frozenset({"completed", "cancelled"})
#: The Statuspage status of each phase (a cancelled window is closed, as ``completed``).
STATUSPAGE_STATUS: dict[MaintenancePhase, str] = {
    "scheduled": "scheduled",
    "in_progress": "in_progress",
    "verifying": "verifying",
    "completed": "completed",
    "cancelled": "completed",
}

TickKind = Literal["reminder", "start", "end", "complete"]
TickSource = IncidentSource(type="human", reference="outage-comms.maintenance-scheduler")


class Tick(BaseModel):
    """One scheduled moment of one window, as the schedule's input carries it to the tick function."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")

    incident_id: str = Field(pattern=r"^inc-\d{8}-\d{4}-[0-9a-f]{6}$")
    kind: TickKind
    at: datetime = Field(description="when the schedule was meant to fire (UTC)")
    hours_before: int | None = Field(default=None, ge=1, description="reminders only")

    @property
    def name(self) -> str:
        """The schedule's name (unique per window and moment; 1-64 of ``[0-9A-Za-z_.-]``)."""
        label = f"reminder-{self.hours_before}h" if self.kind == "reminder" else self.kind
        return f"{self.incident_id}-{label}"

    @property
    def event_id(self) -> str:
        return f"maintenance:{self.name}"

    def at_expression(self) -> str:
        """EventBridge Scheduler's one-time expression, read in ``ScheduleExpressionTimezone`` UTC."""
        return f"at({self.at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})"


def schedule_plan(plan: Plan, incident: Incident, now: datetime) -> list[Tick]:
    """Every moment still ahead of ``now`` for this window, in time order."""
    start, end = incident.scheduled_for, incident.scheduled_until
    if start is None or end is None or incident.maintenance_phase in FINAL_PHASES:
        return []
    ticks = [
        Tick(incident_id=incident.id, kind="reminder", at=start - timedelta(hours=hours), hours_before=hours)
        for hours in sorted(set(plan.maintenance.reminders_hours_before), reverse=True)
    ]
    ticks.append(Tick(incident_id=incident.id, kind="start", at=start))
    verify = timedelta(minutes=plan.maintenance.verify_minutes)
    if verify:
        ticks.append(Tick(incident_id=incident.id, kind="end", at=end))
    ticks.append(Tick(incident_id=incident.id, kind="complete", at=end + verify))
    return [t for t in ticks if t.at > now]


def all_schedule_names(plan: Plan, incident: Incident) -> list[str]:
    """Every schedule a window may have had (to delete the remaining ones on complete/cancel)."""
    far_past = datetime(1970, 1, 1, tzinfo=UTC)
    if incident.scheduled_for is None or incident.scheduled_until is None:
        return []
    return [
        t.name
        for t in schedule_plan(plan, incident.model_copy(update={"maintenance_phase": "scheduled"}), far_past)
    ]


def next_announced_at(plan: Plan, incident: Incident, now: datetime) -> datetime | None:
    """When customers hear next about this window (reminders, start, completion; not ``end``)."""
    if incident.maintenance_phase is None:
        return None
    ticks = [t for t in schedule_plan(plan, incident, now) if t.kind != "end"]
    return ticks[0].at if ticks else None


def cadence_minutes(plan: Plan, incident: Incident, now: datetime) -> float | None:
    """The workflow's wait for a maintenance: up to the next scheduled notification plus a margin,
    so the communications manager is not reminded for days while the window is merely scheduled."""
    due = next_announced_at(plan, incident, now)
    if due is None:
        return None
    return max(0.0, (due - now).total_seconds() / 60) + CADENCE_MARGIN_MINUTES


# ---------------------------------------------------------------------------------------------
# Ticks
# ---------------------------------------------------------------------------------------------

_NEXT: dict[TickKind, tuple[frozenset[MaintenancePhase], MaintenancePhase | None]] = {
    "reminder": (frozenset({"scheduled"}), None),
    "start": (frozenset({"scheduled"}), "in_progress"),
    "end": (frozenset({"scheduled", "in_progress"}), "verifying"),
    "complete": (frozenset({"scheduled", "in_progress", "verifying"}), "completed"),
}


def _ignore(reason: str) -> Decision:
    return Decision(kind="ignore", incident=None, previous_version=None, announce=False, reason=reason)


def decide_tick(tick: Tick, incident: Incident, plan: Plan, now: datetime) -> Decision:
    """What one tick does to the window. Pure; the caller saves ``Decision.incident``."""
    phase = incident.maintenance_phase
    if phase is None:
        return _ignore(f"{incident.id} is not a maintenance window")
    if tick.event_id in incident.event_ids:
        return _ignore(f"{tick.name} is already applied to {incident.id}")
    if not incident.is_open or phase in FINAL_PHASES:
        return _ignore(f"{incident.id} is already {phase}; {tick.name} changes nothing")
    allowed, target = _NEXT[tick.kind]
    if phase not in allowed:
        return _ignore(f"{incident.id} is {phase}; a {tick.kind} tick applies only while {sorted(allowed)}")
    if tick.kind == "end" and plan.maintenance.verify_minutes == 0:
        target = "completed"
    if target is None:
        text = f"Reminder: the maintenance starts in {tick.hours_before} h (at {tick.at.isoformat()})"
        return Decision(
            kind="update",
            incident=incident.with_entry(_entry(tick, "maintenance", text, now), updated_at=now),
            previous_version=incident.version,
            announce=True,
            reason=f"reminded subscribers of {incident.id}, {tick.hours_before} h before its start",
        )
    if target == "completed":
        text = f"Maintenance completed on schedule (phase {phase} -> completed)"
        return Decision(
            kind="resolve",
            incident=incident.with_entry(
                _entry(tick, "resolved", text, now),
                updated_at=now,
                status="resolved",
                scenario=Scenario.MAINTENANCE_COMPLETED,
                maintenance_phase="completed",
                resolved_at=now,
            ),
            previous_version=incident.version,
            announce=True,
            reason=f"completed {incident.id}",
        )
    changes: dict[str, object] = {"maintenance_phase": target}
    said = f"phase {phase} -> {target}"
    if target == "in_progress" and incident.scenario is not Scenario.MAINTENANCE_IN_PROGRESS:
        changes["scenario"] = Scenario.MAINTENANCE_IN_PROGRESS
        said += "; scenario -> maintenance_in_progress"
    words = {"in_progress": "Maintenance started", "verifying": "Maintenance window ended; verifying"}
    return Decision(
        kind="update",
        incident=incident.with_entry(
            _entry(tick, "maintenance", f"{words[target]} ({said})", now), updated_at=now, **changes
        ),
        previous_version=incident.version,
        # Verifying is shown on the status site; subscribers hear next when it is completed.
        announce=target == "in_progress",
        reason=f"{incident.id}: {said}",
    )


def _entry(tick: Tick, kind: TimelineKind, text: str, now: datetime) -> TimelineEntry:
    return TimelineEntry(at=now, kind=kind, text=text, source=TickSource, event_id=tick.event_id)


# ---------------------------------------------------------------------------------------------
# Applying a tick
# ---------------------------------------------------------------------------------------------


class StatusRefresh(Protocol):
    """Rebuilds the status site for a change customers are not messaged about (``verifying``)."""

    def refresh(self, incident_id: str) -> None: ...


@dataclass(frozen=True)
class TickOutcome:
    """What one tick did. JSON-ready."""

    tick: str
    incident_id: str
    kind: str
    announced: bool
    reason: str
    workflow: str
    phase: str | None
    version: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def apply_tick(
    tick: Tick,
    *,
    plan: Plan,
    incidents: IncidentRepository,
    workflow: WorkflowGateway,
    changes: IncidentChanges,
    status: StatusRefresh | None = None,
    clock: Callable[[], datetime] = clock_now,
    sleep: Callable[[float], None] = time.sleep,
    max_attempts: int = 8,
) -> TickOutcome:
    """Apply ``tick`` to its window: read, decide, save (optimistic locking), reach the workflow."""
    for attempt in range(1, max_attempts + 1):
        try:
            incident = incidents.get(tick.incident_id)
        except IncidentNotFoundError:
            return TickOutcome(
                tick.name, tick.incident_id, "ignore", False, "no such window", "none", None, None
            )
        decision = decide_tick(tick, incident, plan, clock())
        updated = decision.incident
        if updated is None:
            return TickOutcome(
                tick.name,
                incident.id,
                "ignore",
                False,
                decision.reason,
                "none",
                incident.maintenance_phase,
                incident.version,
            )
        try:
            incidents.save(updated, decision.previous_version)
        except ConcurrentUpdateError:
            sleep(min(0.01 * 2**attempt, 0.5))
            continue
        action = "none"
        if decision.announce:
            action = reach_workflow(updated, decision, incidents, workflow)
            changes.publish(updated, decision)
        elif status is not None:
            status.refresh(updated.id)
            action = "status_refreshed"
        return TickOutcome(
            tick.name,
            updated.id,
            decision.kind,
            decision.announce,
            decision.reason,
            action,
            updated.maintenance_phase,
            updated.version,
        )
    raise IntakeConflictError(f"{tick.name}: the window changed under {max_attempts} attempts; retry")


def reach_workflow(
    incident: Incident, decision: Decision, incidents: IncidentRepository, workflow: WorkflowGateway
) -> str:
    """Hand an update to the execution waiting for it, as intake does (see ``intake.service``)."""
    token = incidents.take_update_token(incident.id)
    if token is None:
        # Between waits: the execution re-reads the stored record next (a phase change changes its
        # fingerprint, so it renders it; a reminder that finds it busy is not repeated).
        return "execution_busy"
    try:
        workflow.deliver_update(token, update_message(incident, decision))
    except TaskRegionUnreachableError:
        # The waiting execution's region is down: the phase is stored on the incident, and the execution
        # that continues it (the failover's resumed one) reads it, as for intake's updates.
        return "update_stored_region_down"
    return "update_delivered"
