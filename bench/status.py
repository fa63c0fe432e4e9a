"""Benchmark: rebuild every status-site artefact for 50 components x 1,000 historical incidents.

    .venv/bin/python bench/status.py            # prints the numbers, writes bench/results/status.json

``run()`` returns the numbers (milliseconds are the median of several cold-cache rebuilds).
Target: a full rebuild under 300 ms; the home page under 30 KB gzipped.
"""

from __future__ import annotations

import copy
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "lambdas"))

from outage_comms.incident import Incident, IncidentSource, TimelineEntry  # noqa: E402
from outage_comms.plan import Plan, parse_plan, read_plan_data  # noqa: E402

COMPONENTS = 50
INCIDENTS = 1_000
OPEN_INCIDENTS = 3
TARGET_MS = 300.0
PAGE_BUDGET_GZIP = 30 * 1024
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
RESULTS = REPO_ROOT / "bench" / "results" / "status.json"


def big_plan() -> Plan:
    data: dict[str, Any] = copy.deepcopy(read_plan_data(REPO_ROOT / "plans" / "example.yaml"))
    groups = [g["id"] for g in data["groups"]]
    data["components"] = [
        {
            "id": f"service-{n:02d}",
            "name": {"en": f"Service {n}", "pt-BR": f"Serviço {n}"},
            "description": {
                "en": f"What service {n} does for you",
                "pt-BR": f"O que o serviço {n} faz por você",
            },
            "group": groups[n % len(groups)],
            "audiences": ["all-customers"],
        }
        for n in range(COMPONENTS)
    ]
    return parse_plan(data, "bench-plan")


def history(plan: Plan) -> list[Incident]:
    """1,000 incidents over ~2 years, 2-4 public updates each; the newest few still open."""
    source = IncidentSource(type="alarm", reference="arn:aws:cloudwatch:us-east-1:111122223333:alarm:bench")
    incidents = []
    for n in range(INCIDENTS):
        started = NOW - timedelta(hours=17 * n + 1)
        severity = plan.severities[n % 3]
        components = tuple(plan.components[(n * 7 + k) % COMPONENTS].id for k in range(1 + n % 3))
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


def run(repeats: int = 5) -> dict[str, Any]:
    from outage_comms.status import build_site, words
    from outage_comms.status import site as site_module

    plan = big_plan()
    incidents = history(plan)
    build_site(plan, incidents, now=NOW)  # warm imports, template compilation and file caches
    timings = []
    built: dict[str, Any] = {}
    for _ in range(repeats):
        words._compiled.cache_clear()
        site_module.load_strings.cache_clear()
        start = time.perf_counter()
        built = build_site(plan, incidents, now=NOW)
        timings.append((time.perf_counter() - start) * 1000)
    index = built["index.html"]
    result = {
        "components": COMPONENTS,
        "incidents": INCIDENTS,
        "artefacts": len(built),
        "total_bytes": sum(len(a.body) for a in built.values()),
        "rebuild_ms_median": round(statistics.median(timings), 1),
        "rebuild_ms_min": round(min(timings), 1),
        "target_ms": TARGET_MS,
        "index_html_bytes": len(index.body),
        "index_html_gzip_bytes": index.gzipped_size(),
        "index_pt_br_gzip_bytes": built["pt-br/index.html"].gzipped_size(),
        "page_budget_gzip_bytes": PAGE_BUDGET_GZIP,
        "summary_json_gzip_bytes": built["api/v2/summary.json"].gzipped_size(),
        "python": sys.version.split()[0],
    }
    result["within_target"] = (
        result["rebuild_ms_median"] < TARGET_MS and index.gzipped_size() < PAGE_BUDGET_GZIP
    )
    return result


if __name__ == "__main__":
    numbers = run()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(numbers, indent=2))
