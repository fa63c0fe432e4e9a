"""Drill mode: a game-day incident that only the plan's drill audience ever hears.

A drill incident (``Incident.drill``) runs through the very same workflow as a real one. What changes
is decided here, once per update, and carried as data (:class:`Reach`, stored on the update record
by the render step):

* ``audience``: ``"public"`` or ``"drill"``.
* ``marker`` / ``spoken_marker`` (:class:`Marker`): per locale, the words every message starts with
  (``plan.drill.marker``), in the subject or title where the format has one, in the body otherwise
  (SMS, social); a voice call *says* it ("This is a drill."). None for a real incident. Marking is
  idempotent, so delivery marks again with the record's marker: a reviewer who removed it loses nothing.
* ``recipients``: the audiences every channel delivers to: the incident's, or ``plan.drill.audience``.
* ``targets``: per channel, the kind of target its adapter is built for: ``"public"`` (the real one)
  or a drill's (:func:`drill_kind`): ``"audience"`` (subscriber channels send only to confirmed
  subscribers of the drill audience, whatever component they chose), ``"topic"`` (the separate drill
  SNS topic, never the customers'), ``"secret"`` (web channels post with the secret named in
  ``plan.drill.webhook_secrets``: no drill secret, no post), ``"internal"`` (the team's own chat
  topic hears the drill, marked), ``"none"`` (never sent). :func:`drill_adapters` builds them.
* ``failures``: channels that fail with ``ChannelPermanentError`` on purpose (``Incident.drill_failures``)
  so the fan-out's Catch path is exercised. Only drills.
* ``site_url``: where the messages' links lead (the drill page under ``plan.drill.status_prefix``).

Delivery and publishing read that data and hold no drill branch of their own; the status publisher
asks :func:`audience_of` which site an incident belongs on (a drill is never on the public site).

No boto3 at import, and nothing from the workflow or status packages: AWS-facing pieces come in as
arguments.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from outage_comms.channels import registry
from outage_comms.channels.base import (
    ChannelAdapter,
    ChannelPermanentError,
    ChannelUnavailableError,
)
from outage_comms.plan import Plan
from outage_comms.vocabulary import CHANNEL_FORMAT, Channel, MessageFormat

if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext
    from outage_comms.incident import Incident
    from outage_comms.rendering import RenderedMessage
    from outage_comms.subscribers.store import Member

#: The alarm tag that makes an alarm's incident a drill (``alarmTags`` of the state change event).
DRILL_ALARM_TAG = "outage-comms-drill"
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

#: The first field of each format that a reader sees first; formats without one mark the body.
_LEAD_FIELDS = ("subject", "title")
#: What a voice call says (a bracketed marker read aloud sounds like nothing); by language.
_SPOKEN = {"en": "This is a drill.", "pt": "Isto é uma simulação."}


def drill_kind(channel: Channel) -> str:
    """How a drill reaches ``channel`` (its registry spec's ``drill.kind``): audience, topic, secret,
    internal or none (never sent; also for a name no channel registered)."""
    return registry.spec(channel).drill.kind if registry.is_registered(channel) else NONE


# ---------------------------------------------------------------------------------------------
# Marking
# ---------------------------------------------------------------------------------------------


def marker(plan: Plan, locale: str) -> str:
    """The plan's drill marker for ``locale`` (the default locale's when it has none)."""
    words = plan.drill.marker
    return (words.get(locale) or words.get(plan.default_locale) or "[DRILL]").strip()


def spoken_marker(plan: Plan, locale: str) -> str:
    """What a voice call says first: a sentence, not a bracketed tag."""
    language = locale.split("-", 1)[0].lower()
    if language in _SPOKEN:
        return _SPOKEN[language]
    word = marker(plan, locale).strip("[]()<>{} ")
    return f"{word}." if word else _SPOKEN["en"]


def _prefixed(prefix: str, text: str, limit: int | None = None) -> str:
    """``prefix text``, shortening the text (never the marker) when it would pass the field's ``limit``."""
    text = text.lstrip()
    if text.startswith(prefix):
        return text
    if limit is not None and len(prefix) + 1 + len(text) > limit:
        text = text[: max(0, limit - len(prefix) - 2)].rstrip() + "…"
    return f"{prefix} {text}"


@dataclass(frozen=True)
class Marker:
    """The words in front of every message of an update, per locale; empty: the update is not marked."""

    written: Mapping[str, str] = field(default_factory=dict)
    spoken: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def _word(words: Mapping[str, str], locale: str) -> str:
        # A locale the marker does not name still gets one: a drill message is never unmarked.
        return words.get(locale) or next(iter(words.values()), "")

    def fields(self, fmt: MessageFormat, locale: str, fields: Mapping[str, str]) -> dict[str, str]:
        """``fields`` with the marker in front of the subject/title, or of the body when there is none.

        A field with a length limit (push title, SNS and email subjects, social posts) keeps within it:
        the words after the marker are shortened with "…" (a lock screen would cut them anyway).
        """
        from outage_comms.guard import LIMITS  # lazy: intake imports this module and never renders

        marked = dict(fields)
        written, spoken = self._word(self.written, locale), self._word(self.spoken, locale)
        if fmt is MessageFormat.VOICE:
            if spoken and "body" in marked:
                marked["body"] = _prefixed(spoken, marked["body"])
            return marked
        lead = next((name for name in _LEAD_FIELDS if name in marked), "body")
        if written and lead in marked:
            limit = LIMITS.get((fmt, lead))
            marked[lead] = _prefixed(written, marked[lead], limit[0] if limit else None)
        if written and fmt is MessageFormat.EMAIL and "body" in marked:
            # A forwarded email loses its subject line: the words themselves say it is an exercise.
            marked["body"] = _prefixed(written, marked["body"])
        return marked

    def message(self, message: RenderedMessage) -> RenderedMessage:
        """The rendered message marked (its HTML too). Called before the guard: the marker counts."""
        fields = self.fields(message.format, message.locale, message.fields)
        html = message.html
        if html and "subject" in fields and fields["subject"] != message.fields["subject"]:
            # The HTML was laid out from the unmarked subject (its <title> and heading): mark those too.
            from markupsafe import escape  # lazy, as above

            html = html.replace(str(escape(message.fields["subject"])), str(escape(fields["subject"])))
        return replace(message, fields=fields, html=html)

    def internal(self, text: str, locale: str) -> str:
        """A subject or title for the team (approval requests, reminders), marked in ``locale``."""
        word = self._word(self.written, locale)
        return _prefixed(word, text) if word else text


NO_MARKER = Marker()


def drill_marker(plan: Plan) -> Marker:
    """The plan's drill marker in every locale."""
    codes = plan.locale_codes
    return Marker({c: marker(plan, c) for c in codes}, {c: spoken_marker(plan, c) for c in codes})


def marker_of(plan: Plan, incident: Incident) -> Marker:
    """How ``incident``'s words are marked: the drill marker for a drill, :data:`NO_MARKER` otherwise."""
    return drill_marker(plan) if audience_of(incident) == DRILL else NO_MARKER


def mark_fields(plan: Plan, fmt: MessageFormat, locale: str, fields: Mapping[str, str]) -> dict[str, str]:
    """``fields`` as a drill sends them (see :meth:`Marker.fields`)."""
    return drill_marker(plan).fields(fmt, locale, fields)


def mark_message(plan: Plan, incident: Incident, message: RenderedMessage) -> RenderedMessage:
    """The message as ``incident`` sends it: marked for a drill, unchanged for a real incident."""
    return reach_for(plan, incident).marker.message(message)


def mark_internal(plan: Plan, drill: bool, text: str) -> str:
    """A subject or title for the team: marked in the default locale when ``drill``."""
    return (drill_marker(plan) if drill else NO_MARKER).internal(text, plan.default_locale)


# ---------------------------------------------------------------------------------------------
# Reach: who an update reaches, decided once when it is rendered
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Intake
# ---------------------------------------------------------------------------------------------


def injectable_channels(plan: Plan) -> list[Channel]:
    """Channels a drill may fail on purpose: the enabled ones the workflow delivers (team chats first;
    never the status surfaces, which are published, not delivered)."""
    enabled = plan.channels.enabled()
    return [c for reach in ("team", "customer") for c in enabled if registry.spec(c).reach == reach]


def drill_failures_problem(
    plan: Plan, drill: bool, failures: Sequence[str], action: str = "declare"
) -> str | None:
    """Why ``drill_failures`` cannot be used, or None. Names the channels that can be."""
    if not failures:
        return None
    allowed = [c.value for c in injectable_channels(plan)]
    if not drill:
        return (
            "'drill_failures' is only for drills: failures are never injected into a real incident. Send "
            "'drill': true to declare a drill, or leave 'drill_failures' out."
        )
    if action != "declare":
        return (
            f"'drill_failures' is set when a drill is declared, not on '{action}'; leave it out (the "
            "drill keeps the failures it was declared with)."
        )
    unknown = [f for f in failures if f not in allowed]
    if unknown:
        return (
            f"'drill_failures' names {unknown}, which are not channels this plan delivers; use some of "
            f"{allowed} (status surfaces are published, not delivered, and cannot fail on purpose)."
        )
    return None


def alarm_is_drill(tags: Mapping[str, str] | None) -> bool:
    """An alarm tagged ``outage-comms-drill: "true"`` opens a drill incident."""
    return str((tags or {}).get(DRILL_ALARM_TAG, "")).strip().lower() == "true"


# ---------------------------------------------------------------------------------------------
# A drill's adapters, by target kind
# ---------------------------------------------------------------------------------------------

AdapterFactory = Callable[[Channel], ChannelAdapter | None]


class DrillAudience:
    """A member source that yields only confirmed subscribers of the drill audience, on any component."""

    def __init__(self, inner: Any, plan: Plan) -> None:
        self._inner = inner
        self._components = [c.id for c in plan.components]
        self._audience = plan.drill.audience

    def members(
        self, components: Sequence[str], locales: Sequence[str], channel: str, audiences: Sequence[str] = ()
    ) -> Iterator[Member]:
        for member in self._inner.members(self._components, locales, channel, [self._audience]):
            if self._audience in member.audiences:  # the resolver filters too; a drill never trusts one check
                yield member


def redirect_subscribers(adapter: ChannelAdapter | None, plan: Plan) -> ChannelAdapter | None:
    """A copy of a subscriber channel adapter that reaches only the drill audience (None if it cannot)."""
    from outage_comms.channels.subscriber_channel import SubscriberChannel

    if not isinstance(adapter, SubscriberChannel):
        return None
    redirected = copy.copy(adapter)
    redirected.audience = DrillAudience(adapter.audience, plan)
    return redirected


def drill_web_plan(plan: Plan, channel: Channel, secret: Callable[[str], dict[str, Any]]) -> Plan | None:
    """The plan as a drill sees one web channel: its secret (and target) replaced by the drill's.

    ``secret(name)`` reads a JSON secret. Bluesky's drill secret must name the test ``handle`` and the
    webhook's the test ``url`` (else the drill would post as the real account or to the real
    receiver); Mastodon's may name another ``instance_url`` (its token already picks the account).
    None when the plan names no drill secret for the channel.
    """
    name = plan.drill.webhook_secrets.get(channel)
    settings = getattr(plan.channels, channel.value, None)
    drill = registry.spec(channel).drill if registry.is_registered(channel) else None
    if name is None or settings is None or drill is None or drill.secret_field is None:
        return None
    if name == getattr(settings, drill.secret_field):
        raise ChannelUnavailableError(
            f"{NO_DRILL_TARGET}: drill.webhook_secrets.{channel.value} is the real channel's secret; name "
            "a secret that holds the test target"
        )
    changes: dict[str, Any] = {drill.secret_field: name}
    values = secret(name) if drill.target_fields else {}  # read only where the secret names a target
    for target in drill.target_fields:
        changes.update(_drill_target(values, name, channel, settings, target))
    drilled = settings.model_copy(update=changes)
    return plan.model_copy(update={"channels": plan.channels.model_copy(update={channel.value: drilled})})


def _drill_target(
    values: Mapping[str, Any], name: str, channel: Channel, settings: Any, target: tuple[str, str, bool]
) -> dict[str, Any]:
    """What a drill secret's target fields replace (refused when a required one is missing or real)."""
    secret_key, settings_key, required = target
    value = values.get(secret_key)
    if isinstance(value, str) and value.strip():
        if value.strip() == str(getattr(settings, settings_key)) and required:
            raise ChannelUnavailableError(
                f"{NO_DRILL_TARGET}: the drill secret '{name}' names the real {settings_key}; give the "
                "test account's"
            )
        return {settings_key: value.strip()}
    if required:
        raise ChannelUnavailableError(
            f"{NO_DRILL_TARGET}: the drill secret '{name}' has no '{secret_key}' (the test "
            f"{channel.value} target); add it"
        )
    return {}


def drill_web_adapter(channel: Channel, plan: Plan, context: ChannelContext) -> ChannelAdapter | None:
    """A web channel's adapter built on its drill secret (None: the plan names none)."""
    from outage_comms.channels import catalog

    drilled = drill_web_plan(plan, channel, context.secrets.get_json)
    return None if drilled is None else catalog.build(channel, replace(context, plan=drilled))


def drill_adapters(
    *,
    plan: Plan,
    real: AdapterFactory,
    context: Callable[[], ChannelContext],
    drill_topic: Callable[[], ChannelAdapter | None],
) -> dict[str, AdapterFactory]:
    """The adapter factory of each drill target kind (``"none"`` has none: the channel is skipped).

    ``real`` builds the real adapter (only used where the drill redirects it: subscriber channels and
    the team's own chat); ``drill_topic`` builds the SNS adapter for the drill topic (None if none).
    """
    return {
        INTERNAL: real,
        TOPIC: lambda _channel: drill_topic(),
        AUDIENCE: lambda channel: redirect_subscribers(real(channel), plan),
        SECRET: lambda channel: drill_web_adapter(channel, plan, context()),
    }
