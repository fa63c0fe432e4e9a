"""boto3 clients, created on first use and kept for the life of the execution environment.

Adapters ask :func:`client` instead of calling ``boto3.client`` at import time, so importing the
domain never touches AWS configuration and tests (moto) can reset the cache with
:func:`reset_clients` between cases.

Cold start: importing this module imports neither boto3 nor botocore (``botocore.config`` alone
costs about as much as ``import boto3``); both load on the first :func:`client` call. Every client
comes from one :func:`session` per process: a boto3 ``Session`` loads its own endpoint and
credential machinery, so one session per client would pay that again for every service.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

#: Lambda retries the whole invocation; keep SDK retries short so a throttled call fails fast
#: enough for the batch's partial-failure report, but still rides out a brief hiccup.
SDK_CONFIG_OPTIONS: dict[str, Any] = {
    "retries": {"max_attempts": 4, "mode": "standard"},
    "connect_timeout": 3,
    "read_timeout": 10,
}
# Session.client is not thread-safe (fan-out sends from worker threads): create clients one at a time.
_LOCK = threading.RLock()


@functools.cache
def sdk_config() -> Config:
    """The botocore ``Config`` every client uses (:data:`SDK_CONFIG_OPTIONS`)."""
    from botocore.config import Config

    return Config(**SDK_CONFIG_OPTIONS)


@functools.cache
def session() -> boto3.session.Session:
    """The process's one boto3 session (region and credentials from the environment)."""
    import boto3  # lazy: keeps `import outage_comms...` free of boto3's own start-up cost

    return boto3.session.Session()


@functools.cache
def client(service: str) -> Any:
    """The shared client for ``service`` (region and credentials from the environment)."""
    with _LOCK:
        return session().client(service, config=sdk_config())


def reset_clients() -> None:
    """Forget every cached client and the session (tests switch AWS mocks between cases)."""
    with _LOCK:
        client.cache_clear()
        session.cache_clear()


def __getattr__(name: str) -> Any:
    # `SDK_CONFIG` stays importable for callers that build boto3 resources themselves.
    if name == "SDK_CONFIG":
        return sdk_config()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
