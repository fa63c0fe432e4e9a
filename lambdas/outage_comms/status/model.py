"""The public view of incidents: Statuspage's vocabulary, derived from the plan and the incidents.

Everything here is built only from public inputs: the plan's public names, the incident's
status/scenario/severity/times and the notes people wrote for customers. Internal titles,
timeline texts and source references (alarm names, ARNs) are never read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from outage_comms.guard import find_identifiers
from outage_comms.incident import IMPACT_RANK, Incident, TimelineEntry
from outage_comms.plan import Plan, Severity
from outage_comms.vocabulary import Impact, Scenario

MAINTENANCE_SCENARIOS = frozenset(
    {Scenario.MAINTENANCE_SCHEDULED, Scenario.MAINTENANCE_IN_PROGRESS, Scenario.MAINTENANCE_COMPLETED}
)
#: Timeline kinds that customers heard about (plus any entry carrying a note for customers).
PUBLIC_KINDS = frozenset({"opened", "status", "escalated", "resolved"})
_STATUS_CHANGE = re.compile(r"\bstatus \w+ -> (investigating|identified|monitoring|resolved)\b")
_SCENARIO_CHANGE = re.compile(r"\bscenario -> ([a-z_]+)\b")
_PHASE_CHANGE = re.compile(r"\bphase \w+ -> (scheduled|in_progress|verifying|completed|cancelled)\b")
#: Statuspage's maintenance statuses, from ``Incident.maintenance_phase`` (a cancelled window is closed).
MAINTENANCE_STATUS = {
    "scheduled": "scheduled",
    "in_progress": "in_progress",
    "verifying": "verifying",
    "completed": "completed",
    "cancelled": "completed",
}


class ComponentStatus(StrEnum):
    """Statuspage component statuses, best first."""

    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"


#: The value of the ``OutageComms/Status`` metric per component (0 operational .. 4 major outage).
STATUS_METRIC_VALUE: dict[ComponentStatus, int] = {s: i for i, s in enumerate(ComponentStatus)}
#: Statuspage's uptime weighting: a major outage counts fully, a partial outage 30 %, the rest 0.
DOWNTIME_WEIGHT: dict[ComponentStatus, float] = {
    ComponentStatus.MAJOR_OUTAGE: 1.0,
    ComponentStatus.PARTIAL_OUTAGE: 0.3,
}
_SCENARIO_STATUS: dict[Scenario, ComponentStatus] = {
    Scenario.DEGRADED_PERFORMANCE: ComponentStatus.DEGRADED_PERFORMANCE,
    Scenario.PARTIAL_OUTAGE: ComponentStatus.PARTIAL_OUTAGE,
    Scenario.MAJOR_OUTAGE: ComponentStatus.MAJOR_OUTAGE,
    Scenario.MAINTENANCE_IN_PROGRESS: ComponentStatus.UNDER_MAINTENANCE,
}
_IMPACT_STATUS: dict[Impact, ComponentStatus] = {
    Impact.CRITICAL: ComponentStatus.MAJOR_OUTAGE,
    Impact.MAJOR: ComponentStatus.PARTIAL_OUTAGE,
    Impact.MINOR: ComponentStatus.DEGRADED_PERFORMANCE,
    Impact.NONE: ComponentStatus.OPERATIONAL,
}
#: Statuspage's page-level indicator descriptions (the JSON API is in English, as Statuspage's is).
INDICATOR_DESCRIPTION: dict[Impact, str] = {
    Impact.NONE: "All Systems Operational",
    Impact.MINOR: "Minor Service Outage",
    Impact.MAJOR: "Partial System Outage",
    Impact.CRITICAL: "Major System Outage",
}


def is_maintenance(incident: Incident) -> bool:
    return (
        incident.maintenance_phase is not None
        or incident.scenario in MAINTENANCE_SCENARIOS
        or incident.scheduled_for is not None
    )


def severity_of(plan: Plan, severity_id: str) -> Severity:
    """The plan's severity, or its least severe one if the plan no longer has that id."""
    return next((s for s in plan.severities if s.id == severity_id), plan.severities[-1])


def component_status_for(plan: Plan, incident: Incident, scenario: Scenario | None = None) -> ComponentStatus:
    """What an incident does to each of its components while it is open."""
    scenario = scenario or incident.scenario
    if scenario in _SCENARIO_STATUS:
        return _SCENARIO_STATUS[scenario]
    if scenario in MAINTENANCE_SCENARIOS:
        return ComponentStatus.OPERATIONAL  # scheduled or completed: nothing is affected now
    status = _IMPACT_STATUS[severity_of(plan, incident.severity).impact]
    if incident.status == "monitoring" and _rank(status) > _rank(ComponentStatus.DEGRADED_PERFORMANCE):
        return ComponentStatus.DEGRADED_PERFORMANCE  # a fix is in place and holding
    return status


def _rank(status: ComponentStatus) -> int:
    return STATUS_METRIC_VALUE[status]


def _worse(a: ComponentStatus, b: ComponentStatus) -> ComponentStatus:
    return a if _rank(a) >= _rank(b) else b


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    """One update customers read (a Statuspage ``incident_update``), before it is put into words."""

    id: str
    at: datetime
    status: str
    scenario: Scenario
    note: dict[str, str]


def public_updates(plan: Plan, incident: Incident) -> list[PublicUpdate]:
    """The incident's updates as customers saw them, oldest first.

    The incident stores only its current status and scenario; earlier ones are read back from
    the lifecycle entries of its timeline. Notes that carry an internal identifier are dropped.
    """
    maintenance = is_maintenance(incident)
    severity = severity_of(plan, incident.severity)
    status = "scheduled" if maintenance else "investigating"
    scenario = Scenario.MAINTENANCE_SCHEDULED if maintenance else severity.default_scenario
    updates: list[PublicUpdate] = []
    entries: Iterable[TimelineEntry] = incident.timeline
    for index, entry in enumerate(entries):
        phase = _PHASE_CHANGE.search(entry.text) if entry.kind == "maintenance" else None
        if entry.kind not in PUBLIC_KINDS and not entry.public_note and phase is None:
            continue
        if phase is not None:
            status = MAINTENANCE_STATUS[phase.group(1)]
        if entry.kind == "resolved":
            status = "completed" if maintenance else "resolved"
            scenario = Scenario.MAINTENANCE_COMPLETED if maintenance else Scenario.RESOLVED
        elif entry.kind != "opened":
            if found := _STATUS_CHANGE.search(entry.text):
                status = found.group(1)
            if (found_scenario := _SCENARIO_CHANGE.search(entry.text)) and (
                found_scenario.group(1) in Scenario.__members__.values()
            ):
                scenario = Scenario(found_scenario.group(1))
        updates.append(
            PublicUpdate(
                id=f"{incident.id}-u{index:03d}",
                at=entry.at,
                status=status,
                scenario=scenario,
                note=safe_note(plan, entry.public_note),
            )
        )
    current_status = statuspage_status(plan, incident)
    if not updates:
        updates.append(
            PublicUpdate(f"{incident.id}-u000", incident.started_at, current_status, incident.scenario, {})
        )
    last = updates[-1]
    # The record's own status and scenario are authoritative for the latest update (a published
    # postmortem changes the incident's status, not its last update's, as on Statuspage).
    updates[-1] = PublicUpdate(
        last.id,
        last.at,
        "resolved" if current_status == "postmortem" and has_postmortem(incident) else current_status,
        incident.scenario,
        last.note or safe_note(plan, incident.public_note),
    )
    return updates


def has_postmortem(incident: Incident) -> bool:
    """An approved post-incident summary is published (maintenance never has one)."""
    return (
        incident.postmortem_published_at is not None
        and bool(incident.postmortem)
        and not is_maintenance(incident)
        and not incident.is_open
    )


def statuspage_status(plan: Plan, incident: Incident) -> str:
    """Statuspage status: investigating..postmortem for incidents, scheduled..completed for maintenance."""
    settings = plan.scenarios.get(incident.scenario)
    if incident.scenario is Scenario.POST_INCIDENT_SUMMARY or has_postmortem(incident):
        return "postmortem"
    if incident.maintenance_phase is not None:
        return MAINTENANCE_STATUS[incident.maintenance_phase]
    if is_maintenance(incident):
        if incident.status == "resolved":
            return "completed"
        return settings.statuspage_status if settings else "scheduled"
    return incident.status


def safe_note(plan: Plan, note: dict[str, str]) -> dict[str, str]:
    """A person's note for customers, without any locale whose text names an internal identifier."""
    domains = plan.organization.internal_domains
    return {
        locale: text for locale, text in note.items() if text.strip() and not find_identifiers(text, domains)
    }


def next_update_at(plan: Plan, incident: Incident, last_update: datetime, now: datetime) -> datetime | None:
    """When customers hear next: the plan's cadence after the last update, never in the past."""
    if not incident.is_open or incident.scenario is Scenario.MAINTENANCE_SCHEDULED:
        return None
    if incident.maintenance_phase is not None:  # a declared window speaks on its schedule
        from outage_comms.maintenance import next_announced_at

        return next_announced_at(plan, incident, now)
    cadence = timedelta(minutes=severity_of(plan, incident.severity).cadence_minutes)
    due = last_update + cadence
    if due <= now:
        missed = (now - due) // cadence + 1
        due += cadence * missed
    return due


def current_component_statuses(
    plan: Plan, incidents: Sequence[Incident], now: datetime
) -> dict[str, ComponentStatus]:
    """Each component's status now: the worst any open incident or running maintenance gives it."""
    statuses = {component.id: ComponentStatus.OPERATIONAL for component in plan.components}
    for incident in incidents:
        if not incident.is_open:
            continue
        if is_maintenance(incident):
            if incident.maintenance_phase is not None:  # a declared window: its phase says
                running = incident.maintenance_phase in ("in_progress", "verifying")
            else:
                running = incident.scenario is Scenario.MAINTENANCE_IN_PROGRESS or (
                    incident.scheduled_for is not None
                    and incident.scheduled_for <= now
                    and (incident.scheduled_until is None or now < incident.scheduled_until)
                    and incident.scenario is not Scenario.MAINTENANCE_COMPLETED
                )
            if not running:
                continue
            status = ComponentStatus.UNDER_MAINTENANCE
        else:
            status = component_status_for(plan, incident)
        for component_id in incident.components:
            if component_id in statuses:
                statuses[component_id] = _worse(statuses[component_id], status)
    return statuses


def overall_indicator(
    plan: Plan, incidents: Sequence[Incident], statuses: dict[str, ComponentStatus]
) -> Impact:
    """Statuspage's page indicator: the worst impact of the unresolved incidents, else from components."""
    impacts = [severity_of(plan, i.severity).impact for i in incidents if i.is_open and not is_maintenance(i)]
    worst = max(impacts, key=IMPACT_RANK.__getitem__, default=Impact.NONE)
    if worst is Impact.NONE:
        if any(s is ComponentStatus.MAJOR_OUTAGE for s in statuses.values()):
            return Impact.MAJOR
        if any(
            s in (ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.DEGRADED_PERFORMANCE)
            for s in statuses.values()
        ):
            return Impact.MINOR
    return worst
