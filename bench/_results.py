"""One format for every ``bench/results/*.json``: figures measured in one run, each next to its baseline.

A figure that only means something relative to the machine (milliseconds, recipients per second) is
reported with the baseline it was measured against *in the same run* and the ratio between them, so a
reader on another machine compares ratios, not absolute numbers. Every file notes the machine (CPU count
and model, Python) and its load (``os.getloadavg`` before and after the run).

Usage in a benchmark module::

    from _results import BenchRun            # bench/ is on sys.path when run as a script or by run.py

    def run() -> dict:
        bench = BenchRun("channels")          # notes machine and load before
        bench.figure("personalised render", 28582, "recipients/s",
                     baseline=("naive per-recipient render", 204), target=">= 4x baseline",
                     met=ratio >= 4)
        bench.figure("dedup memory at 1M recipients", 41.2, "MB", target="<= 64 MB", met=True)
        bench.detail("plan_1m", {...})        # anything else (kept, not tabled)
        return bench.write()                  # notes load after, writes bench/results/channels.json

``bench/readme_table.py`` turns every results file into the README performance table.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FORMAT = "outage-comms-bench/1"


def cpu_model() -> str:
    """The CPU model name (Linux ``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "system": platform.system(),
    }


def load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux/macOS
        return []


def _round(value: float) -> float:
    if value == 0 or abs(value) >= 100:
        return round(value, 1)
    if abs(value) >= 1:
        return round(value, 2)
    return float(f"{value:.3g}")


@dataclass(frozen=True)
class Figure:
    """One measured figure; ``ratio`` is ``value / baseline_value`` measured in the same run."""

    name: str
    value: float
    unit: str
    baseline_name: str | None = None
    baseline_value: float | None = None
    target: str | None = None
    met: bool | None = None
    note: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        assert self.baseline_value is not None
        return self.value / self.baseline_value

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "value": _round(self.value), "unit": self.unit}
        if self.baseline_name is not None:
            out["baseline"] = {"name": self.baseline_name, "value": _round(self.baseline_value or 0.0)}
            ratio = self.ratio
            out["ratio"] = None if ratio is None else _round(ratio)
        if self.target is not None:
            out["target"] = self.target
        if self.met is not None:
            out["met"] = self.met
        if self.note:
            out["note"] = self.note
        return out


class BenchRun:
    """Collects one benchmark run's figures; :meth:`write` stamps machine and load and writes the file."""

    def __init__(self, name: str, *, title: str | None = None) -> None:
        self.name = name
        self.title = title or name
        self.started = datetime.now(UTC)
        self.load_before = load()
        self.figures: list[Figure] = []
        self.details: dict[str, Any] = {}

    def figure(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        baseline: tuple[str, float] | None = None,
        target: str | None = None,
        met: bool | None = None,
        note: str | None = None,
    ) -> Figure:
        fig = Figure(
            name=name,
            value=float(value),
            unit=unit,
            baseline_name=baseline[0] if baseline else None,
            baseline_value=float(baseline[1]) if baseline else None,
            target=target,
            met=met,
            note=note,
        )
        self.figures.append(fig)
        return fig

    def detail(self, key: str, value: Any) -> None:
        self.details[key] = value

    def result(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "bench": self.name,
            "title": self.title,
            "when": self.started.isoformat(timespec="seconds"),
            "machine": machine(),
            "load": {"before": self.load_before, "after": load()},
            "figures": [f.as_dict() for f in self.figures],
            "details": self.details,
        }

    def write(self, out: Path | None = None) -> dict[str, Any]:
        """Write ``bench/results/<name>.json`` (or ``out``) and return what was written."""
        result = self.result()
        path = out or RESULTS_DIR / f"{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return result


def read_all(folder: Path = RESULTS_DIR) -> list[dict[str, Any]]:
    """Every results file in the shared format (others, e.g. ``latest.json``, are skipped)."""
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("format") == FORMAT:
            found.append(data)
    return found
