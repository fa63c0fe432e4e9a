"""Which enabled channel speaks at which step of the workflow (shared by the CDK app and the handlers)."""

from __future__ import annotations

from outage_comms.channel_specs.registry import ChannelSet
from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel

#: Told first, before any customer hears (and before approval): the team's chat (registry reach "team").
TEAM_CHANNELS = ChannelSet(lambda spec: spec.reach == "team", "team channels")
#: Published by the status site's publisher in "Publish status surfaces", not by the fan-out (reach "public").
STATUS_SURFACES = ChannelSet(lambda spec: spec.reach == "public", "status surfaces")


def fanout_channels(plan: Plan) -> list[Channel]:
    """One Parallel branch each: every enabled channel that reaches customers or the support desk."""
    return [c for c in plan.channels.enabled() if c not in TEAM_CHANNELS | STATUS_SURFACES]


def team_channels(plan: Plan) -> list[Channel]:
    return [c for c in plan.channels.enabled() if c in TEAM_CHANNELS]
