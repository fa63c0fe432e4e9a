"""What each channel's customers will see, for the review and compose pages (below both: it imports neither).

One :class:`ChannelPreview` per channel with one :class:`LocalePreview` per locale: the fields, the
guard's and lint's findings placed next to the field they concern, and what the channel measures
(SMS parts and encoding, a social post's length against the network's limit). The email is shown as
the HTML customers get (the rendered HTML while the words are the rendered ones, else the same words
in a plain layout), for a sandboxed ``<iframe srcdoc>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from outage_comms import social_text
from outage_comms.channel_markup import active_markup
from outage_comms.guard import guard_message, sms_size
from outage_comms.plan import Plan
from outage_comms.rendering import RenderedMessage
from outage_comms.vocabulary import CHANNEL_FORMAT, INTERNAL_FORMATS, Channel, MessageFormat, Scenario

#: How each format is shown (the template ``templates/review/_preview.html.j2`` has one block each).
KIND = {
    MessageFormat.EMAIL: "email",
    MessageFormat.SMS: "sms",
    MessageFormat.SOCIAL: "social",
    MessageFormat.CHAT: "chat",
    MessageFormat.VOICE: "voice",
    MessageFormat.PUSH: "push",
    MessageFormat.IN_APP: "banner",
}

LABELS = {
    Channel.SNS: "SNS subscribers",
    Channel.EMAIL: "Email",
    Channel.SMS: "SMS",
    Channel.VOICE: "Voice call",
    Channel.PUSH: "Mobile push",
    Channel.IN_APP: "In-app banner",
    Channel.CHATBOT: "Team chat (AWS chat apps)",
    Channel.SLACK: "Slack",
    Channel.TEAMS: "Microsoft Teams",
    Channel.MASTODON: "Mastodon",
    Channel.BLUESKY: "Bluesky",
    Channel.WEBHOOK: "Webhook",
    Channel.SUPPORT: "Support macro",
    Channel.STATUS_PAGE: "Status page",
    Channel.DASHBOARD: "Public dashboard",
}


@dataclass(frozen=True)
class FieldView:
    name: str
    value: str
    findings: list[str]
    rows: int


@dataclass(frozen=True)
class LocalePreview:
    locale: str
    fields: list[FieldView]
    #: Findings about the message as a whole (no field named).
    findings: list[str]
    edited: bool
    sms: dict[str, Any] | None = None
    social: dict[str, Any] | None = None
    email_html: str | None = None

    def value(self, name: str) -> str:
        return next((f.value for f in self.fields if f.name == name), "")

    @property
    def problems(self) -> int:
        return len(self.findings) + sum(len(f.findings) for f in self.fields)


@dataclass(frozen=True)
class ChannelPreview:
    channel: str
    label: str
    kind: str
    internal: bool
    locales: list[LocalePreview] = field(default_factory=list)
    blocked: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open(self) -> bool:
        """Shown open: what differs from the rendered words, what the guard flags, what is blocked."""
        return bool(self.blocked) or any(p.edited or p.problems for p in self.locales)

    @property
    def problems(self) -> int:
        return sum(p.problems for p in self.locales) + len(self.blocked)

    @property
    def glance(self) -> str:
        """A few words for the closed section: what the first locale measures, or its subject."""
        if not self.locales:
            return ""
        first = self.locales[0]
        if first.sms:
            parts = first.sms["segments"]
            return f"{parts} part{'' if parts == 1 else 's'} · {first.sms['encoding']}"
        if first.social:
            return f"{first.social['length']}/{first.social['limit']}"
        words = first.value("subject") or first.value("title")
        return words if len(words) <= 60 else words[:59] + "…"


def _channel(name: str) -> Channel | None:
    try:
        return Channel(name)
    except ValueError:
        return None


def locale_preview(
    plan: Plan,
    scenario: Scenario,
    channel: Channel,
    locale: str,
    fields: Mapping[str, str],
    *,
    rendered: Mapping[str, Any] | None = None,
    check: bool = True,
) -> LocalePreview:
    """One message's preview. ``rendered``: the update's stored message (its fields and HTML)."""
    fmt = CHANNEL_FORMAT[channel]
    by_field: dict[str, list[str]] = {name: [] for name in fields}
    general: list[str] = []
    if check:
        message = RenderedMessage(scenario=scenario, format=fmt, locale=locale, fields=dict(fields))
        for finding in guard_message(plan, message, channel):
            text = f"{finding.message} — {finding.fix}" if finding.fix else finding.message
            by_field.get(finding.where, general).append(text)
        for name, value in fields.items():
            markup = active_markup(channel, value)
            by_field[name] += [f"adds {what}; write it as plain words" for what in markup]
    rendered_fields = dict((rendered or {}).get("fields") or {})
    edited = rendered is not None and rendered_fields != dict(fields)
    views = [
        FieldView(name, value, by_field[name], rows=max(2, min(12, len(value) // 60 + value.count("\n") + 1)))
        for name, value in fields.items()
    ]
    sms = social = None
    body = fields.get("body", "")
    if fmt is MessageFormat.SMS:
        size = sms_size(body)
        allowed = plan.channels.sms.max_segments if plan.channels.sms else 1
        sms = {**size.as_dict(), "allowed": allowed, "over": size.segments > allowed}
    elif channel is Channel.MASTODON:
        length = social_text.mastodon_length(body)
        limit = social_text.MASTODON_MAX_CHARACTERS
        social = {"network": "Mastodon", "length": length, "limit": limit, "over": length > limit}
    elif fmt is MessageFormat.SOCIAL:
        text = social_text.parse_link_markup(body).text
        length, limit = social_text.grapheme_count(text), social_text.BLUESKY_MAX_GRAPHEMES
        social = {"network": "Bluesky", "length": length, "limit": limit, "over": length > limit}
    email_html = None
    if fmt is MessageFormat.EMAIL:
        stored = (rendered or {}).get("html")
        email_html = stored if stored and not edited else None
    return LocalePreview(locale, views, general, edited, sms=sms, social=social, email_html=email_html)


def _unchecked(locale: str, fields: Mapping[str, str]) -> LocalePreview:
    views = [FieldView(name, value, [], rows=4) for name, value in fields.items()]
    return LocalePreview(locale, views, [], edited=False)


def channel_previews(
    plan: Plan,
    scenario: Scenario,
    shown: Mapping[str, Mapping[str, Mapping[str, str]]],
    *,
    rendered: Mapping[str, Mapping[str, Any]] | None = None,
    blocked: list[dict[str, Any]] | None = None,
    locales: list[str] | None = None,
) -> list[ChannelPreview]:
    """Every channel's preview in the update's order, then the channels whose every locale is blocked."""
    order = {code: i for i, code in enumerate(locales or plan.locale_codes)}
    previews = []
    for name, by_locale in shown.items():
        channel = _channel(name)
        items = sorted(by_locale.items(), key=lambda item: order.get(item[0], len(order)))
        if channel is None:  # not a channel this version knows: its words, unchecked
            previews.append(
                ChannelPreview(
                    channel=name,
                    label=name,
                    kind="fields",
                    internal=False,
                    locales=[_unchecked(locale, fields) for locale, fields in items],
                )
            )
            continue
        fmt = CHANNEL_FORMAT[channel]
        previews.append(
            ChannelPreview(
                channel=name,
                label=LABELS.get(channel, name),
                kind=KIND.get(fmt, "fields"),
                internal=fmt in INTERNAL_FORMATS,
                locales=[
                    locale_preview(
                        plan,
                        scenario,
                        channel,
                        locale,
                        fields,
                        rendered=((rendered or {}).get(name) or {}).get(locale),
                    )
                    for locale, fields in items
                ],
                blocked=[b for b in blocked or [] if b.get("channel") == name],
            )
        )
    listed = {p.channel for p in previews}
    for name in dict.fromkeys(str(b.get("channel")) for b in blocked or []):
        channel = _channel(name)
        if name not in listed and channel is not None:  # every locale blocked: nothing to preview
            previews.append(
                ChannelPreview(
                    channel=name,
                    label=LABELS.get(channel, name),
                    kind=KIND.get(CHANNEL_FORMAT[channel], "fields"),
                    internal=CHANNEL_FORMAT[channel] in INTERNAL_FORMATS,
                    blocked=[b for b in blocked or [] if b.get("channel") == name],
                )
            )
    return previews
