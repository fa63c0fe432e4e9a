"""The local server's own pages: the team's index and the inbox. Server-rendered, no script.

Mobile-first (one column at 390 px, nothing wider than the screen), readable in dark mode, landmarks
and labels for assistive technology. Email bodies are shown in a sandboxed ``iframe`` (no script, no
same-origin access; links open in a new tab), everything else is escaped text: the HTML is Jinja2
templates with autoescaping (:mod:`.page_templates`), filled with plain values from here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from jinja2 import DictLoader, Environment, StrictUndefined

from outage_comms.channels import registry
from outage_comms.incident import Incident
from outage_comms.vocabulary import MessageFormat
from outage_comms_cli.local.inbox import InboxMessage
from outage_comms_cli.local.page_templates import TEMPLATES

#: How the inbox names the built-in channels (a channel not listed shows its registry label).
CHANNEL_NAMES = {
    "email": "Email",
    "sms": "SMS",
    "voice": "Voice call",
    "push": "Mobile push",
    "sns": "SNS subscribers",
    "chatbot": "Team chat (Amazon Q)",
    "slack": "Slack",
    "teams": "Microsoft Teams",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "webhook": "Webhook",
    "support": "Support desk",
}
#: How a message of each format looks in the inbox (a registered channel's format picks it; else plain text).
LAYOUTS = {
    MessageFormat.SMS: "bubble",
    MessageFormat.SOCIAL: "post",
    MessageFormat.CHAT: "chat",
    MessageFormat.PUSH: "chat",
    MessageFormat.VOICE: "voice",
}


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=DictLoader(TEMPLATES),
        autoescape=True,  # every value printed is escaped (the pages show incidents' and messages' text)
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(name: str, *, title: str, identity: str = "", **context: Any) -> str:
    return _environment().get_template(name).render(title=title, identity=identity, **context)


def index_page(
    *,
    incidents: list[Incident],
    components: list[tuple[str, str]],
    severities: list[tuple[str, str]],
    api_url: str,
    identity: str,
    review_links: Mapping[str, list[str]],
    compose_links: Mapping[str, str] | None = None,
    notice: str = "",
) -> str:
    open_now = [i for i in incidents if i.is_open]
    recent = [i for i in incidents if not i.is_open][:10]
    return _render(
        "index.html",
        title="Incidents",
        identity=identity,
        notice=notice,
        open_now=_incident_rows(open_now, review_links, compose_links or {}),
        recent=_incident_rows(recent, {}, {}),
        components=components,
        severities=severities,
        api_url=api_url,
    )


def _incident_rows(
    incidents: Iterable[Incident], review_links: Mapping[str, list[str]], compose_links: Mapping[str, str]
) -> list[dict[str, Any]]:
    rows = []
    for incident in incidents:
        compose = compose_links.get(incident.id)
        reviews = review_links.get(incident.id, [])[-3:]
        links = [("Write the next update", compose)] if compose else []
        links += [
            (f"review page{f' ({n})' if n > 1 else ''}", link) for n, link in enumerate(reviews, start=1)
        ]
        rows.append(
            {
                "id": incident.id,
                "severity": incident.severity,
                "status": incident.status,
                "scenario": incident.scenario.value,
                "components": ", ".join(incident.components),
                "links": links,
            }
        )
    return rows


def incident_page(incident: Incident, activity: Mapping[str, Any], messages: list[InboxMessage]) -> str:
    facts = (
        ("status", incident.status),
        ("severity", incident.severity),
        ("scenario", incident.scenario.value),
        ("components", ", ".join(incident.components)),
        ("started", incident.started_at.isoformat(timespec="seconds")),
    )
    events = [
        {"at": e.get("at", ""), "kind": e.get("kind", ""), "text": e.get("text", "")}
        for e in activity.get("events") or []
    ]
    return _render(
        "incident.html",
        title=f"Incident {incident.id}",
        facts=facts,
        events=events,
        deliveries=[json.dumps(d, default=str, ensure_ascii=False) for d in activity.get("deliveries") or []],
        incident_id=incident.id,
        message_count=len(messages),
    )


def inbox_page(
    messages: list[InboxMessage], *, channels: list[str], selected: str | None, base_url: str
) -> str:
    return _render(
        "inbox.html",
        title="Inbox",
        channels=[(c, channel_name(c)) for c in channels],
        selected=selected,
        messages=[_message(m, base_url) for m in messages],
    )


def channel_name(channel: str) -> str:
    if channel in CHANNEL_NAMES:
        return CHANNEL_NAMES[channel]
    if not registry.is_registered(channel):
        return channel
    label = registry.spec(channel).label
    return label[:1].upper() + label[1:]


def _layout_of(channel: str, message: InboxMessage) -> str:
    if not registry.is_registered(channel):
        return "plain"
    fmt = registry.spec(channel).format
    if fmt is MessageFormat.EMAIL:
        return "email" if message.html else "plain"
    return LAYOUTS.get(fmt, "plain")


def _message(message: InboxMessage, base_url: str) -> dict[str, Any]:
    channel = message.channel
    name = channel_name(channel)
    return {
        "channel": channel,
        "channel_name": name,
        "number": message.number,
        "title": message.subject or name,
        "subject": message.subject,
        "to": message.to,
        "at": message.at,
        "incident_id": message.incident_id,
        "layout": _layout_of(channel, message),
        "document": _email_document(message.html) if message.html else "",
        "text": message.text,
        "facts": list(message.facts.items()),
        "links": [(_path(link), _link_label(link)) for link in message.links if _is_local(link, base_url)],
    }


def _email_document(body: str) -> str:
    """The email as its own document; links open outside the frame."""
    if "<base" not in body:
        head = "<base target='_blank'>"
        body = body.replace("<head>", "<head>" + head, 1) if "<head>" in body else head + body
    return body


def _is_local(link: str, base_url: str) -> bool:
    return link.startswith(base_url + "/")


def _path(link: str) -> str:
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _link_label(link: str) -> str:
    path = urlsplit(link).path
    for word, label in (("/review/", "Open the review page"), ("/compose", "Write the next update")):
        if word in path:
            return label
    return path


def who_page(approvers: list[tuple[str, str]], current: str, operator: str) -> str:
    return _render("who.html", title="Who am I", approvers=approvers, current=current, operator=operator)


def message_page(title: str, text: str, status_link: str = "/") -> str:
    return _render("message.html", title=title, text=text, back=status_link)
