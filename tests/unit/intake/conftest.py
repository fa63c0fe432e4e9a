from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from outage_comms.incident import Incident
from outage_comms.intake.coalesce import Decision, decide
from outage_comms.intake.normalise import Rejection, Signal, to_signal
from outage_comms.plan import Plan, load_plan

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "tests" / "fixtures" / "events"
NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


def event_names() -> list[str]:
    return sorted(p.stem for p in EVENTS.glob("*.json"))


@pytest.fixture(scope="session")
def plan() -> Plan:
    return load_plan(ROOT / "plans" / "example.yaml")


@pytest.fixture
def event() -> Callable[[str], dict[str, Any]]:
    """A fresh, mutable copy of one fixture event."""
    return lambda name: copy.deepcopy(load_event(name))


@pytest.fixture
def signal(plan: Plan) -> Callable[[Any], Signal]:
    """Normalise an event (a fixture name or a dict) that must become a Signal."""

    def _signal(raw: Any) -> Signal:
        result = to_signal(load_event(raw) if isinstance(raw, str) else raw, plan, received_at=NOW)
        assert isinstance(result, Signal), result
        return result

    return _signal


@pytest.fixture
def rejection(plan: Plan) -> Callable[[Any], Rejection]:
    """Normalise an event (a fixture name or a dict) that must be rejected."""

    def _rejection(raw: Any) -> Rejection:
        result = to_signal(load_event(raw) if isinstance(raw, str) else raw, plan, received_at=NOW)
        assert isinstance(result, Rejection), result
        return result

    return _rejection


class OpenIncidents:
    """An in-memory stand-in for the store: applies decisions, keeps open incidents by component."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.by_component: dict[str, Incident] = {}
        self.opened: list[str] = []
        self.decisions: list[Decision] = []

    def apply(self, signal: Signal, now: datetime = NOW) -> Decision:
        decision = decide(signal, self.by_component, self.plan, now)
        self.decisions.append(decision)
        incident = decision.incident
        if incident is None:
            return decision
        if decision.kind == "open":
            self.opened.append(incident.id)
        for component, held in list(self.by_component.items()):
            if held.id == incident.id:
                del self.by_component[component]
        if incident.is_open:
            for component in incident.components:
                self.by_component[component] = incident
        return decision

    def get(self, incident_id: str) -> Incident:
        return next(i for i in self.by_component.values() if i.id == incident_id)


@pytest.fixture
def store(plan: Plan) -> OpenIncidents:
    return OpenIncidents(plan)
