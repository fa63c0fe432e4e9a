"""``outage-comms redrive``: resend dead-lettered deliveries through the workflow's delivery functions.

Invoked synchronously by the CLI with ``{"channel"?, "incident_id"?, "dry_run"?, "limit"?}``. It
holds no channel secret: it reads the per-channel dead-letter queues and invokes the function that
delivers each channel (see :mod:`outage_comms.workflow.redrive`).
"""

from __future__ import annotations

import json
import os
from typing import Any

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
        results = redrive(
            request,
            queues or _queues(),
            deliver or _deliverer(),
            # Stop taking items while one more delivery (up to 30 s) still fits in this invocation.
            out_of_time=lambda: context.get_remaining_time_in_millis() < 40_000,
        )
    except RedriveRequestError as error:
        return {"error": str(error), "results": []}
    logger.info("redrive", extra={"summary": summary(results), "dry_run": request.dry_run})
    return {"results": results, "summary": summary(results), "dry_run": request.dry_run}


def _queues() -> DeadLetterQueues:
    from outage_comms.aws_clients import client
    from outage_comms.workflow.redrive import SqsDeadLetterQueues

    return SqsDeadLetterQueues(json.loads(os.environ["DEAD_LETTER_QUEUES"]), client("sqs"))


def _deliverer() -> Deliver:
    import boto3
    from botocore.config import Config

    from outage_comms.workflow.redrive import lambda_deliverer

    # One call per item and no SDK retry: a delivery may run up to its function's 30 s timeout, and a
    # repeated invoke would only meet the ledger's lease ("still sending").
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=3, read_timeout=45)
    lambda_client = boto3.session.Session().client("lambda", config=config)
    return lambda_deliverer(
        lambda_client, deliver=os.environ["DELIVER_FUNCTION"], notify=os.environ["NOTIFY_FUNCTION"]
    )
