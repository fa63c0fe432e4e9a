"""``outage-comms redrive``: resend dead-lettered deliveries through the workflow's delivery functions.

Invoked synchronously by the CLI with ``{"channel"?, "incident_id"?, "dry_run"?, "limit"?}``. It
holds no channel secret: it reads the per-channel dead-letter queues and invokes the function that
delivers each channel (see :mod:`outage_comms.workflow.redrive`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import logger, metrics, tracer
from outage_comms.workflow.redrive import (
    DeadLetterQueues,
    Deliver,
    RedriveRequest,
    RedriveRequestError,
    redrive,
    summary,
)

if TYPE_CHECKING:
    from .settings import RedriveSettings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    queues: DeadLetterQueues | None = None,
    deliver: Deliver | None = None,
) -> dict[str, Any]:
    try:
        request = RedriveRequest.from_event(event)
        if queues is None or deliver is None:
            settings = _settings()
            queues = queues or _queues(settings)
            deliver = deliver or _deliverer(settings)
        results = redrive(
            request,
            queues,
            deliver,
            # Stop taking items while one more delivery (up to 30 s) still fits in this invocation.
            out_of_time=lambda: context.get_remaining_time_in_millis() < 40_000,
        )
    except RedriveRequestError as error:
        return {"error": str(error), "results": []}
    logger.info("redrive", extra={"summary": summary(results), "dry_run": request.dry_run})
    return {"results": results, "summary": summary(results), "dry_run": request.dry_run}


def _settings() -> RedriveSettings:
    """The function's environment (a missing or invalid variable raises ``SettingsError``)."""
    from .settings import RedriveSettings

    return RedriveSettings.from_environment()


def _queues(settings: RedriveSettings) -> DeadLetterQueues:
    from outage_comms.aws_clients import client
    from outage_comms.workflow.redrive import SqsDeadLetterQueues

    return SqsDeadLetterQueues(settings.dead_letter_queues, client("sqs"))


def _deliverer(settings: RedriveSettings) -> Deliver:
    import boto3
    from botocore.config import Config

    from outage_comms.workflow.redrive import lambda_deliverer

    # One call per item and no SDK retry: a delivery may run up to its function's 30 s timeout, and a
    # repeated invoke would only meet the ledger's lease ("still sending").
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=3, read_timeout=45)
    lambda_client = boto3.session.Session().client("lambda", config=config)
    return lambda_deliverer(lambda_client, deliver=settings.deliver_function, notify=settings.notify_function)
