"""One batch of the bulk delivery Distributed Map: send to each recipient, rate-limited.

Input (ItemBatcher): ``{"Items": [{"id", "to", "locale"}, …], "BatchInput": {"channel",
"incident_id", "messages": {"bucket", "key"}, "rate_per_second"}}``. The words are read from S3
once per execution environment and update. Output: counts plus every failed recipient with its
reason, which the map's ResultWriter stores in S3 — nothing is silently dropped.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.channels.batch import send_each
from outage_comms.channels.catalog import ChannelContext
from outage_comms.channels.rate import TokenBucket
from outage_comms.channels.subscriber_channel import SubscriberChannel
from outage_comms.observability import MetricUnit, logger, metrics, tracer
from outage_comms.plan import plan_at
from outage_comms.subscribers.store import Member
from outage_comms.vocabulary import Channel


@functools.lru_cache(maxsize=8)
def _words(bucket: str, key: str) -> dict[str, Any]:
    from outage_comms.aws_clients import client

    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    data: dict[str, Any] = json.loads(body)
    return data


def send_batch(event: dict[str, Any], *, context: ChannelContext) -> dict[str, Any]:
    batch = event["BatchInput"]
    channel = Channel(batch["channel"])
    from outage_comms.channels.catalog import build

    adapter = build(channel, context)
    if not isinstance(adapter, SubscriberChannel):
        raise ValueError(f"channel '{channel.value}' is not sent in bulk")
    words = _words(batch["messages"]["bucket"], batch["messages"]["key"])
    sender = adapter.sender_for(words["messages"], words.get("html", {}), str(batch["incident_id"]))
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
    return outcome.as_dict()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from outage_comms.channels.settings import channel_settings

    settings = channel_settings()
    result = send_batch(event, context=ChannelContext(plan=plan_at(settings.plan_path), settings=settings))
    metrics.add_metric(name="BulkRecipientsSent", unit=MetricUnit.Count, value=result["sent"])
    metrics.add_metric(name="BulkRecipientsFailed", unit=MetricUnit.Count, value=len(result["failed"]))
    return result
