"""The failover story on the runtime pieces alone (no synthesized stacks), proven on moto.

(The embedded AWS's own two-region deployment and region outages are :class:`.harness.EmbeddedAws` and
:mod:`.outage`; the drill plays them: ``outage-comms drill`` with ``region_outage`` events.)

moto keeps one backend per region. :class:`RegionOutage` makes every call a client of one region
sends fail with a connection error (botocore's ``EndpointConnectionError``, as when a region's
endpoints do not answer) from a plan minute on, until it recovers; it hooks ``before-send`` on the
clients the engine of that region uses.

:func:`run_failover_story` plays an incident across a primary outage on moto with two regional
engines, each with its own SNS subscribers topic (and subscribers' queue) in its own region, the real
fenced delivery ledger (``regions/fence.py``), the real ownership lease and failover decisions
(``regions/engine.py``), the real workflow store and SNS channel; the status site is a versioned
bucket in the status region written through each region's own client. What it does not run: the
synthesized state machine and Lambda functions of each region (the embedded drill does: see above),
and global-table replication (moto does not replicate: the workflow and ownership tables
are one strongly consistent replica that each region reaches through its own client, so a region
outage cuts that region off from them). Time is plan minutes (the lease is one plan minute).
"""

from __future__ import annotations

from typing import Any

from outage_comms_embedded.failover_parts import GLOBAL_REGION, STATUS_REGION, RegionOutage, StoryResult
from outage_comms_embedded.failover_story import _Story

__all__ = ["GLOBAL_REGION", "STATUS_REGION", "RegionOutage", "StoryResult", "run_failover_story"]


def run_failover_story(
    plan: Any,
    *,
    primary: str = "eu-west-1",
    standby: str = "eu-central-1",
    severity: str = "sev1",
    actions: list[dict[str, Any]] | None = None,
    human_update_minute: int = 9,
    resolve_minute: int = 50,
    approve_after_minutes: int = 2,
    unhealthy_after_failures: int = 2,
    end_minute: int = 70,
    lease_seconds: float = 120,
    margin_seconds: float = 30,
) -> StoryResult:
    """The default drill's story (declare, a human update, cadence updates, resolve, summary) with a
    region outage; call inside ``moto.mock_aws()``."""
    from outage_comms.plan import Regions

    story = _Story(
        plan=plan.model_copy(update={"regions": Regions(primary=primary, standby=standby)}),
        primary=primary,
        standby=standby,
        severity=severity,
        actions=actions
        or [
            {"at": 10, "action": "region_outage", "region": primary},
            {"at": 40, "action": "region_recovery", "region": primary},
        ],
        human_update_minute=human_update_minute,
        resolve_minute=resolve_minute,
        approve_after_minutes=approve_after_minutes,
        unhealthy_after_failures=unhealthy_after_failures,
        lease_seconds=lease_seconds,
        margin_seconds=margin_seconds,
    )
    return story.play(end_minute)
