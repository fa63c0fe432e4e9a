"""After resolution: draft the post-incident summary, record it as the postmortem, release the incident."""

from __future__ import annotations

from typing import Any

from outage_comms.channels.internal_chat import custom_notification
from outage_comms.drill_mode import reach_for
from outage_comms.incident import IncidentSource, TimelineEntry
from outage_comms.ports import ConcurrentUpdateError
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.services import Services
from outage_comms.workflow.step_deliver import record_published
from outage_comms.workflow.step_fence import FENCED, driven_elsewhere


def draft_summary(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Draft the customer-facing summary of a resolved incident (maintenance gets none).

    Returns what ``Render update`` takes as ``update``: ``post_incident_summary`` says whether there
    is a summary to render and approve.
    """
    from outage_comms.postmortem import draft_summary as drafted_from
    from outage_comms.postmortem import feedback_counts, guard_draft
    from outage_comms.status.model import is_maintenance

    plan = services.plan
    incident_id = str(event["incident_id"])
    if driven_elsewhere(services, incident_id, "Draft post-incident summary"):
        return {"post_incident_summary": False, "reason": FENCED}
    incident = services.repository.get(incident_id)
    if is_maintenance(incident):
        services.store.add_event(incident_id, "summary_skipped", "maintenance gets no post-incident summary")
        return {"post_incident_summary": False, "reason": "maintenance"}
    try:
        counts = feedback_counts(services.feedback_tally, incident_id)
    except Exception as error:  # a failing tally never keeps the summary from being written
        services.store.add_event(incident_id, "summary_feedback_unavailable", f"{type(error).__name__}")
        counts = None
    draft = drafted_from(plan, incident, services.now(), feedback=counts)
    findings = guard_draft(plan, draft)
    services.store.add_event(
        incident_id,
        "summary_drafted",
        f"post-incident summary drafted in {', '.join(plan.locale_codes)}; impact "
        f"{draft.window.duration.total_seconds() / 60:.0f} min; feedback "
        + ("not configured" if counts is None else f"{counts.get('yes', 0)} yes / {counts.get('no', 0)} no")
        + "".join(f"; {locale} asks for {', '.join(parts)}" for locale, parts in draft.gaps.items())
        + (f"; guard: {'; '.join(f.message for f in findings)}" if findings else ""),
    )
    return {
        "post_incident_summary": True,
        "reason": "post_incident_summary",
        "summary": draft.as_update(plan),
    }


def record_postmortem(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """The approved summary becomes the incident's ``postmortem`` (the status page's words, per locale).

    ``Record published words`` (after the fan-out of any other update) runs on this function too,
    with ``"record": "published"``: the same rights, on the same incident record.
    """
    if event.get("record") == "published":
        return record_published(event, services)
    plan = services.plan
    incident_id, update_id = str(event["incident_id"]), str(event["update_id"])
    if driven_elsewhere(services, incident_id, f"Record postmortem {update_id}"):
        return {"postmortem_locales": [], FENCED: True}
    update = services.store.get_update(incident_id, update_id)
    approval = update.get("approval") or {}
    final = approval.get("final_messages") or update["messages"]
    status_words = {locale: m["fields"]["body"] for locale, m in (final.get("status_page") or {}).items()}
    drafted = update.get("summary_text") or {}
    postmortem = {
        locale: status_words.get(locale) or drafted.get(locale, "")
        for locale in plan.locale_codes
        if status_words.get(locale) or drafted.get(locale)
    }
    approvers = [str(a) for a in approval.get("approvers", [])]
    now = services.now()
    entry = TimelineEntry(
        at=now,
        kind="postmortem",
        text=f"post-incident summary {update_id} published in {', '.join(postmortem)}",
        source=IncidentSource(type="human", reference=approvers[0] if approvers else "outage-comms"),
        event_id=f"postmortem-{update_id}",
    )
    for _ in range(3):
        incident = services.repository.get(incident_id)
        if entry.event_id in incident.event_ids:
            break  # a retried invocation: already recorded
        published = incident.with_entry(entry, postmortem=postmortem, postmortem_published_at=now)
        try:
            services.repository.replace_head(published, incident.version)
        except ConcurrentUpdateError:
            continue
        break
    else:
        raise ConcurrentUpdateError(f"{incident_id} kept changing while its postmortem was recorded")
    services.store.add_event(
        incident_id, "postmortem", f"{update_id} is the incident's postmortem ({', '.join(postmortem)})"
    )
    return {"postmortem_locales": sorted(postmortem)}


def resolve(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """``Release incident``: tell the team how the post-incident summary ended; release the incident.

    Published, rejected, not approved in time, or none (maintenance): the one execution that spoke
    for the incident gives up its claim only now, after the summary's approval gate.
    """
    plan = services.plan
    incident_id = str(event["incident_id"])
    incident = services.repository.get(incident_id)
    if driven_elsewhere(services, incident_id, "Release incident"):
        # The owner's execution tells the team and releases the claim (this one holds none).
        return {"incident_id": incident.id, "status": incident.status, "summary": FENCED}
    latest = services.store.latest_update(incident_id) or {}
    person = plan.roles.communications_manager
    approval = latest.get("approval") or {}
    days = plan.post_incident.approval_timeout_days
    if incident.postmortem_published_at is not None:
        outcome = "published"
        text = (
            f"{person.chat_handle} the post-incident summary of {incident_id} is published: it went to "
            "its channels and is the incident's postmortem on the status page."
        )
    elif latest.get("scenario") != Scenario.POST_INCIDENT_SUMMARY.value:
        outcome = "none"
        text = f"{person.chat_handle} {incident_id} is closed. Maintenance gets no post-incident summary."
    elif approval.get("decision") == "rejected":
        outcome = "rejected"
        text = (
            f"{person.chat_handle} the post-incident summary of {incident_id} was rejected by "
            f"{', '.join(approval.get('approvers', [])) or 'the approver'}. The incident is closed without "
            "a public summary; customers were not sent one."
        )
    else:
        outcome = "not_approved"
        text = (
            f"{person.chat_handle} nobody approved the post-incident summary of {incident_id} within {days} "
            "day(s). The incident is closed without a public summary; customers were not sent one."
        )
    said = {"published": "published", "none": "none (maintenance)", "rejected": "rejected"}
    title = reach_for(plan, incident).marker.internal(
        f"{incident_id} closed: post-incident summary {said.get(outcome, 'not approved in time')}",
        plan.default_locale,
    )
    services.notifier.email(person.email, title, text)
    services.notifier.chat(
        custom_notification(title=title, description=text, thread_id=incident_id, keywords=["summary"])
    )
    services.store.add_event(incident_id, "summary_task", title)
    services.store.release(incident_id, str(event["execution_arn"]))
    return {"incident_id": incident.id, "status": incident.status, "summary": outcome}
