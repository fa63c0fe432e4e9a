"""Benchmark: the intake handler's cold init, per-event latency and alarm-storm throughput, on moto.

    .venv/bin/python bench/intake.py            # prints the numbers, writes bench/results/intake.json

* cold init: a fresh ``python -c`` process imports the handler and builds its dependencies (plan,
  adapters, idempotency layer) — what a Lambda cold start pays before the first event; median of 5.
* per-event latency: one EventBridge event per invocation through the real handler on moto
  (idempotency, store, workflow start, bus), median and p95. moto's in-process DynamoDB is slower
  than the real service's ~5-10 ms per call, so these numbers bound the Python work from above.
* storm throughput: 10,000 alarm events over 20 components in batches of 10 (the event source's
  batch size) with the coalescing rule; events/s and the number of incidents opened (must be <= 20).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
HARNESS = REPO_ROOT / "tests" / "integration" / "intake"
for path in (REPO_ROOT / "lambdas", HARNESS):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

RESULTS = REPO_ROOT / "bench" / "results" / "intake.json"
STORM_EVENTS = 10_000
LATENCY_EVENTS = 200
COLD_RUNS = 5

COLD_INIT = """
import time
t0 = time.perf_counter()
import handlers.intake
from outage_comms.intake.runtime import intake_dependencies
intake_dependencies()
print(round((time.perf_counter() - t0) * 1000, 1))
"""


BARE_BOTO3 = "import time; t0 = time.perf_counter(); import boto3; print((time.perf_counter() - t0) * 1000)"


def cold_init_ms(runs: int = COLD_RUNS) -> dict[str, Any]:
    import intake_harness

    env = {
        **os.environ,
        **intake_harness.ENVIRONMENT,
        "PYTHONPATH": str(REPO_ROOT / "lambdas"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PLAN_PATH": str(REPO_ROOT / "plans" / "example.yaml"),
        "INCIDENTS_TABLE_NAME": "incidents",
        "IDEMPOTENCY_TABLE_NAME": "idempotency",
        "EVENT_BUS_NAME": "outage-comms",
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:outage-comms-incident",
        "REJECTED_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
    }
    samples, boto3_ms = [], []
    for _ in range(runs):
        for code, into in ((COLD_INIT, samples), (BARE_BOTO3, boto3_ms)):  # paired, same environment
            result = subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
            into.append(float(result.stdout.strip().splitlines()[-1]))
    return {
        "median_ms": statistics.median(samples),
        "samples_ms": samples,
        "import_boto3_median_ms": statistics.median(boto3_ms),
    }


def _quiet() -> contextlib.AbstractContextManager[Any]:
    """Powertools writes EMF metrics to stdout on every invocation; keep the report readable."""
    return contextlib.redirect_stdout(io.StringIO())


def per_event_latency(events: int = LATENCY_EVENTS) -> dict[str, Any]:
    from intake_harness import FakeContext, create_world, example_plan, sqs_batch, storm_events
    from moto import mock_aws

    with mock_aws():
        world = create_world()
        plan = example_plan()
        dependencies = world.dependencies(plan)
        from handlers.intake import handler

        samples = []
        from intake_harness import storm_plan

        storm = storm_plan(len(plan.components))  # same components: events map onto the example plan
        with _quiet():
            for event in storm_events(storm, events):
                start = time.perf_counter()
                handler(sqs_batch([event]), FakeContext(), dependencies=dependencies)
                samples.append((time.perf_counter() - start) * 1000)
        import boto3

        client = boto3.client("dynamodb")
        round_trips = []
        for _ in range(events):
            start = time.perf_counter()
            client.list_tables()
            round_trips.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "moto_round_trip_median_ms": round(statistics.median(round_trips), 2),
        "events": events,
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
        "min_ms": round(samples[0], 2),
    }


STORM_NOTE = (
    "the target is every event handled; the rate is moto answering in-process on this machine and has no "
    "same-run baseline (one event's latency above has one)"
)


def storm_throughput(count: int = STORM_EVENTS) -> dict[str, Any]:
    from intake_harness import FakeContext, batches, create_world, sqs_batch, storm_events, storm_plan
    from moto import mock_aws

    with mock_aws():
        plan = storm_plan()
        world = create_world()
        dependencies = world.dependencies(plan)
        from handlers.intake import handler

        events = list(storm_events(plan, count))
        failures = 0
        start = time.perf_counter()
        with _quiet():
            for batch in batches(events, 10):
                failures += len(
                    handler(sqs_batch(batch), FakeContext(), dependencies=dependencies)["batchItemFailures"]
                )
        elapsed = time.perf_counter() - start
        incidents = dependencies.incidents.list_recent(limit=10_000)
        executions = len(world.executions())
    return {
        "events": count,
        "components": len(plan.components),
        "seconds": round(elapsed, 1),
        "events_per_second": round(count / elapsed, 1),
        "incidents_opened": len(incidents),
        "executions_started": executions,
        "failed_records": failures,
    }


def run() -> dict[str, Any]:
    from _results import BenchRun

    os.environ.update({"POWERTOOLS_LOG_LEVEL": "ERROR"})
    bench = BenchRun("intake", title="Intake")
    cold = cold_init_ms()
    latency = per_event_latency()
    storm = storm_throughput()
    bench.figure(
        "cold init: import the handler + build its dependencies, median",
        cold["median_ms"],
        "ms",
        baseline=("fresh interpreter importing boto3 alone", cold["import_boto3_median_ms"]),
    )
    bench.figure(
        "one alarm event through the handler (moto), median",
        latency["median_ms"],
        "ms",
        baseline=("one moto API round trip (ListTables)", latency["moto_round_trip_median_ms"]),
    )
    bench.figure(
        f"storm: {storm['events']:,} events in batches of 10 (moto)",
        storm["events_per_second"],
        "events/s",
        target="every event handled, one incident per component",
        met=storm["failed_records"] == 0 and storm["incidents_opened"] == storm["components"],
        note=STORM_NOTE,
    )
    bench.detail("cold_init", cold)
    bench.detail("per_event_latency_moto", latency)
    bench.detail("storm_moto", storm)
    return bench.write(RESULTS)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
