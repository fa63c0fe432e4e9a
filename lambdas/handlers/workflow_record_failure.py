"""A channel branch failed after its retries: record the failure on the incident."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import logger, metrics, tracer

# The step's domain code loads on the first invocation (see outage_comms.observability on cold starts).
if TYPE_CHECKING:
    from outage_comms.workflow.services import Services


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(
    event: dict[str, Any], context: LambdaContext, services: Services | None = None
) -> dict[str, Any]:
    from outage_comms import slo
    from outage_comms.regions.fence import fenced_services  # the delivery ledger, fenced in two regions
    from outage_comms.workflow.step_deliver import record_failure

    services = services or fenced_services()
    result = record_failure(event, services)
    slo.record_failure(event, services)
    return result
