"""Benchmark: the status site — full rebuilds, the incremental publish after one update, the page in Chromium.

    .venv/bin/python bench/status.py            # prints the figures, writes bench/results/status.json

Figures (each next to a baseline measured in the same run, see ``bench/_results.py``):

* **full rebuild** of every artefact (``build_site``, template and string caches cleared) at
  10 components × 100 incidents (the baseline), 50 × 1,000 (target < 300 ms) and 200 × 10,000;
* **publish after one update** (``StatusPublisher.publish(incident_id)`` with its materialised state)
  at 100, 1,000 and 10,000 incidents in history (50 components, one incident a day, so the site's
  90-day window is the same at every size): target < 50 ms of our code, flat (10,000 vs 100 ~ 1).
  The repository holds each incident as the store's compressed body and decodes it per read, like
  DynamoDB; its reads are counted (one GetItem, one Query of the open incidents, no scan);
* **the home page at 200 components in Chromium**: DOM elements (target < 3,000), gzip size (target
  < 50 KB) and main-thread blocking against the same page with an element per uptime day (as before
  issue 13.5), and first contentful paint against a minimal page with the same style sheet.

"Our code" is the process CPU time (``time.process_time``): the machine is shared, so wall time
also counts other processes' turns; both are kept in ``details``.
"""

from __future__ import annotations

import copy
import functools
import gc
import http.server
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "lambdas"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import BenchRun  # noqa: E402

from outage_comms.incident import (  # noqa: E402
    Incident,
    IncidentSource,
    PublishedUpdate,
    PublishedWords,
    TimelineEntry,
)
from outage_comms.plan import Plan, parse_plan, read_plan_data  # noqa: E402

OPEN_INCIDENTS = 3
REBUILD_TARGET_MS = 300.0
PUBLISH_TARGET_MS = 50.0
DOM_TARGET = 3000
PAGE_GZIP_TARGET = 50 * 1024
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
#: (components, incidents in history) of the rebuild growth; the first is the baseline.
REBUILD_SIZES = ((10, 100), (50, 1_000), (200, 10_000))
HISTORIES = (100, 1_000, 10_000)
#: Untimed publishes after one update before the timed ones, at each history size.
WARM_UP = 2
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def big_plan(components: int = 50) -> Plan:
    data: dict[str, Any] = copy.deepcopy(read_plan_data(REPO_ROOT / "plans" / "example.yaml"))
    groups = [g["id"] for g in data["groups"]]
    data["components"] = [
        {
            "id": f"service-{n:03d}",
            "name": {"en": f"Service {n}", "pt-BR": f"Serviço {n}"},
            "description": {
                "en": f"What service {n} does for you",
                "pt-BR": f"O que o serviço {n} faz por você",
            },
            "group": groups[n % len(groups)],
            "audiences": ["all-customers"],
        }
        for n in range(components)
    ]
    return parse_plan(data, "bench-plan")


def history(plan: Plan, count: int, every_hours: int = 17) -> list[Incident]:
    """``count`` incidents, one every ``every_hours`` back from NOW; the newest few still open."""
    source = IncidentSource(type="alarm", reference="arn:aws:cloudwatch:us-east-1:111122223333:alarm:bench")
    size = len(plan.components)
    incidents = []
    for n in range(count):
        started = NOW - timedelta(hours=every_hours * n + 1)
        severity = plan.severities[n % 3]
        components = tuple(plan.components[(n * 7 + k) % size].id for k in range(1 + n % 3))
        still_open = n < OPEN_INCIDENTS
        timeline = [TimelineEntry(at=started, kind="opened", text="bench", source=source, event_id=f"{n}-a")]
        timeline.append(
            TimelineEntry(
                at=started + timedelta(minutes=20),
                kind="status",
                text="bench (status investigating -> identified)",
                source=source,
                event_id=f"{n}-b",
                public_note={"en": "We found the cause and are fixing it.", "pt-BR": "Encontramos a causa."},
            )
        )
        if not still_open:
            timeline.append(
                TimelineEntry(
                    at=started + timedelta(minutes=50),
                    kind="resolved",
                    text="ok",
                    source=source,
                    event_id=f"{n}-c",
                )
            )
        incidents.append(
            Incident(
                id=f"inc-{started:%Y%m%d-%H%M}-{n:06x}",
                internal_title="bench",
                public_title={"en": "x", "pt-BR": "x"},
                components=components,
                severity=severity.id,
                status="identified" if still_open else "resolved",
                scenario=severity.default_scenario if still_open else "resolved",
                audiences=("all-customers",),
                started_at=started,
                updated_at=timeline[-1].at,
                resolved_at=None if still_open else started + timedelta(minutes=50),
                source=source,
                timeline=tuple(timeline),
            )
        )
    return incidents


class StoredIncidents:
    """The repository port as DynamoDB serves it: compressed bodies, decoded on every read; reads counted."""

    def __init__(self, incidents: list[Incident]) -> None:
        from outage_comms.intake.store import encode_body

        self.bodies = {i.id: encode_body(i) for i in incidents}
        self.by_update = sorted(((i.updated_at, i.id) for i in incidents), reverse=True)
        self.open = {i.id for i in incidents if i.is_open}
        self.reads: Counter[str] = Counter()

    def _decode(self, incident_id: str) -> Incident:
        from outage_comms.intake.store import decode_body

        return decode_body(self.bodies[incident_id])

    def get(self, incident_id: str) -> Incident:
        self.reads["get"] += 1
        return self._decode(incident_id)

    def list_recent(self, since: datetime | None = None, *, limit: int | None = None) -> list[Incident]:
        self.reads["list_recent"] += 1
        ids = [i for at, i in self.by_update if since is None or at >= since]
        return [self._decode(i) for i in ids[:limit]]

    def list_open(self) -> list[Incident]:
        self.reads["list_open"] += 1
        return [self._decode(i) for i in sorted(self.open)]

    def save(self, incident: Incident) -> None:
        from outage_comms.intake.store import encode_body

        self.bodies[incident.id] = encode_body(incident)
        self.by_update = sorted(
            [(at, i) for at, i in self.by_update if i != incident.id] + [(incident.updated_at, incident.id)],
            reverse=True,
        )


class MemorySink:
    """The status bucket, dashboard and metric in memory (no AWS: only our code is timed)."""

    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}
        self.puts = 0

    def etags(self) -> dict[str, str]:
        return {key: artefact.md5 for key, artefact in self.objects.items()}

    def put_object(self, key: str, artefact: Any) -> None:
        self.objects[key] = artefact
        self.puts += 1

    def put_dashboard(self, body: str) -> None:
        del body

    def put_metric_data(self, namespace: str, data: list[dict[str, Any]]) -> None:
        del namespace, data

    def invalidate(self, paths: list[str]) -> None:
        del paths


def _timed(action: Callable[[], Any]) -> tuple[float, float]:
    """(CPU ms, wall ms) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    action()
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def _clear_caches() -> None:
    """Forget every memo of the site builder, so each rebuild renders every word and formats every time."""
    from outage_comms.status import site

    site.clear_caches()


def rebuild_figures(bench: BenchRun, repeats: int = 3) -> dict[str, Any]:
    """Full rebuilds at each size, caches cleared before each (every word rendered, every time formatted)."""
    from outage_comms.status import build_site

    details: dict[str, Any] = {}
    medians: dict[tuple[int, int], float] = {}
    for components, incidents in REBUILD_SIZES:
        plan = big_plan(components)
        data = history(plan, incidents)
        build_site(plan, data, now=NOW)  # imports, template compilation
        cpu, wall = [], []
        built: dict[str, Any] = {}
        for _ in range(repeats):
            _clear_caches()
            gc.collect()
            c, w = _timed(lambda: built.update(build_site(plan, data, now=NOW)))  # noqa: B023
            cpu.append(c)
            wall.append(w)
        medians[(components, incidents)] = statistics.median(cpu)
        details[f"{components}x{incidents}"] = {
            "cpu_ms": [round(x, 1) for x in cpu],
            "wall_ms": [round(x, 1) for x in wall],
            "artefacts": len(built),
            "index_gzip_bytes": built["index.html"].gzipped_size(),
        }
    base_name = "full rebuild, 10 components x 100 incidents"
    base = medians[REBUILD_SIZES[0]]
    for (components, incidents), value in medians.items():
        if (components, incidents) == REBUILD_SIZES[0]:
            continue
        target = f"< {REBUILD_TARGET_MS:.0f} ms" if (components, incidents) == (50, 1_000) else None
        bench.figure(
            f"full rebuild, {components} components x {incidents:,} incidents",
            value,
            "ms",
            baseline=(base_name, base),
            target=target,
            met=value < REBUILD_TARGET_MS if target else None,
            note="growth: ratio to the 10 x 100 rebuild measured in the same run",
        )
    return details


def publish_figures(bench: BenchRun, updates: int = 9) -> dict[str, Any]:
    """After a first full publish, ``updates`` updates of one open incident, each published on its own."""
    from outage_comms.status.publisher import StatusPublisher
    from outage_comms.status.site import SiteOptions

    plan = big_plan(50)
    details: dict[str, Any] = {}
    medians: dict[int, float] = {}
    for count in HISTORIES:
        # one a day: the site's window (90 days) holds the same 90 incidents at every history size
        repository = StoredIncidents(history(plan, count, every_hours=24))
        sink = MemorySink()
        publisher = StatusPublisher(
            plan=plan, incidents=repository, sink=sink, options=SiteOptions(), clock=lambda: NOW
        )
        first_cpu, _ = _timed(lambda: publisher.publish(None))  # noqa: B023
        target = repository.get(sorted(repository.open)[0])
        cpu, wall, written, reads = [], [], [], []
        for n in range(WARM_UP + updates):
            status = "monitoring" if n % 2 else "identified"
            at = NOW - timedelta(minutes=40 - n)
            words = {
                locale: PublishedWords(title="Slow sync", body=f"Update {n}: we are {status} the problem.")
                for locale in plan.locale_codes
            }
            update = PublishedUpdate(
                update_id=f"u{n:03d}", at=at, status=status, scenario="identified", text=words
            )
            target = target.evolve(status=status, updated_at=at, published=(*target.published, update))
            repository.save(target)
            repository.reads.clear()
            gc.collect()
            result: list[Any] = []
            c, w = _timed(lambda: result.append(publisher.publish(target.id)))  # noqa: B023
            if n < WARM_UP:  # the first publishes of a process fill its caches (templates, Babel data)
                continue
            cpu.append(c)
            wall.append(w)
            written.append(len(result[0].written))
            reads.append(dict(repository.reads))
            assert not result[0].rebuilt, "the state should have been used"
        medians[count] = statistics.median(cpu)
        details[f"history_{count}"] = {
            "first_full_publish_cpu_ms": round(first_cpu, 1),
            "cpu_ms": [round(x, 1) for x in cpu],
            "wall_ms": [round(x, 1) for x in wall],
            "objects_written": written,
            "repository_reads": reads[-1],
            "state_bytes": len(publisher._state_store.read_state() or b""),
        }
    base = medians[HISTORIES[0]]
    for count in HISTORIES:
        bench.figure(
            f"publish after one update, {count:,} incidents in history (our code, CPU)",
            medians[count],
            "ms",
            baseline=(f"publish after one update, {HISTORIES[0]} incidents", base),
            target=f"< {PUBLISH_TARGET_MS:.0f} ms, flat",
            met=medians[count] < PUBLISH_TARGET_MS,
            note="ratio ~1 = flat: the publish does not grow with history",
        )
    last = details[f"history_{HISTORIES[-1]}"]["repository_reads"]
    bench.figure(
        f"repository reads per publish, {HISTORIES[-1]:,} incidents",
        sum(last.values()),
        "reads",
        baseline=("one GetItem", 1),
        target="one GetItem + one Query of the open incidents, no scan",
        met=last == {"get": 1, "list_open": 1},
    )
    return details


_COLD_CHILD = """
import pickle, sys, time
sys.path[:0] = [{lambdas!r}, {bench!r}]
import status as bench
from outage_comms.status.publisher import MemoryStateStore, StatusPublisher
from outage_comms.status.site import SiteOptions
folder = {folder!r}
repository = bench.StoredIncidents([])
repository.__dict__.update(pickle.loads(open(folder + "/repository.pickle", "rb").read()))
store = MemoryStateStore()
store.body = open(folder + "/state.json.gz", "rb").read()
publisher = StatusPublisher(plan=bench.big_plan(50), incidents=repository, sink=bench.MemorySink(),
                            options=SiteOptions(), clock=lambda: bench.NOW, state_store=store)
cpu = time.process_time()
result = publisher.publish({incident_id!r})
print((time.process_time() - cpu) * 1000, result.rebuilt)
"""


def cold_publish_figures(bench: BenchRun, samples: int = 3) -> dict[str, Any]:
    """The publish after one update as a new Lambda environment runs it: a fresh interpreter (imports
    done, not timed) with the stored state and nothing rendered yet in the process."""
    import pickle
    import subprocess

    from outage_comms.status.publisher import StatusPublisher
    from outage_comms.status.site import SiteOptions

    plan = big_plan(50)
    repository = StoredIncidents(history(plan, 10_000, every_hours=24))
    publisher = StatusPublisher(
        plan=plan, incidents=repository, sink=MemorySink(), options=SiteOptions(), clock=lambda: NOW
    )
    publisher.publish(None)
    target = repository.get(sorted(repository.open)[0])
    target = target.evolve(status="monitoring", updated_at=NOW - timedelta(minutes=5))
    repository.save(target)
    cpu: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "repository.pickle").write_bytes(pickle.dumps(dict(repository.__dict__)))
        Path(folder, "state.json.gz").write_bytes(publisher._state_store.read_state() or b"")
        child = _COLD_CHILD.format(
            lambdas=str(REPO_ROOT / "lambdas"),
            bench=str(Path(__file__).resolve().parent),
            folder=folder,
            incident_id=target.id,
        )
        for _ in range(samples):
            out = subprocess.run(
                [sys.executable, "-c", child], capture_output=True, text=True, check=True, timeout=300
            )
            value, rebuilt = out.stdout.split()
            assert rebuilt == "False", "the stored state should have been used"
            cpu.append(float(value))
    bench.figure(
        "publish after one update in a new process (cold caches), 10,000 incidents",
        statistics.median(cpu),
        "ms",
        note="imports excluded (issue 13.3 measures them); templates compiled and Babel data loaded here",
    )
    return {"cpu_ms": [round(x, 1) for x in cpu]}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


#: The uptime bar as it was before issue 13.5 (an element per day), for the same-run baseline.
LEGACY_BARS = (
    '<ol class="bars" aria-hidden="true">{% for css, tip in h.bars(c.id) %}<li class="{{ css }}"'
    '{% if tip %} title="{{ tip }}"{% endif %}></li>{% endfor %}</ol>'
)
#: Long tasks recorded from the first byte (an observer added before the page's own code).
LONG_TASKS = (
    "window.__long = []; new PerformanceObserver(list => { for (const e of list.getEntries())"
    " window.__long.push(e.duration); }).observe({type: 'longtask', buffered: true});"
)
FCP = (
    "() => new Promise(done => new PerformanceObserver((list, observer) => {"
    " const e = list.getEntriesByName('first-contentful-paint')[0];"
    " if (e) { observer.disconnect(); done(e.startTime); } }).observe({type: 'paint', buffered: true}))"
)
#: Parsing, style and layout of the document: from the last response byte to the DOM complete.
DOM_WORK = (
    "() => { const n = performance.getEntriesByType('navigation')[0]; return n.domComplete - n.responseEnd; }"
)
COUNTS = (
    "() => ({elements: document.getElementsByTagName('*').length,"
    " nodes: (() => { const w = document.createTreeWalker(document, NodeFilter.SHOW_ALL); let n = 1;"
    " while (w.nextNode()) n++; return n; })(),"
    " overflow: document.documentElement.scrollWidth > document.documentElement.clientWidth})"
)


def _legacy_templates(into: Path) -> Path:
    """The shipped templates with the per-day list in place of the SVG (the style sheet still styles it)."""
    from outage_comms.rendering import DEFAULT_TEMPLATES_DIR

    shutil.copytree(DEFAULT_TEMPLATES_DIR, into)
    index = into / "status" / "index.html.j2"
    text = index.read_text(encoding="utf-8")
    assert "{{ row.bars }}" in text
    index.write_text(text.replace("{{ row.bars }}", LEGACY_BARS), encoding="utf-8")
    return into


def browser_figures(bench: BenchRun, samples: int = 5) -> dict[str, Any]:
    """The 200-component home page in headless Chromium, next to the same page with an element per
    uptime day (as before) and a minimal page with the same style sheet, interleaved in one run."""
    chromium = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if chromium is None:
        return {"skipped": "Chromium not installed (bash scripts/install-system-deps.sh chromium)"}
    import gzip

    from playwright.sync_api import sync_playwright

    from outage_comms.status import write_status_artifacts
    from outage_comms.status.site import SiteOptions

    plan = big_plan(200)
    data = history(plan, 10_000)
    pages = {"svg": "index.html", "legacy": "legacy/index.html", "minimal": "minimal.html"}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_status_artifacts(root / "site", plan, data, NOW)
        legacy = SiteOptions(templates_dir=_legacy_templates(root / "legacy-templates"))
        write_status_artifacts(root / "site" / "legacy", plan, data, NOW, legacy)
        (root / "site" / "minimal.html").write_text(
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>minimal</title>'
            '<link rel="stylesheet" href="assets/status.css"></head><body><h1>Status</h1></body></html>',
            encoding="utf-8",
        )
        sizes = {k: len(gzip.compress((root / "site" / v).read_bytes(), 6)) for k, v in pages.items()}
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root / "site"))
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        fcp: dict[str, list[float]] = {k: [] for k in pages}
        blocking: dict[str, list[float]] = {k: [] for k in pages}
        dom: dict[str, list[float]] = {k: [] for k in pages}
        counts: dict[str, dict[str, Any]] = {}
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, args=CHROMIUM_ARGS, headless=True
                )
                try:
                    for _ in range(samples):
                        for kind, path in pages.items():  # interleaved: every page sees the same load
                            page = browser.new_page(viewport={"width": 1280, "height": 900})
                            page.add_init_script(LONG_TASKS)
                            page.goto(f"{base}/{path}", wait_until="load")
                            fcp[kind].append(page.evaluate(FCP))
                            page.wait_for_timeout(200)  # let the last long task be reported
                            tasks = page.evaluate("() => window.__long")
                            blocking[kind].append(sum(max(0.0, t - 50) for t in tasks))
                            dom[kind].append(page.evaluate(DOM_WORK))
                            if kind not in counts:
                                counts[kind] = page.evaluate(COUNTS)
                            page.close()
                finally:
                    browser.close()
        finally:
            server.shutdown()
            server.server_close()
    median = {k: statistics.median(v) for k, v in fcp.items()}
    tbt = {k: statistics.median(v) for k, v in blocking.items()}
    bench.figure(
        "home page at 200 components: DOM elements",
        counts["svg"]["elements"],
        "elements",
        baseline=("same page, an element per uptime day (before)", counts["legacy"]["elements"]),
        target=f"< {DOM_TARGET:,}",
        met=counts["svg"]["elements"] < DOM_TARGET,
    )
    bench.figure(
        "home page at 200 components: gzip size",
        sizes["svg"] / 1024,
        "KB",
        baseline=("same page, an element per uptime day (before)", sizes["legacy"] / 1024),
        target=f"< {PAGE_GZIP_TARGET // 1024} KB",
        met=sizes["svg"] < PAGE_GZIP_TARGET,
    )
    bench.figure(
        "home page at 200 components: first contentful paint (Chromium)",
        median["svg"],
        "ms",
        baseline=("minimal page, same style sheet", median["minimal"]),
        note=f"median of {samples}, interleaved; an element per day: {median['legacy']:.0f} ms",
    )
    work = {k: statistics.median(v) for k, v in dom.items()}
    bench.figure(
        "home page at 200 components: parse, style and layout (response end to DOM complete)",
        work["svg"],
        "ms",
        baseline=("same page, an element per uptime day (before)", work["legacy"]),
        note=f"median of {samples}; minimal page {work['minimal']:.0f} ms; long tasks over 50 ms "
        f"(blocking): {tbt['svg']:.0f} ms vs {tbt['legacy']:.0f} ms before",
    )
    return {
        "dom": counts,
        "gzip_bytes": sizes,
        "fcp_ms": {k: [round(x, 1) for x in v] for k, v in fcp.items()},
        "blocking_ms": {k: [round(x, 1) for x in v] for k, v in blocking.items()},
        "dom_work_ms": {k: [round(x, 1) for x in v] for k, v in dom.items()},
    }


def run() -> dict[str, Any]:
    bench = BenchRun("status", title="Status site: full rebuild, incremental publish, the page in Chromium")
    bench.detail("rebuild", rebuild_figures(bench))
    bench.detail("publish_after_one_update", publish_figures(bench))
    bench.detail("publish_after_one_update_cold_process", cold_publish_figures(bench))
    bench.detail("chromium", browser_figures(bench))
    return bench.write()


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2, ensure_ascii=False))
