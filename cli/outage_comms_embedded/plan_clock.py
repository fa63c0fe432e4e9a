"""The plan clock of a drill: it runs only while the deployment waits, and stands still while it works.

:meth:`PlanClockHooks.set_plan_clock` makes ``outage_comms.clock.now()`` read a virtual clock for the
handlers and this process; hooks on moto's Step Functions count running executions, executions waiting
(task token, Wait state) and task tokens handed over, so the clock freezes while anything works.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class PlanClockHooks:
    """Mixin of :class:`~outage_comms_embedded.harness.EmbeddedAws`: the plan clock and its moto hooks."""

    # Provided by EmbeddedAws.
    _plan_clock: Any
    _clock_lock: threading.RLock
    _clock_hooks: dict[tuple[Any, str], Any]
    _depth: int
    _running: int
    _waiting: int
    _woken: set[Any]
    _awaited: set[Any]
    processing_seconds: float
    _set_env: Any

    def set_plan_clock(self, anchor: Any, seconds_per_minute: float) -> Any:
        """From now, ``outage_comms.clock.now()`` reads ``anchor`` and runs on a virtual clock, for the
        handlers and this process (restored at stop); new executions get the compressed waits.

        The plan clock runs only while the deployment *waits*: every running execution blocked on a
        task token or in a Wait state, and no handler running. While anything works (a handler, a
        state transition, a token just handed over) it stands still at the time the work started, so
        processing takes no plan time however busy the machine is; the wall seconds the handlers take
        are counted apart (:attr:`processing_seconds`). Waits keep the definition's compressed
        seconds, so a plan minute of waiting is ``seconds_per_minute`` wall seconds.
        """
        from outage_comms.clock import PLAN_CLOCK_ENV, PlanClock

        with self._clock_lock:
            self._plan_clock = PlanClock(anchor, time.time(), seconds_per_minute)
            self._set_env({PLAN_CLOCK_ENV: self._plan_clock.to_env()})  # restored at stop
            self._install_clock_hooks()
            self._clock_changed()
        return self._plan_clock

    def _busy(self) -> bool:
        return self._depth > 0 or self._waiting < self._running or bool(self._woken)

    def _clock_changed(self) -> None:
        """Freeze or run the plan clock as the deployment turns busy or idle (call under _clock_lock)."""
        from dataclasses import replace

        from outage_comms.clock import PLAN_CLOCK_ENV

        plan_clock = self._plan_clock
        if plan_clock is None:
            return
        now = time.time()
        if self._busy() and plan_clock.frozen is None:
            plan_clock = replace(plan_clock, frozen=plan_clock.at(now))
        elif not self._busy() and plan_clock.frozen is not None:
            plan_clock = replace(plan_clock, anchor=plan_clock.frozen, wall_anchor=now, frozen=None)
        self._plan_clock = plan_clock
        os.environ[PLAN_CLOCK_ENV] = plan_clock.to_env()

    def _count(self, name: str, delta: int) -> None:
        with self._clock_lock:
            setattr(self, name, getattr(self, name) + delta)
            self._clock_changed()

    def _install_clock_hooks(self) -> None:
        """Count running executions, executions waiting (task token, Wait state) and tokens handed over."""
        if self._clock_hooks:
            return
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_callback as callback_module,
        )
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function
        from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
        from moto.stepfunctions.parser.backend import execution_worker

        harness = self
        worker = execution_worker.ExecutionWorker
        task = callback_module.StateTaskServiceCallback
        waits = wait_function.WaitFunction
        originals: dict[tuple[Any, str], Any] = {
            (worker, "start"): worker.start,
            (worker, "_execution_logic"): worker._execution_logic,
            (task, "_wait_for_task_token_timeout"): task._wait_for_task_token_timeout,
            (waits, "_wait_interval"): waits._wait_interval,
            (CallbackEndpoint, "notify"): CallbackEndpoint.notify,
        }

        def start(self: Any) -> None:
            harness._count("_running", 1)  # before its thread exists: no idle gap
            originals[(worker, "start")](self)

        def execution_logic(self: Any) -> None:
            try:
                originals[(worker, "_execution_logic")](self)
            finally:
                harness._count("_running", -1)

        def wait_for_token(self: Any, timeout_seconds: int, callback_endpoint: Any) -> Any:
            with harness._clock_lock:
                harness._awaited.add(callback_endpoint.callback_id)
                harness._waiting += 1
                harness._clock_changed()
            try:
                return originals[(task, "_wait_for_task_token_timeout")](
                    self, timeout_seconds, callback_endpoint
                )
            finally:
                with harness._clock_lock:
                    harness._waiting -= 1
                    harness._awaited.discard(callback_endpoint.callback_id)
                    harness._woken.discard(callback_endpoint.callback_id)
                    harness._clock_changed()

        def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
            harness._count("_waiting", 1)
            try:
                originals[(waits, "_wait_interval")](self, env, wait_seconds)
            finally:
                harness._count("_waiting", -1)

        def notify(self: Any, outcome: Any) -> Any:
            with harness._clock_lock:  # busy from the hand-over until the execution has woken
                if self.callback_id in harness._awaited:  # a stale token wakes nobody: no lasting freeze
                    harness._woken.add(self.callback_id)
                    harness._clock_changed()
            return originals[(CallbackEndpoint, "notify")](self, outcome)

        worker.start = start  # type: ignore[method-assign]
        worker._execution_logic = execution_logic  # type: ignore[method-assign]
        task._wait_for_task_token_timeout = wait_for_token  # type: ignore[method-assign]
        waits._wait_interval = wait_interval  # type: ignore[method-assign]
        CallbackEndpoint.notify = notify  # type: ignore[method-assign]
        self._clock_hooks = originals

    def _remove_clock_hooks(self) -> None:
        for (owner, name), original in self._clock_hooks.items():
            setattr(owner, name, original)
        self._clock_hooks = {}

    @contextmanager
    def _processing(self) -> Iterator[None]:
        """A handler's run: the plan clock stands still; its wall seconds are counted apart."""
        self._count("_depth", 1)
        started = time.time()
        try:
            yield
        finally:
            if self._depth == 1 and self._plan_clock is not None:
                self.processing_seconds += time.time() - started
            self._count("_depth", -1)
