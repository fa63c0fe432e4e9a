"""A drill and a real incident on one component, through intake and the real store on moto: two incidents,
neither joining nor blocking the other."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from intake_harness import IntakeWorld, load_event

from outage_comms.incident import Incident
from outage_comms.intake.coalesce import Decision
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.intake.service import Outcome, apply_signal
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
PRINCIPAL = "arn:aws:sts::111122223333:assumed-role/OutageCommsIncidentManager/priya"


class Recorder:
    """The workflow gateway and the change bus: what intake started and announced."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, incident: Incident) -> str:
        self.started.append(incident.id)
        return f"arn:aws:states:us-east-1:123456789012:execution:outage-comms-incident:{incident.id}"

    def deliver_update(self, token: str, update: Mapping[str, Any]) -> None:
        return None

    def publish(self, incident: Incident, decision: Decision) -> None:
        return None


def alarm(name: str, event_id: str, *, drill: bool) -> dict[str, Any]:
    event = load_event("alarm_metric_alarm")
    event["id"] = event_id
    event["resources"] = [f"arn:aws:cloudwatch:us-east-1:111122223333:alarm:{name}"]
    event["detail"]["alarmName"] = name
    if drill:
        event["detail"]["alarmTags"] = {"outage-comms-drill": "true"}
    return event


def declare_drill(request_id: str) -> dict[str, Any]:
    return {
        "action": "declare",
        "request_id": request_id,
        "principal": PRINCIPAL,
        "components": ["sync"],
        "severity": "sev2",
        "drill": True,
        "drill_failures": ["sms"],
        "at": "2026-11-27T14:00:00Z",
    }


def apply(raw: dict[str, Any], plan: Plan, store: DynamoIncidentRepository, recorder: Recorder) -> Outcome:
    signal = to_signal(raw, plan, received_at=NOW)
    assert isinstance(signal, Signal), signal
    return apply_signal(
        signal,
        plan=plan,
        incidents=store,
        workflow=recorder,
        changes=recorder,
        clock=lambda: NOW,
        sleep=lambda _: None,
        max_attempts=2,  # a drill holding the real lock would exhaust this: it must not
    )


def test_a_drill_and_a_real_incident_on_one_component_stay_apart(world: IntakeWorld, plan: Plan) -> None:
    store = DynamoIncidentRepository(world.incidents_table)
    recorder = Recorder()
    # Given a drill declared on sync (with an injected SMS failure)
    drill = apply(declare_drill("drill-1"), plan, store, recorder)
    assert (drill.kind, drill.attempts) == ("open", 1)
    # When a real alarm fires on sync: a new, real incident opens at once (the drill holds no real lock)
    real = apply(alarm("sync-write-errors", "real-1", drill=False), plan, store, recorder)
    assert (real.kind, real.attempts) == ("open", 1)
    assert real.incident_id != drill.incident_id
    # and a second real alarm joins the real incident, a drill-tagged alarm joins the drill
    assert apply(alarm("sync-read-errors", "real-2", drill=False), plan, store, recorder).incident_id == (
        real.incident_id
    )
    assert apply(alarm("sync-drill-probe", "drill-2", drill=True), plan, store, recorder).incident_id == (
        drill.incident_id
    )
    # Then each kind has its own lock and references
    assert store.open_by_component(["sync"])["sync"].id == real.incident_id
    assert store.open_by_component(["sync"], drill=True)["sync"].id == drill.incident_id
    drill_alarm = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:sync-drill-probe"
    assert store.find_by_reference(drill_alarm) is None
    found = store.find_by_reference(drill_alarm, drill=True)
    assert found is not None and found.id == drill.incident_id
    stored = store.get(str(drill.incident_id))
    assert (stored.drill, stored.drill_failures) == (True, ("sms",))
    assert store.get(str(real.incident_id)).drill is False
    assert recorder.started == [drill.incident_id, real.incident_id]
    # When the drill is resolved, the real incident keeps its lock
    resolved = apply(
        {
            "action": "resolve",
            "request_id": "drill-3",
            "principal": PRINCIPAL,
            "incident_id": drill.incident_id,
            "drill": True,
        },
        plan,
        store,
        recorder,
    )
    assert resolved.kind == "resolve"
    assert store.open_by_component(["sync"], drill=True) == {}
    assert store.open_by_component(["sync"])["sync"].id == real.incident_id
