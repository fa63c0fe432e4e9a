"""Intake: EventBridge events (alarms, Health, Incident Manager, OpsCenter) from the intake queue.

SQS batch with partial failures: a record fails (and is retried by SQS) only when AWS itself
failed us or another intake kept changing the incident (:func:`outage_comms.intake.failures.is_transient`).
An event intake cannot use is never an error: it goes to the rejected-events queue with its
reason and the batch moves on. So does an event that made intake fail in any other way (its
reason names the error), and a transient failure on the record's last receive
(``MAX_RECEIVE_COUNT``): nothing reaches the dead-letter queue without a reason, short of the
function itself dying on that last receive.

The queue also carries :mod:`workflow hand-offs <outage_comms.intake.handoff>` from the incident
API: "hand the update of incident X to its waiting execution", which only this function may do.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import MetricUnit, count_with_dimension, logger, metrics, tracer

# Intake's domain (event models, store, SDK) loads on the first batch (see outage_comms.observability).
if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from outage_comms.intake.normalise import Rejection
    from outage_comms.intake.runtime import IntakeDependencies


@functools.cache
def batch_processor() -> BatchProcessor:
    """The SQS batch processor, built on the first batch: Powertools' batch utility imports every
    Parser model it knows (Kafka, Kinesis, ...), most of this function's import time otherwise."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType.SQS)


def process_record(record: SQSRecord, *, dependencies: IntakeDependencies) -> dict[str, Any]:
    """One queued event: apply it, or archive it with the reason it could not be applied."""
    from outage_comms.intake.failures import failure_rejection, is_transient, receive_count

    try:
        return _process(record, dependencies)
    except Exception as exc:
        last = receive_count(record) >= dependencies.max_receive_count
        if is_transient(exc) and not last:
            raise  # SQS retries the record after its visibility timeout
        logger.exception("intake failed on an event", transient=is_transient(exc), last_receive=last)
        return _reject(
            record.body, failure_rejection(exc, last_receive=last), _event_id(record), dependencies
        )


def _event_id(record: SQSRecord) -> str | None:
    try:
        raw = json.loads(record.body)
    except (ValueError, TypeError, RecursionError):
        return None
    return raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None


def _process(record: SQSRecord, dependencies: IntakeDependencies) -> dict[str, Any]:
    from outage_comms.intake.failures import invalid_json
    from outage_comms.intake.handoff import hand_off, is_handoff
    from outage_comms.intake.normalise import Rejection, to_signal

    metrics.add_metric(name="EventsReceived", unit=MetricUnit.Count, value=1)
    body = record.body
    try:
        raw: Any = json.loads(body)
    except (ValueError, TypeError, RecursionError) as exc:
        return _reject(body, invalid_json(exc), None, dependencies)
    if is_handoff(raw):
        handed = hand_off(raw, incidents=dependencies.incidents, workflow=dependencies.workflow)
        if isinstance(handed, Rejection):
            return _reject(body, handed, None, dependencies)
        logger.info("workflow hand-off", outcome=handed)
        return handed
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
    from aws_lambda_powertools.utilities.batch import process_partial_response

    from outage_comms.intake.runtime import intake_dependencies

    dependencies = dependencies or intake_dependencies()
    dependencies.idempotency.register_lambda_context(context)
    return process_partial_response(
        event=event,
        record_handler=functools.partial(process_record, dependencies=dependencies),
        processor=batch_processor(),
        context=context,
    )
