"""``Render update``: every message of this update, guarded; stored for the review page.

The same function answers ``Register incident`` (and ``Register resumed incident``): the state machine
calls it with ``{"step": "register_incident", ...}``. Registering runs in the render function so an
alarm's path to its first message starts one execution environment fewer (issue 13): the environment
that registered the incident, its SDK, tracer and plan already loaded, renders the first update next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import logger, metrics, tracer

# The step's domain code loads on the first invocation (see outage_comms.observability on cold starts).
if TYPE_CHECKING:
    from outage_comms.workflow.services import Services

#: The ``step`` the state machine names in a ``Register incident`` call to this function.
REGISTER_STEP = "register_incident"


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(
    event: dict[str, Any], context: LambdaContext, services: Services | None = None
) -> dict[str, Any]:
    from outage_comms.workflow.adapters import services as real_services

    if event.get("step") == REGISTER_STEP:
        from outage_comms.workflow.step_register import register_incident

        result = register_incident(event, services or real_services())
        logger.info("registered", **result)
        return result
    from outage_comms.workflow.step_render import render

    return render(event, services or real_services())
