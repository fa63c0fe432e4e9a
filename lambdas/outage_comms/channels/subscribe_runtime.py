"""The subscribe API's and senders' dependencies, created once per execution environment."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from outage_comms.channels.confirmations import ConfirmationMessages
from outage_comms.channels.secrets import default_cache
from outage_comms.channels.settings import ChannelSettings, channel_settings
from outage_comms.plan import Plan, plan_at
from outage_comms.subscribers.limits import RateLimiter
from outage_comms.subscribers.service import SubscriptionService
from outage_comms.subscribers.store import SubscriberStore
from outage_comms.subscribers.tokens import TokenSigner


@dataclass(frozen=True)
class SubscriptionRuntime:
    plan: Plan
    settings: ChannelSettings
    service: SubscriptionService


@functools.cache
def subscription_runtime() -> SubscriptionRuntime:
    from outage_comms.aws_clients import client

    settings = channel_settings()
    plan = plan_at(settings.plan_path)
    key = default_cache().get(settings.token_secret_name).encode("utf-8")
    service = SubscriptionService(
        plan=plan,
        store=SubscriberStore.named(settings.subscribers_table),
        limiter=RateLimiter.named(settings.limits_table),
        signer=TokenSigner(key),
        code_key=key,
        sender=ConfirmationMessages(
            plan=plan,
            ses=client("sesv2") if plan.channels.email else None,
            sms=client("pinpoint-sms-voice-v2") if plan.channels.sms else None,
            push=client("pinpoint") if plan.channels.push and settings.push_application_id else None,
            push_application_id=settings.push_application_id,
        ),
        confirm_url_base=settings.confirm_url,
    )
    return SubscriptionRuntime(plan=plan, settings=settings, service=service)
