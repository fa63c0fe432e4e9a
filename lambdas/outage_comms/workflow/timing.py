"""How long the workflow waits, from the plan's minutes and the run's clock.

A deployed workflow runs on real minutes (60 seconds each). A drill passes a compressed clock
in the execution input (``{"clock": {"seconds_per_minute": 0.05}}``) to the *same* definition:
every Wait and task timeout reads its seconds from the state, never from a constant.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from outage_comms.incident import Incident
from outage_comms.plan import Plan

REAL_SECONDS_PER_MINUTE = 60.0
#: After a missed cadence and a reminder, how long (in plan minutes) before the incident manager hears.
REMINDER_GRACE_MINUTES = 10
#: A review link lives at most this long, however long the approval timeout is.
MAX_REVIEW_LINK_MINUTES = 24 * 60


class Clock(BaseModel):
    """Seconds per plan minute. Step Functions timeouts are whole seconds, at least 1."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    seconds_per_minute: float = Field(default=REAL_SECONDS_PER_MINUTE, gt=0, le=REAL_SECONDS_PER_MINUTE)

    @classmethod
    def from_input(cls, value: Any) -> Clock:
        return cls.model_validate(value) if isinstance(value, dict) else cls()

    def seconds(self, minutes: float) -> int:
        return max(1, math.ceil(minutes * self.seconds_per_minute))

    @property
    def compressed(self) -> bool:
        return self.seconds_per_minute < REAL_SECONDS_PER_MINUTE


def timing_for(
    plan: Plan,
    severity_id: str,
    clock: Clock,
    *,
    incident: Incident | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The state's ``timing`` block: every duration the definition reads with a ``*Path`` field.

    For a maintenance window (``incident`` with ``maintenance_phase``, and ``now``) the cadence is the
    time to its next scheduled notification plus a margin: the schedules speak on time, and the
    communications manager is reminded only if one of them did not.
    """
    severity = plan.severity(severity_id)
    cadence: float = severity.cadence_minutes
    grace: float = min(REMINDER_GRACE_MINUTES, severity.cadence_minutes)
    if incident is not None and now is not None and incident.maintenance_phase is not None:
        from outage_comms.maintenance import cadence_minutes

        until_next = cadence_minutes(plan, incident, now)
        if until_next is not None:
            cadence, grace = until_next, REMINDER_GRACE_MINUTES
    return {
        "approval_required": severity.approval.required,
        "approval_timeout_seconds": clock.seconds(severity.approval.timeout_minutes),
        "on_approval_timeout": severity.approval.on_timeout.value,
        "dual_approval": severity.approval.dual,
        "cadence_seconds": clock.seconds(cadence),
        "reminder_grace_seconds": clock.seconds(grace),
        "cadence_minutes": math.ceil(cadence),
    }
