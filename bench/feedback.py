"""Benchmark: the feedback API's cold init and per-request latency, on moto.

    .venv/bin/python bench/feedback.py          # prints the numbers, writes bench/results/feedback.json

* cold init: a fresh ``python -c`` process imports the handler (and boto3, which the first request
  needs), then serves its first request, which builds the service (plan, secret, clients) and counts
  one answer — what a Lambda cold start pays before answering. moto's setup in that process (tables,
  secret) is not timed. Median of 5 processes.
* warm latency: answers through the real handler with API Gateway proxy events on moto: counted
  answers from distinct clients, replays (409) and forged links (403); the compact form's answer
  page (``GET /f/<token>``, no write) and its button (``POST /f/<token>`` with the CSRF field,
  counted); median and p95.
* link lengths: the token, and one-click / answer-page links under the API Gateway default URL. moto's
  in-process DynamoDB is slower than the service's single-digit milliseconds, so these numbers
  bound the Python work from above.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT / "lambdas", REPO_ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

RESULTS = REPO_ROOT / "bench" / "results" / "feedback.json"
COLD_RUNS = 5
WARM_REQUESTS = 300
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_SERVICE_NAME": "feedback-api",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_NAMESPACE": "OutageCommsBench",
    "FEEDBACK_TABLE": "feedback",
    "WORKFLOW_TABLE": "workflow",
    "FEEDBACK_BASE_URL": "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1/",
    "PLAN_PATH": str(REPO_ROOT / "plans" / "example.yaml"),
}

COLD_INIT = """
import contextlib, io, json, time
t0 = time.perf_counter()
import boto3
import handlers.feedback_api as api
imported = time.perf_counter() - t0
from moto import mock_aws
from _feedback_setup import Context, event, setup, token
with mock_aws():
    setup()
    link = token()  # signs with the same secret; built before the timer, not part of the request
    from outage_comms.feedback import runtime
    runtime.feedback_linker.cache_clear()
    runtime.signing_secret.cache_clear()
    t1 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        response = api.handler(event("/f/" + link + "/y", "198.51.100.1"), Context())
    first = time.perf_counter() - t1
assert response["statusCode"] == 200, response
print(json.dumps({"import_ms": round(imported * 1000, 1), "first_request_ms": round(first * 1000, 1)}))
"""


BARE_BOTO3 = "import time; t0 = time.perf_counter(); import boto3; print((time.perf_counter() - t0) * 1000)"


def cold_init_ms(runs: int = COLD_RUNS) -> dict[str, Any]:
    env = {
        **os.environ,
        **ENVIRONMENT,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "lambdas"), str(REPO_ROOT / "bench")]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    samples, boto3_ms = [], []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", COLD_INIT],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        samples.append(json.loads(result.stdout.strip().splitlines()[-1]))
        bare = subprocess.run(  # paired: a fresh interpreter importing boto3 alone, same environment
            [sys.executable, "-c", BARE_BOTO3],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        boto3_ms.append(float(bare.stdout.strip().splitlines()[-1]))
    totals = [s["import_ms"] + s["first_request_ms"] for s in samples]
    return {
        "median_ms": round(statistics.median(totals), 1),
        "import_boto3_median_ms": round(statistics.median(boto3_ms), 1),
        "import_median_ms": statistics.median(s["import_ms"] for s in samples),
        "first_request_median_ms": statistics.median(s["first_request_ms"] for s in samples),
        "samples_ms": [round(t, 1) for t in totals],
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "requests": len(ordered),
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "min_ms": round(ordered[0], 2),
    }


def warm_latency(requests: int = WARM_REQUESTS) -> dict[str, Any]:
    from moto import mock_aws

    for name, value in ENVIRONMENT.items():
        os.environ[name] = value
    from _feedback_setup import INCIDENT, Context, event, setup, token

    from outage_comms.aws_clients import reset_clients

    with mock_aws():
        reset_clients()
        setup()
        import handlers.feedback_api as api

        link = token()
        context = Context()
        with contextlib.redirect_stdout(io.StringIO()):
            api.handler(event(f"/f/{link}/y", "192.0.2.1"), context)  # warm up
            kinds: dict[str, list[float]] = {
                "counted": [],
                "replay": [],
                "forged": [],
                "answer_page": [],
                "answer_page_counted": [],
            }
            forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
            for n in range(requests):
                for kind, path, ip in (
                    ("counted", f"/f/{link}/y", f"198.51.{n // 250}.{n % 250}"),
                    ("replay", f"/f/{link}/n", f"198.51.{n // 250}.{n % 250}"),
                    ("forged", f"/f/{forged}/y", "203.0.113.9"),
                ):
                    start = time.perf_counter()
                    status = api.handler(event(path, ip), context)["statusCode"]
                    kinds[kind].append((time.perf_counter() - start) * 1000)
                    assert status == {"counted": 200, "replay": 409, "forged": 403}[kind], (kind, status)
                # The compact form: open the answer page, press "No" (its CSRF field from the page).
                ip = f"198.52.{n // 250}.{n % 250}"
                start = time.perf_counter()
                shown = api.handler(event(f"/f/{link}", ip), context)
                kinds["answer_page"].append((time.perf_counter() - start) * 1000)
                csrf = re.search(r'name="csrf" value="([^"]+)"', shown["body"])
                assert shown["statusCode"] == 200 and csrf, shown["statusCode"]
                body = urlencode({"vote": "no", "csrf": csrf.group(1)})
                start = time.perf_counter()
                status = api.handler(event(f"/f/{link}", ip, method="POST", body=body), context)["statusCode"]
                kinds["answer_page_counted"].append((time.perf_counter() - start) * 1000)
                assert status == 200, ("answer_page_counted", status)
        from outage_comms.feedback.store import DynamoFeedbackStore

        counts = DynamoFeedbackStore.named("feedback").counts(INCIDENT)  # every distinct client counted once
    assert counts["yes"] == requests + 1 and counts["no"] == requests, counts
    return {kind: _percentiles(samples) for kind, samples in kinds.items()}


def link_lengths() -> dict[str, int]:
    """Characters of the token and of the links customers get, under the API Gateway default URL."""
    from datetime import UTC, datetime, timedelta

    from outage_comms.feedback.links import FeedbackLinker, LinkSigner
    from outage_comms.feedback.messages import SAMPLE_BASE_URL
    from outage_comms.vocabulary import Channel, Scenario

    linker = FeedbackLinker(signer=LinkSigner(b"bench key, as long as needed!"), base_url=SAMPLE_BASE_URL)
    lengths: dict[str, int] = {"base_url": len(SAMPLE_BASE_URL.rstrip("/"))}
    for locale in ("en", "pt-BR"):
        urls = linker.urls(
            incident_id="inc-20261127-1405-3fa2c1",
            update_id="003-identified",
            channel=Channel.SMS,
            locale=locale,
            scenario=Scenario.IDENTIFIED,
            now=datetime.now(UTC) - timedelta(minutes=1),
        )
        lengths[f"token_{locale}"] = len(urls.page.rsplit("/", 1)[-1])
        lengths[f"one_click_link_{locale}"] = len(urls.yes)
        lengths[f"answer_page_link_{locale}"] = len(urls.page)
    return lengths


def run() -> dict[str, Any]:
    from _results import BenchRun

    bench = BenchRun("feedback", title="Feedback API")
    cold = cold_init_ms()
    warm = warm_latency()
    bench.figure(
        "cold start: import + first answer counted (moto), median",
        cold["median_ms"],
        "ms",
        baseline=("fresh interpreter importing boto3 alone", cold["import_boto3_median_ms"]),
    )
    bench.figure(
        "warm: an answer counted (moto DynamoDB), median",
        warm["counted"]["median_ms"],
        "ms",
        baseline=("a forged link refused (no AWS call)", warm["forged"]["median_ms"]),
    )
    bench.detail("cold_init", cold)
    bench.detail("warm_latency_moto", warm)
    bench.detail("link_lengths", link_lengths())
    return bench.write(RESULTS)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
