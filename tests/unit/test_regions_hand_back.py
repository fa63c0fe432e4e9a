"""The hand-back against an update that starts meanwhile, and the claim's region fence, without AWS
(the same rules run on moto, both regions' synthesized state machines, in
tests/integration/regions/test_failback_race.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outage_comms.plan import Plan, Regions, load_plan
from outage_comms.regions.engine import RegionEngine
from outage_comms.regions.failover import HealthSignal
from outage_comms.regions.lease import InMemoryOwnershipStore, scope_for
from outage_comms.workflow.store import CustomerUpdate, InMemoryWorkflowStore, NotDrivenHereError
from tests.unit.test_regions_resume import INCIDENT, FakeExecutions, Incidents, incident, rendered

pytestmark = pytest.mark.unit

PLAN = Path(__file__).resolve().parents[2] / "plans" / "example.yaml"
PRIMARY, STANDBY = "eu-west-1", "eu-central-1"
T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def plan() -> Plan:
    return load_plan(PLAN).model_copy(update={"regions": Regions(primary=PRIMARY, standby=STANDBY)})


def test_only_the_region_the_claim_names_numbers_and_stores_an_update() -> None:
    shared = InMemoryWorkflowStore()
    primary, standby = shared.for_region(PRIMARY), shared.for_region(STANDBY)
    assert primary.next_update_number(INCIDENT) == 1  # nobody moved the claim yet: any region (one region)
    assert standby.move_claim(INCIDENT, f"arn:aws:states:{STANDBY}:1:execution:m:{INCIDENT}-resume-2")
    with pytest.raises(NotDrivenHereError, match=f"{STANDBY} drives"):
        primary.next_update_number(INCIDENT)
    with pytest.raises(NotDrivenHereError):
        primary.put_new_update(INCIDENT, "002-identified", {"update_id": "002-identified"})
    assert primary.driven_elsewhere(INCIDENT) and not standby.driven_elsewhere(INCIDENT)
    assert standby.next_update_number(INCIDENT) == 2
    # a hand-back conditioned on the count it read fails once an update was numbered since
    assert not standby.move_claim(INCIDENT, f"arn:aws:states:{PRIMARY}:1:execution:m:x", expect_updates=1)
    assert standby.move_claim(INCIDENT, f"arn:aws:states:{PRIMARY}:1:execution:m:x", expect_updates=2)
    assert primary.next_update_number(INCIDENT) == 3


class RenderDuringHandBack(InMemoryWorkflowStore):
    """A store where the standby's render numbers an update while the hand-back is deciding."""

    def move_claim(self, incident_id: str, execution_arn: str, *, expect_updates: int | None = None) -> bool:
        if expect_updates is not None and not getattr(self, "raced", False):
            self.raced = True
            self.next_update_number(incident_id)  # the old owner's render, between the check and the move
        return super().move_claim(incident_id, execution_arn, expect_updates=expect_updates)


def engine_for(plan: Plan, store: InMemoryWorkflowStore, now: list[float]) -> tuple[RegionEngine, Any]:
    ownership = InMemoryOwnershipStore(clock=lambda: now[0])
    executions = FakeExecutions(running={(PRIMARY, INCIDENT)})
    ownership.acquire(scope_for(INCIDENT), PRIMARY)
    engine = RegionEngine(
        plan=plan,
        region=STANDBY,
        ownership=ownership,
        repository=Incidents(incident(plan, published=("001-partial_outage",))),  # type: ignore[arg-type]
        store=store,
        clock=lambda: now[0],
        now=lambda: T0 + timedelta(minutes=10),
        executions=executions,
    )
    return engine, executions


def signal(healthy: bool) -> HealthSignal:
    return HealthSignal(region=PRIMARY, healthy=healthy, at=T0, alarm="engine-health-primary")


def test_a_render_that_starts_during_the_hand_back_keeps_the_incident_where_it_is(plan: Plan) -> None:
    now = [1_000_000.0]
    store = RenderDuringHandBack(STANDBY)
    rendered(store, "001-partial_outage")
    store.advance_customer_update(INCIDENT, CustomerUpdate(1, "001-partial_outage", "sev2", T0))
    engine, executions = engine_for(plan, store, now)
    now[0] += 3600
    (taken,) = engine.on_signal(signal(healthy=False))
    assert taken["action"] == "take_over"
    now[0] += 3600  # the standby's lease lapsed too (nothing renews it between updates)
    (busy,) = engine.on_signal(signal(healthy=True))
    assert busy["action"] == "wait" and "update started" in busy["reason"], busy
    owner = engine.ownership.current(scope_for(INCIDENT))
    assert owner is not None and owner.region == STANDBY  # the lease did not move either
    assert not store.driven_elsewhere(INCIDENT)  # the standby still numbers and stores its update
    # the next signal, between updates, hands it back although the standby's lease lapsed long ago
    (back,) = engine.on_signal(signal(healthy=True))
    assert back["action"] == "hand_back", back
    assert store.for_region(STANDBY).driven_elsewhere(INCIDENT)  # the old owner can render nothing now
    assert (STANDBY, f"{INCIDENT}-resume-2") in executions.stopped


def test_the_hand_back_stops_the_execution_the_claim_names_whatever_the_lease_epoch(plan: Plan) -> None:
    now = [1_000_000.0]
    store = InMemoryWorkflowStore(STANDBY)
    rendered(store, "001-partial_outage")
    store.advance_customer_update(INCIDENT, CustomerUpdate(1, "001-partial_outage", "sev2", T0))
    engine, executions = engine_for(plan, store, now)
    now[0] += 3600
    engine.on_signal(signal(healthy=False))  # resume-2 runs in the standby
    now[0] += 3600
    engine.ownership.acquire(scope_for(INCIDENT), STANDBY)  # a step renewed the lapsed lease: epoch 3
    (back,) = engine.on_signal(signal(healthy=True))
    assert back["action"] == "hand_back" and back["epoch"] == 4, back
    assert (STANDBY, f"{INCIDENT}-resume-2") in executions.stopped  # not "resume-3", which never ran
