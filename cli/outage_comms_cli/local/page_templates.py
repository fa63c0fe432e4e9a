"""The local server's page templates (Jinja2, autoescaped: every value printed is escaped unless it is
:class:`markupsafe.Markup`). Kept in the package as strings: the CLI ships no template folder of its own.

Text inside ``pre`` and the pre-wrap bubbles stays on one line with its tags (whitespace there is shown).
"""

from __future__ import annotations

LAYOUT = """\
<!doctype html>
<html lang='en'>
<head>
<meta charset='utf-8'>
<meta name='viewport' content='width=device-width, initial-scale=1'>
<title>{{ title }} · Outage Comms local</title>
<style>{% include "style.css" %}</style>
</head>
<body>
<header>
<nav aria-label='Local deployment'><ul>
<li><a href='/'>Incidents</a></li>
<li><a href='/inbox/'>Inbox</a></li>
<li><a href='/status/'>Status site</a></li>
<li><a href='/as'>Who am I</a></li>
</ul></nav>
{% if identity %}
<p>Acting as: {{ identity }} · <a href='/as'>change</a></p>
{% endif %}
</header>
<main>
<h1>{{ title }}</h1>
{% block body %}{% endblock %}
</main>
<footer><p class='meta'>Outage Comms, local deployment on the embedded AWS: nothing here reaches a real \
customer.</p></footer>
</body>
</html>
"""

INCIDENT_TABLE = """\
{% macro incident_table(rows) %}
<div style='overflow-x:auto'><table><caption class='meta'>newest first</caption>
<thead><tr><th scope='col'>Incident</th><th scope='col'>Severity</th><th scope='col'>Status</th>
<th scope='col'>Scenario</th><th scope='col'>Components</th><th scope='col'>Links</th></tr></thead>
<tbody>
{% for row in rows %}
<tr><td><a href='/incidents/{{ row.id }}'>{{ row.id }}</a></td><td>{{ row.severity }}</td>
<td>{{ row.status }}</td><td>{{ row.scenario }}</td><td>{{ row.components }}</td>
<td>{% if row.links %}<ul class=links>
{% for label, href in row.links %}<li><a href='{{ href }}'>{{ label }}</a></li>{% endfor %}
</ul>{% endif %}</td></tr>
{% endfor %}
</tbody></table></div>
{% endmacro %}
"""

INDEX = """\
{% extends "layout.html" %}
{% from "incident_table.html" import incident_table %}
{% block body %}
{% if notice %}<p role='status'>{{ notice }}</p>{% endif %}
<h2>Open incidents</h2>
{% if open_now %}{{ incident_table(open_now) }}{% else %}<p>No open incident.</p>{% endif %}
<h2>Fire an alarm</h2>
{% if components %}
<p>A CloudWatch alarm state change (ALARM) for the component's alarm, as the real alarm sends it.</p>
<form class='inline' method='post' action='/alarms'>
<div><label for='component'>Component</label><select id='component' name='component'>
{% for value, name in components %}<option value='{{ value }}'>{{ name }}</option>{% endfor %}
</select></div>
<div><label for='severity'>Severity</label><select id='severity' name='severity'>
{% for value, name in severities %}<option value='{{ value }}'>{{ name }}</option>{% endfor %}
</select></div>
<button type='submit'>Fire alarm</button></form>
{% else %}
<p>No component of this plan maps an alarm name.</p>
{% endif %}
<h2>Recently resolved</h2>
{% if recent %}{{ incident_table(recent) }}{% else %}<p>None yet.</p>{% endif %}
<h2>From the command line</h2>
<pre>export OUTAGE_COMMS_API_URL={{ api_url }}
outage-comms declare --component &lt;id&gt; --severity &lt;id&gt; --note 'en=…'
outage-comms list
outage-comms show &lt;incident id&gt;</pre>
{% endblock %}
"""

INCIDENT = """\
{% extends "layout.html" %}
{% block body %}
<dl class='facts'>
{% for name, value in facts %}<div><dt>{{ name }}</dt><dd>{{ value }}</dd></div>{% endfor %}
</dl>
<h2>Workflow events</h2>
<ul>
{% for event in events %}<li>{{ event.at }} {{ event.kind }}: {{ event.text }}</li>{% endfor %}
</ul>
<h2>Deliveries</h2>
<ul>
{% for delivery in deliveries %}<li>{{ delivery }}</li>{% endfor %}
</ul>
<h2>Messages in the inbox</h2>
<p><a href='/inbox/?incident={{ incident_id }}'>{{ message_count }} message(s) for this incident</a></p>
{% endblock %}
"""

INBOX = """\
{% extends "layout.html" %}
{% block body %}
<p>{{ messages|length }} message(s), newest first. Refresh to see new ones.</p>
<nav aria-label='Channels'><ul class='filters'>
<li><a href='/inbox/'>All</a></li>
{% for value, name in channels %}
<li><a href='/inbox/?channel={{ value }}'{% if value == selected %} aria-current=page{% endif %}>\
{{ name }}</a></li>
{% endfor %}
</ul></nav>
{% for m in messages %}
<article class='card' data-channel='{{ m.channel }}' aria-labelledby='m{{ m.number }}'>
<h2 id='m{{ m.number }}' style='font-size:1.05rem;margin-top:0'>{{ m.channel_name }}: {{ m.title }}</h2>
<p class='meta'>to {{ m.to }} · {{ m.at }}{% if m.incident_id %} · {{ m.incident_id }}{% endif %}</p>
{% if m.layout == "email" %}
<iframe title='Email: {{ m.title }}' sandbox='allow-popups allow-popups-to-escape-sandbox' \
srcdoc='{{ m.document }}'></iframe>
{% elif m.layout == "bubble" %}
<div class='bubble'>{{ m.text }}</div>
{% elif m.layout == "post" %}
<div class='post'>{{ m.text }}</div>
{% elif m.layout == "chat" %}
<div class='post'><h3>{{ m.subject }}</h3><pre>{{ m.text }}</pre></div>
{% elif m.layout == "voice" %}
<p>Read aloud:</p><blockquote class='post'>{{ m.text }}</blockquote>
{% else %}
<pre>{{ m.text }}</pre>
{% endif %}
{% if m.facts %}
<dl class='facts'>\
{% for name, value in m.facts %}<div><dt>{{ name }}</dt><dd>{{ value }}</dd></div>{% endfor %}</dl>
{% endif %}
{% if m.links %}
<ul class='links' aria-label='Links in this message'>
{% for href, label in m.links %}<li><a href='{{ href }}'>{{ label }}</a></li>{% endfor %}
</ul>
{% endif %}
</article>
{% else %}
<p>Nothing delivered yet.</p>
{% endfor %}
{% endblock %}
"""

WHO = """\
{% extends "layout.html" %}
{% block body %}
<p>API Gateway checks each caller's IAM identity; here this server stands in for it. Pick who opens review \
pages (two different approvers for a dual approval). The incident API, CLI included, acts as \
<code>{{ operator }}</code>.</p>
<p>Now: <code>{{ current }}</code></p>
<ul class='links'>
{% for label, arn in approvers %}
<li><form method='post' action='/as'><input type='hidden' name='principal' value='{{ arn }}'>
<button type='submit'{% if arn == current %} aria-current=true{% endif %}>{{ label }}</button></form></li>
{% endfor %}
</ul>
{% endblock %}
"""

MESSAGE = """\
{% extends "layout.html" %}
{% block body %}
<p>{{ text }}</p>
<p><a href='{{ back }}'>Back</a></p>
{% endblock %}
"""

#: The pages' style sheet (included verbatim: a template of ours, not a value).
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

TEMPLATES = {
    "style.css": STYLE,
    "layout.html": LAYOUT,
    "incident_table.html": INCIDENT_TABLE,
    "index.html": INDEX,
    "incident.html": INCIDENT,
    "inbox.html": INBOX,
    "who.html": WHO,
    "message.html": MESSAGE,
}
