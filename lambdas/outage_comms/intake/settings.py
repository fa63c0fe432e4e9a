"""What the intake and incident API functions read from their environment, once per cold start."""

from __future__ import annotations

import functools

from pydantic import Field

from outage_comms.function_settings import PLAN_PATH_DEFAULT, FunctionSettings


class IntakeSettings(FunctionSettings):
    """Environment of the intake functions (set by ``stacks/constructs/intake.py``)."""

    set_by = "stacks/constructs/intake.py (incident API: stacks/constructs/incident_api.py)"

    plan_path: str = Field(default=PLAN_PATH_DEFAULT, alias="PLAN_PATH", min_length=1)
    incidents_table: str = Field(alias="INCIDENTS_TABLE_NAME", min_length=1)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    state_machine_arn: str = Field(alias="STATE_MACHINE_ARN", pattern=r"^arn:aws[a-z-]*:states:")
    rejected_queue_url: str | None = Field(
        default=None, alias="REJECTED_QUEUE_URL", description="the intake queue's function only"
    )
    handoff_queue_url: str | None = Field(
        default=None,
        alias="WORKFLOW_HANDOFF_QUEUE_URL",
        description="incident API only: the intake queue, where it asks intake to start / feed executions",
    )
    max_receive_count: int = Field(
        default=5, alias="MAX_RECEIVE_COUNT", ge=1, description="the intake queue's redrive maxReceiveCount"
    )
    idempotency_ttl_seconds: int = Field(
        default=24 * 3600,
        alias="IDEMPOTENCY_TTL_SECONDS",
        ge=60,
        description="EventBridge retries a delivery for up to 24 hours",
    )


@functools.cache
def intake_settings() -> IntakeSettings:
    """Read once; a missing variable fails the cold start naming it (``SettingsError``)."""
    return IntakeSettings.from_environment()
