"""``Deliver via <channel>``: one channel of the fan-out. Typed channel errors drive Retry and Catch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import MetricUnit, logger, metrics, tracer

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
    from outage_comms.workflow.step_deliver import deliver_channel

    services = services or fenced_services()
    metrics.add_dimension(name="channel", value=str(event.get("channel")))
    try:
        result = deliver_channel(event, services)
    except Exception:
        metrics.add_metric(name="DeliveryFailures", unit=MetricUnit.Count, value=1)
        raise
    if result["status"] == "delivered":
        metrics.add_metric(name="Deliveries", unit=MetricUnit.Count, value=1)
    slo.record_delivery(event, result, services)  # own EMF documents: no "channel" leaks into them
    return result
