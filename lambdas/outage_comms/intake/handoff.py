"""Hand-offs: the incident API asks the intake function to start or feed an incident's execution.

The incident API applies a person's request like every other door (decide, save, publish), but
its role cannot call ``states:SendTaskSuccess`` nor start executions: whoever can resume a task can
resume an approval task too. Instead it puts a hand-off on the intake queue::

    {"outage_comms_handoff": "start" | "update", "incident_id": "inc-...", "version": 7,
     "change": "update", "reason": "..."}

and the intake function — the one role allowed to — starts the execution or takes the waiting
task token from the incident store and hands the update over — in the region of the execution that
waits (the token's region is stored with it: with two engines, the primary's intake wakes the
standby's execution and the reverse). A hand-off never carries a token,
and what it delivers is rebuilt from the stored incident, so a forged or repeated message can at
most wake an incident's own execution to re-read what is already stored. An update is handed over
once per incident version (the store remembers the last version it handed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from outage_comms.aws_clients import client
from outage_comms.incident import Incident
from outage_comms.intake.normalise import Rejection
from outage_comms.ports import (
    IncidentNotFoundError,
    IncidentRepository,
    TaskRegionUnreachableError,
    WorkflowGateway,
    token_region,
)
from outage_comms.workflow_gateway import execution_arn

HANDOFF_KEY = "outage_comms_handoff"


class Handoff(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True)

    action: Literal["start", "update"] = Field(alias=HANDOFF_KEY)
    incident_id: str = Field(pattern=r"^inc-\d{8}-\d{4}-[0-9a-f]{6}$")
    version: int = Field(default=0, ge=0)
    change: str = Field(default="update", max_length=40)
    reason: str = Field(default="", max_length=500)


@runtime_checkable
class VersionedTokens(Protocol):
    """A store that hands a waiting task token over at most once per incident version."""

    def take_update_token_for_version(self, incident_id: str, version: int) -> str | None: ...


def is_handoff(raw: Any) -> bool:
    return isinstance(raw, dict) and HANDOFF_KEY in raw


def handoff_update(incident: Incident, change: str, reason: str) -> dict[str, Any]:
    """The update the waiting execution receives: the stored incident's state, as intake sends it."""
    return {
        "incident_id": incident.id,
        "version": incident.version,
        "change": change,
        "announce": True,
        "reason": reason,
        "status": incident.status,
        "severity": incident.severity,
        "scenario": incident.scenario.value,
        "components": list(incident.components),
        "updated_at": incident.updated_at.isoformat(),
        "drill": incident.drill,
    }


def hand_off(
    raw: Mapping[str, Any], *, incidents: IncidentRepository, workflow: WorkflowGateway
) -> dict[str, Any] | Rejection:
    """Start or feed the execution a hand-off names. Never trusts more than the incident id."""
    try:
        handoff = Handoff.model_validate(raw)
        incident = incidents.get(handoff.incident_id)
    except ValidationError as exc:
        return Rejection(
            "invalid_handoff", f"Not a valid workflow hand-off: {exc.errors(include_url=False)[0]['msg']}."
        )
    except IncidentNotFoundError:
        return Rejection(
            "invalid_handoff", f"The hand-off names {raw.get('incident_id')!r}, which is not stored."
        )
    if handoff.action == "start":
        workflow.start(incident)
        return {"kind": "handoff", "incident_id": incident.id, "workflow": "started"}
    if isinstance(incidents, VersionedTokens):
        token = incidents.take_update_token_for_version(incident.id, max(handoff.version, 1))
    else:
        token = incidents.take_update_token(incident.id)
    if token is None:
        # Busy (it reads the stored incident on its next wait) or this version was handed already.
        return {"kind": "handoff", "incident_id": incident.id, "workflow": "execution_busy"}
    handed: dict[str, Any] = {"kind": "handoff", "incident_id": incident.id}
    if token_region(token):
        handed["token_region"] = token_region(token)
    try:
        workflow.deliver_update(token, handoff_update(incident, handoff.change, handoff.reason))
    except TaskRegionUnreachableError as down:
        # Stored, not lost: the execution that continues the incident (the failover's) reads it.
        return {**handed, "workflow": "update_stored_region_down", "token_region": down.region}
    return {**handed, "workflow": "update_delivered"}


class QueuedWorkflowHandoff:
    """The incident API's :class:`~outage_comms.ports.WorkflowGateway`: hand-offs on the intake queue."""

    relays_updates = True

    def __init__(self, queue_url: str, state_machine_arn: str, *, sqs: Any | None = None) -> None:
        self.queue_url = queue_url
        self.state_machine_arn = state_machine_arn
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = client("sqs")
        return self._sqs

    def _send(self, body: dict[str, Any]) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))

    def start(self, incident: Incident) -> str:
        self._send({HANDOFF_KEY: "start", "incident_id": incident.id, "version": incident.version})
        return execution_arn(self.state_machine_arn, incident.id)

    def relay_update(self, update: Mapping[str, Any]) -> None:
        """Ask intake to hand ``update`` (``service.update_message``) to the waiting execution."""
        self._send(
            {
                HANDOFF_KEY: "update",
                "incident_id": update["incident_id"],
                "version": update.get("version", 0),
                "change": str(update.get("change", "update"))[:40],
                "reason": str(update.get("reason", ""))[:500],
            }
        )

    def deliver_update(self, token: str, update: Mapping[str, Any]) -> None:
        raise PermissionError(
            "the incident API hands updates over through intake (relay_update), never a token"
        )
