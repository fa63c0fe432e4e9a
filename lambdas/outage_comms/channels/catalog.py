"""Channel -> adapter factory for the customer, social and support channels (issue 7).

For the lead to merge into the dispatcher beside ``sns_subscribers`` and ``internal_chat``::

    adapter = catalog.build(Channel.EMAIL, ChannelContext.from_environment(plan))

Every factory reads only what its channel needs, so a channel whose configuration is missing
raises ``ChannelUnavailableError`` for that channel alone. ``in_app`` is deliberately absent: the
banner is published by the status site (issue 5); no adapter here writes outside it.

Each adapter's module is imported by name (:data:`ADAPTER_MODULES`) when its channel is first built, never
by an import statement here: a function loads only the channels it delivers, and its Lambda asset ships
only the channels its plan enables (``lambda_asset`` reads :func:`adapter_modules`), so ``phonenumbers``
comes with SMS and voice only.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from outage_comms.channels.base import ChannelAdapter, ChannelUnavailableError
from outage_comms.channels.secrets import SecretCache, default_cache
from outage_comms.channels.settings import ChannelSettings, channel_settings
from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel

#: Channel -> the module that holds its adapter class (imported where that channel is first built).
ADAPTER_MODULES: dict[Channel, str] = {
    Channel.EMAIL: "outage_comms.channels.email",
    Channel.SMS: "outage_comms.channels.sms",
    Channel.VOICE: "outage_comms.channels.voice",
    Channel.PUSH: "outage_comms.channels.push",
    Channel.SLACK: "outage_comms.channels.slack",
    Channel.TEAMS: "outage_comms.channels.teams",
    Channel.MASTODON: "outage_comms.channels.mastodon",
    Channel.BLUESKY: "outage_comms.channels.bluesky",
    Channel.WEBHOOK: "outage_comms.channels.webhook",
    Channel.SUPPORT: "outage_comms.channels.support",
}


def _adapter_class(channel: Channel, name: str) -> Callable[..., ChannelAdapter]:
    adapter: Callable[..., ChannelAdapter] = getattr(importlib.import_module(ADAPTER_MODULES[channel]), name)
    return adapter


def is_enabled(plan: Plan, channel: Channel) -> bool:
    """True when the plan configures ``channel`` and does not switch it off."""
    settings = getattr(plan.channels, channel.value, None)
    return settings is not None and bool(getattr(settings, "enabled", True))


def adapter_modules(plan: Plan | None = None) -> list[str]:
    """The adapter modules a function may import through :func:`build`: the plan's enabled channels'
    (every channel's without a plan). The Lambda asset ships these and no other channel."""
    return sorted(
        module for channel, module in ADAPTER_MODULES.items() if plan is None or is_enabled(plan, channel)
    )


def _client(service: str) -> Any:
    from outage_comms.aws_clients import client

    return client(service)


@dataclass
class ChannelContext:
    """What the factories build adapters from; tests pass their own clients and caches."""

    plan: Plan
    settings: ChannelSettings
    secrets: SecretCache = field(default_factory=default_cache)
    clients: Callable[[str], Any] = _client

    @classmethod
    def from_environment(cls, plan: Plan) -> ChannelContext:
        return cls(plan=plan, settings=channel_settings())

    @functools.cached_property
    def store(self) -> Any:
        from outage_comms.subscribers.store import SubscriberStore

        if not self.settings.subscribers_table:
            raise ChannelUnavailableError("SUBSCRIBERS_TABLE is not set: deploy the channels stack")
        return SubscriberStore.named(self.settings.subscribers_table)

    @functools.cached_property
    def audience(self) -> Any:
        from outage_comms.subscribers.audiences import AudienceResolver

        return AudienceResolver(self.store)

    @functools.cached_property
    def signer(self) -> Any:
        from outage_comms.subscribers.tokens import TokenSigner

        if not self.settings.token_secret_name:
            raise ChannelUnavailableError(
                "SUBSCRIBER_TOKEN_SECRET_NAME is not set: deploy the channels stack"
            )
        return TokenSigner(self.secrets.get(self.settings.token_secret_name).encode("utf-8"))

    @functools.cached_property
    def bulk(self) -> Any:
        from outage_comms.channels.bulk import BulkHandoff

        if not (self.settings.bulk_bucket and self.settings.bulk_state_machine_arn):
            return None
        return BulkHandoff(
            s3=self.clients("s3"),
            sfn=self.clients("stepfunctions"),
            bucket=self.settings.bulk_bucket,
            state_machine_arn=self.settings.bulk_state_machine_arn,
            feedback_table=self.settings.feedback_table,
        )

    def mark(self, status: str) -> Callable[[str], None]:
        return lambda sid: self.store.deactivate(sid, status)


def _settings_of(plan: Plan, channel: Channel) -> Any:
    settings = getattr(plan.channels, channel.value)
    if not is_enabled(plan, channel):
        raise ChannelUnavailableError(f"channel '{channel.value}' is not enabled in the plan")
    return settings


def _email(ctx: ChannelContext) -> ChannelAdapter:
    EmailChannel = _adapter_class(Channel.EMAIL, "EmailChannel")

    _settings_of(ctx.plan, Channel.EMAIL)
    return EmailChannel(
        plan=ctx.plan,
        client=ctx.clients("sesv2"),
        signer=ctx.signer,
        unsubscribe_base=ctx.settings.unsubscribe_url,
        audience=ctx.audience,
        bulk=ctx.bulk,
        inline_limit=ctx.settings.inline_limit,
        rate_per_second=ctx.settings.email_rate_per_second,
    )


def _sms(ctx: ChannelContext) -> ChannelAdapter:
    SmsChannel = _adapter_class(Channel.SMS, "SmsChannel")

    _settings_of(ctx.plan, Channel.SMS)
    return SmsChannel(
        plan=ctx.plan,
        client=ctx.clients("pinpoint-sms-voice-v2"),
        on_opted_out=ctx.mark("opted_out"),
        sent_log=_sent_sms_log(ctx),
        audience=ctx.audience,
        bulk=ctx.bulk,
        inline_limit=ctx.settings.inline_limit,
        rate_per_second=ctx.settings.sms_parts_per_second,
    )


def _sent_sms_log(ctx: ChannelContext) -> Any:
    """Where SMS that ask "Reply YES or NO" are remembered; None without the plan's sms_replies or table."""
    if not (ctx.plan.feedback.enabled and ctx.plan.feedback.sms_replies and ctx.settings.feedback_table):
        return None
    from outage_comms.feedback.replies import SentSmsLog

    return SentSmsLog(table_name=ctx.settings.feedback_table, client=ctx.clients("dynamodb"))


def _voice(ctx: ChannelContext) -> ChannelAdapter:
    VoiceChannel = _adapter_class(Channel.VOICE, "VoiceChannel")

    _settings_of(ctx.plan, Channel.VOICE)
    return VoiceChannel(
        plan=ctx.plan,
        client=ctx.clients("pinpoint-sms-voice-v2"),
        audience=ctx.audience,
        inline_limit=10_000,  # the critical audience is small: never bulk
        rate_per_second=1.0,
    )


def _push(ctx: ChannelContext) -> ChannelAdapter:
    PushChannel = _adapter_class(Channel.PUSH, "PushChannel")

    _settings_of(ctx.plan, Channel.PUSH)
    if not ctx.settings.push_application_id:
        raise ChannelUnavailableError(
            "PUSH_APPLICATION_ID is not set: deploy the channels stack with push on"
        )
    return PushChannel(
        plan=ctx.plan,
        client=ctx.clients("pinpoint"),
        application_id=ctx.settings.push_application_id,
        on_invalid_token=ctx.mark("suppressed"),
        audience=ctx.audience,
    )


def _slack(ctx: ChannelContext) -> ChannelAdapter:
    SlackChannel = _adapter_class(Channel.SLACK, "SlackChannel")

    s = _settings_of(ctx.plan, Channel.SLACK)
    return SlackChannel(
        secret_name=s.webhook_url_secret, secrets=ctx.secrets, default_locale=ctx.plan.default_locale
    )


def _teams(ctx: ChannelContext) -> ChannelAdapter:
    TeamsChannel = _adapter_class(Channel.TEAMS, "TeamsChannel")

    s = _settings_of(ctx.plan, Channel.TEAMS)
    return TeamsChannel(
        secret_name=s.webhook_url_secret, secrets=ctx.secrets, default_locale=ctx.plan.default_locale
    )


def _mastodon(ctx: ChannelContext) -> ChannelAdapter:
    MastodonChannel = _adapter_class(Channel.MASTODON, "MastodonChannel")

    return MastodonChannel(settings=_settings_of(ctx.plan, Channel.MASTODON), secrets=ctx.secrets)


def _bluesky(ctx: ChannelContext) -> ChannelAdapter:
    BlueskyChannel = _adapter_class(Channel.BLUESKY, "BlueskyChannel")

    return BlueskyChannel(settings=_settings_of(ctx.plan, Channel.BLUESKY), secrets=ctx.secrets)


def _webhook(ctx: ChannelContext) -> ChannelAdapter:
    WebhookChannel = _adapter_class(Channel.WEBHOOK, "WebhookChannel")

    s = _settings_of(ctx.plan, Channel.WEBHOOK)
    return WebhookChannel(plan=ctx.plan, url=s.url, secret_name=s.signing_secret, secrets=ctx.secrets)


def _support(ctx: ChannelContext) -> ChannelAdapter:
    SupportChannel = _adapter_class(Channel.SUPPORT, "SupportChannel")

    s = _settings_of(ctx.plan, Channel.SUPPORT)
    return SupportChannel(secret_name=s.ticketing_webhook_secret, secrets=ctx.secrets)


FACTORIES: dict[Channel, Callable[[ChannelContext], ChannelAdapter]] = {
    Channel.EMAIL: _email,
    Channel.SMS: _sms,
    Channel.VOICE: _voice,
    Channel.PUSH: _push,
    Channel.SLACK: _slack,
    Channel.TEAMS: _teams,
    Channel.MASTODON: _mastodon,
    Channel.BLUESKY: _bluesky,
    Channel.WEBHOOK: _webhook,
    Channel.SUPPORT: _support,
}


def build(channel: Channel, ctx: ChannelContext) -> ChannelAdapter:
    """The adapter for ``channel``; ChannelUnavailableError if it is not one of ours or not configured."""
    factory = FACTORIES.get(channel)
    if factory is None:
        raise ChannelUnavailableError(f"channel '{channel.value}' has no adapter in channels.catalog")
    return factory(ctx)
