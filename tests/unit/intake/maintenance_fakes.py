"""In-memory stand-ins for the maintenance tests: the incidents store, the workflow and the bus."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from outage_comms.incident import Incident
from outage_comms.intake.coalesce import Decision
from outage_comms.intake.normalise import Signal
from outage_comms.intake.service import apply_signal
from outage_comms.plan import Plan
from outage_comms.ports import ConcurrentUpdateError, IncidentNotFoundError


class Incidents:
    """Keeps every incident; answers like the DynamoDB store (windows under ``maintenance:<id>``)."""

    def __init__(self) -> None:
        self.items: dict[str, Incident] = {}
        self.tokens: dict[str, str] = {}
        self.saves = 0

    def get(self, incident_id: str) -> Incident:
        try:
            return self.items[incident_id]
        except KeyError:
            raise IncidentNotFoundError(incident_id) from None

    def open_by_component(self, component_ids: Iterable[str], *, drill: bool = False) -> dict[str, Incident]:
        wanted = set(component_ids)
        found: dict[str, Incident] = {}
        for incident in sorted(self.items.values(), key=lambda i: (i.started_at, i.id)):
            if not incident.is_open or incident.drill != drill or not wanted & set(incident.components):
                continue
            if incident.maintenance_phase is not None:
                found[f"maintenance:{incident.id}"] = incident
                continue
            for component in wanted & set(incident.components):
                found.setdefault(component, incident)
        return found

    def find_by_reference(self, reference: str, *, drill: bool = False) -> Incident | None:
        for incident in self.items.values():
            if incident.is_open and incident.maintenance_phase is None and reference in incident.references:
                return incident
        return None

    def save(self, incident: Incident, previous_version: int | None) -> None:
        stored = self.items.get(incident.id)
        if (stored.version if stored else None) != previous_version:
            raise ConcurrentUpdateError(incident.id)
        self.items[incident.id] = incident
        self.saves += 1

    def set_update_token(self, incident_id: str, token: str | None) -> None:
        if token is None:
            self.tokens.pop(incident_id, None)
        else:
            self.tokens[incident_id] = token

    def take_update_token(self, incident_id: str) -> str | None:
        return self.tokens.pop(incident_id, None)

    def record_delivery(
        self, incident_id: str, update_id: str, channel: str, result: Mapping[str, Any]
    ) -> None:
        pass

    def list_recent(self, limit: int = 100) -> list[Incident]:
        return sorted(self.items.values(), key=lambda i: i.updated_at, reverse=True)[:limit]


class Workflow:
    """Records starts and the updates handed to a waiting execution."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.delivered: list[tuple[str, dict[str, Any]]] = []

    def start(self, incident: Incident) -> str:
        self.started.append(incident.id)
        return f"arn:aws:states:us-east-1:123456789012:execution:outage-comms-incident:{incident.id}"

    def deliver_update(self, token: str, update: Mapping[str, Any]) -> None:
        self.delivered.append((token, dict(update)))


class Changes:
    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []

    def publish(self, incident: Incident, decision: Decision) -> None:
        self.published.append((incident.id, decision.kind))


class StatusRefreshes:
    def __init__(self) -> None:
        self.refreshed: list[str] = []

    def refresh(self, incident_id: str) -> None:
        self.refreshed.append(incident_id)


class World:
    """The fakes together, with intake's apply at a frozen time."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.incidents = Incidents()
        self.workflow = Workflow()
        self.changes = Changes()
        self.status = StatusRefreshes()

    def apply(self, signal: Signal, now: datetime) -> dict[str, Any]:
        return apply_signal(
            signal,
            plan=self.plan,
            incidents=self.incidents,
            workflow=self.workflow,
            changes=self.changes,
            clock=lambda: now,
            sleep=lambda _: None,
        ).as_dict()

    def wait_for_update(self, incident_id: str, token: str = "token-1") -> None:
        """The execution reached 'Wait for next update' and left its token."""
        self.incidents.set_update_token(incident_id, token)


NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
