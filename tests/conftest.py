"""Process-wide test settings, applied before any test module imports Lambda code.

Powertools' Metrics singleton (outage_comms.observability) reads its namespace from the
environment once, when first imported. Whichever test happens to import it first on an xdist
worker would otherwise decide for every later test on that worker; a default here makes the
outcome independent of test order.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "OutageCommsTest")


@pytest.fixture
def item_atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each request atomically; moto does not. Serialize moto's request handling so
    that a test of *our* concurrency sees DynamoDB's guarantee, not moto's races (for one, a failed
    TransactWriteItems in moto restores a snapshot of the whole table taken when it began, erasing
    what another thread wrote meanwhile). A client doing read-then-write across two requests still
    races under this lock, so such tests can fail."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original = BotocoreStubber.process_request

    def serialized(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", serialized)
