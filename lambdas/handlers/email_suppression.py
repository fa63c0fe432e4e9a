"""Bounce and complaint events from the SES configuration set (via SNS): stop mailing those addresses.

A permanent bounce or any complaint marks the subscriber ``suppressed`` and removes them from every
audience. Transient bounces (mailbox full) are left alone: SES retries them itself.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import MetricUnit, logger, metrics, tracer
from outage_comms.subscribers.store import SubscriberStore, subscriber_id


def addresses_to_suppress(notification: dict[str, Any]) -> list[str]:
    """The recipients an SES event-publishing notification says must not be mailed again."""
    kind = notification.get("eventType") or notification.get("notificationType")
    if kind == "Bounce":
        bounce = notification.get("bounce", {})
        if bounce.get("bounceType") != "Permanent":
            return []
        return [r["emailAddress"] for r in bounce.get("bouncedRecipients", []) if r.get("emailAddress")]
    if kind == "Complaint":
        complaint = notification.get("complaint", {})
        return [r["emailAddress"] for r in complaint.get("complainedRecipients", []) if r.get("emailAddress")]
    return []


def suppress(event: dict[str, Any], *, store: SubscriberStore) -> int:
    count = 0
    for record in event.get("Records", []):
        notification = json.loads(record["Sns"]["Message"])
        for address in addresses_to_suppress(notification):
            if store.deactivate(subscriber_id("email", address), "suppressed"):
                count += 1
    return count


@functools.cache
def _store() -> SubscriberStore:
    from outage_comms.channels.settings import channel_settings

    return SubscriberStore.named(channel_settings().subscribers_table)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    count = suppress(event, store=_store())
    metrics.add_metric(name="AddressesSuppressed", unit=MetricUnit.Count, value=count)
    return {"suppressed": count}
