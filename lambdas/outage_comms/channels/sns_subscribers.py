"""The SNS subscribers channel: one message per locale on a topic subscribers filter by attributes.

Each message carries ``component`` (String.Array of the plan's component ids), ``locale``,
``severity``, ``scenario`` and ``incident_id``, so a subscription's filter policy can pick the
components and language it cares about, e.g. ``{"component": ["sync"], "locale": ["pt-BR"]}``.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from outage_comms.channels.base import (
    ChannelPermanentError,
    ChannelRetryableError,
    Delivery,
    DeliveryResult,
)
from outage_comms.vocabulary import Channel

_RETRYABLE_CODES = frozenset(
    {"Throttling", "ThrottlingException", "ThrottledException", "InternalError", "KMSThrottlingException"}
)


def translate_client_error(error: ClientError, what: str) -> Exception:
    """Typed channel error for an AWS ``ClientError``: throttling/internal -> retryable, else permanent."""
    code = error.response.get("Error", {}).get("Code", "")
    message = f"{what}: {code}: {error.response.get('Error', {}).get('Message', '')}"
    if code in _RETRYABLE_CODES or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return ChannelRetryableError(message)
    return ChannelPermanentError(message)


def message_attributes(delivery: Delivery, locale: str) -> dict[str, dict[str, str]]:
    return {
        "component": {"DataType": "String.Array", "StringValue": json.dumps(list(delivery.components))},
        "locale": {"DataType": "String", "StringValue": locale},
        "severity": {"DataType": "String", "StringValue": delivery.severity},
        "scenario": {"DataType": "String", "StringValue": delivery.scenario},
        "incident_id": {"DataType": "String", "StringValue": delivery.incident_id},
    }


class SnsSubscribersChannel:
    """Publishes each locale's ``subject`` and ``body`` with filterable message attributes."""

    channel = Channel.SNS

    def __init__(self, *, topic_arn: str, client: Any) -> None:
        self._topic_arn = topic_arn
        self._client = client

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        ids: list[str] = []
        for locale, fields in delivery.messages.items():
            try:
                response = self._client.publish(
                    TopicArn=self._topic_arn,
                    Subject=fields["subject"],
                    Message=fields["body"],
                    MessageAttributes=message_attributes(delivery, locale),
                )
            except ClientError as error:
                raise translate_client_error(error, f"SNS publish ({locale})") from None
            ids.append(str(response["MessageId"]))
        return DeliveryResult(
            channel=self.channel.value, status="delivered", provider_ids=ids, locales=list(delivery.messages)
        )
