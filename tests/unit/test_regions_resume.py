"""Where a taken incident's new execution enters the state machine, and which executions the failover
starts and stops (regions/resume.py, regions/engine.py), without AWS. The definition itself is run on
moto in tests/integration/regions/test_resumed_execution.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outage_comms.incident import Incident, IncidentSource, PublishedUpdate
from outage_comms.plan import Plan, Regions, load_plan
from outage_comms.regions.engine import RegionEngine
from outage_comms.regions.failover import HealthSignal, resume_point
from outage_comms.regions.lease import InMemoryOwnershipStore, Ownership, scope_for
from outage_comms.regions.resume import Route, execution_name, resume_input
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.store import CustomerUpdate, InMemoryWorkflowStore
from outage_comms.workflow.timing import Clock

PLAN = Path(__file__).resolve().parents[2] / "plans" / "example.yaml"
PRIMARY, STANDBY = "eu-west-1", "eu-central-1"
INCIDENT = "inc-20261202-1000-abc123"
T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
SPM = 0.5


@pytest.fixture
def plan() -> Plan:
    return load_plan(PLAN).model_copy(update={"regions": Regions(primary=PRIMARY, standby=STANDBY)})


def incident(plan: Plan, severity: str = "sev2", published: tuple[str, ...] = ()) -> Incident:
    """``published``: the updates whose words ``Record published words`` already put on the incident."""
    words = tuple(
        PublishedUpdate(update_id=u, at=T0, status="identified", scenario=Scenario(u.split("-", 1)[1]))
        for u in published
    )
    return Incident(
        published=words,
        id=INCIDENT,
        internal_title="sync-5xx alarm",
        public_title={"en": "Sync"},
        components=(plan.components[0].id,),
        severity=severity,
        status="investigating",
        scenario=Scenario.PARTIAL_OUTAGE,
        audiences=("all-customers",),
        started_at=T0,
        updated_at=T0,
        source=IncidentSource(type="human", reference="cli"),
    )


def rendered(store: InMemoryWorkflowStore, update_id: str, **extra: Any) -> None:
    store.put_update(
        INCIDENT,
        update_id,
        {"update_id": update_id, "scenario": "partial_outage", "severity": "sev2", "seconds_per_minute": SPM}
        | extra,
    )


def resumed(
    plan: Plan,
    store: InMemoryWorkflowStore,
    now: datetime,
    severity: str = "sev2",
    published: tuple[str, ...] = ("001-partial_outage",),
) -> dict[str, Any]:
    case = incident(plan, severity, published)
    point = resume_point(plan, case, store)
    return resume_input(plan, case, store, point, now=now, from_region=PRIMARY, epoch=2)


def test_nothing_rendered_yet_renders_the_first_update(plan: Plan) -> None:
    payload = resumed(plan, InMemoryWorkflowStore(), T0 + timedelta(minutes=3))
    assert payload["resume"]["route"] == Route.RENDER
    assert payload["update"] == {"change": "opened"} and "render" not in payload
    assert payload["clock"] == {
        "seconds_per_minute": 60.0
    }  # no update recorded the drill's clock: real minutes


def test_an_update_out_to_customers_waits_only_the_time_left_until_the_next_one_is_due(plan: Plan) -> None:
    store = InMemoryWorkflowStore()
    rendered(store, "001-partial_outage")
    store.advance_customer_update(INCIDENT, CustomerUpdate(1, "001-partial_outage", "sev2", T0))
    cadence = plan.severity("sev2").cadence_minutes
    payload = resumed(plan, store, T0 + timedelta(minutes=cadence - 20))
    assert payload["resume"]["route"] == Route.WAIT
    assert payload["clock"] == {"seconds_per_minute": SPM}  # the drill's compressed clock carries over
    render = payload["render"]
    assert render["update_id"] == "001-partial_outage" and render["resolved"] is False
    assert render["timing"]["cadence_seconds"] == Clock(seconds_per_minute=SPM).seconds(20)
    # overdue: the wait times out at once and the usual reminder follows
    late = resumed(plan, store, T0 + timedelta(minutes=cadence + 5))
    assert late["render"]["timing"]["cadence_seconds"] == 1


def test_an_update_out_to_customers_whose_later_steps_may_not_have_run_is_finished_first(
    plan: Plan,
) -> None:
    # its words are not on the incident yet: the old owner stopped between the fan-out and
    # "Record published words"; the new owner runs the fan-out (the ledger sends nothing) and what follows
    store = InMemoryWorkflowStore()
    rendered(store, "001-partial_outage")
    store.advance_customer_update(INCIDENT, CustomerUpdate(1, "001-partial_outage", "sev2", T0))
    unrecorded = resumed(plan, store, T0 + timedelta(minutes=5), published=())
    assert unrecorded["resume"]["route"] == Route.DELIVER
    assert unrecorded["render"]["update_id"] == "001-partial_outage"
    # the resolution went out: the post-incident summary and the release come after it
    rendered(store, "002-resolved", scenario="resolved")
    store.advance_customer_update(INCIDENT, CustomerUpdate(2, "002-resolved", "sev2", T0))
    done = resumed(plan, store, T0 + timedelta(minutes=5), published=("001-partial_outage", "002-resolved"))
    assert done["resume"]["route"] == Route.DELIVER
    assert done["render"]["update_id"] == "002-resolved" and done["render"]["resolved"] is True


def test_an_update_waiting_for_approval_is_requested_again(plan: Plan) -> None:
    store = InMemoryWorkflowStore()
    rendered(store, "001-partial_outage")
    payload = resumed(plan, store, T0 + timedelta(minutes=5))
    assert payload["resume"]["route"] == Route.APPROVE
    assert payload["resume"]["reapprove_update"] == "001-partial_outage"
    render = payload["render"]
    assert render["needs_approval"] is True
    approval = plan.severity("sev2").approval
    assert render["timing"]["approval_timeout_seconds"] == Clock(seconds_per_minute=SPM).seconds(
        approval.timeout_minutes
    )
    assert render["timing"]["on_approval_timeout"] == approval.on_timeout.value


@pytest.mark.parametrize(
    "extra",
    [
        {"approval": {"decision": "approved", "sent": True}},  # approved: it was going out
        {"pre_approved": True},  # the holding statement needs no approval
    ],
)
def test_an_approved_update_is_fanned_out_again_and_the_ledger_skips_what_went(
    plan: Plan, extra: dict[str, Any]
) -> None:
    store = InMemoryWorkflowStore()
    rendered(store, "001-partial_outage", **extra)
    payload = resumed(plan, store, T0 + timedelta(minutes=5))
    assert payload["resume"]["route"] == Route.DELIVER
    assert payload["render"]["update_id"] == "001-partial_outage"


def test_a_rejected_update_is_not_on_its_way_so_the_standby_waits(plan: Plan) -> None:
    store = InMemoryWorkflowStore()
    rendered(store, "001-partial_outage", approval={"decision": "rejected", "sent": True})
    payload = resumed(plan, store, T0 + timedelta(minutes=5))
    assert payload["resume"]["route"] == Route.WAIT
    assert payload["resume"]["reapprove_update"] is None


def test_an_update_without_approval_in_its_severity_is_delivered_not_reapproved(plan: Plan) -> None:
    store = InMemoryWorkflowStore()
    rendered(store, "001-investigating", severity="sev4")
    assert resumed(plan, store, T0, severity="sev4")["resume"]["route"] == Route.DELIVER


# -- the engine: which executions start and stop -------------------------------------------------


@dataclass
class FakeExecutions:
    started: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    stopped: list[tuple[str, str]] = field(default_factory=list)
    running: set[tuple[str, str]] = field(default_factory=set)

    def arn(self, region: str, name: str) -> str:
        return f"arn:aws:states:{region}:123456789012:execution:outage-comms-incident:{name}"

    def start(self, region: str, name: str, payload: dict[str, Any]) -> str:
        if (region, name) not in self.running:  # a name already used: "already started"
            self.started.append((region, name, payload))
            self.running.add((region, name))
        return self.arn(region, name)

    def stop(self, region: str, name: str, cause: str) -> bool:
        if (region, name) not in self.running:
            return False
        self.running.discard((region, name))
        self.stopped.append((region, name))
        return True


class Incidents:
    def __init__(self, *incidents: Incident) -> None:
        self.items = {i.id: i for i in incidents}

    def get(self, incident_id: str) -> Incident:
        return self.items[incident_id]

    def save(self, incident: Incident, previous_version: int | None) -> None:
        self.items[incident.id] = incident

    def list_open(self, *, drill: bool = False) -> list[Incident]:
        return [i for i in self.items.values() if i.is_open and i.drill == drill]


def signal(healthy: bool) -> HealthSignal:
    return HealthSignal(region=PRIMARY, healthy=healthy, at=T0, alarm="engine-health-primary")


def test_the_standby_takes_over_claims_and_starts_its_execution_once_and_hands_back_between_updates(
    plan: Plan,
) -> None:
    now = [1_000_000.0]
    ownership = InMemoryOwnershipStore(clock=lambda: now[0])
    store = InMemoryWorkflowStore()
    executions = FakeExecutions(running={(PRIMARY, INCIDENT)})
    store.claim(INCIDENT, executions.arn(PRIMARY, INCIDENT), lambda _arn: False)  # intake's execution
    rendered(store, "001-partial_outage")
    store.advance_customer_update(INCIDENT, CustomerUpdate(1, "001-partial_outage", "sev2", T0))
    ownership.acquire(scope_for(INCIDENT), PRIMARY)
    engine = RegionEngine(
        plan=plan,
        region=STANDBY,
        ownership=ownership,
        repository=Incidents(incident(plan, published=("001-partial_outage", "002-partial_outage"))),  # type: ignore[arg-type]
        store=store,
        clock=lambda: now[0],
        now=lambda: T0 + timedelta(minutes=10),
        executions=executions,
    )
    now[0] += 3600  # the primary's lease ran out long ago
    (taken,) = engine.on_signal(signal(healthy=False))
    name = execution_name(INCIDENT, 2)
    assert (taken["action"], taken["route"], taken["epoch"]) == ("take_over", "wait", 2)
    assert [(r, n) for r, n, _ in executions.started] == [(STANDBY, name)]
    # the claim moved with the lease, though intake's execution still "runs" in the dead region
    assert store.claim(INCIDENT, executions.arn(STANDBY, name), lambda _arn: True) == executions.arn(
        STANDBY, name
    )
    # a retried alarm (the first start may have failed) starts nothing new: the same name
    (again,) = engine.on_signal(signal(healthy=False))
    assert again["action"] == "none" and again["execution_arn"] == executions.arn(STANDBY, name)
    assert len(executions.started) == 1

    # the primary recovers while an update is on its way: its own execution (durable, it resumed with its
    # region) is stopped at once, but ownership stays here until the update is out
    rendered(store, "002-partial_outage")
    (busy,) = engine.on_signal(signal(healthy=True))
    assert (busy["action"], busy["stopped"]) == ("wait", [INCIDENT])
    assert executions.stopped == [(PRIMARY, INCIDENT)] and (STANDBY, name) in executions.running
    store.advance_customer_update(INCIDENT, CustomerUpdate(2, "002-partial_outage", "sev2", T0))

    # failback: the primary is healthy again, no update on its way
    (back,) = engine.on_signal(signal(healthy=True))
    assert (back["action"], back["route"], back["epoch"]) == ("hand_back", "wait", 3)
    assert executions.stopped == [(PRIMARY, INCIDENT), (STANDBY, name)]
    assert executions.started[-1][:2] == (PRIMARY, execution_name(INCIDENT, 3))
    owner = ownership.current(scope_for(INCIDENT))
    assert isinstance(owner, Ownership) and (owner.region, owner.epoch) == (PRIMARY, 3)
    assert store.claim(INCIDENT, "someone-else", lambda _arn: True) == executions.arn(
        PRIMARY, execution_name(INCIDENT, 3)
    )
    # an incident the standby opened itself (epoch 1) is never "resumed" by a retried alarm
    assert engine._taken_over(Ownership(scope_for(INCIDENT), STANDBY, 1, now[0] + 60)) is False
