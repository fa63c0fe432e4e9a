"""Reach: who an update reaches, decided once when it is rendered and carried on the update record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from outage_comms.channels import registry
from outage_comms.channels.base import ChannelPermanentError
from outage_comms.drill_mode.marking import NO_MARKER, Marker, drill_marker
from outage_comms.plan import Plan
from outage_comms.vocabulary import CHANNEL_FORMAT, Channel

if TYPE_CHECKING:
    from outage_comms.incident import Incident

#: What an injected failure says (the drill report reads it back from the delivery record).
INJECTED_FAILURE = "failure injected by the drill"
#: Why a web channel (or the SNS channel without a drill topic) is skipped in a drill.
NO_DRILL_TARGET = "no drill target"

#: Who an update reaches.
PUBLIC, DRILL = "public", "drill"
#: Target kinds: the channel's real target, and a drill's (the channel registry's ``drill.kind``).
PUBLIC_TARGET = "public"
AUDIENCE, TOPIC, SECRET, INTERNAL, NONE = "audience", "topic", "secret", "internal", "none"
#: The drill target kinds that have an adapter (``"none"``: never sent in a drill).
DRILL_TARGETS = (AUDIENCE, TOPIC, SECRET, INTERNAL)
#: Why a channel whose target has no adapter is skipped, by audience.
_NO_TARGET = {PUBLIC: "no adapter delivers this channel", DRILL: NO_DRILL_TARGET}


def drill_kind(channel: Channel) -> str:
    """How a drill reaches ``channel`` (its registry spec's ``drill.kind``): audience, topic, secret,
    internal or none (never sent; also for a name no channel registered)."""
    return registry.spec(channel).drill.kind if registry.is_registered(channel) else NONE


def audience_of(incident: Incident) -> str:
    """``"drill"`` for a drill incident, else ``"public"``: which site, audience and targets it gets."""
    return DRILL if incident.drill else PUBLIC


def in_audience(incidents: Iterable[Incident], audience: str) -> list[Incident]:
    """The incidents of one audience: what its site may show (the public site never shows a drill)."""
    return [i for i in incidents if audience_of(i) == audience]


#: A real minute: an update rendered on a shorter one ran on a drill's compressed clock.
REAL_SECONDS_PER_MINUTE = 60.0


def is_drill(update: Mapping[str, Any]) -> bool:
    """A drill's update (its record's audience), or one rendered on a compressed (drill) clock: shown as a
    drill and kept out of the production SLOs. An update record without these fields is production's."""
    compressed = float(update.get("seconds_per_minute") or REAL_SECONDS_PER_MINUTE) < REAL_SECONDS_PER_MINUTE
    return update.get("audience") == DRILL or bool(update.get("drill")) or compressed


def drill_site_plan(plan: Plan) -> Plan:
    """The plan as the drill page sees it: its links and ids point under ``status_prefix``."""
    return linked_plan(plan, drill_site_url(plan))


def drill_site_url(plan: Plan) -> str:
    base = plan.organization.status_page_url.rstrip("/")
    return f"{base}/{plan.drill.status_prefix.rstrip('/')}"


def linked_plan(plan: Plan, site_url: str) -> Plan:
    """The plan with its status page at ``site_url`` (the plan itself when it already is)."""
    if not site_url or site_url == plan.organization.status_page_url:
        return plan
    return plan.model_copy(
        update={"organization": plan.organization.model_copy(update={"status_page_url": site_url})}
    )


@dataclass(frozen=True)
class Reach:
    """Who an update reaches and how it is marked: stored on the update record, read by delivery."""

    audience: str
    marker: Marker
    #: The audiences every channel delivers to.
    recipients: tuple[str, ...]
    #: channel -> target kind; a channel not listed is not sent.
    targets: Mapping[str, str]
    #: Channels that fail on purpose.
    failures: tuple[str, ...] = ()
    #: Where the messages' links lead.
    site_url: str = ""

    def target(self, channel: Channel) -> str:
        return self.targets.get(channel.value, NONE)

    def failure(self, channel: Channel) -> ChannelPermanentError | None:
        """The failure this update injects on ``channel``, or None."""
        return ChannelPermanentError(INJECTED_FAILURE) if channel.value in self.failures else None

    @property
    def no_target(self) -> str:
        """Why a channel whose target has no adapter is skipped."""
        return _NO_TARGET.get(self.audience, NO_DRILL_TARGET)

    def deliverable(self, channel: Channel, messages: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
        """The messages of ``channel`` as they go out (marked again: an edit may have dropped the marker)."""
        fmt = CHANNEL_FORMAT[channel]
        return {locale: self.marker.fields(fmt, locale, fields) for locale, fields in messages.items()}

    def record(self) -> dict[str, Any]:
        """The fields the render step stores on the update record."""
        return {
            "audience": self.audience,
            "drill": self.audience == DRILL,  # the SLO metrics and the dead letters keep drills apart
            "marker": dict(self.marker.written),
            "spoken_marker": dict(self.marker.spoken),
            "recipients": list(self.recipients),
            "targets": dict(self.targets),
            "failures": list(self.failures),
            "site_url": self.site_url,
        }

    @classmethod
    def of_record(cls, plan: Plan, update: Mapping[str, Any]) -> Reach:
        """The reach stored on ``update``; for a record rendered before reach was stored, decided now."""
        if "audience" not in update:
            return _decide(
                plan,
                drill=update.get("drill") is True,
                failures=update.get("drill_failures") or (),
                audiences=update.get("audiences") or (),
            )
        return cls(
            audience=str(update["audience"]),
            marker=Marker(dict(update.get("marker") or {}), dict(update.get("spoken_marker") or {})),
            recipients=tuple(update.get("recipients") or ()),
            targets=dict(update.get("targets") or {}),
            failures=tuple(update.get("failures") or ()),
            site_url=str(update.get("site_url") or ""),
        )


def reach_for(plan: Plan, incident: Incident) -> Reach:
    """Who ``incident``'s updates reach: its audiences on every channel's real target, or, for a
    drill, the drill audience on the drill targets, marked, with its injected failures."""
    return _decide(plan, drill=incident.drill, failures=incident.drill_failures, audiences=incident.audiences)


def _decide(plan: Plan, *, drill: bool, failures: Sequence[str], audiences: Sequence[str]) -> Reach:
    if not drill:
        return Reach(
            audience=PUBLIC,
            marker=NO_MARKER,
            recipients=tuple(audiences),
            targets={c.value: PUBLIC_TARGET for c in registry.channels()},
            site_url=plan.organization.status_page_url,
        )
    return Reach(
        audience=DRILL,
        marker=drill_marker(plan),
        recipients=(plan.drill.audience,),
        targets={c.value: kind for c in registry.channels() if (kind := drill_kind(c)) != NONE},
        failures=tuple(failures),
        site_url=drill_site_url(plan),
    )


def marker_of(plan: Plan, incident: Incident) -> Marker:
    """How ``incident``'s words are marked: the drill marker for a drill, :data:`NO_MARKER` otherwise."""
    return drill_marker(plan) if audience_of(incident) == DRILL else NO_MARKER
