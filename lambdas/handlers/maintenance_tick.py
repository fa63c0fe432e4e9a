"""Maintenance tick: EventBridge Scheduler invokes this at each scheduled moment of a window.

Input (the schedule's ``Target.Input``): ``{"incident_id": "inc-...", "kind": "reminder" | "start" |
"end" | "complete", "at": "...", "hours_before": 24}``. The phase change is applied to the window
with optimistic locking and handed to its waiting workflow execution, as intake does
(:func:`outage_comms.maintenance.apply_tick`). A tick delivered twice changes nothing the second
time. An input that is not a tick is logged and dropped (retrying would not fix it); AWS errors
raise, so Scheduler retries and finally sends the tick to the dead-letter queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import MetricUnit, count_with_dimension, logger, metrics, tracer

# Intake's wiring (plan, store, SDK) loads on the first tick (see outage_comms.observability).
if TYPE_CHECKING:
    from outage_comms.intake.runtime import IntakeDependencies
    from outage_comms.maintenance import StatusRefresh


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    dependencies: IntakeDependencies | None = None,
    status: StatusRefresh | None = None,
) -> dict[str, Any]:
    from pydantic import ValidationError

    from outage_comms.intake.runtime import intake_dependencies
    from outage_comms.maintenance import Tick, apply_tick
    from outage_comms.maintenance_schedules import status_refresh_from_environment

    try:
        tick = Tick.model_validate(event)
    except ValidationError as exc:
        logger.error("not a maintenance tick; dropped", errors=exc.errors(include_url=False)[:3])
        count_with_dimension("MaintenanceTicks", "outcome", "invalid")
        return {"kind": "rejected", "reason": "not a maintenance tick"}
    dependencies = dependencies or intake_dependencies()
    outcome = apply_tick(
        tick,
        plan=dependencies.plan,
        incidents=dependencies.incidents,
        workflow=dependencies.workflow,
        changes=dependencies.changes,
        status=status or status_refresh_from_environment(),
    )
    metrics.add_metric(name="MaintenanceTicks", unit=MetricUnit.Count, value=1)
    logger.info("maintenance tick applied", outcome=outcome.as_dict())
    return outcome.as_dict()
