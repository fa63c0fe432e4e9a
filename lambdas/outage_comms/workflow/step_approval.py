"""``Wait for approval`` (waitForTaskToken): the signed, expiring, single-use review link to the approver."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from outage_comms.channels.internal_chat import custom_notification
from outage_comms.drill_mode import Reach
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.approval import Reference, approvers_for, content_hash, new_request_id
from outage_comms.workflow.services import Services
from outage_comms.workflow.step_fence import FENCED, driven_elsewhere
from outage_comms.workflow.timing import MAX_REVIEW_LINK_MINUTES, Clock


def request_approval(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Store the task token server-side and send the approver a signed, expiring, single-use review link.

    The link dies no later than the task: ``entered_at`` (``$$.State.EnteredTime``) plus the task's
    ``timeout_seconds``, rounded down, so nobody approves on a page whose task already timed out.
    """
    plan = services.plan
    incident_id, update_id = str(event["incident_id"]), str(event["update_id"])
    if why := driven_elsewhere(services, incident_id, f"Wait for approval of {update_id}"):
        # Nobody is asked; the execution goes on ("not approved": nothing sent) to its end.
        services.send_task_success(str(event["token"]), {"decision": FENCED, "why": why})
        return {FENCED: True}
    role = str(event.get("role", "communications_manager"))
    update = services.store.get_update(incident_id, update_id)
    # The link's expiry is wall time, like the task's EnteredTime and the review page's check.
    wall = datetime.now(UTC)
    clock = Clock.from_input(event.get("clock"))
    expires_at = _expires_at(event, update, wall, clock)
    request_id = new_request_id()
    shown = {
        channel: {locale: dict(message["fields"]) for locale, message in by_locale.items()}
        for channel, by_locale in update["messages"].items()
    }
    services.approvals.put(
        {
            "request_id": request_id,
            "incident_id": incident_id,
            "update_id": update_id,
            "role": role,
            "task_token": str(event["token"]),
            "expires_at": expires_at,
            "allowed_principals": approvers_for(plan, role),
            "dual": plan.severity(update["severity"]).approval.dual,
            "requested_at": services.now().isoformat(),
            "content_hash": content_hash(shown),
        }
    )
    reference = services.signer().sign(Reference(request_id, incident_id, expires_at))
    link = f"{services.review_base_url.rstrip('/')}/incidents/{incident_id}/review/{reference}"
    minutes = max(1, int((expires_at - math.ceil(wall.timestamp())) // clock.seconds_per_minute))
    person = getattr(plan.roles, role)
    subject, text = _request_words(services, incident_id, update, role, link, minutes)
    services.notifier.email(person.email, subject, text)
    services.notifier.chat(
        custom_notification(
            title=subject,
            description=f"{person.chat_handle} please review: {link}",
            thread_id=incident_id,
            keywords=["approval", update["scenario"]],
        )
    )
    services.store.add_event(incident_id, "approval_requested", f"{update_id} sent to {role} ({person.name})")
    return {"request_id": request_id, "review_link": link, "expires_at": expires_at}


def _expires_at(event: dict[str, Any], update: dict[str, Any], wall: datetime, clock: Clock) -> int:
    """When the link dies: with the task, and never later than a review link may live (urgent updates)."""
    timeout_seconds = int(event["timeout_seconds"])
    summary = update["scenario"] == Scenario.POST_INCIDENT_SUMMARY.value
    # The summary is not urgent: its link lives as long as its review may take (the plan's days).
    lifetime = timeout_seconds if summary else min(timeout_seconds, clock.seconds(MAX_REVIEW_LINK_MINUTES))
    entered = datetime.fromisoformat(str(event["entered_at"])) if event.get("entered_at") else wall
    return min(math.floor(entered.timestamp() + timeout_seconds), math.ceil(wall.timestamp()) + lifetime)


def _request_words(
    services: Services, incident_id: str, update: dict[str, Any], role: str, link: str, minutes: int
) -> tuple[str, str]:
    """The request's subject (marked as the update is: a drill's says so) and text."""
    plan = services.plan
    person = getattr(plan.roles, role)
    marker = Reach.of_record(plan, update).marker
    what = update["scenario"].replace("_", " ")
    if update["scenario"] == Scenario.POST_INCIDENT_SUMMARY.value:
        subject = f"Approve the post-incident summary for {incident_id}"
        text = summary_request_text(person.name, incident_id, link, plan.post_incident.approval_timeout_days)
        text += summary_gaps_text(update.get("summary_gaps") or {})
        return marker.internal(subject, plan.default_locale), text
    escalated = role == "incident_manager"
    subject = f"{'[escalated] ' if escalated else ''}Approve the {what} update for {incident_id}"
    text = (
        f"{person.name}, customers are waiting for the {what} update of "
        f"{incident_id}. Review every message and approve, edit or reject it here (the link works once and "
        f"expires in {minutes} minute(s)):\n\n{link}\n"
    )
    return marker.internal(subject, plan.default_locale), text


def summary_request_text(name: str, incident_id: str, link: str, days: int) -> str:
    return (
        f"{name}, {incident_id} is resolved and Outage Comms drafted its customer-facing summary from what "
        "was typed when resolving (cause, fix, impact): what happened, when, what we did and what we're "
        "changing. Check every part, replace the general sentences with what you know (above all, what will "
        "change), then approve it here "
        f"(the link works once):\n\n{link}\n\nOnce approved it goes to the summary's channels and the status "
        f"page. If it is rejected, or nobody decides within {days} day(s), the incident closes without a "
        "public summary.\n"
    )


def summary_gaps_text(gaps: dict[str, list[str]]) -> str:
    """What the approver must write because nobody typed it when resolving ('' when nothing is missing)."""
    if not gaps:
        return ""
    from outage_comms.postmortem import gap_lines

    lines = [f"- {line}" for line in gap_lines(gaps)]
    return (
        "\nNobody typed these when resolving, so the draft leaves them out instead of guessing. Write them "
        "into the summary before you approve it:\n" + "\n".join(lines) + "\n"
    )
