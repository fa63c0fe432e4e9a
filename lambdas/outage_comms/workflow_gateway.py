"""``StepFunctionsWorkflowGateway``: how intake reaches an incident's one comms execution.

Implements :class:`outage_comms.ports.WorkflowGateway` over the Step Functions API:

* ``start`` runs ``StartExecution`` named after the incident id with input
  ``{"incident_id": ...}``. Names are unique per state machine (90 days for Standard workflows),
  so a second start for the same incident — a retried batch, a duplicate event — returns
  ``ExecutionAlreadyExists``, which is success here: the execution exists.
* ``deliver_update`` runs ``SendTaskSuccess`` with the update as the task output. A token whose
  task has timed out or that Step Functions no longer knows (``TaskTimedOut`` /
  ``InvalidToken`` / ``TaskDoesNotExist``) means the execution moved on: intake then tries to
  start the incident's execution (normally ``ExecutionAlreadyExists``: ignored) and logs it; the
  update is already in the store, where the execution reads it on its next step.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from outage_comms.aws_clients import client
from outage_comms.clock import execution_clock
from outage_comms.incident import Incident

logger = logging.getLogger(__name__)

STALE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


def execution_arn(state_machine_arn: str, name: str) -> str:
    """``arn:...:states:r:a:stateMachine:M`` -> ``arn:...:states:r:a:execution:M:name``."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


class StepFunctionsWorkflowGateway:
    """Start and feed the ``outage-comms-incident`` state machine."""

    def __init__(self, state_machine_arn: str, *, stepfunctions: Any | None = None) -> None:
        if not state_machine_arn:  # callers pass their settings' STATE_MACHINE_ARN (validated there)
            raise ValueError("no state machine: pass the state machine's ARN")
        self.state_machine_arn = state_machine_arn
        self._stepfunctions = stepfunctions

    @property
    def stepfunctions(self) -> Any:
        if self._stepfunctions is None:
            self._stepfunctions = client("stepfunctions")
        return self._stepfunctions

    def start(self, incident: Incident) -> str:
        return self._start(incident.id)

    def _start(self, incident_id: str) -> str:
        try:
            response = self.stepfunctions.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=incident_id,
                input=json.dumps({"incident_id": incident_id, **execution_clock()}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
            logger.info("execution for %s already exists; not starting another", incident_id)
            return execution_arn(self.state_machine_arn, incident_id)
        return str(response["executionArn"])

    def deliver_update(self, token: str, update: Mapping[str, Any]) -> None:
        try:
            self.stepfunctions.send_task_success(
                taskToken=token, output=json.dumps(dict(update), default=str)
            )
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code not in STALE_TOKEN_ERRORS:
                raise
            incident_id = update.get("incident_id")
            logger.warning(
                "the execution waiting for an update to %s no longer waits (%s); the update is stored and "
                "its execution reads it on its next step",
                incident_id,
                code,
            )
            if isinstance(incident_id, str):
                self._start(incident_id)
