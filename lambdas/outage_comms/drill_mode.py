"""Drill mode: a game-day incident that only the plan's drill audience ever hears.

A drill incident (``Incident.drill``) runs through the very same workflow as a real one. What
changes is decided here, in one place:

* **Marking** (:func:`mark_message`, :func:`mark_fields`, :func:`mark_internal`): every message
  starts with ``plan.drill.marker[locale]`` — in the subject or title where the format has one, in
  the body otherwise (SMS, social) — and a voice call *says* it ("This is a drill."). Marking is
  idempotent, so an edited message is marked again at delivery if a reviewer removed the marker.
* **Routing** (:func:`drill_channel_adapter`): subscriber channels (email, SMS, voice, push) send
  only to confirmed subscribers of ``plan.drill.audience``, whatever component they chose (a drill
  audience member hears every drill); the SNS subscribers channel publishes to the separate drill
  topic, never the customers' topic; the web channels (Slack, Teams, Mastodon, Bluesky, webhook,
  support) post with the secret named in ``plan.drill.webhook_secrets`` — no drill secret, no
  post. The team's own chat topic (Amazon Q Developer in chat applications) is internal: it hears
  the drill, marked.
* **Fault injection** (:func:`injected_failure`): a channel listed in ``Incident.drill_failures``
  fails with ``ChannelPermanentError`` so the fan-out's Catch path is exercised. Only drills.
* **Status** (:func:`public_incidents`, :func:`drill_incidents`, :func:`drill_site_plan`): drill
  incidents never enter the public site; a drill publish writes a drill page under
  ``plan.drill.status_prefix`` built from drill incidents only.

No boto3 at import: AWS-facing pieces come in as arguments.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from outage_comms.channels.base import (
    ChannelAdapter,
    ChannelPermanentError,
    ChannelUnavailableError,
    Delivery,
)
from outage_comms.plan import WEB_CHANNELS, Plan
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
SUBSCRIBER_CHANNELS = frozenset({Channel.EMAIL, Channel.SMS, Channel.VOICE, Channel.PUSH})
#: Internal channels whose real target is the team itself: a drill reaches them, marked.
INTERNAL_CHANNELS = frozenset({Channel.CHATBOT})
#: The first field of each format that a reader sees first; formats without one mark the body.
_LEAD_FIELDS = ("subject", "title")
#: What a voice call says (a bracketed marker read aloud sounds like nothing); by language.
_SPOKEN = {"en": "This is a drill.", "pt": "Isto é uma simulação."}
#: Fields of a web channel's drill secret that name the drill target besides the credential.
_TARGET_FIELDS: dict[Channel, tuple[str, str, bool]] = {
    # channel: (secret field, plan settings field, required)
    Channel.BLUESKY: ("handle", "handle", True),
    Channel.WEBHOOK: ("url", "url", True),
    Channel.MASTODON: ("instance_url", "instance_url", False),
}
_SECRET_FIELD: dict[Channel, str] = {
    Channel.SLACK: "webhook_url_secret",
    Channel.TEAMS: "webhook_url_secret",
    Channel.MASTODON: "access_token_secret",
    Channel.BLUESKY: "app_password_secret",
    Channel.WEBHOOK: "signing_secret",
    Channel.SUPPORT: "ticketing_webhook_secret",
}


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


def mark_fields(plan: Plan, fmt: MessageFormat, locale: str, fields: Mapping[str, str]) -> dict[str, str]:
    """``fields`` with the drill marker in front of the subject/title, or of the body when there is none.

    A field with a length limit (push title, SNS and email subjects, social posts) keeps within it:
    the words after the marker are shortened with "…" (a lock screen would cut them anyway).
    """
    from outage_comms.guard import LIMITS  # lazy: intake imports this module and never renders

    marked = dict(fields)
    if fmt is MessageFormat.VOICE:
        if "body" in marked:
            marked["body"] = _prefixed(spoken_marker(plan, locale), marked["body"])
        return marked
    lead = next((name for name in _LEAD_FIELDS if name in marked), "body")
    if lead in marked:
        limit = LIMITS.get((fmt, lead))
        marked[lead] = _prefixed(marker(plan, locale), marked[lead], limit[0] if limit else None)
    if fmt is MessageFormat.EMAIL and "body" in marked:
        # A forwarded email loses its subject line: the words themselves say it is an exercise.
        marked["body"] = _prefixed(marker(plan, locale), marked["body"])
    return marked


def mark_message(plan: Plan, incident: Incident, message: RenderedMessage) -> RenderedMessage:
    """The message as a drill sends it (unchanged for a real incident). Called before the guard."""
    if not incident.drill:
        return message
    fields = mark_fields(plan, message.format, message.locale, message.fields)
    html = message.html
    if html and "subject" in fields:
        # The HTML was laid out from the unmarked subject (its <title> and heading): mark those too.
        from markupsafe import escape  # lazy, as above

        html = html.replace(str(escape(message.fields["subject"])), str(escape(fields["subject"])))
    return replace(message, fields=fields, html=html)


def mark_internal(plan: Plan, drill: bool, text: str) -> str:
    """A subject or title for the team (approval requests, reminders): marked in the default locale."""
    return _prefixed(marker(plan, plan.default_locale), text) if drill else text


def update_fields(incident: Incident) -> dict[str, Any]:
    """What the workflow stores on a rendered update so delivery knows it is a drill."""
    if not incident.drill:
        return {}
    return {"drill": True, "drill_failures": list(incident.drill_failures)}


# ---------------------------------------------------------------------------------------------
# Intake
# ---------------------------------------------------------------------------------------------


def injectable_channels(plan: Plan) -> list[Channel]:
    """Channels a drill may fail on purpose: the enabled ones the workflow delivers (not status surfaces)."""
    from outage_comms.workflow.channels_plan import fanout_channels, team_channels

    return [*team_channels(plan), *fanout_channels(plan)]


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
# Routing
# ---------------------------------------------------------------------------------------------


def injected_failure(update: Mapping[str, Any], channel: Channel) -> ChannelPermanentError | None:
    """The failure a drill injects on ``channel`` (never for a real incident's update)."""
    if update.get("drill") is True and channel.value in (update.get("drill_failures") or ()):
        return ChannelPermanentError(INJECTED_FAILURE)
    return None


def drill_delivery(plan: Plan, delivery: Delivery) -> Delivery:
    """The delivery as a drill sends it: for the drill audience only, every message marked."""
    fmt = CHANNEL_FORMAT[delivery.channel]
    return replace(
        delivery,
        audiences=(plan.drill.audience,),
        messages={
            locale: mark_fields(plan, fmt, locale, fields) for locale, fields in delivery.messages.items()
        },
    )


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
    if name is None or settings is None or channel not in _SECRET_FIELD:
        return None
    real_name = getattr(settings, _SECRET_FIELD[channel])
    if name == real_name:
        raise ChannelUnavailableError(
            f"{NO_DRILL_TARGET}: drill.webhook_secrets.{channel.value} is the real channel's secret; name "
            "a secret that holds the test target"
        )
    changes: dict[str, Any] = {_SECRET_FIELD[channel]: name}
    target = _TARGET_FIELDS.get(channel)
    if target is not None:
        secret_key, settings_key, required = target
        value = secret(name).get(secret_key)
        if isinstance(value, str) and value.strip():
            if value.strip() == str(getattr(settings, settings_key)) and required:
                raise ChannelUnavailableError(
                    f"{NO_DRILL_TARGET}: the drill secret '{name}' names the real {settings_key}; give the "
                    "test account's"
                )
            changes[settings_key] = value.strip()
        elif required:
            raise ChannelUnavailableError(
                f"{NO_DRILL_TARGET}: the drill secret '{name}' has no '{secret_key}' (the test "
                f"{channel.value} target); add it"
            )
    drilled = settings.model_copy(update=changes)
    return plan.model_copy(update={"channels": plan.channels.model_copy(update={channel.value: drilled})})


def drill_channel_adapter(
    channel: Channel,
    *,
    plan: Plan,
    real: Callable[[Channel], ChannelAdapter | None],
    context: Callable[[], ChannelContext],
    drill_topic: Callable[[], ChannelAdapter | None],
) -> ChannelAdapter | None:
    """The adapter that delivers ``channel`` to the drill's targets, or None (``no drill target``).

    ``real`` builds the real adapter (only used where the drill redirects it: subscriber channels and
    the team's own chat); ``drill_topic`` builds the SNS adapter for the drill topic (None if none).
    """
    if channel in INTERNAL_CHANNELS:
        return real(channel)
    if channel is Channel.SNS:
        return drill_topic()
    if channel in SUBSCRIBER_CHANNELS:
        return redirect_subscribers(real(channel), plan)
    if channel in WEB_CHANNELS:
        from outage_comms.channels import catalog

        ctx = context()
        drilled = drill_web_plan(plan, channel, ctx.secrets.get_json)
        if drilled is None:
            return None
        return catalog.build(channel, replace(ctx, plan=drilled))
    return None


# ---------------------------------------------------------------------------------------------
# Status site
# ---------------------------------------------------------------------------------------------


def public_incidents(incidents: Iterable[Incident]) -> list[Incident]:
    """What the public site, feeds, banner and dashboard may show: never a drill."""
    return [i for i in incidents if not i.drill]


def drill_incidents(incidents: Iterable[Incident]) -> list[Incident]:
    return [i for i in incidents if i.drill]


def drill_site_plan(plan: Plan) -> Plan:
    """The plan as the drill page sees it: its links and ids point under ``status_prefix``."""
    base = plan.organization.status_page_url.rstrip("/")
    url = f"{base}/{plan.drill.status_prefix.rstrip('/')}"
    return plan.model_copy(
        update={"organization": plan.organization.model_copy(update={"status_page_url": url})}
    )
