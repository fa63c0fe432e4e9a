"""``Wait for next update`` (waitForTaskToken), and the reminder, escalation and "held" notices."""

from __future__ import annotations

from typing import Any

from outage_comms.channels.internal_chat import custom_notification
from outage_comms.drill_mode import reach_for
from outage_comms.workflow.services import Services
from outage_comms.workflow.step_fence import FENCED, driven_elsewhere
from outage_comms.workflow.updates import incident_fingerprint


def await_update(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Leave the task token where intake finds it; if the incident changed meanwhile, wake up at once."""
    incident_id, token = str(event["incident_id"]), str(event["token"])
    if why := driven_elsewhere(services, incident_id, "Wait for next update"):
        # Never store this token (it would take the new owner's place) nor wait: on to the end.
        services.send_task_success(token, {FENCED: True, "reason": FENCED, "why": why})
        return {"waiting": False, FENCED: True}
    services.repository.set_update_token(incident_id, token)
    latest = services.store.latest_update(incident_id)
    incident = services.repository.get(incident_id)
    changed = latest is not None and latest.get("fingerprint") != incident_fingerprint(incident)
    if changed and services.repository.take_update_token(incident_id) == token:
        services.send_task_success(token, {"reason": "changed_while_busy"})
        return {"waiting": False}
    return {"waiting": True}


def notice(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Remind the communications manager, escalate to the incident manager, or say messages are held."""
    plan = services.plan
    incident_id, kind = str(event["incident_id"]), str(event["kind"])
    if driven_elsewhere(services, incident_id, f"notice ({kind})"):
        # Nobody is told, and the token (the new owner's now) is left alone.
        return {"holding_reason": "missed_cadence", FENCED: True} if kind == "escalation" else {"kind": kind}
    if kind in ("reminder", "escalation"):
        # The wait that stored the token timed out: intake must not deliver to a dead token.
        services.repository.take_update_token(incident_id)
    roles = plan.roles
    person = roles.communications_manager if kind == "reminder" else roles.incident_manager
    texts = {
        "reminder": (
            f"Customer update due for {incident_id}",
            f"{person.chat_handle} the next customer update for {incident_id} is due now. Post it through "
            "the API or CLI; if nothing is new, say so: a holding update keeps the promise.",
        ),
        "escalation": (
            f"[escalated] Customer update missed for {incident_id}",
            f"{person.chat_handle} the customer update for {incident_id} was missed even after a reminder. "
            "Outage Comms now offers the holding update for approval.",
        ),
        "held": (
            f"External messages held for {incident_id}",
            f"The update {event.get('update_id', '')} for {incident_id} was not approved "
            f"({event.get('why', 'held')}); customers were not told. Post a new update when ready.",
        ),
    }
    title, text = texts[kind]
    title = reach_for(plan, services.repository.get(incident_id)).marker.internal(title, plan.default_locale)
    services.notifier.chat(
        custom_notification(title=title, description=text, thread_id=incident_id, keywords=[kind])
    )
    services.notifier.email(person.email, title, text)
    services.store.add_event(incident_id, kind, title)
    if kind == "escalation":
        return {"holding_reason": "missed_cadence"}
    return {"kind": kind}
