"""The rules of a maintenance window that intake applies: how far ahead and how long one may be,
when it is running, and how an expected signal is recorded on it.

:mod:`outage_comms.maintenance` (the scheduled moments and their ticks) builds on these; intake
(``sources.human_maintenance``, ``coalesce``) reads them here, so it never imports the tick side.
"""

from __future__ import annotations

from datetime import datetime

from outage_comms.incident import IMPACT_RANK, MAX_TIMELINE_ENTRIES, Incident, MaintenancePhase, TimelineEntry
from outage_comms.plan import Plan

#: A window longer than this is rejected: split long work into several windows.
MAX_WINDOW_DAYS = 7
#: A window starting further ahead is rejected: its workflow execution (Standard: 1 year) must outlive it.
MAX_LEAD_DAYS = 180
#: The start must be at least this far ahead, so its schedule can still be created.
MIN_LEAD_MINUTES = 2
#: Phases during which the window's components are expected to misbehave.
ACTIVE_PHASES: frozenset[MaintenancePhase] = frozenset({"in_progress", "verifying"})


def least_severe(plan: Plan) -> str:
    """The plan's least severe severity id (last listed on a tie): maintenance is not an outage."""
    lowest = min(IMPACT_RANK[s.impact] for s in plan.severities)
    return [s for s in plan.severities if IMPACT_RANK[s.impact] == lowest][-1].id


def window_is_active(incident: Incident, now: datetime) -> bool:
    """True while the window's components are expected to misbehave: in progress or verifying, or
    scheduled but already past its start (a late start tick)."""
    if not incident.is_open or incident.maintenance_phase is None:
        return False
    if incident.maintenance_phase in ACTIVE_PHASES:
        return True
    start, end = incident.scheduled_for, incident.scheduled_until
    return (
        incident.maintenance_phase == "scheduled"
        and start is not None
        and start <= now
        and (end is None or now < end)
    )


def record_expected(maintenance: Incident, entry: TimelineEntry) -> Incident:
    """The window with one more expected signal (stored while the timeline has room, always counted)."""
    count = maintenance.expected_signals + 1
    if len(maintenance.timeline) < MAX_TIMELINE_ENTRIES:
        return maintenance.with_entry(entry, expected_signals=count)
    return maintenance.evolve(
        updated_at=entry.at, expected_signals=count, suppressed_signals=maintenance.suppressed_signals + 1
    )
