"""Fold the security suite's records into bench/results/security.json and a README table.

`make security` runs ``tests/security`` at full scale with OUTAGE_COMMS_SECURITY_RESULTS pointing
at a folder of JSON-lines records (tests/security/figures.py), then this script sums them per area.

.venv/bin/python bench/security_report.py out/security --out bench/results/security.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

COUNTS = ("tried", "accepted_wrongly", "crashed", "lost")


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "security.json")
    args = parser.parse_args(argv)
    areas = fold(args.folder)
    if not areas:
        print(f"no security records in {args.folder}")
        return 1
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "scale": "full",
        "areas": areas,
        "totals": {key: sum(a[key] for a in areas.values()) for key in COUNTS},
        "table_markdown": table(areas),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(areas))
    bad = report["totals"]["accepted_wrongly"] + report["totals"]["crashed"] + report["totals"]["lost"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
