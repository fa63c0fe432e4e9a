"""``Notify <team chat>``: one branch of ``Notify team first`` — a team chat hears (with the draft
words) before any customer. Its typed channel errors drive the branch's Retry and Catch, like a
customer channel's; the redrive function invokes it again for a dead-lettered team notice."""

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
    from outage_comms.regions.fence import fenced_services  # the delivery ledger, fenced in two regions
    from outage_comms.workflow.step_deliver import notify_team

    return notify_team(event, services or fenced_services())
