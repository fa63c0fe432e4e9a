"""The public view of incidents: Statuspage's vocabulary, derived from the plan and the incidents.

Everything here is built only from public inputs: the plan's public names, the incident's
status/scenario/severity/times and the words that were approved and sent (``Incident.published``).
Notes people wrote, internal titles, timeline texts and source references (alarm names, ARNs)
are never read: a note reaches the site only inside an update that was approved and sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from outage_comms.guard import find_identifiers
from outage_comms.incident import IMPACT_RANK, Incident, PublishedWords
from outage_comms.plan import Plan, Severity
from outage_comms.vocabulary import Impact, Scenario

MAINTENANCE_SCENARIOS = frozenset(
    {Scenario.MAINTENANCE_SCHEDULED, Scenario.MAINTENANCE_IN_PROGRESS, Scenario.MAINTENANCE_COMPLETED}
)
#: Statuspage's maintenance statuses, from ``Incident.maintenance_phase`` (a cancelled window is closed).
MAINTENANCE_STATUS = {
    "scheduled": "scheduled",
    "in_progress": "in_progress",
    "verifying": "verifying",
    "completed": "completed",
    "cancelled": "completed",
}


class ComponentStatus(StrEnum):
    """Statuspage component statuses, best first."""

    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"


#: The value of the ``OutageComms/Status`` metric per component (0 operational .. 4 major outage).
STATUS_METRIC_VALUE: dict[ComponentStatus, int] = {s: i for i, s in enumerate(ComponentStatus)}
#: Statuspage's uptime weighting: a major outage counts fully, a partial outage 30 %, the rest 0.
DOWNTIME_WEIGHT: dict[ComponentStatus, float] = {
    ComponentStatus.MAJOR_OUTAGE: 1.0,
    ComponentStatus.PARTIAL_OUTAGE: 0.3,
}
_SCENARIO_STATUS: dict[Scenario, ComponentStatus] = {
    Scenario.DEGRADED_PERFORMANCE: ComponentStatus.DEGRADED_PERFORMANCE,
    Scenario.PARTIAL_OUTAGE: ComponentStatus.PARTIAL_OUTAGE,
    Scenario.MAJOR_OUTAGE: ComponentStatus.MAJOR_OUTAGE,
    Scenario.MAINTENANCE_IN_PROGRESS: ComponentStatus.UNDER_MAINTENANCE,
}
_IMPACT_STATUS: dict[Impact, ComponentStatus] = {
    Impact.CRITICAL: ComponentStatus.MAJOR_OUTAGE,
    Impact.MAJOR: ComponentStatus.PARTIAL_OUTAGE,
    Impact.MINOR: ComponentStatus.DEGRADED_PERFORMANCE,
    Impact.NONE: ComponentStatus.OPERATIONAL,
}
#: Statuspage's page-level indicator descriptions (the JSON API is in English, as Statuspage's is).
INDICATOR_DESCRIPTION: dict[Impact, str] = {
    Impact.NONE: "All Systems Operational",
    Impact.MINOR: "Minor Service Outage",
    Impact.MAJOR: "Partial System Outage",
    Impact.CRITICAL: "Major System Outage",
}


def is_maintenance(incident: Incident) -> bool:
    return (
        incident.maintenance_phase is not None
        or incident.scenario in MAINTENANCE_SCENARIOS
        or incident.scheduled_for is not None
    )


def severity_of(plan: Plan, severity_id: str) -> Severity:
    """The plan's severity, or its least severe one if the plan no longer has that id."""
    return next((s for s in plan.severities if s.id == severity_id), plan.severities[-1])


def component_status_for(plan: Plan, incident: Incident, scenario: Scenario | None = None) -> ComponentStatus:
    """What an incident does to each of its components while it is open."""
    scenario = scenario or incident.scenario
    if scenario in _SCENARIO_STATUS:
        return _SCENARIO_STATUS[scenario]
    if scenario in MAINTENANCE_SCENARIOS:
        return ComponentStatus.OPERATIONAL  # scheduled or completed: nothing is affected now
    status = _IMPACT_STATUS[severity_of(plan, incident.severity).impact]
    if incident.status == "monitoring" and _rank(status) > _rank(ComponentStatus.DEGRADED_PERFORMANCE):
        return ComponentStatus.DEGRADED_PERFORMANCE  # a fix is in place and holding
    return status


def _rank(status: ComponentStatus) -> int:
    return STATUS_METRIC_VALUE[status]


def _worse(a: ComponentStatus, b: ComponentStatus) -> ComponentStatus:
    return a if _rank(a) >= _rank(b) else b


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    """One update customers read (a Statuspage ``incident_update``).

    ``text`` and ``in_app`` hold the words that were approved and sent, per locale; a locale
    without them is shown in the plan's generic words for the status (never a person's note).
    """

    id: str
    at: datetime
    status: str
    scenario: Scenario
    text: Mapping[str, PublishedWords] = field(default_factory=dict)
    in_app: Mapping[str, PublishedWords] = field(default_factory=dict)


def public_updates(plan: Plan, incident: Incident) -> list[PublicUpdate]:
    """The updates customers were sent, oldest first: only ``incident.published``.

    An incident nothing was published for yet (its update is awaiting approval, was rejected,
    held or timed out) shows one update: its current public status in the plan's generic words.
    The incident's notes and timeline texts are never read here.
    """
    current_status = statuspage_status(plan, incident)
    if not incident.published:
        status = "resolved" if current_status == "postmortem" else current_status
        return [PublicUpdate(f"{incident.id}-u000", incident.started_at, status, incident.scenario)]
    updates = [
        PublicUpdate(
            id=f"{incident.id}-{published.update_id}",
            at=published.at,
            status=published.status,
            scenario=published.scenario,
            text=public_words(plan, published.text),
            in_app=public_words(plan, published.in_app),
        )
        for published in sorted(incident.published, key=lambda p: p.at)
    ]
    last = updates[-1]
    if current_status == "postmortem" and has_postmortem(incident) and last.status != "resolved":
        # the summary went out after the resolution: its words are the postmortem section
        updates[-1] = PublicUpdate(last.id, last.at, "resolved", last.scenario, last.text, last.in_app)
    return updates


def has_postmortem(incident: Incident) -> bool:
    """An approved post-incident summary is published (maintenance never has one)."""
    return (
        incident.postmortem_published_at is not None
        and bool(incident.postmortem)
        and not is_maintenance(incident)
        and not incident.is_open
    )


def statuspage_status(plan: Plan, incident: Incident) -> str:
    """Statuspage status: investigating..postmortem for incidents, scheduled..completed for maintenance."""
    settings = plan.scenarios.get(incident.scenario)
    if incident.scenario is Scenario.POST_INCIDENT_SUMMARY or has_postmortem(incident):
        return "postmortem"
    if incident.maintenance_phase is not None:
        return MAINTENANCE_STATUS[incident.maintenance_phase]
    if is_maintenance(incident):
        if incident.status == "resolved":
            return "completed"
        return settings.statuspage_status if settings else "scheduled"
    return incident.status


def published_status(plan: Plan, incident: Incident, scenario: Scenario) -> str:
    """The Statuspage status an update of ``scenario`` told customers, as it is sent."""
    if scenario is Scenario.RESOLVED:
        return "resolved"
    if scenario is Scenario.MAINTENANCE_COMPLETED:
        return "completed"
    status = statuspage_status(plan, incident)
    if status in ("resolved", "postmortem"):  # the record moved on after this update was rendered
        return "monitoring"
    return status


def safe_note(plan: Plan, note: Mapping[str, str]) -> dict[str, str]:
    """Approved words (a postmortem), without any locale whose text names an internal identifier.

    Defence in depth: the guard already checked these words before they were approved and sent.
    """
    domains = plan.organization.internal_domains
    clean = {locale: printable(text) for locale, text in note.items()}
    return {
        locale: text for locale, text in clean.items() if text.strip() and not find_identifiers(text, domains)
    }


#: ANSI/VT escape sequences (CSI ``ESC [ ... m`` and the two-byte forms): removed whole, not left as "[31m".
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
#: What XML 1.0 cannot carry (C0 controls but tab and newline, CR, surrogates, U+FFFE/U+FFFF), plus
#: the C1 controls and DEL no reader shows: stripped from every public text at the output.
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """``text`` without escape sequences and the characters XML (and every reader) cannot carry."""
    if text.isprintable():
        return text
    return _UNSAFE_CHARS.sub("", _ESCAPE_SEQUENCE.sub("", text))


#: A feedback link in any form: the API's ``/feedback`` or a short ``/f/<token>`` path, scheme or not.
_FEEDBACK_LINK = re.compile(
    r"(?:https?://)?[\w.-]+(?::\d+)?(?:/[^\s/]*)*?/(?:f/|feedback\b)\S*", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def without_feedback_links(plan: Plan, text: str) -> str:
    """``text`` without the sentences that carry a feedback link (issue 14.4).

    A feedback link is per message and per recipient; the public site speaks to everyone, so it never
    prints one (the raw API address or a short link): the sentence asking for feedback goes with it.
    """
    base = plan.feedback.base_url
    if "/f" not in text and "feedback" not in text.lower() and not (base and base in text):
        return text

    def carries_link(sentence: str) -> bool:
        return bool(_FEEDBACK_LINK.search(sentence)) or bool(base and base in sentence)

    lines = []
    for line in text.split("\n"):
        kept: list[str] = []
        for sentence in _SENTENCE_END.split(line):
            if not carries_link(sentence):
                kept.append(sentence)
            elif kept and kept[-1].rstrip().endswith("?"):
                kept.pop()  # the question that leads into the link ("How did we do?") goes with it
        if kept or not line.strip():
            lines.append(" ".join(kept))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def public_words(plan: Plan, words: Mapping[str, PublishedWords]) -> dict[str, PublishedWords]:
    """Published words per locale, printable, without feedback links, and without a locale whose words
    name an internal identifier."""
    domains = plan.organization.internal_domains
    clean = {
        locale: PublishedWords(title=printable(w.title), body=without_feedback_links(plan, printable(w.body)))
        for locale, w in words.items()
    }
    return {
        locale: w
        for locale, w in clean.items()
        if w.body.strip() and not find_identifiers(f"{w.title}\n{w.body}", domains)
    }


def next_update_at(plan: Plan, incident: Incident, last_update: datetime, now: datetime) -> datetime | None:
    """When customers hear next: the plan's cadence after the last update, never in the past."""
    if not incident.is_open or incident.scenario is Scenario.MAINTENANCE_SCHEDULED:
        return None
    if incident.maintenance_phase is not None:  # a declared window speaks on its schedule
        from outage_comms.maintenance import next_announced_at

        return next_announced_at(plan, incident, now)
    cadence = timedelta(minutes=severity_of(plan, incident.severity).cadence_minutes)
    due = last_update + cadence
    if due <= now:
        missed = (now - due) // cadence + 1
        due += cadence * missed
    return due


def current_component_statuses(
    plan: Plan, incidents: Sequence[Incident], now: datetime
) -> dict[str, ComponentStatus]:
    """Each component's status now: the worst any open incident or running maintenance gives it."""
    statuses = {component.id: ComponentStatus.OPERATIONAL for component in plan.components}
    for incident in incidents:
        if not incident.is_open:
            continue
        if is_maintenance(incident):
            if incident.maintenance_phase is not None:  # a declared window: its phase says
                running = incident.maintenance_phase in ("in_progress", "verifying")
            else:
                running = incident.scenario is Scenario.MAINTENANCE_IN_PROGRESS or (
                    incident.scheduled_for is not None
                    and incident.scheduled_for <= now
                    and (incident.scheduled_until is None or now < incident.scheduled_until)
                    and incident.scenario is not Scenario.MAINTENANCE_COMPLETED
                )
            if not running:
                continue
            status = ComponentStatus.UNDER_MAINTENANCE
        else:
            status = component_status_for(plan, incident)
        for component_id in incident.components:
            if component_id in statuses:
                statuses[component_id] = _worse(statuses[component_id], status)
    return statuses


def overall_indicator(
    plan: Plan, incidents: Sequence[Incident], statuses: dict[str, ComponentStatus]
) -> Impact:
    """Statuspage's page indicator: the worst impact of the unresolved incidents, else from components."""
    impacts = [severity_of(plan, i.severity).impact for i in incidents if i.is_open and not is_maintenance(i)]
    worst = max(impacts, key=IMPACT_RANK.__getitem__, default=Impact.NONE)
    if worst is Impact.NONE:
        if any(s is ComponentStatus.MAJOR_OUTAGE for s in statuses.values()):
            return Impact.MAJOR
        if any(
            s in (ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.DEGRADED_PERFORMANCE)
            for s in statuses.values()
        ):
            return Impact.MINOR
    return worst
