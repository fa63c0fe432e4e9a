"""The channel registry: every channel's :class:`ChannelSpec`, and the tables the product derives from them.

Each channel declares one spec in a light module (``outage_comms/channel_specs/builtin/<name>.py`` for the
built-in ones); this module registers the built-in specs when first imported, and anyone may
:func:`register` another (a channel shipped outside the product, or a test's). Everything that used to
keep its own list of channels asks here by channel name::

    from outage_comms.channel_specs import registry

    registry.spec("slack").reach            # "team"
    registry.channels(reach="team")         # (Channel.CHATBOT, Channel.SLACK, Channel.TEAMS)
    registry.adapter_factory("email")       # the email adapter's factory, imported now

Cheap to import: no boto3, no adapter, no phonenumbers, no CDK. Code named by a spec (adapter factory,
plan settings model, CDK wiring, guard rule) is imported by :func:`resolve` only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Set
from typing import Any

from outage_comms.channel_specs.builtin import BUILT_IN
from outage_comms.channel_specs.spec import ChannelSpec, DrillKind, DrillSpec, LocalTarget, Reach
from outage_comms.vocabulary import Channel, MessageFormat

__all__ = [
    "Channel",
    "ChannelSet",
    "ChannelSpec",
    "DrillKind",
    "DrillSpec",
    "LocalTarget",
    "Reach",
    "adapter_factory",
    "adapter_module",
    "cdk_hook",
    "channels",
    "feedback_codes",
    "is_registered",
    "register",
    "resolve",
    "settings_model",
    "spec",
    "specs",
    "unregister",
]

_SPECS: dict[str, ChannelSpec] = {}


def register(channel_spec: ChannelSpec) -> ChannelSpec:
    """Add a channel. Its name becomes a :class:`Channel` (the plan accepts ``channels.<name>``).

    Raises ``ValueError`` for a name already registered or a feedback code already taken (codes are in
    links already sent: they are never reused).
    """
    if channel_spec.name in _SPECS:
        raise ValueError(f"channel '{channel_spec.name}' is already registered")
    code = channel_spec.feedback_code
    taken = next((s.name for s in _SPECS.values() if code is not None and s.feedback_code == code), None)
    if taken is not None:
        raise ValueError(f"channel '{channel_spec.name}': feedback_code {code} is '{taken}''s")
    _SPECS[channel_spec.name] = channel_spec
    Channel.admit(channel_spec.name, channel_spec.format)
    return channel_spec


def unregister(name: str) -> None:
    """Remove a channel registered by :func:`register` (tests clean up the channels they add)."""
    _SPECS.pop(str(name), None)
    Channel.withdraw(str(name))


def is_registered(name: str) -> bool:
    return str(name) in _SPECS


def spec(name: str) -> ChannelSpec:
    """The spec of channel ``name``; ``ValueError`` naming the registered channels if there is none."""
    found = _SPECS.get(str(name))
    if found is None:
        raise ValueError(f"no channel '{name}' is registered; registered: {', '.join(_SPECS)}")
    return found


def specs() -> tuple[ChannelSpec, ...]:
    """Every registered spec, in registration order (built-in channels first)."""
    return tuple(_SPECS.values())


def channels(
    *,
    reach: Reach | None = None,
    drill: DrillKind | None = None,
    format: MessageFormat | None = None,
    where: Callable[[ChannelSpec], bool] | None = None,
) -> tuple[Channel, ...]:
    """The registered channels matching every filter given, in registration order."""
    return tuple(
        Channel(s.name)
        for s in _SPECS.values()
        if (reach is None or s.reach == reach)
        and (drill is None or s.drill.kind == drill)
        and (format is None or s.format is format)
        and (where is None or where(s))
    )


class ChannelSet(Set[Channel]):
    """A live set of channels matching a spec predicate: it sees channels registered after it was made.

    For module-level names that used to be frozensets (``WEB_CHANNELS``); set operators return frozensets.
    """

    def __init__(self, where: Callable[[ChannelSpec], bool], description: str = "") -> None:
        self._where = where
        self.description = description

    def __contains__(self, value: object) -> bool:
        found = _SPECS.get(str(value)) if isinstance(value, str) else None
        return found is not None and self._where(found)

    def __iter__(self) -> Iterator[Channel]:
        return iter(channels(where=self._where))

    def __len__(self) -> int:
        return len(channels(where=self._where))

    @classmethod
    def _from_iterable(cls, it: Any) -> frozenset[Channel]:  # type: ignore[override]
        return frozenset(it)

    def __repr__(self) -> str:
        return f"ChannelSet({self.description or sorted(c.value for c in self)})"


def feedback_codes() -> dict[Channel, int]:
    """Channel -> its stable code in feedback-link tokens (channels without one have no links)."""
    return {Channel(s.name): s.feedback_code for s in _SPECS.values() if s.feedback_code is not None}


def resolve(path: str) -> Any:
    """Import ``"module:attr"`` (``module.attr`` also works) and return the attribute."""
    module, sep, attr = path.partition(":")
    if not sep:
        module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def adapter_module(name: str) -> str | None:
    """The module holding the channel's adapter factory (the Lambda asset ships it when enabled)."""
    path = spec(name).adapter
    return path.partition(":")[0] if path else None


def adapter_factory(name: str) -> Callable[..., Any] | None:
    """The channel's adapter factory (``factory(ctx: ChannelContext) -> ChannelAdapter``), imported now."""
    path = spec(name).adapter
    return resolve(path) if path else None


def settings_model(name: str) -> Any:
    """The plan settings model class for ``channels.<name>``."""
    return resolve(spec(name).settings)


def cdk_hook(name: str) -> Any:
    """The channel's CDK wiring object (synth only), or None."""
    path = spec(name).cdk
    return resolve(path) if path else None


for _built_in in BUILT_IN:
    register(_built_in)
del _built_in
