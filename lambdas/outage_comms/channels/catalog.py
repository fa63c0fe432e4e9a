"""Channel -> adapter, through the channel registry (``outage_comms.channel_specs.registry``).

    adapter = catalog.build(Channel.EMAIL, ChannelContext.from_environment(plan))

Each channel's spec names its adapter factory (``"outage_comms.channels.email:build"``); a factory reads
only what its channel needs, so a channel whose configuration is missing raises
``ChannelUnavailableError`` for that channel alone. Status surfaces have no adapter: the status site
publishes them; SNS and the team chat topic are the workflow's own (``workflow.adapters``).

A factory's module is imported by name when its channel is first built, never by an import statement
here: a function loads only the channels it delivers, and its Lambda asset ships only the channels its
plan enables (``lambda_asset`` reads :func:`adapter_modules`), so ``phonenumbers`` comes with SMS and
voice only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from outage_comms.channel_specs import registry
from outage_comms.channels.base import ChannelAdapter, ChannelUnavailableError
from outage_comms.channels.secrets import SecretCache, default_cache
from outage_comms.channels.settings import ChannelSettings, channel_settings
from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel


class _AdapterPaths(Mapping[Channel, str]):
    """Channel -> ``module`` or ``module:factory`` of its adapter, live from the registry."""

    def __init__(self, part: Callable[[str], str]) -> None:
        self._part = part

    def __getitem__(self, channel: Channel) -> str:
        path = registry.spec(channel).adapter if registry.is_registered(channel) else None
        if path is None:
            raise KeyError(channel)
        return self._part(path)

    def __iter__(self) -> Iterator[Channel]:
        return iter(registry.channels(where=lambda s: s.adapter is not None))

    def __len__(self) -> int:
        return len(registry.channels(where=lambda s: s.adapter is not None))


#: Channel -> the module that holds its adapter factory (read-only, from the registry).
ADAPTER_MODULES: Mapping[Channel, str] = _AdapterPaths(lambda path: path.partition(":")[0])
#: Channel -> ``module:factory`` (read-only, from the registry): the channels :func:`build` can build.
FACTORIES: Mapping[Channel, str] = _AdapterPaths(lambda path: path)


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


def settings_of(plan: Plan, channel: str) -> Any:
    """The plan's settings of an enabled channel; ``ChannelUnavailableError`` when it is off or absent."""
    settings = getattr(plan.channels, str(channel), None)
    if not is_enabled(plan, Channel(channel)):
        raise ChannelUnavailableError(f"channel '{channel}' is not enabled in the plan")
    return settings


def build(channel: Channel, ctx: ChannelContext) -> ChannelAdapter:
    """The adapter for ``channel``; ChannelUnavailableError if it is not one of ours or not configured."""
    factory = registry.adapter_factory(channel) if registry.is_registered(channel) else None
    if factory is None:
        raise ChannelUnavailableError(f"channel '{channel}' has no adapter in its registry spec")
    adapter: ChannelAdapter = factory(ctx)
    return adapter
