"""Lambda handler: the standby region's answer to an engine-health alarm (failover and failback).

Input: the EventBridge ``CloudWatch Alarm State Change`` of an engine-health composite alarm.
Environment: ``OWNERSHIP_TABLE``, ``HEALTH_ALARMS`` (``name=region,name=region``), the workflow
settings (``WORKFLOW_TABLE``, ``INCIDENTS_TABLE_NAME``, ``PLAN_PATH``) and ``STATE_MACHINE_ARN``
(this region's incident state machine; the other region's has the same name): a taken incident
continues in an execution started here, a handed-back one in an execution started in the primary.
Output: per open incident, the decision, the new epoch, the resume point, the route and the started
execution (regions/engine.py, regions/resume.py).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from outage_comms.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from outage_comms.regions.engine import RegionEngine


def health_alarms(value: str) -> dict[str, str]:
    """``"engine-health-eu=eu-west-1,engine-health-us=us-east-1"`` -> alarm name -> region judged."""
    pairs = (part.split("=", 1) for part in value.split(",") if "=" in part)
    return {name.strip(): region.strip() for name, region in pairs}


@functools.cache
def default_engine() -> RegionEngine:
    from outage_comms.aws_clients import client
    from outage_comms.intake.store import DynamoIncidentRepository
    from outage_comms.regions.engine import RegionEngine
    from outage_comms.regions.executions import StepFunctionsExecutions
    from outage_comms.regions.fence import FailoverSettings
    from outage_comms.regions.lease import DynamoOwnershipStore
    from outage_comms.workflow.settings import plan, settings
    from outage_comms.workflow.store import DynamoWorkflowStore

    config, regional = settings(), FailoverSettings.from_environment()
    state_machine = regional.state_machine_arn
    return RegionEngine(
        plan=plan(),
        region=regional.aws_region,
        ownership=DynamoOwnershipStore(table_name=regional.ownership_table, client=client("dynamodb")),
        repository=DynamoIncidentRepository(config.incidents_table),
        store=DynamoWorkflowStore(table_name=config.workflow_table, client=client("dynamodb")),
        executions=StepFunctionsExecutions(state_machine) if state_machine else None,
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any, engine: RegionEngine | None = None) -> dict[str, Any]:
    from outage_comms.regions.failover import signal_from_alarm_event
    from outage_comms.regions.fence import RegionSettings

    signal = signal_from_alarm_event(
        event, region_of_alarm=health_alarms(RegionSettings.from_environment().health_alarms)
    )
    if signal is None:
        logger.info("not an engine-health alarm; ignored")
        return {"results": []}
    results = (engine or default_engine()).on_signal(signal)
    logger.info(
        "engine health", extra={"region": signal.region, "healthy": signal.healthy, "results": results}
    )
    return {"results": results}
