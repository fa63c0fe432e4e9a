"""Steps of an execution that no longer speaks for its incident do nothing (two regions, issue 17).

After a take-over or a hand-back the failover function moves the incident's claim, and ``driven_by``
with it, to the new owner's execution (``WorkflowStore.move_claim``). An execution of the other region
may still run: a Lambda in flight when it was stopped, or a region that was down and came back. Each
step of it that would act or wait checks the claim first and, when another region drives the incident,
renders, sends, asks and publishes nothing, takes no task token, and hands the execution on to its
end: its waits wake at once into ``Render update``, which answers ``fenced`` (the state machine's
``Fenced out?`` ends it). Every such step is an event on the incident's workflow timeline.
"""

from __future__ import annotations

from typing import Any

from outage_comms.workflow.services import Services
from outage_comms.workflow.timing import Clock, timing_for

#: The key a fenced step's answer carries (and ``Render update``'s, which ends the execution).
FENCED = "fenced"


def driven_elsewhere(services: Services, incident_id: str, step: str) -> str:
    """Why this execution may not act for the incident ('' when it may); recorded when it may not.

    With one engine region nothing moves an incident's claim, so no read is spent asking."""
    regions = services.plan.regions
    if regions is None or len(regions.engine_regions) < 2:
        return ""
    why = services.store.driven_elsewhere(incident_id)
    if why:
        services.store.add_event(incident_id, FENCED, f"{step}: {why}; nothing done here")
    return why


def fenced_render(services: Services, event: dict[str, Any], why: str) -> dict[str, Any]:
    """What ``Render update`` answers in an execution fenced out: nothing rendered; the last update's id
    and a complete summary, so whatever state reads it next finds its fields."""
    incident_id = str(event["incident_id"])
    services.store.add_event(incident_id, FENCED, f"Render update: {why}; nothing rendered here")
    incident = services.repository.get(incident_id)
    latest = services.store.latest_update(incident_id) or {}
    clock = Clock.from_input(event.get("clock"))
    return {
        "update_id": str(latest.get("update_id", "")),
        "scenario": str(latest.get("scenario", incident.scenario)),
        "resolved": False,
        "maintenance": incident.maintenance_phase is not None,
        "needs_approval": False,
        "blocked": 0,
        "timing": timing_for(services.plan, incident.severity, clock, incident=incident, now=services.now()),
        FENCED: True,
        "why": why,
    }
