"""The status stack in the embedded drill: what deploying it into moto adds to the drill's setup.

``make drill`` deploys the status stack (bucket, public dashboard, publisher access role) next to
the workflow so the real status publisher writes a real (moto) bucket. This deploys the synthesized
app into moto ``SAMPLES`` times without and with it (``EmbeddedAws(with_status_site=...)``),
alternating, and reports the median ``start()`` time of each and the difference. Reuses
``$OUTAGE_COMMS_EMBEDDED_CDK_OUT`` when set. Writes ``bench/results/drill_status.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLES = 3


def _deploy_seconds(cdk_out: Path, *, with_status_site: bool) -> tuple[float, list[str]]:
    from outage_comms_embedded import EmbeddedAws

    started = time.perf_counter()
    with EmbeddedAws(cdk_out, with_status_site=with_status_site) as aws:
        seconds = time.perf_counter() - started
        stacks = list(aws.stacks)
    return seconds, stacks


def run() -> dict[str, Any]:
    from outage_comms_embedded import synthesize_app

    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as scratch:
        reuse = os.environ.get("OUTAGE_COMMS_EMBEDDED_CDK_OUT")
        cdk_out = (
            Path(reuse)
            if reuse
            else synthesize_app(Path(scratch) / "cdk.out", ROOT / "plans" / "example.yaml")
        )
        _deploy_seconds(cdk_out, with_status_site=False)  # warm-up: imports, moto's first backends
        without: list[float] = []
        with_site: list[float] = []
        stacks: list[str] = []
        for _ in range(SAMPLES):
            without.append(_deploy_seconds(cdk_out, with_status_site=False)[0])
            seconds, stacks = _deploy_seconds(cdk_out, with_status_site=True)
            with_site.append(seconds)
    sys.path.insert(0, str(ROOT / "bench"))
    from _results import BenchRun

    bench = BenchRun("drill_status", title="Embedded AWS deploy (drill)")
    bench.load_before = load_before
    bench.figure(
        "deploy into the embedded AWS with the status stack, median",
        statistics.median(with_site),
        "s",
        baseline=("without the status stack", statistics.median(without)),
        note="EmbeddedAws.start(): asset upload, CloudFormation create, state machines; synthesis excluded",
    )
    bench.detail("samples", SAMPLES)
    bench.detail("runs_s", {"without_status_stack": without, "with_status_stack": with_site})
    bench.detail("stacks_with_status_site", stacks)
    return bench.write(ROOT / "bench" / "results" / "drill_status.json")


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
