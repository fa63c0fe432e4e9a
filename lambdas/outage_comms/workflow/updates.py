"""Render one update: every message for scenario x enabled channel x locale, guarded at run time.

The audience is not a template dimension: the same words go to every audience of the incident,
and the channels route by audience (SNS message attributes, subscriber lists). A message that
fails the guard (identifiers, jargon, channel limits) or cannot be rendered is *blocked*: it is
kept for the review page with the reasons, and never sent.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from outage_comms.drill_mode import drill_site_plan, mark_message
from outage_comms.feedback.messages import UpdateFeedback, with_feedback
from outage_comms.guard import guard_message
from outage_comms.incident import Incident
from outage_comms.plan import Plan
from outage_comms.rendering import (
    DEFAULT_TEMPLATES_DIR,
    RenderedMessage,
    TemplateProblem,
    UpdateFacts,
    build_context,
    render_message,
)
from outage_comms.vocabulary import CHANNEL_FORMAT, SCENARIOS_WITHOUT_NEXT_UPDATE, Channel, Scenario

#: ``holding_reason`` values: the workflow itself asks for the holding update (nothing new is known).
HOLDING_REASONS = frozenset({"missed_cadence", "approval_timeout"})

_DEFAULT_IMPACT = {
    "en": "There is a problem with {components}",
    "pt": "Estamos com um problema em {components}",
}


def incident_fingerprint(incident: Incident) -> str:
    """What customers would hear about changes iff this changes."""
    facts = [
        incident.status,
        incident.scenario,
        incident.severity,
        list(incident.components),
        incident.public_note,
    ]
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def scenario_for(incident: Incident, request: dict[str, Any]) -> Scenario:
    if request.get("holding_reason") in HOLDING_REASONS:
        return Scenario.HOLDING_UPDATE
    if request.get("post_incident_summary"):
        return Scenario.POST_INCIDENT_SUMMARY  # drafted by outage_comms.postmortem after resolution
    if incident.status == "resolved" and incident.scenario not in (
        Scenario.MAINTENANCE_COMPLETED,
        Scenario.POST_INCIDENT_SUMMARY,
    ):
        return Scenario.RESOLVED
    return Scenario(incident.scenario)


def impact_text(plan: Plan, incident: Incident) -> dict[str, str]:
    """A person's words when there are any, else a plain sentence naming the affected components."""
    impact = {}
    for code in plan.locale_codes:
        note = (incident.public_note.get(code) or "").strip().rstrip(".")
        if note:
            impact[code] = note
        else:
            template = _DEFAULT_IMPACT["pt" if code.startswith("pt") else "en"]
            title = incident.public_title.get(code) or incident.public_title.get(plan.default_locale, "")
            impact[code] = template.format(components=title)
    return impact


def facts_for(
    plan: Plan, incident: Incident, scenario: Scenario, now: datetime, summary: dict[str, Any] | None = None
) -> UpdateFacts:
    """``summary``: the post-incident summary's draft (``SummaryDraft.as_update``), for that scenario."""
    severity = plan.severity(incident.severity)
    if scenario is Scenario.POST_INCIDENT_SUMMARY and summary:
        return UpdateFacts(
            component_ids=list(incident.components),
            severity_id=incident.severity,
            impact=dict(summary["impact"]),
            started_at=incident.started_at,
            now=now,
            incident_id=incident.id,
            internal_title=incident.internal_title,
            resolved_at=incident.resolved_at or datetime.fromisoformat(summary["resolved_at"]),
            summary=dict(summary["facts"]),
        )
    return UpdateFacts(
        component_ids=list(incident.components),
        severity_id=incident.severity,
        impact=impact_text(plan, incident),
        started_at=incident.started_at,
        now=now,
        incident_id=incident.id,
        internal_title=incident.internal_title,
        next_update_at=None
        if scenario in SCENARIOS_WITHOUT_NEXT_UPDATE
        else _scheduled_update_at(plan, incident, now) or now + timedelta(minutes=severity.cadence_minutes),
        resolved_at=(incident.resolved_at or now) if scenario is Scenario.RESOLVED else None,
        maintenance_starts_at=incident.scheduled_for,
        maintenance_ends_at=incident.scheduled_until,
        maintenance_cancelled=incident.maintenance_phase == "cancelled",
    )


def _scheduled_update_at(plan: Plan, incident: Incident, now: datetime) -> datetime | None:
    """A maintenance window's next scheduled notification: what its messages promise, not the cadence."""
    if incident.maintenance_phase is None:
        return None
    from outage_comms.maintenance import next_announced_at

    return next_announced_at(plan, incident, now)


def message_record(message: RenderedMessage) -> dict[str, Any]:
    record: dict[str, Any] = {"fields": dict(message.fields)}
    if message.html:
        record["html"] = message.html
    return record


def render_update(
    plan: Plan,
    incident: Incident,
    scenario: Scenario,
    now: datetime,
    templates_dir: Path = DEFAULT_TEMPLATES_DIR,
    summary: dict[str, Any] | None = None,
    feedback: UpdateFeedback | None = None,
) -> tuple[dict[str, dict[str, dict[str, Any]]], list[dict[str, Any]]]:
    """``(messages, blocked)``: messages[channel][locale] = {"fields": ..., "html"?}; blocked lists why."""
    facts = facts_for(plan, incident, scenario, now, summary)
    messages: dict[str, dict[str, dict[str, Any]]] = {}
    blocked: list[dict[str, Any]] = []
    for locale in plan.locale_codes:
        # A drill's links lead to the drill page (under drill/), never to the public incident page.
        context = build_context(drill_site_plan(plan) if incident.drill else plan, facts, locale)
        for channel in plan.channels_for(scenario):
            try:
                message = render_message(
                    scenario=scenario,
                    fmt=CHANNEL_FORMAT[channel],
                    locale=locale,
                    context=context,
                    templates_dir=templates_dir,
                )
            except TemplateProblem as problem:
                blocked.append({"channel": channel.value, "locale": locale, "reasons": [str(problem)]})
                continue
            message = mark_message(plan, incident, message)  # a drill's marker counts against the limits
            message = with_feedback(plan, message, channel, feedback)  # "Was this update helpful?" links
            findings = guard_message(plan, message, channel)  # the channel's own post rule
            if findings:
                blocked.append(
                    {
                        "channel": channel.value,
                        "locale": locale,
                        "reasons": [f.message for f in findings],
                        "fields": dict(message.fields),
                    }
                )
                continue
            messages.setdefault(channel.value, {})[locale] = message_record(message)
    return messages, blocked


def guard_edited(
    plan: Plan, scenario: Scenario, channel: Channel, locale: str, fields: dict[str, str]
) -> list[str]:
    """The guard's findings for text a reviewer edited (edits pass the same checks as templates)."""
    message = RenderedMessage(scenario=scenario, format=CHANNEL_FORMAT[channel], locale=locale, fields=fields)
    return [f.message for f in guard_message(plan, message, channel)]
