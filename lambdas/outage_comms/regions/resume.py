"""The execution a new owner starts: where the incident-comms state machine picks an incident up.

When the standby takes an incident (``regions/engine.py``), the primary's execution can no longer
send (its region is down, and the fence refuses its deliveries even if it comes back). The standby
starts an execution of *its own* state machine with :func:`resume_input` as the input. The
definition (``stacks/constructs/incident_workflow.py``) sees ``$.resume``, claims the incident for
the new execution (the same ``Register incident`` function) and enters it at the state the
incident's last recorded step calls for (:class:`Route`):

- ``wait``: the last update reached customers (or the last one was rejected / held): wait for the
  next update with the *remaining* time until it is due (``timing.cadence_seconds``), then remind and
  escalate as usual. An update posted meanwhile wakes the wait at once (``await_update``).
- ``approve``: an update was rendered and waits for approval: request it again with a fresh link
  (the old link's task token belonged to the dead region's execution).
- ``deliver``: an update was approved (or needs no approval) and was going out: fan it out again;
  the delivery ledger (fenced to the new owner) skips every channel it already reached. Also an update
  that reached customers but whose later steps may not have run (its words not yet on the incident, or
  it was the resolution or the post-incident summary: the summary and the release come after it).
- ``render``: nothing was rendered yet: render the first update.

``$.render`` carries what the states after the entry point read (update id, scenario, timing), as
the ``Render update`` step returns it. Sending twice is prevented by the ledger, not by the route.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from outage_comms.incident import Incident
from outage_comms.plan import Plan
from outage_comms.regions.failover import ResumePoint
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.store import WorkflowStore
from outage_comms.workflow.timing import Clock, timing_for


class Route(StrEnum):
    WAIT = "wait"
    APPROVE = "approve"
    DELIVER = "deliver"
    RENDER = "render"


def execution_name(incident_id: str, epoch: int) -> str:
    """One resumed execution per move of ownership: a retried failover starts it once."""
    return f"{incident_id}-resume-{epoch}"[:80]


def resume_input(
    plan: Plan,
    incident: Incident,
    store: WorkflowStore,
    point: ResumePoint,
    *,
    now: datetime,
    from_region: str,
    epoch: int,
) -> dict[str, Any]:
    """The resumed execution's input: ``incident_id``, ``clock``, ``resume``, and ``render`` (the update
    the route continues) or, for ``render``, ``update`` (what to render)."""
    latest = store.latest_update(incident.id)
    clock = Clock.from_input(
        {"seconds_per_minute": float(latest["seconds_per_minute"])}
        if latest and latest.get("seconds_per_minute")
        else None
    )
    route, update = _route(plan, incident, latest, point)
    resume = {
        "route": route.value,
        "from_region": from_region,
        "epoch": epoch,
        **point.as_dict(),
    }
    payload: dict[str, Any] = {"incident_id": incident.id, "clock": clock.model_dump(), "resume": resume}
    if route is Route.RENDER:
        payload["update"] = {"change": "opened"}
        return payload
    assert update is not None
    timing = timing_for(plan, incident.severity, clock, incident=incident, now=now)
    if update.get("scenario") == Scenario.POST_INCIDENT_SUMMARY.value:
        from outage_comms.workflow.step_render import summary_timing  # the renderer's, loaded only here

        timing = summary_timing(plan, timing, clock)  # its review takes the plan's days, as at render
    if route is Route.WAIT:
        remaining = (point.next_update_due - now).total_seconds() / 60.0
        timing["cadence_seconds"] = clock.seconds(max(0.0, remaining))
    payload["render"] = render_summary(plan, incident, update, timing)
    return payload


def _route(
    plan: Plan, incident: Incident, latest: dict[str, Any] | None, point: ResumePoint
) -> tuple[Route, dict[str, Any] | None]:
    if latest is None:
        return Route.RENDER, None
    if point.reapprove_update is None or point.reapprove_update != latest.get("update_id"):
        if point.last_sent_update == latest.get("update_id") and _unfinished(incident, latest):
            # It reached customers, but the old owner may have stopped before the steps after the
            # fan-out: finish them (the ledger sends nothing again) and go on from there.
            return Route.DELIVER, latest
        return Route.WAIT, latest
    approval = latest.get("approval") or {}
    needs = plan.severity(str(latest.get("severity", incident.severity))).approval.required
    if (
        (approval.get("decision") == "approved" and approval.get("sent"))
        or latest.get("pre_approved")
        or not needs
    ):
        return Route.DELIVER, latest
    return Route.APPROVE, latest


def _unfinished(incident: Incident, sent: dict[str, Any]) -> bool:
    """A sent update whose later steps a new owner must run: its words are not on the incident yet
    (``Record published words``), or it ended the incident (the summary and the release come next)."""
    scenario = str(sent.get("scenario", ""))
    if scenario in (Scenario.RESOLVED.value, Scenario.POST_INCIDENT_SUMMARY.value):
        return True
    return not any(p.update_id == sent.get("update_id") for p in incident.published)


def render_summary(
    plan: Plan, incident: Incident, update: dict[str, Any], timing: dict[str, Any]
) -> dict[str, Any]:
    """What ``Render update`` returned for ``update`` (the states after it read ``$.render``)."""
    scenario = str(update.get("scenario", incident.scenario))
    return {
        "update_id": str(update["update_id"]),
        "scenario": scenario,
        "resolved": scenario == Scenario.RESOLVED.value
        or (scenario == Scenario.MAINTENANCE_COMPLETED.value and not incident.is_open),
        "maintenance": incident.maintenance_phase is not None,
        "needs_approval": bool(timing["approval_required"]) and not update.get("pre_approved"),
        "blocked": len(update.get("blocked") or []),
        "timing": timing,
    }
