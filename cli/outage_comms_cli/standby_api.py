"""The incident API of the standby region: where the CLI turns when the primary's does not answer.

A two-region engine has an incident API endpoint per region. ``OUTAGE_COMMS_STANDBY_API_URL`` (the
standby intake stack's ``IncidentApiUrl`` output) names the standby's; when a call to the primary
fails to connect or times out (not when it answers with an error), the CLI says so on stderr and sends
the same request, with the same idempotency token, to the standby, signed for the standby's region.
"""

from __future__ import annotations

import os
import sys

STANDBY_API_URL_ENV = "OUTAGE_COMMS_STANDBY_API_URL"


def standby_for(api_url: str) -> str | None:
    """The standby's API URL to try after ``api_url`` did not answer (None: none, or it was the standby)."""
    standby = os.environ.get(STANDBY_API_URL_ENV, "").strip()
    if not standby or standby.rstrip("/") == api_url.rstrip("/"):
        return None
    print(f"! {api_url} did not answer; trying the standby region's API {standby}", file=sys.stderr)
    return standby
