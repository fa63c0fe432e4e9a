"""The local server's own pages: the team's index and the inbox. Server-rendered, no script.

Mobile-first (one column at 390 px, nothing wider than the screen), readable in dark mode, landmarks
and labels for assistive technology. Email bodies are shown in a sandboxed ``iframe`` (no script, no
same-origin access; links open in a new tab), everything else is escaped text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from outage_comms.incident import Incident
from outage_comms_cli.local.inbox import InboxMessage

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
CHAT = {"chatbot", "slack", "teams"}
SOCIAL = {"mastodon", "bluesky"}

STYLE = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1b1f24; --muted: #4a5361; --card: #f4f6f8;
  --line: #c9d1d9; --link: #0b57c2; --accent: #0b57c2; --accent-fg: #ffffff; --bubble: #d7ecff; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f1419; --fg: #e6edf3; --muted: #aab4bf; --card: #1a2129; --line: #3a4652;
    --link: #8cc4ff; --accent: #8cc4ff; --accent-fg: #0f1419; --bubble: #1f3b57; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg);
  color: var(--fg); overflow-wrap: anywhere; }
a { color: var(--link); }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 0.75rem 1rem; }
header nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; padding: 0; margin: 0; }
header p { margin: 0.25rem 0 0; color: var(--muted); }
h1 { font-size: 1.5rem; margin: 0.5rem 0; } h2 { font-size: 1.2rem; margin: 1.25rem 0 0.5rem; }
h3 { font-size: 1rem; margin: 0 0 0.25rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 0.5rem; padding: 0.75rem;
  margin: 0 0 0.75rem; max-width: 100%; }
.meta { color: var(--muted); font-size: 0.9rem; margin: 0 0 0.5rem; }
.bubble { background: var(--bubble); border-radius: 1rem 1rem 1rem 0.25rem; padding: 0.6rem 0.8rem;
  max-width: 22rem; white-space: pre-wrap; }
.post { border-left: 4px solid var(--accent); padding-left: 0.75rem; white-space: pre-wrap; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; max-width: 100%; margin: 0; font-size: 0.85rem; }
iframe { width: 100%; min-height: 22rem; border: 1px solid var(--line); border-radius: 0.25rem;
  background: #ffffff; }
dl.facts { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; margin: 0.5rem 0 0; font-size: 0.9rem; }
dl.facts div { display: flex; gap: 0.25rem; } dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
ul.links { padding-left: 1.2rem; margin: 0.5rem 0 0; }
form.inline { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: end; }
label { display: block; font-weight: 600; }
select, button, input { font: inherit; min-height: 2.75rem; max-width: 100%; }
button { background: var(--accent); color: var(--accent-fg); border: 0; border-radius: 0.4rem;
  padding: 0.4rem 1rem; cursor: pointer; }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 0.3rem;
  border-bottom: 1px solid var(--line); vertical-align: top; }
.filters { display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; padding: 0; list-style: none; }
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def layout(title: str, body: str, *, identity: str = "") -> str:
    who = f"<p>Acting as: {esc(identity)} · <a href='/as'>change</a></p>" if identity else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)} · Outage Comms local</title><style>{STYLE}</style></head><body>"
        "<header><nav aria-label='Local deployment'><ul>"
        "<li><a href='/'>Incidents</a></li><li><a href='/inbox/'>Inbox</a></li>"
        "<li><a href='/status/'>Status site</a></li><li><a href='/as'>Who am I</a></li></ul></nav>"
        f"{who}</header><main><h1>{esc(title)}</h1>{body}</main>"
        "<footer><p class='meta'>Outage Comms, local deployment on the embedded AWS: nothing here reaches "
        "a real customer.</p></footer></body></html>"
    )


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
    parts = [f"<p role='status'>{esc(notice)}</p>" if notice else ""]
    parts.append("<h2>Open incidents</h2>")
    parts.append(
        _incident_table(open_now, review_links, compose_links or {})
        if open_now
        else "<p>No open incident.</p>"
    )
    parts.append("<h2>Fire an alarm</h2>")
    if components:
        options = "".join(f"<option value='{esc(cid)}'>{esc(name)}</option>" for cid, name in components)
        levels = "".join(f"<option value='{esc(sid)}'>{esc(name)}</option>" for sid, name in severities)
        parts.append(
            "<p>A CloudWatch alarm state change (ALARM) for the component's alarm, as the real alarm "
            "sends it.</p><form class='inline' method='post' action='/alarms'>"
            f"<div><label for='component'>Component</label><select id='component' name='component'>{options}"
            "</select></div><div><label for='severity'>Severity</label>"
            "<select id='severity' name='severity'>"
            f"{levels}</select></div><button type='submit'>Fire alarm</button></form>"
        )
    else:
        parts.append("<p>No component of this plan maps an alarm name.</p>")
    parts.append("<h2>Recently resolved</h2>")
    parts.append(_incident_table(recent, {}, {}) if recent else "<p>None yet.</p>")
    parts.append(
        "<h2>From the command line</h2><pre>"
        f"export OUTAGE_COMMS_API_URL={esc(api_url)}\n"
        "outage-comms declare --component &lt;id&gt; --severity &lt;id&gt; --note 'en=…'\n"
        "outage-comms list\noutage-comms show &lt;incident id&gt;</pre>"
    )
    return layout("Incidents", "".join(parts), identity=identity)


def _incident_table(
    incidents: Iterable[Incident], review_links: Mapping[str, list[str]], compose_links: Mapping[str, str]
) -> str:
    rows = []
    for incident in incidents:
        compose = compose_links.get(incident.id)
        links = (f"<li><a href='{esc(compose)}'>Write the next update</a></li>" if compose else "") + "".join(
            f"<li><a href='{esc(link)}'>review page{' (' + str(n) + ')' if n > 1 else ''}</a></li>"
            for n, link in enumerate(review_links.get(incident.id, [])[-3:], start=1)
        )
        rows.append(
            f"<tr><td><a href='/incidents/{esc(incident.id)}'>{esc(incident.id)}</a></td>"
            f"<td>{esc(incident.severity)}</td><td>{esc(incident.status)}</td>"
            f"<td>{esc(incident.scenario.value)}</td><td>{esc(', '.join(incident.components))}</td>"
            f"<td>{'<ul class=links>' + links + '</ul>' if links else ''}</td></tr>"
        )
    return (
        "<div style='overflow-x:auto'><table><caption class='meta'>newest first</caption><thead><tr>"
        "<th scope='col'>Incident</th><th scope='col'>Severity</th><th scope='col'>Status</th>"
        "<th scope='col'>Scenario</th><th scope='col'>Components</th><th scope='col'>Links</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def incident_page(incident: Incident, activity: Mapping[str, Any], messages: list[InboxMessage]) -> str:
    events = activity.get("events") or []
    deliveries = activity.get("deliveries") or []
    parts = [
        "<dl class='facts'>",
        *(
            f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>"
            for k, v in (
                ("status", incident.status),
                ("severity", incident.severity),
                ("scenario", incident.scenario.value),
                ("components", ", ".join(incident.components)),
                ("started", incident.started_at.isoformat(timespec="seconds")),
            )
        ),
        "</dl><h2>Workflow events</h2><ul>",
        *(
            f"<li>{esc(e.get('at', ''))} {esc(e.get('kind', ''))}: {esc(e.get('text', ''))}</li>"
            for e in events
        ),
        "</ul><h2>Deliveries</h2><ul>",
        *(f"<li>{esc(json.dumps(d, default=str, ensure_ascii=False))}</li>" for d in deliveries),
        f"</ul><h2>Messages in the inbox</h2><p><a href='/inbox/?incident={esc(incident.id)}'>"
        f"{len(messages)} message(s) for this incident</a></p>",
    ]
    return layout(f"Incident {incident.id}", "".join(parts))


def inbox_page(
    messages: list[InboxMessage], *, channels: list[str], selected: str | None, base_url: str
) -> str:
    filters = "".join(
        f"<li><a href='/inbox/?channel={esc(c)}'{' aria-current=page' if c == selected else ''}>"
        f"{esc(CHANNEL_NAMES.get(c, c))}</a></li>"
        for c in channels
    )
    heading = (
        f"<p>{len(messages)} message(s), newest first. Refresh to see new ones.</p>"
        "<nav aria-label='Channels'><ul class='filters'><li><a href='/inbox/'>All</a></li>"
        f"{filters}</ul></nav>"
    )
    items = "".join(_message(m, base_url) for m in messages) or "<p>Nothing delivered yet.</p>"
    return layout("Inbox", heading + items)


def _message(message: InboxMessage, base_url: str) -> str:
    channel = message.channel
    title = message.subject or CHANNEL_NAMES.get(channel, channel)
    head = (
        f"<article class='card' data-channel='{esc(channel)}' aria-labelledby='m{message.number}'>"
        f"<h2 id='m{message.number}' style='font-size:1.05rem;margin-top:0'>"
        f"{esc(CHANNEL_NAMES.get(channel, channel))}: {esc(title)}</h2>"
        f"<p class='meta'>to {esc(message.to)} · {esc(message.at)}"
        f"{' · ' + esc(message.incident_id) if message.incident_id else ''}</p>"
    )
    if channel == "email" and message.html:
        body = (
            f"<iframe title='Email: {esc(title)}' sandbox='allow-popups allow-popups-to-escape-sandbox' "
            f"srcdoc='{esc(_email_document(message.html))}'></iframe>"
        )
    elif channel in ("sms",):
        body = f"<div class='bubble'>{esc(message.text)}</div>"
    elif channel in SOCIAL:
        body = f"<div class='post'>{esc(message.text)}</div>"
    elif channel in CHAT or channel == "push":
        body = f"<div class='post'><h3>{esc(message.subject)}</h3><pre>{esc(message.text)}</pre></div>"
    elif channel == "voice":
        body = f"<p>Read aloud:</p><blockquote class='post'>{esc(message.text)}</blockquote>"
    else:
        body = f"<pre>{esc(message.text)}</pre>"
    facts = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in message.facts.items())
    local = [link for link in message.links if _is_local(link, base_url)]
    links = "".join(f"<li><a href='{esc(_path(link))}'>{esc(_link_label(link))}</a></li>" for link in local)
    return (
        head
        + body
        + (f"<dl class='facts'>{facts}</dl>" if facts else "")
        + (f"<ul class='links' aria-label='Links in this message'>{links}</ul>" if links else "")
        + "</article>"
    )


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
    options = "".join(
        f"<li><form method='post' action='/as'><input type='hidden' name='principal' value='{esc(arn)}'>"
        f"<button type='submit'{' aria-current=true' if arn == current else ''}>{esc(label)}</button>"
        "</form></li>"
        for label, arn in approvers
    )
    body = (
        "<p>API Gateway checks each caller's IAM identity; here this server stands in for it. Pick who "
        "opens review pages (two different approvers for a dual approval). The incident API, CLI "
        f"included, acts as <code>{esc(operator)}</code>.</p>"
        f"<p>Now: <code>{esc(current)}</code></p><ul class='links'>{options}</ul>"
    )
    return layout("Who am I", body)


def message_page(title: str, text: str, status_link: str = "/") -> str:
    return layout(title, f"<p>{esc(text)}</p><p><a href='{esc(status_link)}'>Back</a></p>")
