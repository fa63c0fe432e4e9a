"""Which intake failures are worth retrying, and the reason an event is archived with when not.

Transient: AWS throttled or was unreachable, another intake kept changing the incident, or the
same event is being applied right now by another invocation. SQS retries those (up to the intake
queue's ``MAX_RECEIVE_COUNT`` receives). Anything else — a body too deeply nested to parse, text
DynamoDB refuses, a bug — will fail the same way every time: the event is archived at once with
its reason instead of being retried into the dead-letter queue without one.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from outage_comms.intake.normalise import Rejection
from outage_comms.intake.service import IntakeConflictError

#: AWS error codes that say "this request will never succeed" (the data is wrong, not the moment).
PERMANENT_AWS_ERRORS = frozenset(
    {
        "ValidationException",
        "SerializationException",
        "InvalidParameterValue",
        "InvalidParameterException",
        "InvalidInputException",
        "ItemCollectionSizeLimitExceededException",
    }
)


def is_transient(exc: BaseException) -> bool:
    """True when the same event may well succeed on a later receive."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
    )

    from outage_comms.intake.outlets import PublishError

    if isinstance(exc, IdempotencyPersistenceLayerError) and isinstance(exc.__cause__, Exception):
        return is_transient(exc.__cause__)
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") not in PERMANENT_AWS_ERRORS
    return isinstance(
        exc,
        IntakeConflictError | IdempotencyAlreadyInProgressError | PublishError | BotoCoreError | TimeoutError,
    )


def receive_count(record: Any) -> int:
    """How many times SQS has delivered this record (1 on the first receive)."""
    try:
        return int(record.attributes.approximate_receive_count)
    except (AttributeError, TypeError, ValueError):
        return 1


def invalid_json(exc: BaseException) -> Rejection:
    detail = "it is nested too deeply to read" if isinstance(exc, RecursionError) else str(exc)[:200]
    return Rejection(
        "invalid_json", f"The message body is not JSON intake can read ({detail}). Send the event as JSON."
    )


def failure_rejection(exc: BaseException, *, last_receive: bool) -> Rejection:
    """The archived reason for an event intake failed on (never the exception's AWS details)."""
    kind = type(exc).__name__
    if isinstance(exc, ClientError):
        kind = f"AWS error {exc.response.get('Error', {}).get('Code', 'unknown')}"
    if is_transient(exc):
        return Rejection(
            "intake_kept_failing",
            f"Intake failed on this event on every receive, the last with {kind}. AWS or a busy incident "
            "was the likely cause: redrive the event once the intake function's errors stop.",
        )
    return Rejection(
        "intake_error",
        f"Intake could not apply this event ({kind}); retrying would fail the same way. It is kept here "
        "with this reason: report it with the event attached, or correct the event and send it again.",
    )
