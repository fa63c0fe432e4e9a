"""Security proof, area "status site" (issue 11, findings 1 and 2, and the injection proof).

* An update that was rejected, held or timed out never reaches any public artefact (HTML per
  locale, Statuspage JSON, RSS/Atom, in-app banner, dashboard), even though its note sits on the
  incident record; what was approved (as drafted or edited) or auto-sent is shown exactly.
* A control character (ANSI escape, NUL, U+FFFE, a lone surrogate...) in any human text never
  makes a publish fail, and the other incident is still published.
* Injection payloads in every human field, rendered by real headless Chromium at desktop and
  390 px wide, on every page, through the in-app banner snippet and as a feed reader would show
  the feeds' HTML: 0 script executions (a ``window.__pwned`` hook and a dialog listener count them).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import feedparser
import pytest

from outage_comms.incident import Incident, PublishedUpdate, PublishedWords
from outage_comms.plan import Plan
from outage_comms.status import build_site
from outage_comms.status.publisher import StatusPublisher
from outage_comms.status.site import Artefact, SiteOptions
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.steps import Services, record_postmortem
from outage_comms.workflow.store import InMemoryWorkflowStore
from tests.security.figures import Figures, scaled
from tests.status_site_fixtures import NOW, example_plan, major_outage, resolved_minor, sent

AREA = "status site"
Make = Callable[[str], Figures]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return example_plan()


def public_text(site: dict[str, Artefact]) -> str:
    return "\n".join(a.body.decode("utf-8", errors="replace") for a in site.values())


# -- 1. rejected / held / timed-out updates never reach a public artefact ------------------------

OUTCOMES = ("approved", "edited", "auto_send", "rejected", "held", "timed_out")
SENT = frozenset({"approved", "edited", "auto_send"})


class Repository:
    def __init__(self, incident: Incident) -> None:
        self.incident = incident

    def get(self, incident_id: str) -> Incident:
        return self.incident

    def replace_head(self, incident: Incident, previous_version: int) -> None:
        assert previous_version == self.incident.version
        self.incident = incident

    def list_recent(self, limit: int = 100) -> list[Incident]:
        return [self.incident, resolved_minor()]


def services(plan: Plan, repository: Repository) -> Services:
    return Services(
        plan=plan,
        repository=repository,  # type: ignore[arg-type]
        store=InMemoryWorkflowStore(),
        notifier=None,  # type: ignore[arg-type]
        channel=lambda channel: None,
        signer=lambda: None,  # type: ignore[arg-type,return-value]
        send_task_success=lambda token, output: None,
        execution_running=lambda arn: True,
        now=lambda: NOW,
    )


def one_update(plan: Plan, case: int, outcome: str) -> tuple[Incident, str, str]:
    """An incident with one published update, then a second update with a unique note that ends
    with ``outcome``. Returns the incident as stored afterwards, the note's marker and the words
    customers should read when it was sent."""
    marker = f"MARK{case:04d}x{outcome}"
    note = {"en": f"{marker} sync is slow for some", "pt-BR": f"{marker} a sincronização está lenta"}
    base = major_outage(note={})
    # intake stores the person's note on the record (latest note and timeline) before any approval
    last = base.timeline[-1].model_copy(update={"public_note": note})
    incident = base.model_copy(update={"public_note": note, "timeline": (*base.timeline[:-1], last)})
    drafted = sent(incident, NOW, f"{case + 100:03d}-major_outage", note=note, plan=plan)
    messages: dict[str, Any] = {
        "status_page": {
            loc: {"fields": {"title": w.title, "body": w.body}} for loc, w in drafted.text.items()
        },
        "in_app": {loc: {"fields": {"title": w.title, "body": w.body}} for loc, w in drafted.in_app.items()},
    }
    record: dict[str, Any] = {
        "update_id": drafted.update_id,
        "incident_id": incident.id,
        "scenario": "major_outage",
        "messages": messages,
        "blocked": [],
    }
    expected = drafted.text["en"].body
    if outcome == "edited":
        expected = f"EDITED{case:04d} we are moving sync to new servers."
        final = json.loads(json.dumps(messages))
        for by_locale in final.values():  # the approver rewrote every word of it
            for message in by_locale.values():
                message["fields"] = {"title": f"EDITED{case:04d}", "body": expected}
        record["approval"] = {"decision": "approved", "final_messages": final}
    elif outcome in ("rejected", "approved"):
        decision = "rejected" if outcome == "rejected" else "approved"
        record["approval"] = {"decision": decision, "final_messages": messages}
    repository = Repository(incident)
    s = services(plan, repository)
    s.store.put_update(incident.id, drafted.update_id, record)
    if outcome in SENT:  # the state machine reaches "Record published words" only after the fan-out
        record_postmortem(
            {"incident_id": incident.id, "update_id": drafted.update_id, "record": "published"}, s
        )
    return repository.incident, marker, expected


def test_unsent_updates_never_reach_any_public_artefact(plan: Plan, figures: Make) -> None:
    f = figures(AREA)
    cases = scaled(ci=6, full=60)
    for case in range(cases):
        outcome = OUTCOMES[case % len(OUTCOMES)]
        incident, marker, expected = one_update(plan, case, outcome)
        try:
            site = build_site(plan, [incident, resolved_minor()], now=NOW + timedelta(minutes=1))
        except Exception as error:
            f.tried += 1
            f.crash(f"{outcome}: {type(error).__name__}: {error}")
            continue
        for path, artefact in site.items():
            f.tried += 1
            text = artefact.body.decode("utf-8", errors="replace")
            if outcome not in SENT and marker in text:
                f.wrong(f"{outcome} update's words on {path}")
            if outcome == "edited" and marker in text:
                f.wrong(f"the draft the approver replaced is on {path}")
        listed = json.loads(site["api/v2/incidents.json"].body)["incidents"]
        bodies = {u["body"] for i in listed for u in i["incident_updates"]}
        if outcome in SENT and expected not in bodies:
            f.loss(f"{outcome} update {marker} is not on the site")
    f.extra["outcomes"] = list(OUTCOMES)
    assert f.clean, f.failure_message()


# -- 2. control characters never stop a publish -----------------------------------------------

CONTROL = [
    "\x1b[31m",
    "\x1b]0;title\x07",
    "\x00",
    "\ufffe",
    "\uffff",
    "\ud800",
    "\x08\x0b\x0c",
    "\x7f",
    "\x85",
    "\r",
    "\u202e",  # right-to-left override: legal, shown as is
    "\u2028\u2029",
]


class MemorySink:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def etags(self) -> dict[str, str]:
        return {}

    def put_object(self, key: str, artefact: Artefact) -> None:
        self.objects[key] = artefact.body

    def put_dashboard(self, body: str) -> None:
        self.objects["__dashboard__"] = body.encode()

    def put_metric_data(self, namespace: str, data: list[dict[str, Any]]) -> None:
        return None

    def invalidate(self, paths: list[str]) -> None:
        return None


class TwoIncidents:
    def __init__(self, *incidents: Incident) -> None:
        self.incidents = {i.id: i for i in incidents}

    def get(self, incident_id: str) -> Incident:
        return self.incidents[incident_id]

    def list_recent(self, limit: int = 100) -> list[Incident]:
        return list(self.incidents.values())


def with_control(plan: Plan, payload: str, where: str) -> Incident:
    text = {"en": f"Pages{payload} load{payload} again", "pt-BR": f"Voltou{payload} ao normal"}
    if where == "note":  # on the record only (an update not sent)
        base = major_outage(note={}).model_copy(update={"published": ()})
        last = base.timeline[-1].model_copy(update={"public_note": text})
        return base.model_copy(update={"public_note": text, "timeline": (*base.timeline[:-1], last)})
    if where == "postmortem":
        done = resolved_minor()
        return done.evolve(postmortem=text, postmortem_published_at=NOW - timedelta(days=1))
    words = {loc: PublishedWords(title=f"Title{payload}", body=body) for loc, body in text.items()}
    incident = major_outage(note={})
    last = incident.published[-1].model_copy(update={"text": words, "in_app": words})
    return incident.model_copy(update={"published": (*incident.published[:-1], last)})


def test_control_characters_never_stop_a_publish_and_the_other_incident_appears(
    plan: Plan, figures: Make
) -> None:
    f = figures(AREA)
    other = resolved_minor().model_copy(update={"id": "inc-20261124-1300-00ffee"})
    for payload in CONTROL[: scaled(ci=4, full=len(CONTROL))]:
        for where in ("note", "published", "postmortem"):
            f.tried += 1
            bad = with_control(plan, payload, where)
            sink = MemorySink()
            publisher = StatusPublisher(
                plan=plan,
                incidents=TwoIncidents(bad, other),
                sink=sink,
                options=SiteOptions(),
                clock=lambda: NOW,
            )
            try:
                first = publisher.publish(bad.id)
                second = publisher.publish(other.id)  # "every later publish failed"
            except Exception as error:
                f.crash(f"{where} {payload!r}: {type(error).__name__}: {error}")
                continue
            if first.failures or second.failures:
                f.crash(f"{where} {payload!r}: {first.failures or second.failures}")
            listed = json.loads(sink.objects.get("api/v2/incidents.json", b'{"incidents":[]}'))["incidents"]
            if other.id not in {i["id"] for i in listed}:
                f.loss(f"{where} {payload!r}: the other incident is not published")
            for name in ("history.rss", "history.atom", "pt-br/history.atom"):
                if feedparser.parse(sink.objects.get(name, b"")).bozo:
                    f.crash(f"{where} {payload!r}: {name} does not parse")
            everything = b"".join(sink.objects.values()).decode("utf-8", errors="strict")
            leftover = [
                c for c in ("\x1b", "\x00", "\ufffe", "\uffff", "\x07", "\x0b", "\x7f") if c in everything
            ]
            if leftover:
                f.wrong(f"{where} {payload!r}: {leftover!r} published")
    assert f.clean, f.failure_message()


# -- 3. injection payloads in every human field, in real Chromium ------------------------------

HOOK = "window.__pwned.push({n})"
PAYLOADS = [
    "<script>{hook}</script>",
    '"><img src=x onerror="{hook}">',
    "'><svg onload='{hook}'>",
    "<svg><script>{hook}</script></svg>",
    '<a href="javascript:{hook}">help</a> [help](javascript:{hook})',
    "javascript:{hook}",
    '<iframe src="javascript:{hook}"></iframe>',
    "<body onload={hook}>",
    "<details open ontoggle={hook}>",
    "<math><mtext><table><mglyph><style><img src=x onerror={hook}>",
    "</title><script>{hook}</script>",
    "</textarea></style></script><script>{hook}</script>",
    "<input autofocus onfocus={hook}>",
    "<video><source onerror={hook}></video>",
    '<object data="javascript:{hook}"></object>',
    '<meta http-equiv="refresh" content="0;url=javascript:{hook}">',
    "&lt;script&gt;{hook}&lt;/script&gt;",
    "<img src=x onerror=alert({n})>",
    "\u2028</script><script>{hook}</script>",
    '<div style="background:url(javascript:{hook})">x</div>',
    "{{{{ 7*7 }}}}{{% raw %}}<script>{hook}</script>",
    '<noscript><p title="</noscript><img src=x onerror={hook}>">',
    '<base href="javascript:{hook}//">',
    "<form><button formaction=javascript:{hook}>x</button></form>",
]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
HOST_PAGE = (
    '<!doctype html><html lang="en"><head><title>app</title></head><body><p>app</p>\n'
    '<script src="embed/banner.js" data-locale="{locale}"></script></body></html>'
)
FEED_READER = (
    '<!doctype html><html lang="en"><head><title>reader</title></head>'
    '<body><main id="r"></main></body></html>'
)


def payload(n: int) -> str:
    return PAYLOADS[n % len(PAYLOADS)].format(hook=HOOK.format(n=n), n=n)


def injected_incidents(plan: Plan, count: int, per: int) -> list[Incident]:
    """``count`` incidents, each carrying ``per`` payloads in every human field; every third one is
    resolved with a postmortem carrying them too."""
    incidents = []
    for n in range(count):
        text = " ".join(payload(n * per + k) for k in range(per))
        words = {
            loc: PublishedWords(title=f"T{n} {text}", body=f"B{n} {text}\n\n{text}")
            for loc in plan.locale_codes
        }
        base = major_outage(note={loc: text for loc in plan.locale_codes})
        first = base.published[0]
        published = (
            first,
            PublishedUpdate(
                update_id="002-major_outage",
                at=NOW - timedelta(minutes=5),
                status="identified",
                scenario=Scenario.MAJOR_OUTAGE,
                text=words,
                in_app=words,
            ),
        )
        incident = base.model_copy(
            update={
                "id": f"inc-20261127-1410-{n:06x}",
                "internal_title": text,
                "public_note": {loc: text for loc in plan.locale_codes},
                "published": published,
                "started_at": base.started_at + timedelta(seconds=n),
            }
        )
        if n % 3 == 2:  # resolved, with a postmortem carrying the payload
            incident = incident.evolve(
                status="resolved",
                scenario=Scenario.RESOLVED,
                resolved_at=NOW - timedelta(minutes=1),
                postmortem={loc: f"P{n} {text}\n\n{text}" for loc in plan.locale_codes},
                postmortem_published_at=NOW,
            )
        incidents.append(incident)
    return incidents


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".atom": "application/atom+xml",
        ".js": "text/javascript",
    }

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, plan: Plan
) -> Iterator[tuple[str, dict[str, Artefact], int]]:
    count, per = scaled(ci=3, full=len(PAYLOADS)), scaled(ci=8, full=2)  # every payload, CI: in fewer pages
    site = build_site(plan, injected_incidents(plan, count, per), now=NOW)
    root = tmp_path_factory.mktemp("injected-site")
    for path, artefact in site.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(artefact.body)
    for locale in plan.locale_codes:
        (root / f"host-{locale}.html").write_text(HOST_PAGE.format(locale=locale), encoding="utf-8")
    (root / "reader.html").write_text(FEED_READER, encoding="utf-8")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", site, count * per
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required under CI: bash scripts/install-system-deps.sh chromium")
        pytest.skip("Chromium is not installed (bash scripts/install-system-deps.sh chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


# Every element with an on* attribute, every javascript: URL, every script the site did not ship (the site
# ships two external scripts: the banner embed and the subscribe form's progressive enhancement).
_DOM_CHECK = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const v = a.value.trim().toLowerCase();
      if (a.name.startsWith('on') || v.startsWith('javascript:')) bad.push(el.tagName + ' ' + a.name);
    }
    if (['SCRIPT','IFRAME','OBJECT','EMBED','SVG','MATH','BASE','META'].includes(el.tagName)
        && !(el.tagName === 'SCRIPT' && !el.text.trim()
             && ['/embed/banner.js', '/assets/subscribe.js'].some((own) => (el.src || '').endsWith(own)))
        && !(el.tagName === 'META' && !el.httpEquiv)) bad.push(el.tagName);
  }
  return bad;
}"""


def visit(
    context: Any, url: str, act: Callable[[Any], None] | None = None
) -> tuple[list[int], list[str], list[str]]:
    """Open ``url`` in a new page of ``context``; return (hook calls, dialogs, DOM findings)."""
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(url)
        page.wait_for_load_state("load")
        if act is not None:
            act(page)
        for href in page.eval_on_selector_all("a", "links => links.map(a => a.getAttribute('href') || '')"):
            if href.strip().lower().startswith(("javascript:", "data:", "vbscript:")):
                dialogs.append(f"link to {href[:40]}")
        return list(page.evaluate("window.__pwned")), dialogs, list(page.evaluate(_DOM_CHECK))
    finally:
        page.close()


def hooked(browser: Any, viewport: dict[str, int]) -> Any:
    context = browser.new_context(viewport=viewport)
    context.add_init_script("window.__pwned = [];")
    return context


def _record(f: Figures, where: str, outcome: tuple[list[int], list[str], list[str]]) -> None:
    f.tried += 1
    ran, dialogs, dom = outcome
    if ran or dialogs:
        f.wrong(f"{where}: script ran {ran} {dialogs}")
    if dom:
        f.wrong(f"{where}: live markup {dom[:5]}")


def test_injection_payloads_never_run_in_chromium_on_any_page_or_width(
    browser: Any, served: tuple[str, dict[str, Artefact], int], plan: Plan, figures: Make
) -> None:
    f = figures(AREA)
    url, site, count = served
    pages = [p for p in site if p.endswith(".html")]

    def banner_shown(page: Any) -> None:
        page.wait_for_selector("[data-outage-comms-severity]", timeout=5000)

    for name, viewport in VIEWPORTS.items():
        context = hooked(browser, viewport)
        try:
            for path in pages:
                _record(f, f"{name} /{path}", visit(context, f"{url}/{path}"))
            for locale in plan.locale_codes:
                _record(
                    f, f"{name} banner {locale}", visit(context, f"{url}/host-{locale}.html", banner_shown)
                )
        finally:
            context.close()
    f.extra["payloads"] = count
    f.extra["pages"] = len(pages)
    f.extra["viewports"] = sorted(VIEWPORTS)
    assert f.clean, f.failure_message()


def test_feed_html_is_inert_where_a_feed_reader_renders_it(
    browser: Any, served: tuple[str, dict[str, Artefact], int], plan: Plan, figures: Make
) -> None:
    """Feed readers put an entry's description into a page as HTML: the payloads stay text there."""
    f = figures(AREA)
    url, site, _ = served
    context = hooked(browser, VIEWPORTS["desktop"])
    try:
        for name in ("history.rss", "history.atom", "pt-br/history.rss", "pt-br/history.atom"):
            _record(f, f"feed reader {name}", visit(context, f"{url}/reader.html", reader(site[name].body)))
    finally:
        context.close()
    assert f.clean, f.failure_message()


def reader(feed: bytes) -> Callable[[Any], None]:
    """What a feed reader does: each entry's HTML (description, content) into the page as HTML, its
    title as text (RSS 2.0 and Atom titles are text), both as parsed and from the raw XML."""
    parsed = feedparser.parse(feed)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    html = [e.get("description", "") for e in parsed.entries] + [e.content[0].value for e in parsed.entries]
    html += _raw_texts(feed, ("description", "content", "summary"))
    text = [e.title for e in parsed.entries] + _raw_texts(feed, ("title",))

    def render(page: Any) -> None:
        page.evaluate(
            "([html, text]) => { const r = document.getElementById('r');"
            " for (const h of html) { const d = document.createElement('article');"
            " d.innerHTML = h; r.append(d); }"
            " for (const t of text) { const h = document.createElement('h2');"
            " h.textContent = t; r.append(h); } }",
            [html, text],
        )
        page.wait_for_timeout(100)

    return render


def _raw_texts(xml: bytes, tags: tuple[str, ...]) -> list[str]:
    """The text of every element named in ``tags``, unescaped once (the XML layer only)."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(xml)
    return [el.text for el in root.iter() if el.text and el.tag.rsplit("}", 1)[-1] in tags]


def test_the_hook_can_fail(browser: Any, figures: Make) -> None:
    """The counter above is live: an unescaped payload on a page is counted."""
    context = browser.new_context()
    context.add_init_script("window.__pwned = [];")
    page = context.new_page()
    try:
        page.set_content(f"<main>{payload(1)}{payload(0)}</main>")
        page.wait_for_timeout(100)
        assert page.evaluate("window.__pwned") != []
    finally:
        context.close()
