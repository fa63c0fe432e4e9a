"""Print the README's performance table (markdown) from bench/results/*.json.

    .venv/bin/python bench/readme_table.py                  # every results file in the shared format
    .venv/bin/python bench/readme_table.py --results DIR    # another folder
    .venv/bin/python bench/readme_table.py --targets        # only the figures that have a target

Every row is one figure of one run: its value, the baseline it was measured against in the same run and
their ratio, the target and whether it was met. The machine and load of each run are listed under the
table, so nobody reads an absolute number from another machine as ours. Results files not yet in the
shared format (``bench/_results.py``) are listed as such, never guessed at.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import FORMAT, RESULTS_DIR, problems


def number(value: float | None) -> str:
    if value is None:
        return ""
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def row(result: dict[str, Any], figure: dict[str, Any]) -> str:
    baseline = figure.get("baseline") or {}
    ratio = figure.get("ratio")
    met = figure.get("met")
    return (
        "| "
        + " | ".join(
            cell(part)
            for part in (
                result.get("title") or result["bench"],
                figure["name"],
                f"{number(figure['value'])} {figure['unit']}".strip(),
                f"{number(baseline.get('value'))} ({baseline['name']})" if baseline else "",
                f"{number(ratio)}×" if ratio is not None else "",
                figure.get("target", ""),
                "" if met is None else ("yes" if met else "**no**"),
            )
        )
        + " |"
    )


def machine_line(result: dict[str, Any]) -> str:
    machine, load = result.get("machine", {}), result.get("load", {})
    before = "/".join(str(x) for x in load.get("before", []))
    after = "/".join(str(x) for x in load.get("after", []))
    return (
        f"- {result.get('title') or result['bench']}: {result.get('when', '?')}, "
        f"{machine.get('cpu_count', '?')} × {machine.get('cpu_model', '?')} ({machine.get('arch', '?')}), "
        f"Python {machine.get('python', '?')}, load average (1/5/15 min) {before} before, {after} after"
    )


def table(folder: Path = RESULTS_DIR, *, targets_only: bool = False) -> str:
    results, other = [], []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            other.append(path.name)
            continue
        if isinstance(data, dict) and data.get("format") == FORMAT:
            results.append(data)
        elif path.name != "latest.json":
            other.append(path.name)
    lines = [
        "| Benchmark | Figure | Measured | Baseline (same run) | Ratio | Target | Met |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        row(result, figure)
        for result in results
        for figure in result.get("figures", [])
        if not targets_only or "target" in figure
    ]
    lines += ["", "Measured on (each run notes its own machine and load):", ""]
    lines += [machine_line(result) for result in results]
    incomplete = [f"{r['bench']} ({'; '.join(problems(r))})" for r in results if problems(r)]
    if incomplete:
        lines += ["", f"Tabled, but missing parts of the shared format: {', '.join(incomplete)}."]
    if other:
        lines += ["", f"Not yet in the shared results format (not tabled): {', '.join(other)}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--targets", action="store_true", help="only the figures that have a target")
    args = parser.parse_args(argv)
    sys.stdout.write(table(args.results, targets_only=args.targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
