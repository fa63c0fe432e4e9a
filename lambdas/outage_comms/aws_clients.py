"""boto3 clients, created on first use and kept for the life of the execution environment.

Adapters ask :func:`client` instead of calling ``boto3.client`` at import time, so importing the
domain never touches AWS configuration and tests (moto) can reset the cache with
:func:`reset_clients` between cases.
"""

from __future__ import annotations

import functools
from typing import Any

from botocore.config import Config

#: Lambda retries the whole invocation; keep SDK retries short so a throttled call fails fast
#: enough for the batch's partial-failure report, but still rides out a brief hiccup.
SDK_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=3, read_timeout=10)


@functools.cache
def client(service: str) -> Any:
    """The shared client for ``service`` (region and credentials from the environment)."""
    import boto3  # lazy: keeps `import outage_comms...` free of boto3's own start-up cost

    return boto3.session.Session().client(service, config=SDK_CONFIG)


def reset_clients() -> None:
    """Forget every cached client (tests switch AWS mocks between cases)."""
    client.cache_clear()
