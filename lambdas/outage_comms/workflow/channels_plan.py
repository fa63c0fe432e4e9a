"""Which enabled channel speaks at which step of the workflow (shared by the CDK app and the handlers)."""

from __future__ import annotations

from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel

#: Told first, before any customer hears (and before approval): the team's chat.
TEAM_CHANNELS = frozenset({Channel.CHATBOT, Channel.SLACK, Channel.TEAMS})
#: Published by the status site's publisher in "Publish status surfaces", not by the fan-out.
STATUS_SURFACES = frozenset({Channel.STATUS_PAGE, Channel.DASHBOARD, Channel.IN_APP})


def fanout_channels(plan: Plan) -> list[Channel]:
    """One Parallel branch each: every enabled channel that reaches customers or the support desk."""
    return [c for c in plan.channels.enabled() if c not in TEAM_CHANNELS | STATUS_SURFACES]


def team_channels(plan: Plan) -> list[Channel]:
    return [c for c in plan.channels.enabled() if c in TEAM_CHANNELS]
