"""Put public updates into words: the plan's ``status_page`` and ``in_app`` templates, per locale.

The same sandboxed, ``StrictUndefined`` rendering as every other channel, with each template
compiled once per process (rebuilding a site renders thousands of updates).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from outage_comms.drill_mode import marker_of
from outage_comms.incident import Incident
from outage_comms.plan import Plan
from outage_comms.rendering import UpdateFacts, build_context, join_names, template_sources
from outage_comms.status.model import (
    ComponentStatus,
    PublicUpdate,
    component_status_for,
    severity_of,
    without_feedback_links,
)
from outage_comms.vocabulary import SCENARIOS_WITHOUT_NEXT_UPDATE, MessageFormat, Scenario


@functools.lru_cache(maxsize=4)
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )


@functools.lru_cache(maxsize=1024)
def _compiled(
    templates_dir: Path, locale: str, scenario: Scenario, fmt: MessageFormat
) -> dict[str, Template]:
    sources = template_sources(templates_dir, locale, scenario, fmt)
    return {name: _environment().from_string(source) for name, source in sources.items()}


def tidy(text: str) -> str:
    """Trim lines and collapse runs of blank lines, as the channel renderer does."""
    out: list[str] = []
    for line in (raw.rstrip() for raw in text.strip().splitlines()):
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out)


def paragraphs(text: str) -> list[list[str]]:
    """Body text as paragraphs of lines (blank line = new paragraph), for HTML without markup in data."""
    return [block.split("\n") for block in text.split("\n\n") if block.strip()]


@dataclass(frozen=True, slots=True)
class Words:
    title: str
    body: str


def _title(update: PublicUpdate, locale: str) -> str:
    """A title for words sent without one (the in-app words' title, else the first line)."""
    other = update.in_app.get(locale) or update.text.get(locale)
    if other is not None and other.title:
        return other.title
    return (update.text.get(locale) or update.in_app[locale]).body.split("\n", 1)[0][:120]


def impact_phrase(
    plan: Plan, strings: Mapping[str, Mapping[str, Any]], incident: Incident, scenario: Scenario
) -> dict[str, str]:
    """What customers cannot do, per locale, from the plan's public component names."""
    status = component_status_for(plan, incident, scenario)
    if scenario in (Scenario.MAINTENANCE_SCHEDULED, Scenario.MAINTENANCE_COMPLETED):
        status = ComponentStatus.UNDER_MAINTENANCE
    phrases: dict[str, str] = {}
    for code in plan.locale_codes:
        names = [
            component.name.get(code) or component.name[plan.default_locale]
            for component in plan.components
            if component.id in incident.components
        ]
        phrases[code] = str(strings[code]["impact"][status.value]).format(components=join_names(names, code))
    return phrases


def render_update(
    *,
    plan: Plan,
    strings: Mapping[str, Mapping[str, Any]],
    incident: Incident,
    update: PublicUpdate,
    locale: str,
    fmt: MessageFormat,
    next_update: datetime | None,
    templates_dir: Path,
) -> Words:
    """One update's title and body in one locale: the published words, else the plan's generic words.

    Published words (``update.text`` for the status page, ``update.in_app`` for the banner) are
    shown exactly as they were sent. Without them, the ``fmt`` template of the scenario renders
    the status from public facts only (component names, times), never from a person's note.
    """
    sent = (update.in_app if fmt is MessageFormat.IN_APP else update.text).get(locale)
    if sent is not None:
        return Words(title=sent.title or _title(update, locale), body=sent.body)
    scenario = update.scenario
    if scenario is Scenario.POST_INCIDENT_SUMMARY:
        scenario = Scenario.RESOLVED  # the summary's cause/fix/prevention are not on the incident record
    if scenario not in plan.scenarios:
        scenario = Scenario.RESOLVED if update.status in ("resolved", "completed") else Scenario.INVESTIGATING
    severity = severity_of(plan, incident.severity)
    if scenario not in SCENARIOS_WITHOUT_NEXT_UPDATE and next_update is None:
        next_update = update.at + timedelta(minutes=severity.cadence_minutes)
    starts = incident.scheduled_for or incident.started_at
    facts = UpdateFacts(
        component_ids=[c.id for c in plan.components if c.id in incident.components],
        severity_id=severity.id,
        impact=impact_phrase(plan, strings, incident, scenario),
        started_at=incident.started_at,
        now=update.at,
        incident_id=incident.id,
        next_update_at=None if scenario in SCENARIOS_WITHOUT_NEXT_UPDATE else next_update,
        update=None,  # generic words: a person's note is public only inside a published update
        resolved_at=incident.resolved_at
        or (update.at if update.status in ("resolved", "completed") else None),
        maintenance_starts_at=starts,
        maintenance_ends_at=incident.scheduled_until or starts,
        maintenance_cancelled=incident.maintenance_phase == "cancelled",
    )
    context = build_context(plan, facts, locale)
    templates = _compiled(templates_dir, locale, scenario, fmt)
    rendered = {
        name: tidy(without_feedback_links(plan, template.render(**context)))
        for name, template in templates.items()
    }
    # Marked as the incident's updates are (a drill's, only ever on the drill page; nothing else)
    rendered = marker_of(plan, incident).fields(fmt, locale, rendered)
    return Words(title=rendered["title"], body=rendered["body"])
