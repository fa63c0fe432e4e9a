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

Task tokens are regional (``SendTaskSuccess`` works only in the region of the execution that issued
the token). A token taken from the store is a :class:`~outage_comms.ports.TaskToken` naming that region
(``Wait for next update`` stores its own region beside it), and ``deliver_update`` answers it with a
Step Functions client of THAT region: with two engines, a person's update reaching the primary's intake
wakes the execution waiting in the standby (and the reverse). A token without a region is this region's.
When the token's region does not answer (a connection error: the region is down),
:class:`~outage_comms.ports.TaskRegionUnreachableError` says so; the update is already stored on the
incident, and the execution that continues the incident reads it (the failover's resumed execution
compares the stored incident with the last update as it starts waiting).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
)

from outage_comms.aws_clients import client
from outage_comms.clock import execution_clock
from outage_comms.incident import Incident
from outage_comms.ports import TaskRegionUnreachableError, token_region

logger = logging.getLogger(__name__)

STALE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
#: botocore's errors for a region whose endpoints do not answer.
UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError)


def arn_region(arn: str) -> str | None:
    """``arn:partition:service:REGION:...`` -> REGION (None when the ARN names none)."""
    parts = arn.split(":")
    return parts[3] or None if len(parts) > 3 else None


def stepfunctions_in(region: str) -> Any:
    """A Step Functions client of ``region`` (built on demand: answering another region's token is rare)."""
    from outage_comms.aws_clients import sdk_config, session

    return session().client("stepfunctions", region_name=region, config=sdk_config())


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

    def client_for(self, region: str | None) -> Any:
        """The Step Functions client that can answer a token of ``region`` (None: this region)."""
        if region is None or region == arn_region(self.state_machine_arn):
            return self.stepfunctions
        return stepfunctions_in(region)

    def deliver_update(self, token: str, update: Mapping[str, Any]) -> None:
        region = token_region(token)
        incident_id = update.get("incident_id")
        try:
            self.client_for(region).send_task_success(
                taskToken=str(token), output=json.dumps(dict(update), default=str)
            )
        except UNREACHABLE as exc:
            where = region or arn_region(self.state_machine_arn) or "this region"
            logger.warning(
                "the region %s, whose execution waits for the update to %s, does not answer (%s): the update "
                "is stored on the incident; the execution that continues the incident reads it",
                where,
                incident_id,
                type(exc).__name__,
            )
            raise TaskRegionUnreachableError(where, type(exc).__name__) from exc
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code not in STALE_TOKEN_ERRORS:
                raise
            logger.warning(
                "the execution waiting for an update to %s (in %s) no longer waits (%s); the update is "
                "stored and its execution reads it on its next step",
                incident_id,
                region or "this region",
                code,
            )
            # Only this region's execution is (re)started here: another region's incident is its engine's.
            if isinstance(incident_id, str) and region in (None, arn_region(self.state_machine_arn)):
                self._start(incident_id)
