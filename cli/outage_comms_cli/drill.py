"""`outage-comms drill`: the embedded drill's entry points (kept here for existing imports).

The drill itself lives in :mod:`outage_comms_cli.drills`: scenarios (``scenario``), the embedded and
deployed runners (``embedded``, ``deployed``) and the report (``record``, ``report``).
"""

from __future__ import annotations

from outage_comms_cli.drills.embedded import (
    CUSTOMER_HANDLER,
    DRILL_SECONDS_PER_MINUTE,
    REUSE_CDK_OUT_ENV,
    DrillGateway,
    alarm_event,
    human_request,
    run_embedded_drill,
)

__all__ = [
    "CUSTOMER_HANDLER",
    "DRILL_SECONDS_PER_MINUTE",
    "REUSE_CDK_OUT_ENV",
    "DrillGateway",
    "alarm_event",
    "human_request",
    "run_embedded_drill",
]
