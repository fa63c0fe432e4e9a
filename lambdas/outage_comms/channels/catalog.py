"""Channel -> adapter factory for the customer, social and support channels (issue 7).

For the lead to merge into the dispatcher beside ``sns_subscribers`` and ``internal_chat``::

    adapter = catalog.build(Channel.EMAIL, ChannelContext.from_environment(plan))

Every factory reads only what its channel needs, so a channel whose configuration is missing
raises ``ChannelUnavailableError`` for that channel alone. ``in_app`` is deliberately absent: the
banner is published by the status site (issue 5); no adapter here writes outside it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from outage_comms.channels.base import ChannelAdapter, ChannelUnavailableError
from outage_comms.channels.secrets import SecretCache, default_cache
from outage_comms.channels.settings import ChannelSettings, channel_settings
from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel


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
    if settings is None or not settings.enabled:
        raise ChannelUnavailableError(f"channel '{channel.value}' is not enabled in the plan")
    return settings


def _email(ctx: ChannelContext) -> ChannelAdapter:
    from outage_comms.channels.email import EmailChannel

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
    from outage_comms.channels.sms import SmsChannel

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
    from outage_comms.channels.voice import VoiceChannel

    _settings_of(ctx.plan, Channel.VOICE)
    return VoiceChannel(
        plan=ctx.plan,
        client=ctx.clients("pinpoint-sms-voice-v2"),
        audience=ctx.audience,
        inline_limit=10_000,  # the critical audience is small: never bulk
        rate_per_second=1.0,
    )


def _push(ctx: ChannelContext) -> ChannelAdapter:
    from outage_comms.channels.push import PushChannel

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
    from outage_comms.channels.slack import SlackChannel

    s = _settings_of(ctx.plan, Channel.SLACK)
    return SlackChannel(
        secret_name=s.webhook_url_secret, secrets=ctx.secrets, default_locale=ctx.plan.default_locale
    )


def _teams(ctx: ChannelContext) -> ChannelAdapter:
    from outage_comms.channels.teams import TeamsChannel

    s = _settings_of(ctx.plan, Channel.TEAMS)
    return TeamsChannel(
        secret_name=s.webhook_url_secret, secrets=ctx.secrets, default_locale=ctx.plan.default_locale
    )


def _mastodon(ctx: ChannelContext) -> ChannelAdapter:
    from outage_comms.channels.mastodon import MastodonChannel

    return MastodonChannel(settings=_settings_of(ctx.plan, Channel.MASTODON), secrets=ctx.secrets)


def _bluesky(ctx: ChannelContext) -> ChannelAdapter:
    from outage_comms.channels.bluesky import BlueskyChannel

    return BlueskyChannel(settings=_settings_of(ctx.plan, Channel.BLUESKY), secrets=ctx.secrets)


def _webhook(ctx: ChannelContext) -> ChannelAdapter:
    from outage_comms.channels.webhook import WebhookChannel

    s = _settings_of(ctx.plan, Channel.WEBHOOK)
    return WebhookChannel(plan=ctx.plan, url=s.url, secret_name=s.signing_secret, secrets=ctx.secrets)


def _support(ctx: ChannelContext) -> ChannelAdapter:
    from outage_comms.channels.support import SupportChannel

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
