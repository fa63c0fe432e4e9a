"""Intake: EventBridge events (alarms, Health, Incident Manager, OpsCenter) from the intake queue.

SQS batch with partial failures: a record fails (and is retried by SQS, then moved to the
dead-letter queue by the redrive policy) only when AWS itself failed us. An event intake cannot
use is never an error: it goes to the rejected-events queue with its reason and the batch moves on.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.intake.normalise import Rejection, to_signal
from outage_comms.intake.runtime import IntakeDependencies, intake_dependencies
from outage_comms.observability import MetricUnit, count_with_dimension, logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def process_record(record: SQSRecord, *, dependencies: IntakeDependencies) -> dict[str, Any]:
    """One queued event: reject it with a reason, or apply its signal (once per event id)."""
    metrics.add_metric(name="EventsReceived", unit=MetricUnit.Count, value=1)
    body = record.body
    try:
        raw: Any = json.loads(body)
    except (json.JSONDecodeError, TypeError) as exc:
        return _reject(
            body,
            Rejection("invalid_json", f"The message body is not JSON ({exc}). Send the event as JSON."),
            None,
            dependencies,
        )
    signal = to_signal(raw, dependencies.plan)
    event_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    if isinstance(signal, Rejection):
        return _reject(body, signal, event_id, dependencies)
    if not signal.event_id.strip():
        missing = Rejection(
            "missing_event_id",
            "'id' is empty: intake applies each event once by its id, so an event without one cannot be "
            "applied safely. Send the event as EventBridge delivers it (every event has a unique 'id').",
        )
        return _reject(body, missing, event_id, dependencies)
    for warning in signal.warnings:
        logger.warning("mapping warning", event_id=signal.event_id, warning=warning)
    outcome = dependencies.apply(signal=signal)
    metrics.add_metric(name="SignalsApplied", unit=MetricUnit.Count, value=1)
    if outcome["kind"] == "open" and outcome["announced"]:
        metrics.add_metric(name="IncidentsOpened", unit=MetricUnit.Count, value=1)
    log = logger.info if outcome["announced"] else logger.debug
    log("signal applied", event_id=signal.event_id, source=signal.source.type, outcome=outcome)
    return outcome


def _reject(
    body: str, rejection: Rejection, event_id: str | None, dependencies: IntakeDependencies
) -> dict[str, Any]:
    if dependencies.rejected is None:
        raise RuntimeError("REJECTED_QUEUE_URL is not set: rejected events would be lost")
    message_id = dependencies.rejected.send(body, rejection, event_id=event_id)
    logger.warning(
        "event rejected",
        code=rejection.code,
        reason=rejection.reason,
        event_id=event_id,
        rejected_message_id=message_id,
    )
    count_with_dimension("RejectedEvents", "code", rejection.code)
    return {"kind": "rejected", "code": rejection.code, "reason": rejection.reason}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(
    event: dict[str, Any], context: LambdaContext, dependencies: IntakeDependencies | None = None
) -> PartialItemFailureResponse:
    dependencies = dependencies or intake_dependencies()
    dependencies.idempotency.register_lambda_context(context)
    return process_partial_response(
        event=event,
        record_handler=functools.partial(process_record, dependencies=dependencies),
        processor=processor,
        context=context,
    )
