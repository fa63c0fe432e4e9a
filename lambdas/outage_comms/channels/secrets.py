"""Channel secrets from AWS Secrets Manager, cached per execution environment with a TTL.

The plan names secrets (``outage-comms/slack-webhook``); the values (webhook URLs, tokens, app
passwords, signing keys) never sit in the plan, the template or an environment variable. A warm
Lambda reuses a value for ``ttl_seconds`` so a burst of deliveries costs one ``GetSecretValue``,
and a rotated secret is picked up within the TTL.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from outage_comms.channels.base import ChannelRetryableError, ChannelUnavailableError

DEFAULT_TTL_SECONDS = 300.0
_MISSING = frozenset({"ResourceNotFoundException", "AccessDeniedException", "InvalidRequestException"})


class SecretCache:
    """``get(name)`` returns the secret string; values are kept for ``ttl_seconds``."""

    def __init__(
        self,
        client: Any = None,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._clock = clock
        self._values: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def _secrets_client(self) -> Any:
        if self._client is None:
            from outage_comms.aws_clients import client

            self._client = client("secretsmanager")
        return self._client

    def get(self, name: str) -> str:
        """The secret's string value. Raises ChannelUnavailableError if it is missing or unreadable."""
        now = self._clock()
        with self._lock:
            cached = self._values.get(name)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
        try:
            response = self._secrets_client().get_secret_value(SecretId=name)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _MISSING:
                raise ChannelUnavailableError(
                    f"secret '{name}' cannot be read ({code}): create it in Secrets Manager and let the "
                    "channel's role read it"
                ) from None
            raise ChannelRetryableError(f"unavailable: Secrets Manager: {code}") from None
        value = response.get("SecretString")
        if not isinstance(value, str) or not value:
            raise ChannelUnavailableError(f"secret '{name}' has no string value: store it as text or JSON")
        with self._lock:
            self._values[name] = (now, value)
            self.fetches += 1
        return value

    def get_json(self, name: str) -> dict[str, Any]:
        """The secret parsed as a JSON object; a plain string secret becomes ``{"value": ...}``."""
        raw = self.get(name)
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            return {"value": raw}
        return parsed if isinstance(parsed, dict) else {"value": raw}

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


@functools.cache
def default_cache() -> SecretCache:
    """The execution environment's one cache."""
    return SecretCache()


def secret_field(cache: SecretCache, name: str, *keys: str) -> str:
    """The first of ``keys`` present in a JSON secret, else the whole plain-text secret."""
    data = cache.get_json(name)
    for key in (*keys, "value"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    raise ChannelUnavailableError(f"secret '{name}' has none of the fields {list(keys)}")
