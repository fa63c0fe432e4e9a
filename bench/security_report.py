"""Fold the security suite's records into bench/results/security.json (shared format) and a README table.

`make security` stamps the start (time, load) into the records folder, runs ``tests/security`` at full
scale with OUTAGE_COMMS_SECURITY_RESULTS pointing at that folder of JSON-lines records
(tests/security/figures.py), then this script sums them per area:

.venv/bin/python bench/security_report.py out/security --start                          # before pytest
.venv/bin/python bench/security_report.py out/security --out bench/results/security.json

The figures are counts (what was tried, what went wrong), the same on any machine, so they carry a note
instead of a same-run baseline; the per-area counts and the markdown table are in ``details``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import RESULTS_DIR, BenchRun, load

COUNTS = ("tried", "accepted_wrongly", "crashed", "lost")
START = "_start.json"
COUNT_NOTE = "a count at full scale: the same on any machine, so no same-run baseline"


def fold(folder: Path) -> dict[str, dict[str, Any]]:
    areas: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            area = areas.setdefault(record["area"], {**dict.fromkeys(COUNTS, 0), "tests": 0, "examples": []})
            for key in COUNTS:
                area[key] += int(record[key])
            area["tests"] += 1
            area["examples"] += record.get("examples", [])[: 5 - len(area["examples"])]
    return dict(sorted(areas.items()))


def table(areas: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| Area | Tried | Accepted wrongly | Crashed | Lost |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, area in areas.items():
        counts = " | ".join(str(area[key]) for key in COUNTS[1:])
        lines.append(f"| {name} | {area['tried']:,} | {counts} |")
    total = {key: sum(a[key] for a in areas.values()) for key in COUNTS}
    lines.append(
        f"| **all** | **{total['tried']:,}** | **{total['accepted_wrongly']}** | **{total['crashed']}** "
        f"| **{total['lost']}** |"
    )
    return "\n".join(lines)


def stamp_start(folder: Path) -> None:
    """Note when the suite starts and the load then (the report is written after it ends)."""
    folder.mkdir(parents=True, exist_ok=True)
    start = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "load": load()}
    (folder / START).write_text(json.dumps(start) + "\n", encoding="utf-8")


def report(areas: dict[str, dict[str, Any]], folder: Path, scale: str = "full") -> BenchRun:
    """The shared-format run: totals as figures (target 0 for every kind of wrong outcome)."""
    start_file = folder / START
    start = json.loads(start_file.read_text(encoding="utf-8")) if start_file.is_file() else {}
    bench = BenchRun(
        "security",
        title=f"Security proof suite ({scale} scale)",
        started=datetime.fromisoformat(start["when"]) if "when" in start else None,
        load_before=start.get("load"),
    )
    totals = {key: sum(a[key] for a in areas.values()) for key in COUNTS}
    tests = sum(a["tests"] for a in areas.values())
    bench.figure(
        f"attacks and bad inputs tried ({len(areas)} areas, {tests} tests)",
        totals["tried"],
        "inputs",
        note=COUNT_NOTE,
    )
    for key, label in (
        ("accepted_wrongly", "accepted wrongly (reached a customer, counted, approved)"),
        ("crashed", "crashed (5xx or unhandled exception)"),
        ("lost", "lost (a delivery or event gone without a record)"),
    ):
        bench.figure(label, totals[key], "inputs", target="0", met=totals[key] == 0, note=COUNT_NOTE)
    bench.detail("scale", scale)
    bench.detail("areas", areas)
    bench.detail("totals", totals)
    bench.detail("table_markdown", table(areas))
    return bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "security.json")
    parser.add_argument("--start", action="store_true", help="only note the start time and load")
    parser.add_argument("--scale", default="full")
    args = parser.parse_args(argv)
    if args.start:
        stamp_start(args.folder)
        return 0
    areas = fold(args.folder)
    if not areas:
        print(f"no security records in {args.folder}")
        return 1
    written = report(areas, args.folder, args.scale).write(args.out)
    print(written["details"]["table_markdown"])
    totals = written["details"]["totals"]
    return 1 if totals["accepted_wrongly"] + totals["crashed"] + totals["lost"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
