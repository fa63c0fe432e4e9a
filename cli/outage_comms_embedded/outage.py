"""A region outage in the embedded AWS: every call to that region's endpoints fails with a connection error.

moto answers every botocore request in-process (its ``before-send`` stubber). While a region is down, a
request *signed for that region* (the SigV4 credential scope names it) does not reach moto:

* from a person or a function (the drill's own thread, or a handler running): botocore's
  ``EndpointConnectionError``, as when a region's endpoints do not answer;
* from the region's own machinery on moto's background threads (its Step Functions executions invoking
  its functions, its EventBridge rules' targets): the call waits until the region recovers, as that
  region's services stand still while it is down (an execution there neither fails nor advances). The
  harness counts such a thread as waiting, so the plan clock runs on.

The event-source mapping (the harness's pump) does not poll a region that is down. The drill's god's-eye
reads (what was sent, what the workflow recorded) sign with :data:`OBSERVER_KEY` and still answer: they
are the exercise's bookkeeping, not the engine's calls.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: The access key of the harness's own reads (never refused by an outage).
OBSERVER_KEY = "embedded-observer"
_SCOPE = re.compile(r"Credential=(?P<key>[^/\s,]+)/\d{8}/(?P<region>[a-z0-9-]+)/")
_QUERY_SCOPE = re.compile(r"X-Amz-Credential=(?P<key>[^%&/]+)(?:%2F|/)\d{8}(?:%2F|/)(?P<region>[a-z0-9-]+)")


def signed_for(request: Any) -> tuple[str, str]:
    """(access key, region) of a prepared botocore request's SigV4 signature ('' when unsigned)."""
    authorization = request.headers.get("Authorization", b"")
    if isinstance(authorization, bytes):
        authorization = authorization.decode("utf-8", "replace")
    match = _SCOPE.search(str(authorization)) or _QUERY_SCOPE.search(str(getattr(request, "url", "")))
    return (match["key"], match["region"]) if match else ("", "")


@dataclass
class RegionOutages:
    """Which regions are down; installed over moto's stubber for the harness's lifetime."""

    down: set[str] = field(default_factory=set)
    #: region -> calls refused while it was down
    refused: Counter[str] = field(default_factory=Counter)
    #: (action, region) in the order the drill applied them
    applied: list[tuple[str, str]] = field(default_factory=list)

    #: region -> background calls held until it recovered
    held: Counter[str] = field(default_factory=Counter)
    #: Called with +1 / -1 as a background thread starts / stops waiting for a region (the plan clock).
    on_hold: Callable[[int], None] = lambda delta: None
    #: Whether the calling thread is running a handler (its calls fail rather than wait).
    in_handler: Callable[[], bool] = lambda: False

    def __post_init__(self) -> None:
        self._original: Any = None
        self._changed = threading.Condition()

    def apply(self, action: str, region: str) -> None:
        """A drill action: ``region_outage`` or ``region_recovery`` of ``region`` (an AWS region name)."""
        with self._changed:
            if action == "region_outage":
                self.down.add(region)
            elif action == "region_recovery":
                self.down.discard(region)
            else:
                raise ValueError(f"unknown region action {action}")
            self.applied.append((action, region))
            self._changed.notify_all()

    def _hold(self, region: str) -> None:
        """A background call into a region that is down waits until it recovers (or the harness stops)."""
        self.held[region] += 1
        self.on_hold(1)
        try:
            with self._changed:
                while region in self.down and self._original is not None:
                    self._changed.wait(0.5)
        finally:
            self.on_hold(-1)

    def _must_fail(self) -> bool:
        return threading.current_thread() is threading.main_thread() or self.in_handler()

    def answers(self, region: str) -> bool:
        return region not in self.down

    def install(self) -> None:
        from botocore.exceptions import EndpointConnectionError
        from moto.core.botocore_stubber import BotocoreStubber

        outages = self
        original = self._original = BotocoreStubber.__call__

        def call(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            if outages.down:
                key, region = signed_for(request)
                if region in outages.down and key != OBSERVER_KEY:
                    if outages._must_fail():
                        outages.refused[region] += 1
                        raise EndpointConnectionError(endpoint_url=str(getattr(request, "url", region)))
                    outages._hold(region)
            return original(stubber, event_name, request, **kwargs)

        BotocoreStubber.__call__ = call  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        if self._original is not None:
            BotocoreStubber.__call__ = self._original  # type: ignore[method-assign]
        with self._changed:
            self._original = None  # held calls go on (to a stopped mock) and end
            self.down.clear()
            self._changed.notify_all()
