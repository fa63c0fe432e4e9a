"""Render one update: every message for scenario x enabled channel x locale, guarded at run time.

The audience is not a template dimension: the same words go to every audience of the incident,
and the channels route by audience (SNS message attributes, subscriber lists). A message that
fails the guard (identifiers, jargon, channel limits) or cannot be rendered is *blocked*: it is
kept for the review page with the reasons, and never sent.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from outage_comms.channel_markup import active_markup, neutralise
from outage_comms.drill_mode import Marker, Reach, linked_plan, reach_for
from outage_comms.feedback.messages import UpdateFeedback, with_feedback
from outage_comms.guard import LIMITS, Finding, guard_message
from outage_comms.incident import Incident
from outage_comms.leaks import redact_credentials
from outage_comms.plan import Plan
from outage_comms.rendering import (
    DEFAULT_TEMPLATES_DIR,
    RenderedMessage,
    TemplateProblem,
    UpdateFacts,
    build_context,
    channel_context,
    render_message,
)
from outage_comms.vocabulary import (
    CHANNEL_FORMAT,
    INTERNAL_FORMATS,
    SCENARIOS_WITHOUT_NEXT_UPDATE,
    Channel,
    MessageFormat,
    Scenario,
)

#: ``holding_reason`` values: the workflow itself asks for the holding update (nothing new is known).
HOLDING_REASONS = frozenset({"missed_cadence", "approval_timeout"})

_CHAT_BODY_MAX = LIMITS[(MessageFormat.CHAT, "body")][0]

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


_RESOLVED_IMPACT = {
    "en": "{components} did not work normally for some customers",
    "pt": "{components} não funcionou normalmente para alguns clientes",
}


def resolved_impact(plan: Plan, incident: Incident) -> dict[str, str]:
    """What customers noticed, in the past tense: the resolve's typed ``impact``, else a plain sentence
    naming the affected components (never the last progress note: "We found the cause" is not an impact)."""
    impact = {}
    for code in plan.locale_codes:
        typed = incident.resolution_details.text("impact", code).rstrip(".")
        title = incident.public_title.get(code) or incident.public_title.get(plan.default_locale, "")
        template = _RESOLVED_IMPACT["pt" if code.startswith("pt") else "en"]
        impact[code] = typed or template.format(components=title)
    return impact


def resolve_note(incident: Incident) -> dict[str, str] | None:
    """The words the person resolving wrote for customers (the resolve's own note), if any."""
    for entry in reversed(incident.timeline):
        if entry.kind == "resolved":
            return dict(entry.public_note) or None
    return None


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
    resolved = scenario is Scenario.RESOLVED
    return UpdateFacts(
        component_ids=list(incident.components),
        severity_id=incident.severity,
        impact=resolved_impact(plan, incident) if resolved else impact_text(plan, incident),
        update=resolve_note(incident) if resolved else None,
        resolution=incident.resolution_details.model_dump() if resolved else None,
        started_at=incident.started_at,
        now=now,
        incident_id=incident.id,
        internal_title=incident.internal_title,
        next_update_at=None
        if scenario in SCENARIOS_WITHOUT_NEXT_UPDATE
        else _scheduled_update_at(plan, incident, now)
        or promised_by(now + timedelta(minutes=severity.cadence_minutes)),
        resolved_at=(incident.resolved_at or now) if scenario is Scenario.RESOLVED else None,
        maintenance_starts_at=incident.scheduled_for,
        maintenance_ends_at=incident.scheduled_until,
        maintenance_cancelled=incident.maintenance_phase == "cancelled",
    )


#: A promised next-update time is a round one: 14:35, not 14:31:07 (the cadence, rounded up to this).
PROMISE_STEP_MINUTES = 5


def promised_by(moment: datetime) -> datetime:
    """``moment`` rounded up to the next :data:`PROMISE_STEP_MINUTES`: a time people can hold us to."""
    step = PROMISE_STEP_MINUTES * 60
    return datetime.fromtimestamp(math.ceil(moment.timestamp() / step) * step, tz=moment.tzinfo)


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
    reach: Reach | None = None,
) -> tuple[dict[str, dict[str, dict[str, Any]]], list[dict[str, Any]]]:
    """``(messages, blocked)``: messages[channel][locale] = {"fields": ..., "html"?}; blocked lists why.

    Every message of every severity passes the guard here, auto-sent ones too. A customer message
    the guard blocks is rendered again with the plan's ``guard.fallback`` sentence in place of the
    team's words; if that passes it is sent (and listed in ``blocked`` with ``"fallback": true``),
    else nothing is sent for that channel and locale. The team's chat hears which and why.

    ``reach`` (who the update reaches: :func:`outage_comms.drill_mode.reach_for` when not given) says
    how every message is marked and where its links lead (a drill's to the drill page).
    """
    reach = reach or reach_for(plan, incident)
    site = linked_plan(plan, reach.site_url)
    facts = facts_for(plan, incident, scenario, now, summary)
    messages: dict[str, dict[str, dict[str, Any]]] = {}
    blocked: list[dict[str, Any]] = []
    for locale in plan.locale_codes:
        # A drill's links lead to the drill page (under drill/), never to the public incident page.
        context = build_context(site, facts, locale)
        for channel in plan.channels_for(scenario):
            render = _Renderer(plan, reach.marker, scenario, channel, locale, templates_dir, feedback)
            message, problem = render(context)
            if message is None:
                blocked.append({"channel": channel.value, "locale": locale, "reasons": [problem]})
                continue
            findings = guard_message(plan, message, channel)  # the channel's own post rule
            if not findings:
                messages.setdefault(channel.value, {})[locale] = message_record(message)
                continue
            entry = _blocked_entry(channel, locale, message, findings)
            replacement = _fallback(plan, render, context, locale)
            if replacement is not None:
                entry["fallback"] = True
                entry["reasons"].append("sent the plan's fallback text (guard.fallback) instead")
                messages.setdefault(channel.value, {})[locale] = message_record(replacement)
            blocked.append(entry)
    _tell_the_team(plan, messages, blocked)
    return messages, blocked


class _Renderer:
    """One channel and locale: template -> the update's marker -> feedback links, escaped for the channel."""

    def __init__(
        self,
        plan: Plan,
        marker: Marker,
        scenario: Scenario,
        channel: Channel,
        locale: str,
        templates_dir: Path,
        feedback: UpdateFeedback | None,
    ) -> None:
        self.plan, self.marker, self.scenario = plan, marker, scenario
        self.channel, self.locale = channel, locale
        self.templates_dir, self.feedback = templates_dir, feedback

    def __call__(self, context: dict[str, Any]) -> tuple[RenderedMessage | None, str]:
        try:
            message = render_message(
                scenario=self.scenario,
                fmt=CHANNEL_FORMAT[self.channel],
                locale=self.locale,
                context=channel_context(context, self.channel),
                templates_dir=self.templates_dir,
            )
        except TemplateProblem as problem:
            return None, str(problem)
        message = self.marker.message(message)  # a drill's marker counts against limits
        message = with_feedback(self.plan, message, self.channel, self.feedback)  # "Was this helpful?" links
        if message.format in INTERNAL_FORMATS:  # the team's own words: a credential is removed, not sent
            fields = {name: redact_credentials(value) for name, value in message.fields.items()}
            message = replace(message, fields=fields)
        return message, ""


def _blocked_entry(
    channel: Channel, locale: str, message: RenderedMessage, findings: list[Finding]
) -> dict[str, Any]:
    """What the review page and the team see: the reasons, and the words with any credential removed."""
    return {
        "channel": channel.value,
        "locale": locale,
        "reasons": [f.message for f in findings],
        "fields": {name: redact_credentials(value) for name, value in message.fields.items()},
    }


def _fallback(plan: Plan, render: _Renderer, context: dict[str, Any], locale: str) -> RenderedMessage | None:
    """The message again with the plan's fallback sentence for the team's words, if that passes."""
    text = (plan.guard.fallback or {}).get(locale) or (plan.guard.fallback or {}).get(plan.default_locale)
    if not text or CHANNEL_FORMAT[render.channel] in INTERNAL_FORMATS:
        return None
    safe = dict(context) | {"impact": text, "update": None, "eta": None, "workaround": None}
    message, _ = render(safe)
    if message is None or guard_message(plan, message, render.channel):
        return None
    return message


def _tell_the_team(
    plan: Plan, messages: dict[str, dict[str, dict[str, Any]]], blocked: list[dict[str, Any]]
) -> None:
    """Add what the guard blocked, and why, to the team's chat messages (the first thing they read)."""
    if not blocked:
        return
    lines = ["", "*Blocked by the guard:*"]
    for entry in blocked:
        outcome = "sent the plan's fallback text instead" if entry.get("fallback") else "not sent"
        reasons = "; ".join(r for r in entry["reasons"] if not r.startswith("sent the plan's fallback"))
        lines.append(f"- {entry['channel']} ({entry['locale']}), {outcome}: {reasons}")
    for channel in (Channel.CHATBOT, Channel.SLACK, Channel.TEAMS):
        for record in messages.get(channel.value, {}).values():
            notice = neutralise(channel, "\n".join(lines[1:]))
            body = record["fields"].get("body", "")
            record["fields"]["body"] = f"{body}\n\n{notice}"[:_CHAT_BODY_MAX]


def guard_edited(
    plan: Plan, scenario: Scenario, channel: Channel, locale: str, fields: dict[str, str]
) -> list[str]:
    """The guard's findings for text a reviewer edited (edits pass the same checks as templates)."""
    message = RenderedMessage(scenario=scenario, format=CHANNEL_FORMAT[channel], locale=locale, fields=fields)
    findings = [f.message for f in guard_message(plan, message, channel)]
    # Edits are not escaped like the team's notes: they may add no mention and no disguised link.
    findings += [
        f"adds {what}; write it as plain words" for what in active_markup(channel, "\n".join(fields.values()))
    ]
    return findings
