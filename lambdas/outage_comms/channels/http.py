"""The one small HTTP client every HTTP channel uses (Slack, Teams, Mastodon, Bluesky, webhooks).

Standard library only (keeps the asset small). Every call has a timeout, never follows redirects
(a redirected POST would silently become a GET) and turns failures into the typed errors the
workflow's ``Retry``/``Catch`` match on. Step Functions matches on the exception *class name*, so
the failure kind travels as the first word of the message instead of as a subclass:

============  ===========================  ==========================================
kind          raised as                    when
============  ===========================  ==========================================
throttled     ``ChannelRetryableError``    HTTP 429 (``Retry-After`` is kept)
unavailable   ``ChannelRetryableError``    HTTP 5xx, connection refused or reset
timeout       ``ChannelRetryableError``    no answer within the timeout
credentials   ``ChannelPermanentError``    HTTP 401 / 403: the secret is wrong or revoked
rejected      ``ChannelPermanentError``    any other 4xx, or a redirect
============  ===========================  ==========================================
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from outage_comms.channels.base import ChannelError, ChannelPermanentError, ChannelRetryableError

DEFAULT_TIMEOUT_SECONDS = 5.0
USER_AGENT = "OutageComms/0.1 (+https://github.com/outage-comms)"
#: Plain http is refused except to the loopback interface (local test servers and drills).
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_MAX_BODY_BYTES = 1_000_000


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx surfaces as an HTTPError and becomes "rejected"


_OPENER = urllib.request.build_opener(_NoRedirect)


def check_url(url: str) -> None:
    """https only (plain http only to loopback); raises ChannelPermanentError otherwise."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return
    raise ChannelPermanentError(f"rejected: refusing to send to {parts.scheme}://{parts.hostname}: use https")


def request(
    method: str,
    url: str,
    *,
    service: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> HttpResponse:
    """Send one request; return the 2xx response or raise the typed error for the failure."""
    check_url(url)
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    req = urllib.request.Request(url, data=body, method=method, headers=all_headers)  # noqa: S310 (checked above)
    try:
        with _OPENER.open(req, timeout=timeout) as response:
            return HttpResponse(
                status=response.status,
                body=response.read(_MAX_BODY_BYTES),
                headers={k.lower(): v for k, v in response.headers.items()},
            )
    except urllib.error.HTTPError as error:
        raise _http_error(service, error) from None
    except TimeoutError as error:
        raise ChannelRetryableError(f"timeout: {service}: no answer within {timeout:g}s") from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError | socket.timeout):
            raise ChannelRetryableError(f"timeout: {service}: no answer within {timeout:g}s") from None
        raise ChannelRetryableError(f"unavailable: {service}: {error.reason}") from None
    except (ConnectionError, OSError) as error:
        raise ChannelRetryableError(f"unavailable: {service}: {error}") from None


def post_json(
    url: str,
    payload: Any,
    *,
    service: str,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> HttpResponse:
    """POST ``payload`` as UTF-8 JSON."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return request(
        "POST",
        url,
        service=service,
        body=body,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        timeout=timeout,
    )


def _http_error(service: str, error: urllib.error.HTTPError) -> ChannelError:
    status = error.code
    try:
        detail = error.read(300).decode("utf-8", "replace").strip()
    except OSError:
        detail = ""
    suffix = f": {detail}" if detail else ""
    if status == 429:
        retry_after = error.headers.get("Retry-After", "") if error.headers else ""
        hint = f" (Retry-After {retry_after})" if retry_after else ""
        return ChannelRetryableError(f"throttled: {service}: HTTP 429{hint}{suffix}")
    if status >= 500:
        return ChannelRetryableError(f"unavailable: {service}: HTTP {status}{suffix}")
    if status in (401, 403):
        return ChannelPermanentError(
            f"credentials: {service}: HTTP {status}: the secret is wrong or revoked; "
            "update it in Secrets Manager"
        )
    return ChannelPermanentError(f"rejected: {service}: HTTP {status}{suffix}")
