"""The channel registry, under the name the contract gives it: see :mod:`outage_comms.channel_specs.registry`.

The registry and the spec declarations live in their own first-level package (``outage_comms.channel_specs``,
below the plan: they import only the vocabulary), so that the plan can read them without depending on the
adapters in this package.
"""

from outage_comms.channel_specs.registry import (
    Channel,
    ChannelSet,
    ChannelSpec,
    DrillKind,
    DrillSpec,
    LocalTarget,
    Reach,
    adapter_factory,
    adapter_module,
    cdk_hook,
    channels,
    feedback_codes,
    is_registered,
    register,
    resolve,
    settings_model,
    spec,
    specs,
    unregister,
)

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
