"""DynamoIncidentRepository on moto: conditional writes, the open-incident lock, tokens, big timelines."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from intake_harness import IntakeWorld, load_event

from outage_comms.incident import MAX_TIMELINE_ENTRIES, Incident, IncidentSource, TimelineEntry
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.intake.service import apply_signal
from outage_comms.intake.store import MAX_BODY_BYTES, DynamoIncidentRepository, encode_body
from outage_comms.plan import Plan
from outage_comms.ports import ConcurrentUpdateError, IncidentNotFoundError

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)


def signal_of(name: str, plan: Plan, **changes: object) -> Signal:
    event = load_event(name)
    for key, value in changes.items():
        event["detail"][key] = value
    signal = to_signal(event, plan, received_at=NOW)
    assert isinstance(signal, Signal), signal
    return signal


def opened(plan: Plan, name: str = "alarm_metric_alarm") -> Incident:
    decision = decide(signal_of(name, plan), {}, plan, NOW)
    assert decision.kind == "open" and decision.incident is not None
    return decision.incident


@pytest.fixture
def store(world: IntakeWorld) -> DynamoIncidentRepository:
    return DynamoIncidentRepository(world.incidents_table)


def test_create_then_read_back_by_id_component_and_reference(
    store: DynamoIncidentRepository, plan: Plan
) -> None:
    incident = opened(plan)
    store.save(incident, None)
    assert store.get(incident.id) == incident
    assert store.open_by_component(["sync", "search"]) == {"sync": incident}
    assert store.find_by_reference(incident.source.reference) == incident
    assert store.find_by_reference("arn:aws:cloudwatch:us-east-1:1:alarm:other") is None


def test_creating_the_same_incident_twice_is_a_conflict(store: DynamoIncidentRepository, plan: Plan) -> None:
    incident = opened(plan)
    store.save(incident, None)
    with pytest.raises(ConcurrentUpdateError):
        store.save(incident, None)


def test_two_saves_from_the_same_version_one_wins(store: DynamoIncidentRepository, plan: Plan) -> None:
    # Given an incident at version 1 that two intakes read
    incident = opened(plan)
    store.save(incident, None)
    first = incident.evolve(status="identified")
    second = incident.evolve(status="monitoring")
    # When both write "replace version 1"
    store.save(first, incident.version)
    # Then the second loses and the first is what is stored
    with pytest.raises(ConcurrentUpdateError):
        store.save(second, incident.version)
    assert store.get(incident.id).status == "identified"


def test_a_second_incident_cannot_open_on_a_component_with_an_open_incident(
    store: DynamoIncidentRepository, plan: Plan
) -> None:
    store.save(opened(plan), None)
    other_alarm = opened(plan).model_copy(update={"id": "inc-20261127-1420-abcdef"})
    with pytest.raises(ConcurrentUpdateError):
        store.save(other_alarm, None)
    with pytest.raises(IncidentNotFoundError):
        store.get(other_alarm.id)  # the transaction wrote nothing


class RaceToSave:
    """Wraps the store so both intakes have read and decided before either writes."""

    def __init__(self, inner: DynamoIncidentRepository, parties: int) -> None:
        self.inner = inner
        self.barrier = threading.Barrier(parties, timeout=10)
        self.lock = threading.Lock()
        self.first_saves = 0
        self.conflicts = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def save(self, incident: Incident, previous_version: int | None) -> None:
        with self.lock:
            self.first_saves += 1
            racing = self.first_saves <= self.barrier.parties
        if racing:
            self.barrier.wait()
        try:
            self.inner.save(incident, previous_version)
        except ConcurrentUpdateError:
            with self.lock:
                self.conflicts += 1
            raise


class Recorder:
    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, incident: Incident) -> str:
        self.started.append(incident.id)
        return incident.id

    def deliver_update(self, token: str, update: object) -> None:
        raise AssertionError("no execution waits in this test")

    def publish(self, incident: Incident, decision: object) -> None:
        pass


def test_two_threads_opening_for_the_same_component_yield_one_incident(
    store: DynamoIncidentRepository, plan: Plan, item_atomic_moto: None
) -> None:
    # Given two different alarms of the same component firing at the same moment
    first = signal_of("alarm_metric_alarm", plan)
    second_event = load_event("alarm_metric_alarm")
    second_event["id"] = "another-delivery"
    second_event["resources"] = ["arn:aws:cloudwatch:us-east-1:111122223333:alarm:sync-read-errors"]
    second_event["detail"]["alarmName"] = "sync-read-errors"
    second = to_signal(second_event, plan, received_at=NOW)
    assert isinstance(second, Signal)
    racing = RaceToSave(store, parties=2)
    recorder = Recorder()
    outcomes = []

    def intake(signal: Signal) -> None:
        outcomes.append(
            apply_signal(
                signal, plan=plan, incidents=racing, workflow=recorder, changes=recorder, sleep=lambda _: None
            )
        )

    # When both intakes decide "open" before either writes
    threads = [threading.Thread(target=intake, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    # Then one opened the incident, the other lost the lock, re-read and attached to it
    assert racing.conflicts == 1
    assert sorted(o.kind for o in outcomes) == ["attach", "open"]
    (incident,) = {i.id: i for i in store.open_by_component(["sync"]).values()}.values()
    assert len(incident.timeline) == 2
    assert recorder.started == [incident.id]


def test_resolving_releases_the_components(store: DynamoIncidentRepository, plan: Plan) -> None:
    incident = opened(plan)
    store.save(incident, None)
    resolved = incident.evolve(status="resolved", resolved_at=NOW)
    store.save(resolved, incident.version)
    assert store.open_by_component(["sync"]) == {}
    assert store.find_by_reference(incident.source.reference) is None
    store.save(opened(plan).model_copy(update={"id": "inc-20261127-1500-000001"}), None)  # the lock is free


def test_an_incident_sharing_a_component_is_chosen_by_severity(world: IntakeWorld, plan: Plan) -> None:
    ranks = {"sev1": 3, "sev3": 1}
    store = DynamoIncidentRepository(world.incidents_table, severity_rank=lambda s: ranks.get(s, 0))
    mild = opened(plan)
    store.save(mild, None)
    severe = opened(plan, "opsitem_create").model_copy(update={"severity": "sev1"})
    store.save(severe, None)
    grown = severe.evolve(components=(*severe.components, "sync"))
    store.save(grown, severe.version)  # adding a component held by another incident is allowed
    assert store.open_by_component(["sync"])["sync"].id == severe.id


def test_take_update_token_returns_it_once(store: DynamoIncidentRepository, plan: Plan) -> None:
    incident = opened(plan)
    store.save(incident, None)
    store.set_update_token(incident.id, "token-1")
    store.save(incident.evolve(status="identified"), incident.version)  # a save keeps the token
    assert store.take_update_token(incident.id) == "token-1"
    assert store.take_update_token(incident.id) is None
    with pytest.raises(IncidentNotFoundError):
        store.take_update_token("inc-20261127-0000-000000")


def test_a_full_timeline_of_long_texts_still_fits_one_item(
    store: DynamoIncidentRepository, plan: Plan
) -> None:
    # Given an incident whose stored signals reach the domain's cap, each with a long, random text
    import secrets

    incident = opened(plan)
    source = IncidentSource(type="alarm", reference=incident.source.reference)
    for n in range(MAX_TIMELINE_ENTRIES + 50):
        entry = TimelineEntry(
            at=NOW + timedelta(seconds=n),
            kind="signal",
            text=secrets.token_hex(1100),
            source=source,
            event_id=f"e{n}",
        )
        incident = incident.with_entry(entry)
    assert len(incident.timeline) == MAX_TIMELINE_ENTRIES and incident.suppressed_signals == 51
    # When saved
    store.save(incident, None)
    # Then it is stored (clipped texts, lifecycle entries intact) within the item budget
    stored = store.get(incident.id)
    assert len(encode_body(stored)) <= MAX_BODY_BYTES
    assert [e.event_id for e in stored.timeline] == [e.event_id for e in incident.timeline]
    assert stored.timeline[0] == incident.timeline[0]
    assert stored.suppressed_signals == 51


def test_record_delivery_and_list_recent(store: DynamoIncidentRepository, plan: Plan) -> None:
    older = opened(plan)
    newer = opened(plan, "opsitem_create").model_copy(update={"updated_at": NOW + timedelta(hours=1)})
    store.save(older, None)
    store.save(newer, None)
    store.record_delivery(older.id, "u1", "sms", {"sent": 3, "failed": 0})
    assert [i.id for i in store.list_recent()] == [newer.id, older.id]
    assert [i.id for i in store.list_recent(limit=1)] == [newer.id]
