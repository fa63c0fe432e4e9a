"""Microsoft Teams incoming webhook (Workflows) with an Adaptive Card.

Envelope: ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <AdaptiveCard 1.4>}]}``. The card holds the
title (bold), the body (Teams markdown: ``*x*`` from the chat template becomes ``**x**``) and a
FactSet with the incident, update and severity. Teams answers ``200`` or ``202 Accepted``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from outage_comms.channels import http
from outage_comms.channels.base import Delivery, DeliveryResult
from outage_comms.channels.secrets import SecretCache, secret_field
from outage_comms.channels.slack import internal_locale
from outage_comms.vocabulary import Channel

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
_SLACK_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")


def teams_markdown(text: str) -> str:
    return _SLACK_BOLD.sub(r"**\1**", text)


def adaptive_card_message(
    fields: Mapping[str, str], *, incident_id: str, update_id: str, severity: str
) -> dict[str, Any]:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": fields.get("title", ""),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": teams_markdown(fields.get("body", "")), "wrap": True},
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Incident", "value": incident_id},
                    {"title": "Update", "value": update_id},
                    {"title": "Severity", "value": severity},
                ],
            },
        ],
    }
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }


class TeamsChannel:
    channel = Channel.TEAMS

    def __init__(
        self, *, secret_name: str, secrets: SecretCache, default_locale: str, timeout: float = 5.0
    ) -> None:
        self._secret_name = secret_name
        self._secrets = secrets
        self._default_locale = default_locale
        self._timeout = timeout

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        locale = internal_locale(delivery, self._default_locale)
        url = secret_field(self._secrets, self._secret_name, "url", "webhook_url")
        payload = adaptive_card_message(
            delivery.messages[locale],
            incident_id=delivery.incident_id,
            update_id=delivery.update_id,
            severity=delivery.severity,
        )
        http.post_json(url, payload, service="Teams webhook", timeout=self._timeout)
        return DeliveryResult(channel=self.channel.value, status="delivered", locales=[locale])
