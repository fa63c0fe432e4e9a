"""SMS replies to "Helpful? Reply YES or NO" (End User Messaging two-way SMS -> SNS -> here).

Thin: each SNS record's message goes to :class:`~outage_comms.feedback.replies.SmsReplyService`.
Input that does not count (malformed payload, not YES/NO, unknown or expired message, second reply
from the same phone) is logged and counted as ``FeedbackRefused`` (dimension ``reason``), never
raised: one bad record must not make SNS retry the others. ``FeedbackVotes`` (``vote``,
``channel=sms``) for each counted answer, as for the links.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.feedback.replies import ReplyOutcome, SmsReplyService
from outage_comms.observability import MetricUnit, logger, metrics, tracer


def _count(name: str, **dimensions: str) -> None:
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        for dimension, value in dimensions.items():
            metric.add_dimension(name=dimension, value=value)


def _observe(outcome: ReplyOutcome) -> None:
    if outcome.counted:
        vote, channel = outcome.counted
        _count("FeedbackVotes", vote=vote, channel=channel)
    if outcome.refused:
        _count("FeedbackRefused", reason=outcome.refused)
    # never the phone number or the text: only what happened
    logger.info("sms reply", extra={"counted": outcome.counted, "refused": outcome.refused})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(
    event: dict[str, Any], context: LambdaContext, service: SmsReplyService | None = None
) -> dict[str, Any]:
    from outage_comms.feedback.runtime import sms_reply_service

    service = service or sms_reply_service()
    counted = refused = 0
    records = event.get("Records") if isinstance(event, dict) else None
    for record in records if isinstance(records, list) else []:
        sns = record.get("Sns") if isinstance(record, dict) else None
        message = sns.get("Message") if isinstance(sns, dict) else None
        outcome = service.handle(message if isinstance(message, str) else "")
        _observe(outcome)
        counted += outcome.counted is not None
        refused += outcome.refused is not None
    return {"counted": counted, "refused": refused}
