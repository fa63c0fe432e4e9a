"""Decide what one signal does to the incidents already open: the coalescing rule.

* A signal follows, in order: the incident it names (human update/resolve), the open incident that
  has already heard from the same source reference (same alarm, Health event, incident record or
  OpsItem), then an open incident sharing one of its components (the most severe, then the
  oldest). Only when none exists does an ``open`` signal open a new incident, so a storm of alarms
  over N components opens at most N incidents.
* On an existing incident: a higher-impact severity is an ``escalate`` (same incident, announced);
  new components, a status, scenario or note change, or an explicit lower severity from a person or
  Incident Manager/OpsCenter is an ``update`` (announced); anything else is an ``attach`` (timeline
  only). An alarm never lowers severity, and its ``OK`` moves the incident to ``monitoring`` only
  when no other alarm on that incident is still in ``ALARM``.
* ``record`` signals (INSUFFICIENT_DATA, Incident Manager timeline events) are stored, never
  announced. A repeat of the state a source last reported, or an event already applied, is ignored.
* A scheduled maintenance window (``maintenance_phase`` set) is its own record: only a request naming
  it reaches it, and it never absorbs a real incident's signals. While a window runs (in progress or
  verifying), an alarm / Health / Incident Manager signal whose components are all under running
  windows is recorded on the window as ``expected`` (``plan.maintenance.expected_alarms``) and opens
  no customer incident, unless it already feeds a real incident.

The result is a ``Decision`` holding the incident to write and the version it replaces, so the
store can write it with a condition (``attribute_not_exists`` when opening, ``version = previous``
otherwise) and retry ``decide`` on a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from outage_comms.incident import (
    Incident,
    IncidentStatus,
    ResolutionDetails,
    TimelineEntry,
    TimelineKind,
    audiences_for,
    incident_id,
    ordered_components,
    public_title,
    severity_rank,
)
from outage_comms.intake.signal import Signal, default_severity
from outage_comms.intake.sources import registry
from outage_comms.intake.windows import record_expected, window_is_active
from outage_comms.plan import Plan, Severity
from outage_comms.vocabulary import Scenario

DecisionKind = Literal["open", "attach", "escalate", "update", "resolve", "record", "ignore"]
MAINTENANCE = frozenset(
    {Scenario.MAINTENANCE_SCHEDULED, Scenario.MAINTENANCE_IN_PROGRESS, Scenario.MAINTENANCE_COMPLETED}
)


class Decision(BaseModel):
    """What to write. ``announce`` says whether customers (via the workflow) hear about it."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    kind: DecisionKind
    incident: Incident | None
    previous_version: int | None
    announce: bool
    reason: str


def decide(
    signal: Signal, open_incidents_by_component: Mapping[str, Incident], plan: Plan, now: datetime
) -> Decision:
    """Apply ``signal`` to the open incidents (keyed by component id; one incident may appear under
    several keys). Pure: the caller persists ``Decision.incident``."""
    expected = _expected_during_maintenance(signal, open_incidents_by_component, plan, now)
    if expected is not None:
        return expected
    target = _target(signal, open_incidents_by_component, plan)
    if target is None:
        return _without_target(signal, plan, now)
    if signal.event_id in target.event_ids:
        return _ignore(f"event {signal.event_id} is already applied to {target.id}")
    if signal.maintenance_phase in ("completed", "cancelled") and target.maintenance_phase is None:
        return _ignore(f"{target.id} is not a maintenance window; resolve it instead")
    if signal.intent == "resolve":
        return _resolve(signal, target, now)
    if signal.intent == "record":
        entry = _entry(signal, "recorded", signal.internal_title)
        return Decision(
            kind="record",
            incident=target.with_entry(entry, updated_at=now),
            previous_version=target.version,
            announce=False,
            reason=f"recorded on {target.id}, not announced",
        )
    return _change(signal, target, plan, now)


def _target(signal: Signal, open_incidents: Mapping[str, Incident], plan: Plan) -> Incident | None:
    unique = {i.id: i for i in open_incidents.values() if i.is_open}
    if signal.incident_id is not None:
        named = unique.get(signal.incident_id)
        # A person names the incident: a drill's own updates may omit 'drill', but a request marked as a
        # drill never changes a real incident.
        return None if named is not None and signal.drill and not named.drill else named
    # A drill never joins a real incident, and a real signal never joins a drill.
    open_incidents = {k: i for k, i in open_incidents.items() if i.drill == signal.drill}
    if signal.maintenance_phase == "scheduled":  # its own record: only a retry of the same request finds it
        return next((i for i in open_incidents.values() if signal.event_id in i.event_ids), None)
    # A maintenance window is its own record: only a request naming it reaches it.
    open_incidents = {k: i for k, i in open_incidents.items() if i.maintenance_phase is None}
    unique = {i.id: i for i in open_incidents.values() if i.is_open}
    sharing = [
        open_incidents[c] for c in signal.components if c in open_incidents and open_incidents[c].is_open
    ]
    if identifies_incident(signal):  # a person's principal is not an incident's identity
        for incident in sharing:
            if signal.source.reference in incident.references:
                return incident
        for incident in unique.values():
            if signal.source.reference in incident.references:
                return incident
    if not sharing:
        return None
    return min(
        sharing,
        key=lambda i: (-severity_rank(_severity(plan, i.severity)), i.started_at, i.id),
    )


def _severity(plan: Plan, severity_id: str) -> Severity:
    """The plan's severity, or its default if the plan no longer has that id (plan edited mid-incident)."""
    return next((s for s in plan.severities if s.id == severity_id), None) or default_severity(plan)


def _without_target(signal: Signal, plan: Plan, now: datetime) -> Decision:
    if signal.intent != "open":
        what = f"incident {signal.incident_id}" if signal.incident_id else "incident for this signal"
        return _ignore(f"no open {what} to {signal.intent}; nothing to announce")
    if not signal.components:
        return _ignore("the signal names no component, so no incident can be opened")
    severity = _severity(plan, signal.severity) if signal.severity else default_severity(plan)
    scenario = signal.scenario or severity.default_scenario
    status: IncidentStatus = signal.status or ("identified" if scenario in MAINTENANCE else "investigating")
    components = ordered_components(plan, signal.components)
    incident = Incident(
        id=incident_id(signal.occurred_at, signal.incident_key),
        internal_title=signal.internal_title,
        public_title=public_title(plan, components),
        components=components,
        severity=severity.id,
        status=status,
        scenario=scenario,
        audiences=audiences_for(plan, components),
        started_at=signal.occurred_at,
        updated_at=now,
        source=signal.source,
        timeline=(_entry(signal, "opened", signal.internal_title),),
        public_note=signal.public_note,
        scheduled_for=signal.scheduled_for,
        scheduled_until=signal.scheduled_until,
        maintenance_phase=signal.maintenance_phase,
        drill=signal.drill,
        drill_failures=signal.drill_failures,
    )
    return Decision(
        kind="open",
        incident=incident,
        previous_version=None,
        announce=True,
        reason=f"opened {incident.id} for {', '.join(components)} at {severity.id}"
        + (" as a drill" if signal.drill else ""),
    )


def _resolve(signal: Signal, target: Incident, now: datetime) -> Decision:
    scenario = Scenario.MAINTENANCE_COMPLETED if target.scenario in MAINTENANCE else Scenario.RESOLVED
    entry = _entry(signal, "resolved", signal.internal_title)
    changes: dict[str, object] = {
        "status": "resolved",
        "scenario": scenario,
        "resolved_at": signal.occurred_at,
        "updated_at": now,
    }
    if signal.public_note:
        changes["public_note"] = signal.public_note
    if signal.resolution:
        changes["resolution_details"] = ResolutionDetails(**signal.resolution)
    if target.maintenance_phase is not None:
        changes["maintenance_phase"] = "cancelled" if signal.maintenance_phase == "cancelled" else "completed"
    return Decision(
        kind="resolve",
        incident=target.with_entry(entry, **changes),
        previous_version=target.version,
        announce=True,
        reason=f"resolved {target.id}",
    )


def _change(signal: Signal, target: Incident, plan: Plan, now: datetime) -> Decision:
    changes: dict[str, object] = {}
    said: list[str] = []
    _component_changes(signal, target, plan, changes, said)
    escalated = _severity_changes(signal, target, plan, changes, said)
    _status_changes(signal, target, plan, changes, said)
    if signal.public_note and signal.public_note != target.public_note:
        changes["public_note"] = signal.public_note
        said.append("new note for customers")
    if signal.scheduled_for and signal.scheduled_for != target.scheduled_for:
        changes["scheduled_for"] = signal.scheduled_for
    if signal.scheduled_until and signal.scheduled_until != target.scheduled_until:
        changes["scheduled_until"] = signal.scheduled_until
    return _changed(signal, target, now, changes, said, escalated=escalated)


def _component_changes(
    signal: Signal, target: Incident, plan: Plan, changes: dict[str, object], said: list[str]
) -> None:
    added = [c for c in signal.components if c not in target.components]
    if added:
        components = ordered_components(plan, (*target.components, *added))
        changes |= {
            "components": components,
            "public_title": public_title(plan, components),
            "audiences": audiences_for(plan, components),
        }
        said.append(f"now also affects {', '.join(added)}")


def _severity_changes(
    signal: Signal, target: Incident, plan: Plan, changes: dict[str, object], said: list[str]
) -> bool:
    """Record a severity change (a rise, or an explicit update from a source that may lower it);
    True when it escalates."""
    if signal.severity is None or signal.severity == target.severity:
        return False
    old, new = _severity(plan, target.severity), _severity(plan, signal.severity)
    explicit = signal.intent == "update" and _may_lower_severity(signal.source.type)
    if not (severity_rank(new) > severity_rank(old) or explicit):
        return False
    changes["severity"] = new.id
    if target.scenario == old.default_scenario:
        changes["scenario"] = new.default_scenario
    said.append(f"severity {old.id} -> {new.id}")
    return severity_rank(new) > severity_rank(old)


def _status_changes(
    signal: Signal, target: Incident, plan: Plan, changes: dict[str, object], said: list[str]
) -> None:
    status = signal.status
    scenario = signal.scenario
    if signal.intent == "open" and target.status == "monitoring" and status is None:
        status = "investigating"
        scenario = scenario or _severity(plan, str(changes.get("severity", target.severity))).default_scenario
    if status == "monitoring" and _firing_state(signal.source.type) is not None:
        firing = _still_firing(target, signal.source.type, except_reference=signal.source.reference)
        if firing:
            status, scenario = None, None
            said.append(f"still in {_firing_state(signal.source.type)}: {', '.join(sorted(firing))}")
    if status is not None and status != target.status:
        changes["status"] = status
        said.append(f"status {target.status} -> {status}")
    if scenario is not None and scenario != changes.get("scenario", target.scenario):
        changes["scenario"] = scenario
        said.append(f"scenario -> {scenario.value}")


def _changed(
    signal: Signal,
    target: Incident,
    now: datetime,
    changes: dict[str, object],
    said: list[str],
    *,
    escalated: bool,
) -> Decision:
    """The decision for these changes: announced if customers would see one, else attached or ignored."""
    announced = {"components", "severity", "status", "scenario", "public_note"} & changes.keys()
    text = signal.internal_title + (f" ({'; '.join(said)})" if said else "")
    if not announced:
        if signal.state is not None and target.last_state(signal.source.reference) == signal.state:
            return _ignore(f"{signal.source.reference} repeats its last state {signal.state} on {target.id}")
        return Decision(
            kind="attach",
            incident=target.with_entry(_entry(signal, "signal", text), updated_at=now, **changes),
            previous_version=target.version,
            announce=False,
            reason=f"attached to {target.id}" + (f" ({'; '.join(said)})" if said else ""),
        )
    kind: TimelineKind = "escalated" if escalated else ("status" if "status" in changes else "signal")
    return Decision(
        kind="escalate" if escalated else "update",
        incident=target.with_entry(_entry(signal, kind, text), updated_at=now, **changes),
        previous_version=target.version,
        announce=True,
        reason=f"{'escalated' if escalated else 'updated'} {target.id}: {'; '.join(said)}",
    )


def _expected_during_maintenance(
    signal: Signal, open_incidents: Mapping[str, Incident], plan: Plan, now: datetime
) -> Decision | None:
    """A signal about components all inside running maintenance windows is recorded on the window as
    ``expected`` (``plan.maintenance.expected_alarms``) and opens no customer incident.
    None: decide as usual."""
    if not plan.maintenance.expected_alarms or not _expected_in_maintenance(signal.source.type):
        return None
    if not signal.components or signal.incident_id is not None or signal.scenario in MAINTENANCE:
        return None
    candidates = {i.id: i for i in open_incidents.values() if i.drill == signal.drill and i.is_open}
    if any(
        i.maintenance_phase is None and signal.source.reference in i.references for i in candidates.values()
    ):
        return None  # it already feeds a real incident: keep telling that story
    windows = [i for i in candidates.values() if window_is_active(i, now)]
    if not set(signal.components) <= {c for w in windows for c in w.components}:
        return None
    window = min(
        windows,
        key=lambda w: (-len(set(w.components) & set(signal.components)), w.started_at, w.id),
    )
    if signal.event_id in window.event_ids:
        return _ignore(f"event {signal.event_id} is already recorded on {window.id}")
    if signal.state is not None and window.last_state(signal.source.reference) == signal.state:
        return _ignore(f"{signal.source.reference} repeats its last state {signal.state} on {window.id}")
    entry = _entry(signal, "expected", f"Expected during maintenance: {signal.internal_title}")
    return Decision(
        kind="record",
        incident=record_expected(window, entry),
        previous_version=window.version,
        announce=False,
        reason=f"expected during maintenance {window.id}; no customer incident opened",
    )


def _still_firing(incident: Incident, source: str, *, except_reference: str) -> set[str]:
    """The other references of ``source`` whose last state on the incident is its firing state (alarms
    still in ``ALARM``), named by what follows ``:alarm:`` in an alarm ARN."""
    firing = _firing_state(source)
    latest: dict[str, str] = {}
    for entry in incident.timeline:
        if entry.source.type == source and entry.state is not None:
            latest[entry.source.reference] = entry.state
    return {
        ref.rsplit(":alarm:", 1)[-1]
        for ref, state in latest.items()
        if state == firing and ref != except_reference
    }


def identifies_incident(signal: Signal) -> bool:
    """Whether the signal's source reference names what went wrong (so it finds the incident it fed)."""
    spec = registry.find(signal.source.type)
    return spec is None or spec.identifies_incident


def _may_lower_severity(source: str) -> bool:
    spec = registry.find(source)
    return spec is None or spec.may_lower_severity


def _firing_state(source: str) -> str | None:
    spec = registry.find(source)
    return None if spec is None else spec.firing_state


def _expected_in_maintenance(source: str) -> bool:
    spec = registry.find(source)
    return spec is not None and spec.expected_in_maintenance


def _entry(signal: Signal, kind: TimelineKind, text: str) -> TimelineEntry:
    return TimelineEntry(
        at=signal.occurred_at,
        kind=kind,
        text=text + (f" — {signal.detail}" if signal.detail else ""),
        source=signal.source,
        event_id=signal.event_id,
        state=signal.state,
        public_note=signal.public_note,
    )


def _ignore(reason: str) -> Decision:
    return Decision(kind="ignore", incident=None, previous_version=None, announce=False, reason=reason)
