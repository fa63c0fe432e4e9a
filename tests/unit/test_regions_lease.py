"""The ownership lease and the failover decision, without AWS (regions/lease.py, regions/failover.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from outage_comms.incident import Incident, IncidentSource
from outage_comms.plan import Plan, Regions, load_plan
from outage_comms.regions.failover import (
    Action,
    HealthSignal,
    decide,
    moved_entry,
    resume_point,
    signal_from_alarm_event,
    update_in_flight,
)
from outage_comms.regions.lease import (
    LEASE_SECONDS,
    MARGIN_SECONDS,
    InMemoryOwnershipStore,
    OwnershipHeldError,
    StaleOwnerError,
    scope_for,
)
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.store import CustomerUpdate, InMemoryWorkflowStore

PLAN = Path(__file__).resolve().parents[2] / "plans" / "example.yaml"
PRIMARY, STANDBY = "eu-west-1", "eu-central-1"
INCIDENT = "inc-20261202-1000-abc123"
SCOPE = scope_for(INCIDENT)
T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> list[float]:
    return [1_000.0]


@pytest.fixture
def store(clock: list[float]) -> InMemoryOwnershipStore:
    return InMemoryOwnershipStore(clock=lambda: clock[0])


REGIONS = Regions(primary=PRIMARY, standby=STANDBY)


def _signal(healthy: bool, region: str = PRIMARY) -> HealthSignal:
    return HealthSignal(region=region, healthy=healthy, at=T0, alarm="engine-health-primary", reason="errors")


def test_renewal_keeps_the_epoch_and_another_region_cannot_take_a_live_lease(
    store: InMemoryOwnershipStore, clock: list[float]
) -> None:
    first = store.acquire(SCOPE, PRIMARY)
    clock[0] += 10
    assert store.acquire(SCOPE, PRIMARY).epoch == first.epoch == 1
    with pytest.raises(OwnershipHeldError):
        store.acquire(SCOPE, STANDBY, take=True)


def test_a_step_never_takes_and_failover_takes_only_after_lease_plus_margin(
    store: InMemoryOwnershipStore, clock: list[float]
) -> None:
    held = store.acquire(SCOPE, PRIMARY)
    clock[0] = held.lease_until + MARGIN_SECONDS  # exactly at the margin: still not safe
    with pytest.raises(OwnershipHeldError):
        store.acquire(SCOPE, STANDBY, take=True)
    clock[0] += 1
    with pytest.raises(OwnershipHeldError):  # a step running in the standby never takes
        store.acquire(SCOPE, STANDBY)
    taken = store.acquire(SCOPE, STANDBY, take=True)
    assert (taken.region, taken.epoch) == (STANDBY, 2)
    with pytest.raises(StaleOwnerError):  # the old owner is fenced
        store.check(held)
    with pytest.raises(OwnershipHeldError):  # and cannot renew its way back
        store.acquire(SCOPE, PRIMARY)


def test_hand_over_raises_the_epoch_and_fences_the_giver(store: InMemoryOwnershipStore) -> None:
    held = store.acquire(SCOPE, STANDBY)
    back = store.hand_over(held, PRIMARY, reason="primary healthy")
    assert (back.region, back.epoch) == (PRIMARY, held.epoch + 1)
    with pytest.raises(StaleOwnerError):
        store.check(held)
    with pytest.raises(StaleOwnerError):  # a second hand-over of the same lease is refused
        store.hand_over(held, PRIMARY, reason="again")


def test_a_lapsed_lease_renewed_by_its_own_region_gets_a_new_epoch(
    store: InMemoryOwnershipStore, clock: list[float]
) -> None:
    held = store.acquire(SCOPE, PRIMARY)
    clock[0] += LEASE_SECONDS + 1
    with pytest.raises(StaleOwnerError):  # the lapsed holder may not act on its old lease
        store.check(held)
    assert store.acquire(SCOPE, PRIMARY).epoch == held.epoch + 1


def test_decide_takes_over_only_when_the_primary_lease_has_ended(store: InMemoryOwnershipStore) -> None:
    owner = store.acquire(SCOPE, PRIMARY)
    live = decide(REGIONS, STANDBY, _signal(False), owner, now=owner.lease_until - 1, between_updates=True)
    assert live.action is Action.WAIT and live.retry_after_seconds > MARGIN_SECONDS
    later = owner.lease_until + MARGIN_SECONDS + 1
    assert decide(REGIONS, STANDBY, _signal(False), owner, now=later, between_updates=False).action is (
        Action.TAKE_OVER
    )
    # the primary never acts on its own health, and a one-region plan never moves
    assert (
        decide(REGIONS, PRIMARY, _signal(False), owner, now=later, between_updates=True).action is Action.NONE
    )
    alone = Regions(primary=PRIMARY)
    assert (
        decide(alone, STANDBY, _signal(False), owner, now=later, between_updates=True).action is Action.NONE
    )


def test_decide_hands_back_only_between_updates(store: InMemoryOwnershipStore) -> None:
    owner = store.acquire(SCOPE, STANDBY)
    busy = decide(REGIONS, STANDBY, _signal(True), owner, now=0, between_updates=False)
    assert busy.action is Action.WAIT
    assert (
        decide(REGIONS, STANDBY, _signal(True), owner, now=0, between_updates=True).action is Action.HAND_BACK
    )


def test_alarm_event_becomes_a_signal_for_the_region_the_alarm_judges() -> None:
    event = {
        "detail-type": "CloudWatch Alarm State Change",
        "region": STANDBY,  # the alarm on the primary lives in the standby
        "time": "2026-12-02T10:00:00Z",
        "detail": {"alarmName": "engine-health-primary", "state": {"value": "ALARM", "reason": "5xx"}},
    }
    signal = signal_from_alarm_event(event, region_of_alarm={"engine-health-primary": PRIMARY})
    assert signal is not None and (signal.region, signal.healthy) == (PRIMARY, False)
    assert signal_from_alarm_event(event, region_of_alarm={}) is None
    ok = {**event, "detail": {"alarmName": "engine-health-primary", "state": {"value": "OK"}}}
    assert signal_from_alarm_event(ok, region_of_alarm={"engine-health-primary": PRIMARY}).healthy  # type: ignore[union-attr]


def test_resume_point_continues_on_cadence_and_reapproves_a_waiting_update() -> None:
    plan: Plan = load_plan(PLAN)
    severity = plan.severities[0]
    incident = Incident(
        id=INCIDENT,
        internal_title="sync-5xx alarm",
        public_title={"en": "Sync"},
        components=(plan.components[0].id,),
        severity=severity.id,
        status="investigating",
        scenario=Scenario.INVESTIGATING,
        audiences=("all-customers",),
        started_at=T0,
        updated_at=T0,
        source=IncidentSource(type="human", reference="cli"),
    )
    store = InMemoryWorkflowStore()
    assert resume_point(plan, incident, store).next_update_due == T0 + timedelta(
        minutes=severity.cadence_minutes
    )
    store.put_update(INCIDENT, "001-x", {"update_id": "001-x"})
    sent_at = T0 + timedelta(minutes=7)
    store.advance_customer_update(INCIDENT, CustomerUpdate(1, "001-x", severity.id, sent_at))
    assert not update_in_flight(store, INCIDENT)
    store.put_update(INCIDENT, "002-y", {"update_id": "002-y"})  # rendered, waiting for approval
    point = resume_point(plan, incident, store)
    assert point.last_sent_update == "001-x" and point.reapprove_update == "002-y"
    assert point.next_update_due == sent_at + timedelta(minutes=severity.cadence_minutes)
    entry = moved_entry(None, InMemoryOwnershipStore().acquire(SCOPE, STANDBY), at=T0, alarm="a", why="down")
    assert entry.kind == "region" and STANDBY in entry.text
