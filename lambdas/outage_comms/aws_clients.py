"""boto3 clients, created on first use and kept for the life of the execution environment.

Adapters ask :func:`client` instead of calling ``boto3.client`` at import time, so importing the
domain never touches AWS configuration and tests (moto) can reset the cache with
:func:`reset_clients` between cases.

Cold start: importing this module imports neither boto3 nor botocore (``botocore.config`` alone
costs about as much as ``import boto3``); both load on the first :func:`client` call. Every client
(and :func:`resource`) comes from one :func:`session` per process: a boto3 ``Session`` loads its own
endpoint and credential machinery, so one session per client would pay that again for every service.

The session's botocore data loader is :class:`_ModelLoader`: botocore's own ``Loader``, reading the
same model files, minus two costs of a first client that buy nothing in a Lambda: every JSON model is
parsed into ``OrderedDict`` objects through a Python hook (plain dicts keep the order and are what
botocore reads them as), and every ``load_service_model`` first lists all ~400 service folders of
botocore/data to check the service exists (it is looked up directly; an unknown service still fails,
with ``DataNotFoundError``). Creating the first 4 clients takes ~42 % less CPU (docs/performance.md).
"""

from __future__ import annotations

import functools
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from botocore.loaders import Loader

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


def _model_loader() -> Loader:
    """botocore's data loader without the OrderedDict parse and the every-service scan (module docs)."""
    import gzip
    import json

    from botocore.loaders import JSONFileLoader, Loader

    class _PlainJsonFiles(JSONFileLoader):  # type: ignore[misc]
        def load_file(self, file_path: str) -> Any:
            for suffix, opener in ((".json", open), (".json.gz", gzip.open)):
                full_path = file_path + suffix
                if os.path.isfile(full_path):
                    with opener(full_path, "rb") as stream:
                        return json.loads(stream.read().decode("utf-8"))
            return None

    class _ModelLoader(Loader):  # type: ignore[misc]
        _requested: str | None = None

        def load_service_model(self, service_name: str, type_name: str, api_version: Any = None) -> Any:
            self._requested = service_name
            try:
                return super().load_service_model(service_name, type_name, api_version)
            finally:
                self._requested = None

        def list_available_services(self, type_name: str) -> Any:
            requested = self._requested
            if requested and any(os.path.isdir(os.path.join(p, requested)) for p in self.search_paths):
                return [requested]  # only asked to check that this one exists
            return super().list_available_services(type_name)

    return _ModelLoader(file_loader=_PlainJsonFiles())


@functools.cache
def session() -> boto3.session.Session:
    """The process's one boto3 session (region and credentials from the environment)."""
    import boto3  # lazy: keeps `import outage_comms...` free of boto3's own start-up cost
    import botocore.session

    core = botocore.session.get_session()
    core.register_component("data_loader", _model_loader())
    return boto3.session.Session(botocore_session=core)


@functools.cache
def client(service: str) -> Any:
    """The shared client for ``service`` (region and credentials from the environment)."""
    with _LOCK:
        return session().client(service, config=sdk_config())


@functools.cache
def resource(service: str) -> Any:
    """The shared boto3 resource for ``service``, from the same session as :func:`client` (a bare
    ``boto3.resource`` builds a second session, which parses every model file again)."""
    with _LOCK:
        return session().resource(service, config=sdk_config())


def reset_clients() -> None:
    """Forget every cached client, resource and the session (tests switch AWS mocks between cases)."""
    with _LOCK:
        client.cache_clear()
        resource.cache_clear()
        session.cache_clear()


def __getattr__(name: str) -> Any:
    # `SDK_CONFIG` stays importable for callers that build boto3 resources themselves.
    if name == "SDK_CONFIG":
        return sdk_config()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
