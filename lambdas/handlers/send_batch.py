"""One batch of the bulk delivery Distributed Map: send to each recipient, rate-limited.

Input (ItemBatcher): ``{"Items": [{"id", "to", "locale"}, …], "BatchInput": {"channel",
"incident_id", "messages": {"bucket", "key"}, "rate_per_second"}}``. The words are read from S3
once per execution environment and update. Output: counts plus every failed recipient with its
reason, which the map's ResultWriter stores in S3 — nothing is silently dropped. SMS that ask
"Reply YES or NO" are remembered in the feedback table named in the words file (``feedback_table``).
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import MetricUnit, logger, metrics, tracer

# The channels' code (and the SDK under it) loads on the first batch (see outage_comms.observability).
if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext
    from outage_comms.channels.subscriber_channel import SubscriberChannel


@functools.lru_cache(maxsize=8)
def _words(bucket: str, key: str) -> dict[str, Any]:
    from outage_comms.aws_clients import client

    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    data: dict[str, Any] = json.loads(body)
    return data


def _remember_replies(adapter: SubscriberChannel, table: str, context: ChannelContext) -> None:
    """SMS that ask "Reply YES or NO" are remembered in the table the deliver step named (see bulk.py)."""
    from outage_comms.channels.sms import SmsChannel

    if table and isinstance(adapter, SmsChannel) and adapter.sent_log is None:
        from outage_comms.feedback.replies import SentSmsLog

        adapter.sent_log = SentSmsLog(table_name=table, client=context.clients("dynamodb"))


def send_batch(event: dict[str, Any], *, context: ChannelContext) -> dict[str, Any]:
    from outage_comms.channels.batch import send_each
    from outage_comms.channels.catalog import build
    from outage_comms.channels.rate import TokenBucket
    from outage_comms.channels.subscriber_channel import SubscriberChannel, finish
    from outage_comms.subscribers.store import Member
    from outage_comms.vocabulary import Channel

    batch = event["BatchInput"]
    channel = Channel(batch["channel"])

    words = _words(batch["messages"]["bucket"], batch["messages"]["key"])
    adapter = build(channel, context)
    if not isinstance(adapter, SubscriberChannel):
        raise ValueError(f"channel '{channel.value}' is not sent in bulk")
    _remember_replies(adapter, str(words.get("feedback_table", "")), context)
    sender = adapter.update_sender(
        words["messages"], words.get("html", {}), str(batch["incident_id"]), str(batch.get("update_id", ""))
    )
    members = [
        Member(
            id=str(i["id"]),
            channel=channel.value,
            address=str(i["to"]),
            locale=str(i["locale"]),
            platform=str(i.get("platform", "")),
        )
        for i in event["Items"]
    ]
    outcome = send_each(
        members,
        sender.send,
        recipient_id=lambda m: m.id,
        bucket=TokenBucket(float(batch["rate_per_second"])),
        cost=sender.cost,
    )
    finish(sender)
    return outcome.as_dict()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from outage_comms.channels.catalog import ChannelContext
    from outage_comms.channels.settings import channel_settings
    from outage_comms.plan import plan_at

    settings = channel_settings()
    result = send_batch(event, context=ChannelContext(plan=plan_at(settings.plan_path), settings=settings))
    metrics.add_metric(name="BulkRecipientsSent", unit=MetricUnit.Count, value=result["sent"])
    metrics.add_metric(name="BulkRecipientsFailed", unit=MetricUnit.Count, value=len(result["failed"]))
    return result
