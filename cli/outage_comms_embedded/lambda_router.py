"""moto's Lambda routed to the real handlers, in this process, one at a time, in their region's environment.

moto's no-docker Lambda backend is routed to the real handler named by each function's ``Handler`` in the
template, imported from the asset directory CDK built (``handlers`` comes from the asset;
``outage_comms`` is the same source, already imported by this process). Handlers run one at a time: in
Lambda each function has its own execution environment, here they share module-level singletons
(Powertools Metrics), so the router serializes them. A function of another region than the harness's home
region runs with that region's environment (its functions' variables, ``AWS_REGION``), set for the call.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

#: Variables whose mere presence changes what a function does (the incident API hands work to the
#: intake queue instead of starting executions): set only while a function that has them runs, with the
#: settings caches that read them cleared around the call, never merged into the shared environment.
PER_FUNCTION_VARIABLES = frozenset({"WORKFLOW_HANDOFF_QUEUE_URL"})

Fault = Callable[[dict[str, Any]], Exception | None]


@dataclass(frozen=True)
class Invocation:
    """One routed Lambda invocation: which handler, with what, how long our code took."""

    function_name: str
    handler: str
    event: Any
    started: float
    seconds: float
    error: str | None
    #: The exception's message when ``error`` is set (what Step Functions sees as the cause).
    error_message: str = ""
    #: The region whose function ran.
    region: str = ""
    #: The plan-clock time it ran at (a drill's; None without a plan clock).
    plan_time: Any = None
    #: What the handler returned (None when it failed).
    result: Any = None


class _Context:
    """The Lambda context object the handlers (and Powertools) read."""

    def __init__(self, function: Any) -> None:
        self.function_name = function.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.function_arn
        self.memory_limit_in_mb = int(getattr(function, "memory_size", 256) or 256)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.function_name}"
        self.log_stream_name = "embedded"
        self._deadline = time.monotonic() + float(getattr(function, "timeout", 30) or 30)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_context(function: Any) -> Any:
    """The context object a handler gets, for a moto Lambda function (the local server uses it too)."""
    return _Context(function)


class LambdaRouting:
    """Mixin of :class:`~outage_comms_embedded.harness.EmbeddedAws`: the Lambda router."""

    # Provided by EmbeddedAws.
    region: str
    region_environments: dict[str, dict[str, str]]
    asset_dirs: list[Any]
    faults: dict[str, Fault]
    invocations: list[Invocation]
    _lock: Any
    _plan_clock: Any
    _original_invoke: Any
    _processing: Callable[[], Any]
    _reset_caches: Callable[[], None]

    def _route_lambda(self) -> None:
        from moto.awslambda_simple.models import LambdaSimpleBackend

        harness = self
        self._original_invoke = LambdaSimpleBackend.invoke

        def invoke(
            backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
        ) -> bytes:
            function = backend.get_function(function_name, qualifier)
            return harness._run_handler(function, body, response_headers, backend.region_name)

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]

    def _unroute_lambda(self) -> None:
        from moto.awslambda_simple.models import LambdaSimpleBackend

        if self._original_invoke is not None:
            LambdaSimpleBackend.invoke = self._original_invoke  # type: ignore[method-assign]

    def _run_handler(
        self, function: Any, body: Any, response_headers: dict[str, str], region: str = ""
    ) -> bytes:
        for directory in self.asset_dirs:
            if str(directory) not in sys.path:
                sys.path.append(str(directory))  # after the venv: only ``handlers`` comes from here
        event = json.loads(body) if body else {}
        handler_path = function.handler
        module_name, attribute = handler_path.rsplit(".", 1)
        with self._lock, self._processing():
            plan_time = self._plan_clock.at(time.time()) if self._plan_clock is not None else None
            started = time.perf_counter()
            error: str | None = None
            message = ""
            result: Any = None
            fault = self.faults.get(handler_path)
            try:
                injected = fault(event) if fault else None
                if injected is not None:
                    raise injected
                handler = getattr(importlib.import_module(module_name), attribute)
                with (
                    self._in_region(region or self.region),
                    self._own_variables(function),
                    _this_threads_stdout_discarded(),
                ):
                    result = handler(event, _Context(function))  # (stdout: Powertools' EMF lines)
                payload = json.dumps(result, default=str).encode()
            except Exception as exc:  # reported to Step Functions as the function error
                error, message = type(exc).__name__, str(exc)
                response_headers["x-amz-function-error"] = "Unhandled"
                payload = json.dumps({"errorType": error, "errorMessage": str(exc)}).encode()
            self.invocations.append(
                Invocation(
                    function.function_name,
                    handler_path,
                    event,
                    started,
                    time.perf_counter() - started,
                    error,
                    message,
                    region or self.region,
                    plan_time,
                    result,
                )
            )
        return payload

    @contextmanager
    def _in_region(self, region: str) -> Iterator[None]:
        """The environment of ``region``'s functions for the call (the home region's is the process's)."""
        if region == self.region or region not in self.region_environments:
            yield
            return
        home = self.region_environments.get(self.region, {})
        values = {**{k: "" for k in home}, **self.region_environments[region]}
        values.update(AWS_REGION=region, AWS_DEFAULT_REGION=region)
        try:
            with _environment(values):
                self._reset_caches()
                yield
        finally:
            self._reset_caches()

    @contextmanager
    def _own_variables(self, function: Any) -> Iterator[None]:
        """The function's own :data:`PER_FUNCTION_VARIABLES` for the call (caches that read them cleared)."""
        variables = getattr(function, "environment_vars", None) or {}
        own = {k: v for k, v in variables.items() if k in PER_FUNCTION_VARIABLES}
        if not own:
            yield
            return
        try:
            with _environment(own):
                self._reset_caches()
                yield
        finally:
            self._reset_caches()


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` for the block (an empty value unsets the variable), then as before."""
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value:
            os.environ[key] = value
        else:
            os.environ.pop(key, None)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _this_threads_stdout_discarded() -> contextlib.AbstractContextManager[Any]:
    """The handler's prints (Powertools' EMF lines) go nowhere; with a per-thread stdout (the drill's),
    only this thread's (swapping ``sys.stdout`` would swap it for every thread)."""
    to = getattr(sys.stdout, "to", None)
    return to(io.StringIO()) if callable(to) else contextlib.redirect_stdout(io.StringIO())  # type: ignore[no-any-return]
