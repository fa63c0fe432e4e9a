"""``Render update``: every message of the update rendered and guarded once, and who it reaches decided
once (:class:`outage_comms.drill_mode.Reach`), both stored on the update record for the later steps."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from outage_comms.drill_mode import Reach, reach_for
from outage_comms.feedback.messages import UpdateFeedback
from outage_comms.incident import Incident
from outage_comms.plan import Plan
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.services import Services
from outage_comms.workflow.step_fence import fenced_render
from outage_comms.workflow.store import NotDrivenHereError
from outage_comms.workflow.timing import Clock, timing_for
from outage_comms.workflow.updates import incident_fingerprint, render_update, scenario_for


def render(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Render and guard every message of this update, store them, return the update's summary."""
    incident = services.repository.get(str(event["incident_id"]))
    request = dict(event.get("update") or {})
    clock = Clock.from_input(event.get("clock"))
    scenario = scenario_for(incident, request)
    now = services.now()
    started = time.perf_counter()
    summary = request.get("summary") if scenario is Scenario.POST_INCIDENT_SUMMARY else None
    try:  # numbered only in the region that drives the incident (two regions: step_fence.py)
        number = services.store.next_update_number(incident.id)
    except NotDrivenHereError as fenced:
        return fenced_render(services, event, str(fenced))
    update_id = f"{number:03d}-{scenario.value}"  # before rendering: feedback links are signed per update
    linker = services.feedback_links()
    feedback = UpdateFeedback(linker, incident.id, update_id, now) if linker else None
    reach = reach_for(services.plan, incident)
    messages, blocked = render_update(
        services.plan, incident, scenario, now, summary=summary, feedback=feedback, reach=reach
    )
    pre_approved = bool(request.get("pre_approved"))
    record = {
        **_update_record(incident, update_id, scenario, request, now, reach),
        "seconds_per_minute": clock.seconds_per_minute,
        "messages": messages,
        "blocked": blocked,
        "pre_approved": pre_approved,
    }
    if summary:
        record["summary_text"] = summary["text"]  # the draft as plain text, per locale
        record["summary_gaps"] = summary.get("gaps") or {}  # cause / fix / impact nobody typed, per locale
    try:  # stored only while this region still drives it: a hand-back may have happened meanwhile
        services.store.put_new_update(incident.id, update_id, record)
    except NotDrivenHereError as fenced:
        return fenced_render(services, event, str(fenced))
    services.store.add_event(
        incident.id, "rendered", _rendered_text(update_id, messages, blocked, time.perf_counter() - started)
    )
    timing = timing_for(services.plan, incident.severity, clock, incident=incident, now=now)
    if scenario is Scenario.POST_INCIDENT_SUMMARY:
        timing = summary_timing(services.plan, timing, clock)
    return {
        "update_id": update_id,
        "scenario": scenario.value,
        # A completed (or cancelled) maintenance window ends its execution too; "maintenance" tells
        # the state machine it gets no post-incident summary.
        "resolved": scenario is Scenario.RESOLVED
        or (scenario is Scenario.MAINTENANCE_COMPLETED and not incident.is_open),
        "maintenance": incident.maintenance_phase is not None,
        "needs_approval": timing["approval_required"] and not pre_approved,
        "blocked": len(blocked),
        "timing": timing,
    }


def _update_record(
    incident: Incident,
    update_id: str,
    scenario: Scenario,
    request: dict[str, Any],
    now: datetime,
    reach: Reach,
) -> dict[str, Any]:
    """What the update record says about the incident, and who the update reaches (decided here, once)."""
    return {
        "update_id": update_id,
        "incident_id": incident.id,
        "scenario": scenario.value,
        "reason": request.get("holding_reason") or request.get("change") or request.get("reason", "update"),
        "severity": incident.severity,
        "components": list(incident.components),
        "audiences": list(incident.audiences),
        "fingerprint": incident_fingerprint(incident),
        "rendered_at": now.isoformat(),
        "incident_started_at": incident.started_at.isoformat(),
        # audience, marker, recipients, per-channel targets, injected failures, where links lead; and
        # "drill", which the communication SLO metrics (outage_comms/slo.py) keep apart.
        **reach.record(),
    }


def _rendered_text(
    update_id: str, messages: dict[str, dict[str, Any]], blocked: list[dict[str, Any]], seconds: float
) -> str:
    return (
        f"{update_id}: {sum(len(v) for v in messages.values())} messages, {len(blocked)} blocked by the "
        f"guard ({seconds * 1000:.0f} ms)"
        + "".join(
            f"; {b['channel']}/{b['locale']} {'fallback text sent' if b.get('fallback') else 'not sent'}: "
            f"{b['reasons'][0][:200]}"
            for b in blocked
        )
    )


def summary_timing(plan: Plan, timing: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """The post-incident summary always waits for approval, for the plan's days; never escalated."""
    return {
        **timing,
        "approval_required": True,
        "approval_timeout_seconds": clock.seconds(plan.post_incident.approval_timeout_days * 24 * 60),
        "on_approval_timeout": "close_without_summary",
    }
