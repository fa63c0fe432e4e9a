"""What every call to the incident API shares: its error, its answer, the URL's region, the body's JSON.

Below both callers: :func:`outage_comms_cli.incident_commands.call_api` (SigV4) and
:mod:`outage_comms_cli.local.client` (unsigned, loopback only) import it, and it imports neither.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

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
