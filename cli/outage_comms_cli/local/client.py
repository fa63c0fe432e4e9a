"""The CLI's calls to ``outage-comms local``: plain HTTP to a loopback URL, no AWS credentials.

The local server stands in for API Gateway's IAM check (it acts as the plan's incident manager), so
there is nothing to sign. Only a loopback host (127.0.0.1, ::1, localhost) is called this way, and only
when the CLI has no credentials or region to sign with: any other URL goes through SigV4
(:func:`outage_comms_cli.incident_commands.call_api`), never unsigned.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from outage_comms_cli.api_call import API_URL_ENV, ApiCallError, ApiResponse, region_for
from outage_comms_cli.api_call import response_json as _json


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
    """:func:`call_api` for a loopback URL: the same answers and the same errors, without signing."""
    url = api_url.rstrip("/") + "/" + path.lstrip("/")
    try:
        status, raw = call_local(method, url, body)
    except urllib.error.HTTPError as error:
        payload = _json(error.read())
        message = payload.get("message") or error.reason
        raise ApiCallError(f"{payload.get('error', f'HTTP {error.code}')}: {message}") from None
    except urllib.error.URLError as error:
        raise ApiCallError(
            f"cannot reach {url} ({error.reason}); is `outage-comms local` running? (check ${API_URL_ENV})"
        ) from None
    return ApiResponse(status, _json(raw))
