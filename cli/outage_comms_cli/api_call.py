"""The incident API's client plumbing: its error, its answer, the URL's region, the body's JSON, and the
unsigned calls to ``outage-comms local``.

:func:`outage_comms_cli.incident_commands.call_api` signs with SigV4; a loopback URL (the local server on
this machine: 127.0.0.1, ::1, localhost) is called unsigned when the CLI has no credentials or region to
sign with. The local server stands in for API Gateway's IAM check (it acts as the plan's incident
manager), so there is nothing to sign; any other URL goes through SigV4, never unsigned.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

API_URL_ENV = "OUTAGE_COMMS_API_URL"
_REGION_IN_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


class ApiCallError(Exception):
    """The call did not succeed; the message says why and what to do."""


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: dict[str, Any]


def region_for(api_url: str, region: str | None) -> str:
    if region:
        return region
    match = _REGION_IN_HOST.search(api_url)
    if match:
        return match.group(1)
    from_env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if from_env:
        return from_env
    raise ApiCallError(f"cannot tell the region from {api_url}; pass --region (e.g. --region us-east-1)")


def response_json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"message": raw.decode("utf-8", "replace")[:500]}
    return value if isinstance(value, dict) else {"message": str(value)}


def is_loopback(api_url: str) -> bool:
    """``http(s)://127.0.0.1:PORT/…``, ``[::1]`` or ``localhost``: the local server on this machine."""
    parts = urlsplit(api_url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def unsigned_loopback(api_url: str, region: str | None) -> bool:
    """A loopback URL the CLI cannot sign for (no AWS credentials, or no region): call it unsigned.

    With credentials and a region the request is signed as for a deployed API (the local server
    ignores the signature); without them, ``outage-comms local`` still answers.
    """
    if not is_loopback(api_url):
        return False
    import botocore.session
    from botocore.exceptions import BotoCoreError

    try:
        if botocore.session.Session().get_credentials() is None:
            return True
        region_for(api_url, region)
    except (BotoCoreError, ApiCallError):
        return True
    return False


def call_local(method: str, url: str, body: dict[str, Any] | None) -> tuple[int, bytes]:
    """(status, body) of one unsigned call to a loopback URL; raises urllib's errors."""
    if not is_loopback(url):
        raise ValueError(f"refusing an unsigned request to {url}: only a loopback URL is called unsigned")
    data = json.dumps(body).encode("utf-8") if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback only
        return int(response.status), bytes(response.read())


def call_loopback(method: str, api_url: str, path: str, body: dict[str, Any] | None) -> Any:
    """``call_api`` for a loopback URL: the same answers and the same errors, without signing."""
    url = api_url.rstrip("/") + "/" + path.lstrip("/")
    try:
        status, raw = call_local(method, url, body)
    except urllib.error.HTTPError as error:
        payload = response_json(error.read())
        message = payload.get("message") or error.reason
        raise ApiCallError(f"{payload.get('error', f'HTTP {error.code}')}: {message}") from None
    except urllib.error.URLError as error:
        raise ApiCallError(
            f"cannot reach {url} ({error.reason}); is `outage-comms local` running? (check ${API_URL_ENV})"
        ) from None
    return ApiResponse(status, response_json(raw))
