"""Apply one signal: read the open incidents, decide, write with optimistic locking, reach the workflow.

This is the one domain function both intake handlers call (the SQS intake of EventBridge
events and the human API). It depends only on ports; the adapters are in ``store.py``,
``outlets.py`` and ``outage_comms.workflow_gateway``.

Order of effects for an announced decision: the incident is saved first (the source of truth),
then the workflow is started (a new incident) or handed the update (an execution waiting on a
task token), then an ``Incident Changed`` event is published. If the function dies in between,
the event is retried; ``decide`` then sees the event already applied and, for an opening event,
:func:`apply_signal` starts the workflow and publishes again — both idempotent — so an incident
is never left without its execution.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from outage_comms.clock import now as clock_now
from outage_comms.incident import Incident
from outage_comms.intake.coalesce import Decision, DecisionKind, decide, identifies_incident
from outage_comms.intake.signal import Signal
from outage_comms.plan import Plan
from outage_comms.ports import (
    ConcurrentUpdateError,
    IncidentNotFoundError,
    IncidentRepository,
    TaskRegionUnreachableError,
    WorkflowGateway,
)

#: Re-read and re-decide at most this many times when another intake changed the incident first.
MAX_ATTEMPTS = 8
#: ``decide`` accepts incidents under keys that are not component ids: this prefix marks the ones
#: found by id or source reference (reachable by ``_target``, never counted as sharing a component).
REACHED_KEY = "reached:"

WorkflowAction = Literal[
    "started", "update_delivered", "update_relayed", "execution_busy", "update_stored_region_down", "none"
]


class IntakeConflictError(Exception):
    """The incident kept changing under us for MAX_ATTEMPTS tries; the event is retried later."""


class IncidentChanges(Protocol):
    """Where other consumers learn that an incident changed (the ``outage-comms`` bus)."""

    def publish(self, incident: Incident, decision: Decision) -> None: ...


@runtime_checkable
class UpdateRelay(Protocol):
    """A gateway that cannot resume tasks itself (the incident API's): it asks intake to.

    See :mod:`outage_comms.intake.handoff`. The waiting task token stays in the store, untouched.
    """

    def relay_update(self, update: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """What applying one signal did. JSON-ready (stored as the idempotency record's result)."""

    kind: DecisionKind
    incident_id: str | None
    announced: bool
    reason: str
    workflow: WorkflowAction
    attempts: int
    version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def update_message(incident: Incident, decision: Decision) -> dict[str, Any]:
    """What the workflow and bus consumers receive: the change, not the whole incident (re-read it by id)."""
    return {
        "incident_id": incident.id,
        "version": incident.version,
        "change": decision.kind,
        "announce": decision.announce,
        "reason": decision.reason,
        "status": incident.status,
        "severity": incident.severity,
        "scenario": incident.scenario.value,
        "components": list(incident.components),
        "updated_at": incident.updated_at.isoformat(),
        "drill": incident.drill,  # consumers of Incident Changed must not take a game day for an outage
    }


def open_incidents_for(signal: Signal, incidents: IncidentRepository) -> dict[str, Incident]:
    """The open incidents ``decide`` needs: by the signal's components, the incident it names, and
    the incident its source reference already fed."""
    found = dict(incidents.open_by_component(signal.components, drill=signal.drill))
    known = {incident.id for incident in found.values()}
    reached: list[Incident] = []
    if signal.incident_id is not None and signal.incident_id not in known:
        try:
            named = incidents.get(signal.incident_id)
        except IncidentNotFoundError:
            named = None
        if named is not None and named.is_open:
            reached.append(named)
    if identifies_incident(signal):
        by_reference = incidents.find_by_reference(signal.source.reference, drill=signal.drill)
        if by_reference is not None and by_reference.id not in known:
            reached.append(by_reference)
    for incident in reached:
        found[REACHED_KEY + incident.id] = incident
    return found


def apply_signal(
    signal: Signal,
    *,
    plan: Plan,
    incidents: IncidentRepository,
    workflow: WorkflowGateway,
    changes: IncidentChanges,
    clock: Callable[[], datetime] = clock_now,
    sleep: Callable[[float], None] = time.sleep,
    max_attempts: int = MAX_ATTEMPTS,
) -> Outcome:
    """Decide and persist ``signal``; start or feed the workflow when customers must hear about it."""
    for attempt in range(1, max_attempts + 1):
        open_incidents = open_incidents_for(signal, incidents)
        decision = decide(signal, open_incidents, plan, clock())
        incident = decision.incident
        if incident is None:
            return _already_applied_or_ignored(signal, decision, open_incidents, workflow, changes, attempt)
        try:
            incidents.save(incident, decision.previous_version)
        except ConcurrentUpdateError:
            closed = _closed_namesake(incident, decision, incidents)
            if closed is not None:
                # The same state change (ids are derived from it) already opened an incident that has
                # since been resolved: a late duplicate, not a new outage. Retrying could never succeed.
                return Outcome(
                    kind="ignore",
                    incident_id=closed.id,
                    announced=False,
                    reason=f"this change already opened {closed.id}, which is {closed.status}",
                    workflow="none",
                    attempts=attempt,
                    version=closed.version,
                )
            sleep(random.uniform(0, min(0.01 * 2**attempt, 0.5)))  # noqa: S311 - jitter, not crypto
            continue
        action: WorkflowAction = "none"
        if decision.announce:
            action = _reach_workflow(incident, decision, incidents, workflow)
            changes.publish(incident, decision)
        return Outcome(
            kind=decision.kind,
            incident_id=incident.id,
            announced=decision.announce,
            reason=decision.reason,
            workflow=action,
            attempts=attempt,
            version=incident.version,
        )
    raise IntakeConflictError(
        f"{signal.event_id}: the incident changed under {max_attempts} attempts; the event will be retried"
    )


def _reach_workflow(
    incident: Incident, decision: Decision, incidents: IncidentRepository, workflow: WorkflowGateway
) -> WorkflowAction:
    if decision.kind == "open":
        workflow.start(incident)
        return "started"
    if isinstance(workflow, UpdateRelay):
        workflow.relay_update(update_message(incident, decision))
        return "update_relayed"
    token = incidents.take_update_token(incident.id)
    if token is None:
        # The execution is between waits (rendering, sending); it reads the stored incident next.
        return "execution_busy"
    try:
        workflow.deliver_update(token, update_message(incident, decision))
    except TaskRegionUnreachableError:
        # The waiting execution's region is down: the update is stored on the incident (saved above) and
        # the execution that continues the incident reads it (the failover's resumed one, as it waits).
        return "update_stored_region_down"
    return "update_delivered"


def _closed_namesake(
    incident: Incident, decision: Decision, incidents: IncidentRepository
) -> Incident | None:
    """When opening failed: the stored incident with the same id, if it is no longer open."""
    if decision.previous_version is not None:
        return None
    try:
        stored = incidents.get(incident.id)
    except IncidentNotFoundError:
        return None
    return None if stored.is_open else stored


def _already_applied_or_ignored(
    signal: Signal,
    decision: Decision,
    open_incidents: Mapping[str, Incident],
    workflow: WorkflowGateway,
    changes: IncidentChanges,
    attempt: int,
) -> Outcome:
    opened = next(
        (
            i
            for i in open_incidents.values()
            if i.timeline and i.timeline[0].event_id == signal.event_id and i.timeline[0].kind == "opened"
        ),
        None,
    )
    if opened is None:
        return Outcome(
            kind=decision.kind,
            incident_id=None,
            announced=False,
            reason=decision.reason,
            workflow="none",
            attempts=attempt,
        )
    # This event opened the incident earlier; a crash may have come before the workflow started.
    workflow.start(opened)
    changes.publish(opened, decision.model_copy(update={"kind": "open", "announce": True}))
    return Outcome(
        kind="ignore",
        incident_id=opened.id,
        announced=False,
        reason=f"{decision.reason}; its execution was (re)started idempotently",
        workflow="started",
        attempts=attempt,
        version=opened.version,
    )
