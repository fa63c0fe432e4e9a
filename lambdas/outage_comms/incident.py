"""The one Incident model every door (alarm, Health, Incident Manager, OpsCenter, human) leads to.

An incident is what customers hear about: which of the plan's components are affected, how badly
(a plan severity), where it stands in the Statuspage lifecycle, and which scenario's words to use.
Internal details (alarm names, ARNs) live in ``internal_title``, ``source`` and ``timeline``;
``public_title`` is built only from the plan's component names so it is safe to publish.

Instances are frozen: every change is a new instance with ``version`` + 1, which the store writes
with a condition on the previous version (optimistic locking).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from outage_comms.plan import Plan, Severity
from outage_comms.vocabulary import Impact, Scenario

IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
#: A registered intake source's name (``outage_comms.intake.sources``: alarm, health, incident_manager,
#: opsitem, human, ...). Open, so a new source (or a test's fake one) registers without editing this model;
#: which names exist is the registry's check, at intake (this module never imports intake).
SourceType = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
TimelineKind = Literal[
    "opened",
    "signal",
    "escalated",
    "status",
    "resolved",
    "recorded",
    "expected",
    "maintenance",
    "postmortem",
    "region",
]
#: Maintenance lifecycle, as Statuspage names it (``verifying`` sits between the window's end and completion).
MaintenancePhase = Literal["scheduled", "in_progress", "verifying", "completed", "cancelled"]
LocalizedText = dict[str, str]

IMPACT_RANK: dict[Impact, int] = {Impact.NONE: 0, Impact.MINOR: 1, Impact.MAJOR: 2, Impact.CRITICAL: 3}

# A DynamoDB item holds at most 400 KB: past this many entries, plain signals are counted in
# ``suppressed_signals`` instead of stored. Lifecycle entries (opened, escalated, status,
# resolved) are always kept.
MAX_TIMELINE_ENTRIES = 200


class IncidentSource(BaseModel):
    """Where an incident (or one of its signals) came from."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    type: SourceType
    reference: str = Field(
        description="alarm ARN, incident record ARN, Health event ARN, OpsItem id or human principal"
    )


class TimelineEntry(BaseModel):
    """One thing that happened to an incident. Internal: may name alarms and ARNs."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    at: datetime
    kind: TimelineKind
    text: str
    source: IncidentSource
    event_id: str
    state: str | None = Field(
        default=None, description="the source's own state word, e.g. ALARM / OK / open / closed / RESOLVED"
    )
    public_note: LocalizedText = Field(default_factory=dict)


class PublishedWords(BaseModel):
    """One message's words as customers received them (title and body), in one locale."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    title: str = ""
    body: str


#: How many published updates an incident keeps (newest win; an item holds at most 400 KB).
MAX_PUBLISHED_UPDATES = 60


class PublishedUpdate(BaseModel):
    """An update that was actually sent: exactly the approved words, after the guard and any edits.

    Written by the workflow once the update went out (approved, edited then approved, or sent
    without approval as the plan allows); never for a rejected, held or timed-out update. The
    public status surfaces render only these words.
    """

    model_config = ConfigDict(defer_build=True, frozen=True)

    update_id: str
    at: datetime
    status: str = Field(description="the Statuspage status customers were told, e.g. identified")
    scenario: Scenario
    text: dict[str, PublishedWords] = Field(
        default_factory=dict, description="the status page's words per locale"
    )
    in_app: dict[str, PublishedWords] = Field(
        default_factory=dict, description="the in-app banner's words per locale"
    )


#: The parts of :class:`ResolutionDetails`, in the order the post-incident summary tells them.
RESOLUTION_PARTS = ("impact", "cause", "fix")


class ResolutionDetails(BaseModel):
    """What the person resolving typed, per locale: customer **impact**, the **cause** and the **fix**.

    The resolved message and the post-incident summary tell customers what went wrong only from
    these (never from a progress note); a part left empty is a gap the summary's draft asks for.
    """

    model_config = ConfigDict(defer_build=True, frozen=True)

    cause: LocalizedText = Field(default_factory=dict, description="what went wrong, in customers' words")
    fix: LocalizedText = Field(default_factory=dict, description="what the team did to fix it")
    impact: LocalizedText = Field(
        default_factory=dict, description="what customers noticed (past tense), e.g. 'You could not sign in'"
    )

    def text(self, part: str, locale: str) -> str:
        """One part in one locale ('' when the person did not write it)."""
        value: LocalizedText = getattr(self, part)
        return (value.get(locale) or "").strip()

    def missing(self, locale: str) -> list[str]:
        """The parts with no words in ``locale``, in :data:`RESOLUTION_PARTS` order."""
        return [part for part in RESOLUTION_PARTS if not self.text(part, locale)]


class Incident(BaseModel):
    """What customers hear about, as one record. Change it with ``evolve``."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str = Field(pattern=r"^inc-\d{8}-\d{4}-[0-9a-f]{6}$")
    internal_title: str
    public_title: LocalizedText
    components: tuple[str, ...] = Field(min_length=1)
    severity: str
    status: IncidentStatus
    scenario: Scenario
    audiences: tuple[str, ...]
    started_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    source: IncidentSource
    timeline: tuple[TimelineEntry, ...] = ()
    public_note: LocalizedText = Field(
        default_factory=dict, description="the latest words a person wrote for customers, per locale"
    )
    scheduled_for: datetime | None = Field(default=None, description="maintenance window start")
    scheduled_until: datetime | None = Field(default=None, description="maintenance window end")
    suppressed_signals: int = Field(default=0, ge=0, description="signals counted but not stored")
    maintenance_phase: MaintenancePhase | None = Field(
        default=None, description="set only for scheduled maintenance"
    )
    expected_signals: int = Field(
        default=0, ge=0, description="alarms of the window's components tagged expected during maintenance"
    )
    drill: bool = Field(
        default=False,
        description="a game-day exercise: only the plan's drill audience hears it, marked as an exercise, "
        "and the public status page is never touched",
    )
    drill_failures: tuple[str, ...] = Field(
        default=(), description="drill only: channels whose deliveries fail on purpose (fault injection)"
    )
    postmortem: LocalizedText = Field(
        default_factory=dict, description="the approved customer-facing post-incident summary, per locale"
    )
    postmortem_published_at: datetime | None = None
    resolution_details: ResolutionDetails = Field(
        default_factory=ResolutionDetails,
        description="cause / fix / impact typed when resolving (resolve --cause --fix --impact)",
    )
    published: tuple[PublishedUpdate, ...] = Field(
        default=(), description="the updates customers were sent, oldest first: the only public words"
    )
    version: int = Field(default=1, ge=1, description="store's optimistic-locking counter")

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    def evolve(self, **changes: object) -> Incident:
        """A copy with ``changes`` applied and ``version`` + 1.

        Not re-validated (an alarm storm evolves incidents thousands of times a minute); callers
        pass values of the fields' types.
        """
        evolved = self.model_copy(update={**changes, "version": self.version + 1})
        for cached in _CACHED:
            evolved.__dict__.pop(cached, None)  # model_copy copies cached_property values too
        return evolved

    @functools.cached_property
    def references(self) -> frozenset[str]:
        """Every source reference this incident has heard from."""
        return frozenset({self.source.reference} | {entry.source.reference for entry in self.timeline})

    @functools.cached_property
    def event_ids(self) -> frozenset[str]:
        """Every event already applied to this incident."""
        return frozenset(entry.event_id for entry in self.timeline)

    def last_state(self, reference: str) -> str | None:
        """The latest state word recorded for one source reference."""
        for entry in reversed(self.timeline):
            if entry.source.reference == reference and entry.state is not None:
                return entry.state
        return None

    def with_entry(self, entry: TimelineEntry, **changes: object) -> Incident:
        """``evolve`` plus one timeline entry (or a suppressed-signal count when the timeline is full)."""
        lifecycle = entry.kind not in ("signal", "recorded")
        if lifecycle or len(self.timeline) < MAX_TIMELINE_ENTRIES:
            return self.evolve(**{"updated_at": entry.at, **changes, "timeline": (*self.timeline, entry)})
        return self.evolve(
            **{"updated_at": entry.at, **changes, "suppressed_signals": self.suppressed_signals + 1}
        )


_CACHED = ("references", "event_ids")


def incident_id(started_at: datetime, key: str) -> str:
    """``inc-YYYYMMDD-HHMM-<6 hex>``: the same opening signal always yields the same id."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:6]
    t = started_at
    # Spelled out rather than strftime("%Y"), which drops leading zeros for years before 1000.
    return f"inc-{t.year:04d}{t.month:02d}{t.day:02d}-{t.hour:02d}{t.minute:02d}-{digest}"


def severity_rank(severity: Severity) -> int:
    return IMPACT_RANK[severity.impact]


def _join(names: list[str], locale: str) -> str:
    word = " e " if locale.startswith("pt") else " and "
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + word + names[-1]


def public_title(plan: Plan, component_ids: Iterable[str]) -> LocalizedText:
    """The affected components' public names per locale, e.g. ``Sync and Search``."""
    components = [plan.component(cid) for cid in component_ids]
    return {
        code: _join([c.name.get(code) or c.name[plan.default_locale] for c in components], code)
        for code in plan.locale_codes
    }


def audiences_for(plan: Plan, component_ids: Iterable[str]) -> tuple[str, ...]:
    """The union of the components' audiences, in plan order, without repeats."""
    seen: dict[str, None] = {}
    for cid in component_ids:
        for audience in plan.component(cid).audiences:
            seen.setdefault(audience, None)
    return tuple(seen)


def ordered_components(plan: Plan, component_ids: Iterable[str]) -> tuple[str, ...]:
    """Component ids in the plan's order (stable titles, stable ids)."""
    wanted = set(component_ids)
    return tuple(c.id for c in plan.components if c.id in wanted)
