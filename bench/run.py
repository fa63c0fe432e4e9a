"""Run every benchmark in bench/ (each module exposing ``run() -> dict``) and write one JSON report.

.venv/bin/python bench/run.py --out bench/results/latest.json      # what `make bench` runs
.venv/bin/python bench/run.py --only intake

Each module writes its own ``bench/results/<name>.json`` (shared format: ``bench/_results.py``);
``latest.json`` gathers them with the machine and the load before and after each one. The README's
performance table is ``bench/readme_table.py`` over those files (printed at the end here).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _results import load, machine  # noqa: E402


def benchmark_modules(only: list[str] | None = None) -> list[Path]:
    modules = sorted(
        p for p in BENCH_DIR.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_")
    )
    return [p for p in modules if not only or p.stem in only]


def load_run(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "run", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "latest.json")
    parser.add_argument("--only", nargs="*", help="benchmark module names, e.g. intake status")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": machine(),
        "benchmarks": {},
    }
    failed = False
    for path in benchmark_modules(args.only):
        run = load_run(path)
        if not callable(run):
            continue
        print(f"== {path.stem}", file=sys.stderr, flush=True)
        start, load_before = time.perf_counter(), load()
        try:
            result = run()
        except Exception as exc:  # report every benchmark, then fail
            failed = True
            result = {"error": f"{type(exc).__name__}: {exc}"}
        report["benchmarks"][path.stem] = {
            "seconds": round(time.perf_counter() - start, 1),
            "load": {"before": load_before, "after": load()},
            "result": result,
        }
        print(json.dumps(report["benchmarks"][path.stem], indent=2), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}", file=sys.stderr)
    from readme_table import table

    print(table(), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
