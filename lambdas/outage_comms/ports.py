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


class TaskToken(str):
    """A Step Functions task token that knows the region of the execution that issued it.

    Task tokens are regional: ``SendTaskSuccess`` must be called in the region of the state machine whose
    task issued the token, or Step Functions answers ``InvalidToken``. With two engines (docs/regions.md)
    a token stored in a global table may be taken by the other region's intake, so every stored token keeps
    its region beside it. It is a ``str`` (every existing comparison and fake keeps working);
    ``region`` None means "this region" (a record written before regions were recorded).
    """

    region: str | None

    def __new__(cls, value: str, region: str | None = None) -> TaskToken:
        token = super().__new__(cls, value)
        token.region = region or None
        return token

    def __reduce__(self) -> tuple[Any, ...]:
        return (TaskToken, (str(self), self.region))


def token_region(token: str) -> str | None:
    """The region that issued ``token`` if it is known (a :class:`TaskToken` that says so), else None."""
    return token.region if isinstance(token, TaskToken) else None


class TaskRegionUnreachableError(Exception):
    """The region that issued a task token does not answer (its endpoints are down): nothing was handed
    over. The update is stored on the incident; the execution that continues the incident reads it."""

    def __init__(self, region: str, why: str = "connection error") -> None:
        super().__init__(f"the task token's region {region} does not answer ({why})")
        self.region = region


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
        """Remember (or clear) the Step Functions task token of the execution waiting for the next update,
        with the region of the step that stores it (the token's region: :class:`TaskToken`)."""

    def take_update_token(self, incident_id: str) -> str | None:
        """Atomically read and clear the waiting task token (so an update is delivered once); a
        :class:`TaskToken` naming its region when the store recorded one."""

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
        """Hand an update to the execution waiting on ``token`` (SendTaskSuccess in the token's region:
        :func:`token_region`)."""


class FeedbackTally(Protocol):
    """Customer answers to "Was this update helpful?" (see ``outage_comms.feedback``)."""

    def counts(self, incident_id: str) -> dict[str, Any]:
        """``{"yes": n, "no": n, "comments": n, "by_channel": {channel: {"yes": n, "no": n}},
        "by_locale": {...}, "by_scenario": {...}, "by_update": {...}}`` for one incident (zeros when none)."""
