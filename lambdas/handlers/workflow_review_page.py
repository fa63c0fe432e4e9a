"""The review page behind API Gateway (IAM auth): GET shows, POST with a CSRF token decides."""

from __future__ import annotations

from datetime import UTC, datetime
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
    from outage_comms.aws_clients import client
    from outage_comms.workflow.adapters import services as real_services
    from outage_comms.workflow.review import (
        BadReviewRequestError,
        ReviewRequest,
        bad_request,
        handle_review,
        in_token_region,
    )

    services = services or real_services()
    try:
        request = ReviewRequest.from_api_event(event)
    except BadReviewRequestError as problem:
        logger.info("review request refused", status=problem.status, reason=problem.text)
        return bad_request(problem).as_api_response()
    response = handle_review(
        request,
        plan=services.plan,
        store=services.store,
        approvals=services.approvals,
        signer=services.signer(),
        # A request names the region of the execution that waits; its token is answered there.
        send_task_success=in_token_region(
            services.send_task_success, lambda: client("stepfunctions").meta.region_name
        ),
        now=datetime.now(UTC),
    )
    logger.info("review", method=request.method, status=response.status, decided=response.decided)
    if response.decided and response.approval_latency_seconds is not None:
        slo.record_approval(
            response.approval_latency_seconds, response.severity, response.scenario, drill=response.drill
        )
    return response.as_api_response()
