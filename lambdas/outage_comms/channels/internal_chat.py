"""Internal chat through Amazon Q Developer in chat applications (AWS Chatbot) custom notifications.

A custom notification is JSON published on an SNS topic that a Chatbot channel configuration
subscribes to::

    {"version": "1.0", "source": "custom",
     "content": {"textType": "client-markdown", "title": ..., "description": ...,
                 "nextSteps": [...], "keywords": [...]},
     "metadata": {"threadId": ..., ...}}

Messages about one incident share ``threadId`` (the incident id) so they land in one thread.
The words arrive made inert for Chatbot (``outage_comms.channel_markup``: no ``<!channel>``,
``@here`` or Markdown link from a note), and with any credential removed (the guard's redaction).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from outage_comms.channels.base import Delivery, DeliveryResult
from outage_comms.channels.sns_subscribers import translate_client_error
from outage_comms.vocabulary import Channel

#: Chatbot shows at most this much of a description; longer text is cut with a marker.
MAX_DESCRIPTION = 3000


def custom_notification(
    *,
    title: str,
    description: str,
    thread_id: str,
    next_steps: Sequence[str] = (),
    keywords: Sequence[str] = (),
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Chatbot custom notification document (schema version 1.0)."""
    if len(description) > MAX_DESCRIPTION:
        description = description[: MAX_DESCRIPTION - 1] + "…"
    return {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": title[:250],
            "description": description,
            "nextSteps": list(next_steps),
            "keywords": list(keywords),
        },
        "metadata": {"threadId": thread_id, **(metadata or {})},
    }


class InternalChatChannel:
    """Posts custom notifications to the topic the team's Chatbot channel configuration subscribes to."""

    channel = Channel.CHATBOT

    def __init__(self, *, topic_arn: str, client: Any) -> None:
        self._topic_arn = topic_arn
        self._client = client

    def notify(self, document: dict[str, Any]) -> str:
        """Publish one custom notification; return the SNS message id."""
        try:
            response = self._client.publish(TopicArn=self._topic_arn, Message=json.dumps(document))
        except ClientError as error:
            raise translate_client_error(error, "Chatbot notification") from None
        return str(response["MessageId"])

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        ids = []
        for locale, fields in delivery.messages.items():
            document = custom_notification(
                title=fields.get("title", delivery.scenario),
                description=fields.get("body", ""),
                thread_id=delivery.incident_id,
                keywords=[delivery.severity, delivery.scenario, locale],
                metadata={"incidentId": delivery.incident_id, "updateId": delivery.update_id},
            )
            ids.append(self.notify(document))
        return DeliveryResult(
            channel=self.channel.value, status="delivered", provider_ids=ids, locales=list(delivery.messages)
        )
