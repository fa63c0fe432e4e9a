"""A drill's adapters, by target kind: the drill audience, the drill topic, the drill secrets, the team."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from outage_comms.channels import registry
from outage_comms.channels.base import ChannelAdapter, ChannelUnavailableError
from outage_comms.drill_mode.reach import AUDIENCE, INTERNAL, NO_DRILL_TARGET, SECRET, TOPIC
from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel

if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext
    from outage_comms.subscribers.store import Member

AdapterFactory = Callable[[Channel], ChannelAdapter | None]


class DrillAudience:
    """A member source that yields only confirmed subscribers of the drill audience, on any component."""

    def __init__(self, inner: Any, plan: Plan) -> None:
        self._inner = inner
        self._components = [c.id for c in plan.components]
        self._audience = plan.drill.audience

    def members(
        self, components: Sequence[str], locales: Sequence[str], channel: str, audiences: Sequence[str] = ()
    ) -> Iterator[Member]:
        for member in self._inner.members(self._components, locales, channel, [self._audience]):
            if self._audience in member.audiences:  # the resolver filters too; a drill never trusts one check
                yield member


def redirect_subscribers(adapter: ChannelAdapter | None, plan: Plan) -> ChannelAdapter | None:
    """A copy of a subscriber channel adapter that reaches only the drill audience (None if it cannot)."""
    from outage_comms.channels.subscriber_channel import SubscriberChannel

    if not isinstance(adapter, SubscriberChannel):
        return None
    redirected = copy.copy(adapter)
    redirected.audience = DrillAudience(adapter.audience, plan)
    return redirected


def drill_web_plan(plan: Plan, channel: Channel, secret: Callable[[str], dict[str, Any]]) -> Plan | None:
    """The plan as a drill sees one web channel: its secret (and target) replaced by the drill's.

    ``secret(name)`` reads a JSON secret. Bluesky's drill secret must name the test ``handle`` and the
    webhook's the test ``url`` (else the drill would post as the real account or to the real
    receiver); Mastodon's may name another ``instance_url`` (its token already picks the account).
    None when the plan names no drill secret for the channel.
    """
    name = plan.drill.webhook_secrets.get(channel)
    settings = getattr(plan.channels, channel.value, None)
    drill = registry.spec(channel).drill if registry.is_registered(channel) else None
    if name is None or settings is None or drill is None or drill.secret_field is None:
        return None
    if name == getattr(settings, drill.secret_field):
        raise ChannelUnavailableError(
            f"{NO_DRILL_TARGET}: drill.webhook_secrets.{channel.value} is the real channel's secret; name "
            "a secret that holds the test target"
        )
    changes: dict[str, Any] = {drill.secret_field: name}
    values = secret(name) if drill.target_fields else {}  # read only where the secret names a target
    for target in drill.target_fields:
        changes.update(_drill_target(values, name, channel, settings, target))
    drilled = settings.model_copy(update=changes)
    return plan.model_copy(update={"channels": plan.channels.model_copy(update={channel.value: drilled})})


def _drill_target(
    values: Mapping[str, Any], name: str, channel: Channel, settings: Any, target: tuple[str, str, bool]
) -> dict[str, Any]:
    """What a drill secret's target fields replace (refused when a required one is missing or real)."""
    secret_key, settings_key, required = target
    value = values.get(secret_key)
    if isinstance(value, str) and value.strip():
        if value.strip() == str(getattr(settings, settings_key)) and required:
            raise ChannelUnavailableError(
                f"{NO_DRILL_TARGET}: the drill secret '{name}' names the real {settings_key}; give the "
                "test account's"
            )
        return {settings_key: value.strip()}
    if required:
        raise ChannelUnavailableError(
            f"{NO_DRILL_TARGET}: the drill secret '{name}' has no '{secret_key}' (the test "
            f"{channel.value} target); add it"
        )
    return {}


def drill_web_adapter(channel: Channel, plan: Plan, context: ChannelContext) -> ChannelAdapter | None:
    """A web channel's adapter built on its drill secret (None: the plan names none)."""
    from outage_comms.channels import catalog

    drilled = drill_web_plan(plan, channel, context.secrets.get_json)
    return None if drilled is None else catalog.build(channel, replace(context, plan=drilled))


def drill_adapters(
    *,
    plan: Plan,
    real: AdapterFactory,
    context: Callable[[], ChannelContext],
    drill_topic: Callable[[], ChannelAdapter | None],
) -> dict[str, AdapterFactory]:
    """The adapter factory of each drill target kind (``"none"`` has none: the channel is skipped).

    ``real`` builds the real adapter (only used where the drill redirects it: subscriber channels and
    the team's own chat); ``drill_topic`` builds the SNS adapter for the drill topic (None if none).
    """
    return {
        INTERNAL: real,
        TOPIC: lambda _channel: drill_topic(),
        AUDIENCE: lambda channel: redirect_subscribers(real(channel), plan),
        SECRET: lambda channel: drill_web_adapter(channel, plan, context()),
    }
