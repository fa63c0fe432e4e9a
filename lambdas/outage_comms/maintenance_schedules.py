"""``SchedulerMaintenanceSchedules``: a window's moments as one-time EventBridge Scheduler schedules.

Each :class:`~outage_comms.maintenance.Tick` becomes ``CreateSchedule`` in the group
``outage-comms-maintenance`` with ``at(yyyy-mm-ddThh:mm:ss)`` in time zone UTC, no flexible
window, ``ActionAfterCompletion: DELETE`` (a fired schedule removes itself), the tick as the
target's input, the scheduler role (which may invoke only the tick function), a dead-letter
queue for invocations that keep failing, and the core KMS key. Names are derived from the window
and the moment, so creating again after a retry finds ``ConflictException``: already there.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Protocol

from botocore.exceptions import ClientError
from pydantic import Field

from outage_comms.aws_clients import client
from outage_comms.function_settings import FunctionSettings
from outage_comms.maintenance import SCHEDULE_GROUP, Tick

logger = logging.getLogger(__name__)

#: An invocation that keeps failing is retried for up to this long, then sent to the dead-letter queue.
MAX_EVENT_AGE_SECONDS = 3600
MAX_RETRY_ATTEMPTS = 10


class MaintenanceSchedules(Protocol):
    """Where a window's later moments are scheduled."""

    def create(self, ticks: Sequence[Tick]) -> list[str]:
        """Create one schedule per tick (existing ones are left as they are); return their names."""

    def delete(self, names: Iterable[str]) -> list[str]:
        """Delete the named schedules that still exist; return the names deleted."""


class SchedulerSettings(FunctionSettings):
    """Environment of the function that creates schedules (the incident API)."""

    set_by: ClassVar[str] = "stacks/constructs/maintenance_scheduler.py (on the incident API function)"

    group: str = Field(default=SCHEDULE_GROUP, alias="MAINTENANCE_SCHEDULE_GROUP", min_length=1)
    target_arn: str = Field(alias="MAINTENANCE_TICK_FUNCTION_ARN", pattern=r"^arn:aws[a-z-]*:lambda:")
    role_arn: str = Field(alias="MAINTENANCE_SCHEDULER_ROLE_ARN", pattern=r"^arn:aws[a-z-]*:iam::")
    dead_letter_arn: str = Field(alias="MAINTENANCE_DEAD_LETTER_ARN", pattern=r"^arn:aws[a-z-]*:sqs:")
    kms_key_arn: str | None = Field(default=None, alias="MAINTENANCE_KMS_KEY_ARN")


def scheduler_settings_from_environment() -> SchedulerSettings | None:
    """The settings, or None when this deployment has no maintenance scheduler."""
    if not os.environ.get("MAINTENANCE_TICK_FUNCTION_ARN"):
        return None
    return SchedulerSettings.from_environment()


def create_schedule_request(settings: SchedulerSettings, tick: Tick) -> dict[str, Any]:
    """The exact ``CreateSchedule`` request for one tick."""
    request: dict[str, Any] = {
        "Name": tick.name,
        "GroupName": settings.group,
        "ScheduleExpression": tick.at_expression(),
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
        "Description": f"Outage Comms maintenance {tick.incident_id}: {tick.kind}",
        "Target": {
            "Arn": settings.target_arn,
            "RoleArn": settings.role_arn,
            "Input": tick.model_dump_json(),
            "DeadLetterConfig": {"Arn": settings.dead_letter_arn},
            "RetryPolicy": {
                "MaximumEventAgeInSeconds": MAX_EVENT_AGE_SECONDS,
                "MaximumRetryAttempts": MAX_RETRY_ATTEMPTS,
            },
        },
        "ClientToken": tick.name,
    }
    if settings.kms_key_arn:
        request["KmsKeyArn"] = settings.kms_key_arn
    return request


class SchedulerMaintenanceSchedules:
    """:class:`MaintenanceSchedules` over the EventBridge Scheduler API."""

    def __init__(self, settings: SchedulerSettings, *, scheduler: Any | None = None) -> None:
        self.settings = settings
        self._scheduler = scheduler

    @property
    def scheduler(self) -> Any:
        if self._scheduler is None:
            self._scheduler = client("scheduler")
        return self._scheduler

    def create(self, ticks: Sequence[Tick]) -> list[str]:
        created = []
        for tick in ticks:
            try:
                self.scheduler.create_schedule(**create_schedule_request(self.settings, tick))
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConflictException":
                    raise
                logger.info("schedule %s already exists", tick.name)
            created.append(tick.name)
        return created

    def delete(self, names: Iterable[str]) -> list[str]:
        deleted = []
        for name in names:
            try:
                self.scheduler.delete_schedule(Name=name, GroupName=self.settings.group)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                continue  # fired (and deleted itself) or never created
            deleted.append(name)
        return deleted


class LambdaStatusRefresh:
    """Asks the status publisher to rebuild the site (asynchronous invoke; it reads the stored record)."""

    def __init__(self, function_name: str, *, lambda_client: Any | None = None) -> None:
        self.function_name = function_name
        self._lambda = lambda_client

    def refresh(self, incident_id: str) -> None:
        if self._lambda is None:
            self._lambda = client("lambda")
        self._lambda.invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps({"incident_id": incident_id}).encode("utf-8"),
        )


class StatusRefreshSettings(FunctionSettings):
    """Environment of the maintenance tick function: the status publisher to ask, if there is one."""

    set_by: ClassVar[str] = "stacks/constructs/maintenance_scheduler.py"

    status_publisher_function: str = Field(default="", alias="STATUS_PUBLISHER_FUNCTION")


def status_refresh_from_environment() -> LambdaStatusRefresh | None:
    """The status publisher named by ``STATUS_PUBLISHER_FUNCTION``, if this deployment has one."""
    name = StatusRefreshSettings.from_environment().status_publisher_function
    return LambdaStatusRefresh(name) if name else None
