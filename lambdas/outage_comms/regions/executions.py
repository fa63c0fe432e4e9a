"""Start and stop this deployment's incident-comms executions in either engine region.

Both engines' state machines have the same name (``outage-comms[-<id>]-incident``) in the same
account, so the other region's ARN is this region's with the region swapped. The failover function
starts the execution that continues an incident where it now runs, and stops the one that can no
longer speak for it (``regions/engine.py``). Executions are named, so a retried move starts once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol


class Executions(Protocol):
    def arn(self, region: str, name: str) -> str:
        """The ARN the named execution has (or will have) in ``region``."""

    def start(self, region: str, name: str, payload: dict[str, Any]) -> str:
        """Start (once: a name already used is "already started") and return the execution's ARN."""

    def stop(self, region: str, name: str, cause: str) -> bool:
        """Stop the named execution if it runs; whether one was stopped."""


def in_region(arn: str, region: str) -> str:
    """The same ARN in ``region`` (``arn:partition:service:region:account:...``)."""
    parts = arn.split(":")
    parts[3] = region
    return ":".join(parts)


@dataclass
class StepFunctionsExecutions:
    """:class:`Executions` on Step Functions; ``state_machine_arn`` is this region's."""

    state_machine_arn: str

    def _client(self, region: str) -> Any:
        from outage_comms.aws_clients import sdk_config, session

        return session().client("stepfunctions", region_name=region, config=sdk_config())

    def arn(self, region: str, name: str) -> str:
        from outage_comms.workflow_gateway import execution_arn

        return execution_arn(in_region(self.state_machine_arn, region), name)

    def start(self, region: str, name: str, payload: dict[str, Any]) -> str:
        from botocore.exceptions import ClientError

        from outage_comms.workflow_gateway import execution_arn

        machine = in_region(self.state_machine_arn, region)
        try:
            response = self._client(region).start_execution(
                stateMachineArn=machine, name=name, input=json.dumps(payload, default=str)
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
            return execution_arn(machine, name)
        return str(response["executionArn"])

    def stop(self, region: str, name: str, cause: str) -> bool:
        from botocore.exceptions import ClientError

        from outage_comms.workflow_gateway import execution_arn

        arn = execution_arn(in_region(self.state_machine_arn, region), name)
        client = self._client(region)
        try:
            if client.describe_execution(executionArn=arn)["status"] != "RUNNING":
                return False
            client.stop_execution(executionArn=arn, cause=cause[:32768])
        except ClientError as error:
            if error.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
                return False
            raise
        return True
