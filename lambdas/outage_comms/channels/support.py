"""The support macro: the same approved words, formatted for agents, sent to a ticketing webhook.

The secret holds the helpdesk's inbound webhook: ``{"url": "https://…", "token": "…"}`` (the
token, if any, goes in ``Authorization: Bearer``) or just the URL. The body is signed like the
outbound webhook (``X-OutageComms-Signature``) so the helpdesk can check where it came from. One
macro per locale, tagged with the incident id so agents can find and bulk-answer tickets.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from outage_comms.channels import http
from outage_comms.channels.base import Delivery, DeliveryResult
from outage_comms.channels.catalog import settings_of
from outage_comms.channels.secrets import SecretCache
from outage_comms.channels.webhook import EVENT_ID_HEADER, SIGNATURE_HEADER, sign
from outage_comms.vocabulary import Channel

if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext


def support_macro(delivery: Delivery, locale: str) -> dict[str, Any]:
    fields = delivery.messages[locale]
    return {
        "type": "outage_comms.support_macro",
        "incident_id": delivery.incident_id,
        "update_id": delivery.update_id,
        "locale": locale,
        "severity": delivery.severity,
        "scenario": delivery.scenario,
        "components": list(delivery.components),
        "macro": {"title": fields.get("title", ""), "body": fields.get("body", "")},
        "tags": ["outage-comms", delivery.incident_id, delivery.severity],
    }


class SupportChannel:
    channel = Channel.SUPPORT

    def __init__(
        self,
        *,
        secret_name: str,
        secrets: SecretCache,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret_name = secret_name
        self._secrets = secrets
        self._timeout = timeout
        self._clock = clock

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        config = self._secrets.get_json(self._secret_name)
        url = str(config.get("url") or config.get("value") or "")
        token = str(config.get("token") or "")
        signing_key = str(config.get("signing_key") or token or url).encode("utf-8")
        for locale in delivery.messages:
            body = json.dumps(support_macro(delivery, locale), ensure_ascii=False).encode("utf-8")
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                EVENT_ID_HEADER: f"{delivery.incident_id}:{delivery.update_id}:{locale}",
                SIGNATURE_HEADER: sign(signing_key, body, int(self._clock())),
            }
            if token:
                headers["Authorization"] = f"Bearer {token}"
            http.request(
                "POST", url, service="ticketing webhook", body=body, headers=headers, timeout=self._timeout
            )
        return DeliveryResult(channel=self.channel.value, status="delivered", locales=list(delivery.messages))


def build(ctx: ChannelContext) -> SupportChannel:
    """The support desk's macro adapter (``registry`` spec ``support``)."""
    s = settings_of(ctx.plan, "support")
    return SupportChannel(secret_name=s.ticketing_webhook_secret, secrets=ctx.secrets)
