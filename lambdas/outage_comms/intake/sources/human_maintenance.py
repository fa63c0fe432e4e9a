"""A person schedules, completes or cancels a maintenance window (see ``outage_comms.maintenance``).

Part of the ``human`` source: its requests are ``HumanRequest`` with a ``*_maintenance`` action.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from outage_comms.incident import IncidentSource, MaintenancePhase
from outage_comms.intake import windows
from outage_comms.intake.signal import MAX_TITLE, Rejection, Signal
from outage_comms.intake.sources.common import INCIDENT_ID, clip, component_ids, show, utc
from outage_comms.plan import Plan
from outage_comms.vocabulary import Scenario

if TYPE_CHECKING:
    from outage_comms.intake.sources.human import HumanRequest

#: Said to customers when a person cancels a window without words of their own (the templates
#: already say it was called off: ``maintenance.cancelled``).
_CANCELLED_NOTE = {
    "en": "We will tell you before we plan this work again",
    "pt": "Avisaremos antes de agendar este trabalho de novo",
}


def maintenance_signal(
    request: HumanRequest, plan: Plan, received_at: datetime, raw: Any
) -> Signal | Rejection:
    """Schedule (opens the window's record), complete or cancel (resolves it) a maintenance window."""
    if request.action != "schedule_maintenance":
        return _closing(request, plan, received_at, raw)
    now = utc(received_at)
    window = _window(request, plan, now, raw)
    if isinstance(window, Rejection):
        return window
    starts_at, ends_at = window
    return Signal(
        event_id=f"human:{request.request_id}",
        incident_key=f"maintenance:{request.request_id}",
        source=IncidentSource(type="human", reference=request.principal),
        occurred_at=now,
        components=tuple(c.id for c in plan.components if c.id in set(request.components)),
        severity=request.severity or windows.least_severe(plan),
        intent="open",
        status="identified",
        scenario=Scenario.MAINTENANCE_SCHEDULED,
        internal_title=clip(request.title or f"Maintenance scheduled by {request.principal}", MAX_TITLE),
        detail=f"maintenance scheduled by {request.principal}",
        public_note=dict(request.note),
        scheduled_for=starts_at,
        scheduled_until=ends_at,
        maintenance_phase="scheduled",
        drill=request.drill,  # a drilled window speaks only to the drill audience, like a drill incident
    )


def _closing(request: HumanRequest, plan: Plan, received_at: datetime, raw: Any) -> Signal | Rejection:
    verb = request.action.split("_")[0]
    if request.incident_id is None or not INCIDENT_ID.match(request.incident_id):
        return Rejection(
            "missing_incident_id",
            f"'incident_id' is {show(request.incident_id)}; to {verb} a maintenance window, pass its id "
            "(inc-YYYYMMDD-HHMM-xxxxxx, as shown when it was scheduled).",
            raw,
        )
    phase: MaintenancePhase = "completed" if request.action == "complete_maintenance" else "cancelled"
    note = dict(request.note)
    if phase == "cancelled" and not note:
        note = {c: _CANCELLED_NOTE["pt" if c.startswith("pt") else "en"] for c in plan.locale_codes}
    return Signal(
        event_id=f"human:{request.request_id}",
        incident_key=f"human:{request.request_id}",
        source=IncidentSource(type="human", reference=request.principal),
        occurred_at=utc(request.at or received_at),
        components=(),
        severity=None,
        intent="resolve",
        internal_title=clip(request.title or f"Maintenance {phase} by {request.principal}", MAX_TITLE),
        detail=f"maintenance {phase} by {request.principal}",
        incident_id=request.incident_id,
        public_note=note,
        maintenance_phase=phase,
    )


def _window(
    request: HumanRequest, plan: Plan, now: datetime, raw: Any
) -> tuple[datetime, datetime] | Rejection:
    """The window's start and end, checked against the rules in :mod:`outage_comms.intake.windows`."""
    if not request.components:
        return Rejection(
            "missing_components",
            "'components' is empty; a maintenance window names the components it affects, from "
            f"{sorted(component_ids(plan))}.",
            raw,
        )
    if request.starts_at is None or request.ends_at is None:
        missing = " and ".join(repr(n) for n in ("starts_at", "ends_at") if getattr(request, n) is None)
        return Rejection(
            "missing_window",
            f"{missing} missing; a maintenance window needs both, as ISO 8601 times with a zone, "
            "e.g. 2026-12-01T02:00:00Z.",
            raw,
        )
    starts_at, ends_at = utc(request.starts_at), utc(request.ends_at)
    if starts_at < now + timedelta(minutes=windows.MIN_LEAD_MINUTES):
        return Rejection(
            "window_in_past",
            f"'starts_at' is {starts_at.isoformat()}, which is in the past or less than "
            f"{windows.MIN_LEAD_MINUTES} minutes from now ({now.isoformat()}). Pick a later start; for "
            "work already under way, declare an incident with scenario maintenance_in_progress.",
            raw,
        )
    if ends_at <= starts_at:
        return Rejection(
            "window_end_before_start",
            f"'ends_at' ({ends_at.isoformat()}) is not after 'starts_at' ({starts_at.isoformat()}); "
            "the window must end after it starts.",
            raw,
        )
    if ends_at - starts_at > timedelta(days=windows.MAX_WINDOW_DAYS):
        return Rejection(
            "window_too_long",
            f"The window lasts {ends_at - starts_at}, more than {windows.MAX_WINDOW_DAYS} days; "
            "split the work into several windows.",
            raw,
        )
    if starts_at - now > timedelta(days=windows.MAX_LEAD_DAYS):
        return Rejection(
            "window_too_far",
            f"'starts_at' ({starts_at.isoformat()}) is more than {windows.MAX_LEAD_DAYS} days ahead; "
            "schedule the window closer to the date.",
            raw,
        )
    return starts_at, ends_at
