"""Cold start structure: importing a handler (a Lambda's init) loads none of the heavy libraries.

Every Outage Comms invocation on an incident's path is nearly always a cold start, and a module
imported at init is paid by every one of them. These tests pin the structure, not timings (the
timings are ``bench/cold_init.py``'s): each handler is imported in a fresh interpreter, as Lambda
does, with ``LAMBDA_TASK_ROOT`` set so Powertools would trace (and patch) if it were built eagerly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"
HANDLERS = sorted(p.stem for p in (LAMBDAS / "handlers").glob("*.py") if p.stem != "__init__")
#: Loaded on first use, never at import: the X-Ray SDK (Tracer), the AWS SDK proper (clients),
#: Jinja2 (rendering), Powertools idempotency and batch (they import boto3 and every Parser model).
NEVER_AT_IMPORT = (
    "aws_xray_sdk",
    "boto3",
    "botocore.client",
    "botocore.config",
    "jinja2",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.batch",
    "lxml",
    "feedgen",
    # the API Gateway resolver (AppSync/Bedrock resolvers, asyncio): built on the first request
    "aws_lambda_powertools.event_handler",
)
#: Handlers whose module-level objects need a library at import, with the reason.
ALLOWED: dict[str, set[str]] = {}

PROBE = """
import json, sys
sys.path.insert(0, {lambdas!r})
import importlib
importlib.import_module({module!r})
from outage_comms.observability import tracer
print(json.dumps({{"modules": sorted(sys.modules), "tracer_built": tracer.built}}))
"""


def _import_in_fresh_interpreter(module: str) -> dict[str, object]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POWERTOOLS_", "AWS_LAMBDA_", "PYTHONPATH"))
    }
    env.update(LAMBDA_TASK_ROOT=str(LAMBDAS), AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1")
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(lambdas=str(LAMBDAS), module=f"handlers.{module}")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("module", HANDLERS)
def test_importing_a_handler_loads_no_heavy_library(module: str) -> None:
    loaded = _import_in_fresh_interpreter(module)
    modules = set(loaded["modules"])  # type: ignore[arg-type]
    heavy = {name for name in NEVER_AT_IMPORT if name in modules} - ALLOWED.get(module, set())
    assert not heavy, f"handlers.{module} imports {sorted(heavy)} at init: import them where first used"
    assert loaded["tracer_built"] is False, "the X-Ray tracer must be built on the first invocation"


def test_lazy_tracer_traces_the_handler_on_its_first_invocation() -> None:
    from outage_comms.observability import LazyTracer

    tracer = LazyTracer(disabled=True)
    calls = []

    @tracer.capture_lambda_handler
    def handler(event: dict[str, int], context: object) -> int:
        calls.append(event)
        return event["n"] * 2

    assert not tracer.built
    assert handler({"n": 21}, None) == 42
    assert tracer.built
    assert handler({"n": 1}, None) == 2
    assert calls == [{"n": 21}, {"n": 1}]
    assert tracer.tracer.disabled is True
    assert handler.__name__ == "handler"


def test_every_client_comes_from_one_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from outage_comms import aws_clients

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws_clients.reset_clients()
    try:
        first, second = aws_clients.client("sqs"), aws_clients.client("s3")
        assert aws_clients.client("sqs") is first
        assert aws_clients.session.cache_info().currsize == 1
        assert first.meta.config.retries["mode"] == "standard"
        assert second.meta.config.connect_timeout == aws_clients.SDK_CONFIG.connect_timeout
    finally:
        aws_clients.reset_clients()


def _api_event(method: str, path: str, body: str | None = None) -> dict[str, object]:
    return {
        "httpMethod": method,
        "path": path,
        "resource": path,
        "headers": {"content-type": "application/json"},
        "queryStringParameters": None,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"requestId": "r-1", "stage": "prod", "identity": {"sourceIp": "192.0.2.1"}},
    }


def test_lazy_resolver_builds_powertools_resolver_with_every_route_on_first_use() -> None:
    from outage_comms.api_routes import LazyRestResolver, response

    class Refused(Exception):
        pass

    class Conflict(Exception):
        pass

    app = LazyRestResolver()

    @app.get("/things/<thing_id>")
    def get_thing(thing_id: str) -> object:
        if thing_id == "bad":
            raise Refused("no")
        if thing_id == "busy":
            raise Conflict("later")
        return response(200, "application/json", json.dumps({"id": thing_id, "path": app.current_event.path}))

    @app.exception_handler(Refused)
    def _refused(error: Refused) -> object:
        return response(400, "application/json", json.dumps({"error": str(error)}))

    @app.on_build
    def _late(resolver: object) -> None:
        resolver.exception_handler(Conflict)(  # type: ignore[attr-defined]
            lambda error: response(409, "application/json", json.dumps({"error": str(error)}))
        )

    assert not app.built
    ok = app.resolve(_api_event("GET", "/things/a1"), None)
    assert app.built
    assert (ok["statusCode"], json.loads(ok["body"])) == (200, {"id": "a1", "path": "/things/a1"})
    assert app.resolve(_api_event("GET", "/things/bad"), None)["statusCode"] == 400
    assert app.resolve(_api_event("GET", "/things/busy"), None)["statusCode"] == 409
    assert app.resolve(_api_event("POST", "/things/a1"), None)["statusCode"] == 404

    @app.post("/later")  # registered after the build: goes straight to the real resolver
    def later() -> object:
        return response(201, "application/json", "{}")

    assert app.resolve(_api_event("POST", "/later", "{}"), None)["statusCode"] == 201
