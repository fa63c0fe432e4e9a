"""Benchmark: the drill report (report.md + report.html + timeline.svg) for a 200-event incident record.

    .venv/bin/python bench/drill_report.py      # prints the numbers, writes bench/results/drill_report.json

``run()`` returns the numbers: milliseconds are the median (and worst) of several runs of each
generator on the same record, and of the whole report written to disk. The record is built the way
the runners build it (``build_record`` from an incident's activity), so the measures, score and
improvements are computed inside the timed generators as they are in a drill.
Target: the whole report under 100 ms.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "lambdas"))
sys.path.insert(0, str(REPO_ROOT / "cli"))
sys.path.insert(0, str(REPO_ROOT / "bench"))

EVENTS = 200
TARGET_MS = 100.0
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
RESULTS = REPO_ROOT / "bench" / "results" / "drill_report.json"


def activity(events: int = EVENTS) -> dict[str, Any]:
    """A long incident's activity: ``events`` workflow events and deliveries across every channel kind."""
    kinds = ["rendered", "team_notified", "approval_requested", "approval", "reminder", "delivery_failed"]
    channels = ["sns", "email", "sms", "voice", "push", "mastodon", "bluesky", "webhook", "support"]
    found: dict[str, list[dict[str, Any]]] = {"events": [], "deliveries": []}
    for n in range(events // 2):
        at = (T0 + timedelta(minutes=3 * n)).isoformat()
        kind = kinds[n % len(kinds)]
        text = {
            "team_notified": "chatbot: delivered, slack: delivered, teams: failed",
            "approval_requested": f"{n:03d}-identified sent to communications_manager (Marina <Ops>)",
            "approval": "approved by arn:aws:iam::123456789012:role/A, arn:aws:iam::123456789012:role/B",
        }.get(kind, f"{kind} number {n} with <markup> & quotes \"'")
        found["events"].append({"at": at, "kind": kind, "text": text})
    for n in range(events - events // 2):
        at = (T0 + timedelta(minutes=3 * n, seconds=20)).isoformat()
        found["deliveries"].append(
            {
                "update_id": f"{n // len(channels):03d}-identified",
                "channel": channels[n % len(channels)],
                "status": "failed" if n % 17 == 0 else "delivered",
                "at": at,
                "detail": "throttled" if n % 17 == 0 else "",
            }
        )
    return found


def record() -> tuple[Any, float]:
    """The record (exactly ``EVENTS`` steps on its timeline) and how long ``build_record`` took (ms)."""
    from outage_comms.plan import load_plan
    from outage_comms_cli.drills.record import build_record
    from outage_comms_cli.drills.scenario import DRILLS_DIR, load_scenario

    plan = load_plan(REPO_ROOT / "plans" / "example.yaml")
    scenario = load_scenario(DRILLS_DIR / "default.yaml", plan)
    raw = activity(2 * EVENTS)
    started = time.perf_counter()
    built = build_record(
        scenario=scenario,
        plan=plan,
        target="deployed",
        incident={"id": "inc-20261127-1200-abcdef", "severity": "sev1"},
        activity=raw,
        trigger=T0,
        seconds_per_minute=60.0,
        script=[],
        status="SUCCEEDED",
        injected=["slack"],
    )
    build_ms = (time.perf_counter() - started) * 1000
    built.steps = built.steps[:EVENTS]
    return built, build_ms


def _timed(action: Any, repeats: int) -> dict[str, float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(samples), 2), "max_ms": round(max(samples), 2)}


def run(repeats: int = 20) -> dict[str, Any]:
    from _results import BenchRun

    from outage_comms_cli.drills.report import render_html, render_markdown, render_svg, write_report

    bench = BenchRun("drill_report", title="Drill report (200 events)")
    built, build_ms = record()
    with tempfile.TemporaryDirectory() as scratch:
        files = {
            "report.md": render_markdown(built).encode(),
            "report.html": render_html(built).encode(),
            "timeline.svg": render_svg(built).encode(),
        }
        whole = _timed(lambda: write_report(built, Path(scratch) / "report"), repeats)

        def write_bytes_only() -> None:
            folder = Path(scratch) / "bytes"
            folder.mkdir(exist_ok=True)
            for name, data in files.items():
                (folder / name).write_bytes(data)

        raw = _timed(write_bytes_only, repeats)
        numbers = {
            "events": len(built.steps),
            "build_record_ms": round(build_ms, 2),
            "markdown": _timed(lambda: render_markdown(built), repeats),
            "svg": _timed(lambda: render_svg(built), repeats),
            "html_with_inline_svg": _timed(lambda: render_html(built), repeats),
            "write_report_all_files": whole,
            "write_same_bytes_only": raw,
            "bytes": {name: len(data) for name, data in files.items()},
            "repeats": repeats,
        }
    bench.figure(
        "whole report (md + html + svg) generated and written, median",
        whole["median_ms"],
        "ms",
        baseline=("writing the same bytes only", raw["median_ms"]),
        target=f"< {TARGET_MS:.0f} ms",
        met=whole["median_ms"] < TARGET_MS,
    )
    bench.detail("runs", numbers)
    return bench.write(RESULTS)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
