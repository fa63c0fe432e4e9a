"""``Record postmortem``: the approved summary becomes the incident's postmortem on the status site."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import logger, metrics, tracer
from outage_comms.workflow.steps import Services, record_postmortem


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(
    event: dict[str, Any], context: LambdaContext, services: Services | None = None
) -> dict[str, Any]:
    from outage_comms.workflow.adapters import services as real_services

    return record_postmortem(event, services or real_services())
