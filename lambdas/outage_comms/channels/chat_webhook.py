"""What the internal chat channels (Slack, Teams) share: one incoming webhook, one message.

The webhook URL is the secret (Secrets Manager, a plain string or ``{"url": ...}``); the message is
in the plan's default language; :func:`outage_comms.channels.http.post_json` sends it and turns the
answer into the typed channel errors. Each channel only says how its message looks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from outage_comms.channels import http
from outage_comms.channels.base import Delivery, DeliveryResult
from outage_comms.channels.secrets import SecretCache, secret_field
from outage_comms.vocabulary import Channel


def internal_locale(delivery: Delivery, default_locale: str) -> str:
    """Internal channels speak the plan's default language (or the first one rendered)."""
    return default_locale if default_locale in delivery.messages else next(iter(delivery.messages))


class ChatWebhookChannel:
    channel: Channel
    #: Names the webhook in errors ("Slack webhook").
    service: ClassVar[str]

    def __init__(
        self, *, secret_name: str, secrets: SecretCache, default_locale: str, timeout: float = 5.0
    ) -> None:
        self._secret_name = secret_name
        self._secrets = secrets
        self._default_locale = default_locale
        self._timeout = timeout

    def message(
        self, fields: Mapping[str, str], *, incident_id: str, update_id: str, severity: str
    ) -> dict[str, Any]:
        raise NotImplementedError

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        locale = internal_locale(delivery, self._default_locale)
        url = secret_field(self._secrets, self._secret_name, "url", "webhook_url")
        payload = self.message(
            delivery.messages[locale],
            incident_id=delivery.incident_id,
            update_id=delivery.update_id,
            severity=delivery.severity,
        )
        http.post_json(url, payload, service=self.service, timeout=self._timeout)
        return DeliveryResult(channel=self.channel.value, status="delivered", locales=[locale])
