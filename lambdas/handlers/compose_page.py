"""The compose page behind API Gateway (IAM auth): GET shows the form and previews, POST previews or
posts the next update (or the resolution) through the incident API's intake path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from outage_comms.observability import logger, metrics, tracer

if TYPE_CHECKING:  # the compose domain loads on the first request, not in Lambda's init phase
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from outage_comms.intake.runtime import IntakeDependencies
    from outage_comms.workflow.approval import ReviewSigner


def _signer() -> ReviewSigner:
    from outage_comms.workflow.adapters import review_signer  # cached per execution environment

    return review_signer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    dependencies: IntakeDependencies | None = None,
    signer: ReviewSigner | None = None,
) -> dict[str, Any]:
    from outage_comms import clock
    from outage_comms.compose.page import BadReviewRequestError, ReviewRequest, bad_request, handle_compose
    from outage_comms.intake.runtime import intake_dependencies

    try:
        request = ReviewRequest.from_api_event(event)
    except BadReviewRequestError as problem:
        logger.info("compose request refused", status=problem.status, reason=problem.text)
        return bad_request(problem).as_api_response()
    dependencies = dependencies or intake_dependencies()
    dependencies.idempotency.register_lambda_context(context)
    response = handle_compose(
        request,
        plan=dependencies.plan,
        incidents=dependencies.incidents,
        apply=dependencies.apply,
        signer=signer or _signer(),
        now=clock.now(),
    )
    logger.info("compose", method=request.method, status=response.status, outcome=response.outcome)
    return response.as_api_response()
