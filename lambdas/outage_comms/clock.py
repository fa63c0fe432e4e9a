"""The time a person reads: real UTC in production, the plan's clock in an embedded drill.

Every timestamp a customer or the team reads (started, next update by, fixed at, lasted, the
timeline) is stamped with :func:`now`. In production it is ``datetime.now(UTC)``, nothing else.

An embedded drill runs the real workflow on a compressed clock (``seconds_per_minute`` wall
seconds per plan minute, passed to the same state machine definition). Stamped with wall time,
a 45-minute story would read "from 04:32 to 04:32". So the drill harness, and only it, sets
:data:`PLAN_CLOCK_ENV` in its own process (the handlers run in-process there): ``now()`` then maps
wall time to plan time::

    plan = anchor + (wall - wall_anchor) * 60 / seconds_per_minute

The harness runs that clock only while the deployment waits (executions blocked on a task token or
a Wait state, no handler running) and *freezes* it (``frozen``) while anything works: processing
time is measured apart (wall seconds) and never read as plan minutes, so the same story reads the
same times on a fast or a busy machine.

No plan field, CDK stack or CLI command sets that variable: a deployed function never has it, and
:func:`now` reads it only when it is set (an unset or malformed value means real UTC).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: Set by the embedded drill harness in its own process only (never by a stack, plan or the CLI).
PLAN_CLOCK_ENV = "OUTAGE_COMMS_PLAN_CLOCK"


@dataclass(frozen=True)
class PlanClock:
    """Plan time ``anchor`` at wall time ``wall_anchor`` (epoch seconds); ``seconds_per_minute`` wall s."""

    anchor: datetime
    wall_anchor: float
    seconds_per_minute: float
    #: While the deployment works: the plan time everyone reads (processing takes no plan time).
    frozen: datetime | None = None

    def at(self, wall: float) -> datetime:
        """The plan time at wall time ``wall`` (epoch seconds)."""
        if self.frozen is not None:
            return self.frozen
        return self.anchor + timedelta(seconds=(wall - self.wall_anchor) * 60.0 / self.seconds_per_minute)

    def minutes(self, wall: float) -> float:
        """Plan minutes since the anchor at wall time ``wall``."""
        return (wall - self.wall_anchor) / self.seconds_per_minute

    def to_env(self) -> str:
        return json.dumps(
            {
                "anchor": self.anchor.astimezone(UTC).isoformat(),
                "wall_anchor": self.wall_anchor,
                "seconds_per_minute": self.seconds_per_minute,
                **({"frozen": self.frozen.astimezone(UTC).isoformat()} if self.frozen else {}),
            }
        )

    @classmethod
    def from_env(cls, value: str) -> PlanClock | None:
        """The clock a :meth:`to_env` value describes; None when it is not one."""
        try:
            data = json.loads(value)
            anchor = datetime.fromisoformat(str(data["anchor"]))
            spm = float(data["seconds_per_minute"])
            wall = float(data["wall_anchor"])
            frozen = datetime.fromisoformat(str(data["frozen"])) if data.get("frozen") else None
        except (ValueError, TypeError, KeyError):
            return None
        if anchor.tzinfo is None or spm <= 0 or (frozen is not None and frozen.tzinfo is None):
            return None
        return cls(anchor.astimezone(UTC), wall, spm, frozen.astimezone(UTC) if frozen else None)


def plan_clock() -> PlanClock | None:
    """The drill's plan clock when the harness set one in this process, else None (production)."""
    value = os.environ.get(PLAN_CLOCK_ENV)
    if not value:
        return None
    return PlanClock.from_env(value)


def now() -> datetime:
    """The current time as people read it: real UTC, or the drill's plan time when one is set."""
    clock = plan_clock()
    if clock is None:
        return datetime.now(UTC)
    return clock.at(time.time())


def execution_clock() -> dict[str, dict[str, float]]:
    """``{"clock": {...}}`` for a new execution's input under a drill's plan clock, else ``{}``.

    The same definition then waits compressed minutes (see ``outage_comms.workflow.timing``); in
    production nothing is added and the workflow's clock is real minutes.
    """
    clock = plan_clock()
    return {"clock": {"seconds_per_minute": clock.seconds_per_minute}} if clock else {}
