"""The small interfaces that join intake, the workflow and the stores.

Domain code depends on these Protocols; adapters (DynamoDB, Step Functions, …) implement them
and tests pass fakes or the real adapters on moto. Keeping them in one place is what lets the
intake, the workflow and the status site be built and tested apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from outage_comms.incident import Incident


class ConcurrentUpdateError(Exception):
    """Someone else changed the incident since it was read (optimistic lock lost): re-read, re-decide."""


class IncidentNotFoundError(Exception):
    """No incident with that id."""


class IncidentRepository(Protocol):
    """Incidents and their timelines (DynamoDB ``incidents`` table)."""

    def get(self, incident_id: str) -> Incident:
        """The incident, or IncidentNotFoundError."""

    def open_by_component(self, component_ids: Iterable[str], *, drill: bool = False) -> dict[str, Incident]:
        """Open incidents touching any of these components, keyed by component id: real incidents, or
        drills only when ``drill`` (the two never share a lock)."""

    def find_by_reference(self, reference: str, *, drill: bool = False) -> Incident | None:
        """The open incident (a drill when ``drill``) a source reference (alarm ARN, incident record ARN,
        OpsItem id…) belongs to."""

    def save(self, incident: Incident, previous_version: int | None) -> None:
        """Create (previous_version None) or replace if the stored version still equals previous_version;
        else ConcurrentUpdateError. Also maintains the per-component open-incident index."""

    def replace_head(self, incident: Incident, previous_version: int) -> None:
        """Replace the incident only (same components, no lock or reference change) if the stored version
        still equals previous_version; else ConcurrentUpdateError. E.g. a resolved incident's postmortem."""

    def set_update_token(self, incident_id: str, token: str | None) -> None:
        """Remember (or clear) the Step Functions task token of the execution waiting for the next update."""

    def take_update_token(self, incident_id: str) -> str | None:
        """Atomically read and clear the waiting task token (so an update is delivered once)."""

    def record_delivery(
        self, incident_id: str, update_id: str, channel: str, result: Mapping[str, Any]
    ) -> None:
        """Per-channel delivery result of one update, kept beside the incident."""

    def list_recent(self, since: datetime | int | None = None, *, limit: int | None = None) -> list[Incident]:
        """Incidents changed since ``since``, most recently updated first, at most ``limit`` (an ``int``
        first argument is the limit; neither: the newest 100). Never a scan of the history."""

    def list_open(self, *, drill: bool = False) -> list[Incident]:
        """Every open incident and maintenance window (or, ``drill``, open drills), oldest first."""

    def list_needing_slo_check(self) -> list[Incident]:
        """Open real incidents (not drills, not maintenance windows): what the SLO watchdog checks."""


class WorkflowGateway(Protocol):
    """How intake reaches the one running incident-comms execution of an incident."""

    def start(self, incident: Incident) -> str:
        """Start the execution named after the incident id (idempotent); return its ARN."""

    def deliver_update(self, token: str, update: Mapping[str, Any]) -> None:
        """Hand an update to the execution waiting on ``token`` (SendTaskSuccess)."""


class FeedbackTally(Protocol):
    """Customer answers to "Was this update helpful?" (see ``outage_comms.feedback``)."""

    def counts(self, incident_id: str) -> dict[str, Any]:
        """``{"yes": n, "no": n, "comments": n, "by_channel": {channel: {"yes": n, "no": n}},
        "by_locale": {...}, "by_scenario": {...}, "by_update": {...}}`` for one incident (zeros when none)."""
