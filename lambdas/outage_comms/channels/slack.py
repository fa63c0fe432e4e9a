"""Slack incoming webhook with Block Kit: the path to the team's chat that does not depend on AWS.

Payload: a top-level ``text`` (the notification and screen-reader fallback) and ``blocks``: a
``header`` (plain_text, at most 150 characters), a ``section`` with the ``mrkdwn`` body (at most
3000 characters) and a ``context`` line naming the incident and update. The webhook URL is the
secret (Secrets Manager, a plain string or ``{"url": ...}``). Slack answers ``200 ok``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from outage_comms.channels import http
from outage_comms.channels.base import Delivery, DeliveryResult
from outage_comms.channels.secrets import SecretCache, secret_field
from outage_comms.vocabulary import Channel

HEADER_MAX = 150
SECTION_MAX = 3000


def internal_locale(delivery: Delivery, default_locale: str) -> str:
    """Internal channels speak the plan's default language (or the first one rendered)."""
    return default_locale if default_locale in delivery.messages else next(iter(delivery.messages))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def block_kit_message(
    fields: Mapping[str, str], *, incident_id: str, update_id: str, severity: str
) -> dict[str, Any]:
    title = fields.get("title", "")
    body = fields.get("body", "")
    return {
        "text": _cut(f"{title}\n{body}", 3000),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": _cut(title, HEADER_MAX), "emoji": False},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(body, SECTION_MAX)}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Incident `{incident_id}` · update `{update_id}` · {severity}",
                    }
                ],
            },
        ],
    }


class SlackChannel:
    channel = Channel.SLACK

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
        payload = block_kit_message(
            delivery.messages[locale],
            incident_id=delivery.incident_id,
            update_id=delivery.update_id,
            severity=delivery.severity,
        )
        http.post_json(url, payload, service="Slack webhook", timeout=self._timeout)
        return DeliveryResult(channel=self.channel.value, status="delivered", locales=[locale])
