"""Mastodon: ``POST /api/v1/statuses`` with a Bearer token, one public status per locale.

``Idempotency-Key`` is derived from the incident, update and locale, so a retried delivery
(Step Functions retries a timed-out call) never posts twice: Mastodon keeps keys for an hour and
answers a repeat with the original status. ``language`` is the ISO 639 code (``pt`` for pt-BR).
The token (scope ``write:statuses``) is the secret: a plain string or ``{"access_token": ...}``.
A status is measured as Mastodon measures it (every URL counts 23 characters, see
``outage_comms.social_text``): one that fits is sent whole, so its feedback links are never cut.
The words arrive made inert for Mastodon (``outage_comms.channel_markup``): a note's ``@user`` /
``@user@domain`` / ``#tag`` carry a word joiner after the sign, so the server notifies no one and
links no hashtag; web addresses keep their ``/@user`` and ``#fragment``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outage_comms.channels import http
from outage_comms.channels.base import Delivery, DeliveryResult
from outage_comms.channels.catalog import settings_of
from outage_comms.channels.secrets import SecretCache, secret_field
from outage_comms.plan import MastodonSettings
from outage_comms.social_text import MASTODON_MAX_CHARACTERS, mastodon_length
from outage_comms.vocabulary import Channel

if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext


MAX_CHARACTERS = MASTODON_MAX_CHARACTERS


def status_text(body: str) -> str:
    """The body whole when it fits Mastodon's count (URLs = 23), else cut as before (the guard stops that)."""
    return body if mastodon_length(body) <= MAX_CHARACTERS else body[:MAX_CHARACTERS]


def idempotency_key(delivery: Delivery, locale: str) -> str:
    return f"outage-comms:{delivery.incident_id}:{delivery.update_id}:{locale}"


class MastodonChannel:
    channel = Channel.MASTODON

    def __init__(self, *, settings: MastodonSettings, secrets: SecretCache, timeout: float = 5.0) -> None:
        self._settings = settings
        self._secrets = secrets
        self._timeout = timeout

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        token = secret_field(self._secrets, self._settings.access_token_secret, "access_token", "token")
        url = f"{self._settings.instance_url.rstrip('/')}/api/v1/statuses"
        ids = []
        for locale, fields in delivery.messages.items():
            response = http.post_json(
                url,
                {
                    "status": status_text(fields["body"]),
                    "visibility": "public",
                    "language": locale.split("-")[0],
                },
                service="Mastodon",
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": idempotency_key(delivery, locale),
                },
                timeout=self._timeout,
            )
            status = response.json() or {}
            ids.append(str(status.get("url") or status.get("id") or ""))
        return DeliveryResult(
            channel=self.channel.value, status="delivered", provider_ids=ids, locales=list(delivery.messages)
        )


def build(ctx: ChannelContext) -> MastodonChannel:
    """The Mastodon adapter (``registry`` spec ``mastodon``)."""
    return MastodonChannel(settings=settings_of(ctx.plan, "mastodon"), secrets=ctx.secrets)
