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
import sys
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

    def __init__(
        self,
        name: str,
        *,
        title: str | None = None,
        started: datetime | None = None,
        load_before: list[float] | None = None,
    ) -> None:
        """``started``/``load_before``: when the measured work began elsewhere (e.g. a pytest run)."""
        self.name = name
        self.title = title or name
        self.started = started or datetime.now(UTC)
        self.load_before = load() if load_before is None else load_before
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
        for problem in problems(result):  # written anyway (a long run is never lost); the unit test fails
            print(f"bench/results/{self.name}.json: {problem}", file=sys.stderr)
        path = out or RESULTS_DIR / f"{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return result


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _figure_problems(index: int, figure: Any) -> list[str]:
    if not isinstance(figure, dict):
        return [f"figure {index} is not an object"]
    where = f"figure {index} ({figure.get('name')!r})"
    found = []
    if not isinstance(figure.get("name"), str) or not figure["name"].strip():
        found.append(f"figure {index} has no name")
    if not _is_number(figure.get("value")):
        found.append(f"{where} has no numeric value")
    if not isinstance(figure.get("unit"), str) or not figure["unit"].strip():
        found.append(f"{where} has no unit")
    note = figure.get("note")
    has_note = isinstance(note, str) and bool(note.strip())
    baseline = figure.get("baseline")
    if baseline is not None:
        if not (isinstance(baseline, dict) and isinstance(baseline.get("name"), str)):
            found.append(f"{where}: baseline needs a name and a value")
        elif not _is_number(baseline.get("value")):
            found.append(f"{where}: baseline {baseline['name']!r} has no numeric value")
        elif not _is_number(figure.get("ratio")) and not has_note:
            found.append(f"{where}: a baseline without a ratio needs a note saying why")
    elif not has_note:
        found.append(f"{where}: neither a same-run baseline and ratio nor a note saying why not")
    if "target" in figure and not isinstance(figure.get("met"), bool):
        found.append(f"{where}: a target without met (true/false)")
    return found


def problems(data: Any) -> list[str]:
    """Why ``data`` (one parsed results file) is not in the shared format; empty when it is.

    Required: ``format``, ``bench``, ``when`` (ISO time with zone), ``machine`` (CPU count and model,
    Python), ``load`` (load averages before and after), and ``figures``, each with a numeric ``value``
    and a ``unit`` and either a same-run ``baseline`` (name, value) with its ``ratio`` or a ``note``
    saying why there is none (a count, a plan-time figure, an outcome).
    """
    if not isinstance(data, dict):
        return ["not a JSON object"]
    found = []
    if data.get("format") != FORMAT:
        found.append(f"format is {data.get('format')!r}, not {FORMAT!r}")
    if not isinstance(data.get("bench"), str) or not data["bench"]:
        found.append("no bench name")
    try:
        when = datetime.fromisoformat(str(data.get("when")))
        if when.tzinfo is None:
            found.append("when has no time zone")
    except ValueError:
        found.append(f"when is not an ISO time: {data.get('when')!r}")
    machine_ = data.get("machine")
    if not isinstance(machine_, dict):
        found.append("no machine")
    else:
        if not isinstance(machine_.get("cpu_count"), int) or machine_["cpu_count"] < 1:
            found.append("machine has no cpu_count")
        for key in ("cpu_model", "python"):
            if not isinstance(machine_.get(key), str) or not machine_[key]:
                found.append(f"machine has no {key}")
    load_ = data.get("load")
    if not isinstance(load_, dict):
        found.append("no load")
    else:
        for key in ("before", "after"):
            values = load_.get(key)
            if not (isinstance(values, list) and len(values) == 3 and all(map(_is_number, values))):
                found.append(f"load.{key} is not the three load averages")
    figures = data.get("figures")
    if not isinstance(figures, list) or not figures:
        found.append("no figures")
    else:
        for index, figure in enumerate(figures):
            found += _figure_problems(index, figure)
    return found


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
