"""The fixed words of the product: scenarios, channels, message formats and their fields.

These are shared by the plan schema, the renderer, the linter and (later) the workflow, so a
plan author, a template author and the state machine all speak the same vocabulary.
"""

from __future__ import annotations

from enum import StrEnum


class Scenario(StrEnum):
    """Every situation the plan must have words for."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    MAINTENANCE_SCHEDULED = "maintenance_scheduled"
    MAINTENANCE_IN_PROGRESS = "maintenance_in_progress"
    MAINTENANCE_COMPLETED = "maintenance_completed"
    HOLDING_UPDATE = "holding_update"
    POST_INCIDENT_SUMMARY = "post_incident_summary"


# What each scenario's message must carry. "impact" and "next update" are the two things
# customers ask first (OPS10-BP05: quickly, clearly, often); an ETA slot lets the team add an
# estimate without editing the template while an incident is running.
SCENARIOS_WITHOUT_NEXT_UPDATE = frozenset(
    {
        Scenario.RESOLVED,
        Scenario.MAINTENANCE_COMPLETED,
        Scenario.POST_INCIDENT_SUMMARY,
        Scenario.MAINTENANCE_SCHEDULED,
    }
)
SCENARIOS_WITH_ETA_SLOT = frozenset(
    {
        Scenario.INVESTIGATING,
        Scenario.IDENTIFIED,
        Scenario.MONITORING,
        Scenario.DEGRADED_PERFORMANCE,
        Scenario.PARTIAL_OUTAGE,
        Scenario.MAJOR_OUTAGE,
        Scenario.MAINTENANCE_IN_PROGRESS,
        Scenario.HOLDING_UPDATE,
    }
)


class Channel(StrEnum):
    """Every delivery channel Outage Comms knows. The plan turns each on or off."""

    SNS = "sns"
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    PUSH = "push"
    IN_APP = "in_app"
    CHATBOT = "chatbot"
    SLACK = "slack"
    TEAMS = "teams"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    WEBHOOK = "webhook"
    SUPPORT = "support"
    STATUS_PAGE = "status_page"
    DASHBOARD = "dashboard"


class MessageFormat(StrEnum):
    """The shape of the words a channel carries. Channels sharing a format share templates."""

    SNS = "sns"
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    PUSH = "push"
    IN_APP = "in_app"
    CHAT = "chat"
    SOCIAL = "social"
    WEBHOOK = "webhook"
    SUPPORT = "support"
    STATUS_PAGE = "status_page"


CHANNEL_FORMAT: dict[Channel, MessageFormat] = {
    Channel.SNS: MessageFormat.SNS,
    Channel.EMAIL: MessageFormat.EMAIL,
    Channel.SMS: MessageFormat.SMS,
    Channel.VOICE: MessageFormat.VOICE,
    Channel.PUSH: MessageFormat.PUSH,
    Channel.IN_APP: MessageFormat.IN_APP,
    Channel.CHATBOT: MessageFormat.CHAT,
    Channel.SLACK: MessageFormat.CHAT,
    Channel.TEAMS: MessageFormat.CHAT,
    Channel.MASTODON: MessageFormat.SOCIAL,
    Channel.BLUESKY: MessageFormat.SOCIAL,
    Channel.WEBHOOK: MessageFormat.WEBHOOK,
    Channel.SUPPORT: MessageFormat.SUPPORT,
    Channel.STATUS_PAGE: MessageFormat.STATUS_PAGE,
    # The dashboard shows the status page's words; it has no template of its own.
    Channel.DASHBOARD: MessageFormat.STATUS_PAGE,
}

# Fields each format's template must define, in the order a reviewer reads them.
FORMAT_FIELDS: dict[MessageFormat, tuple[str, ...]] = {
    MessageFormat.SNS: ("subject", "body"),
    MessageFormat.EMAIL: ("subject", "body"),
    MessageFormat.SMS: ("body",),
    MessageFormat.VOICE: ("body",),
    MessageFormat.PUSH: ("title", "body"),
    MessageFormat.IN_APP: ("title", "body"),
    MessageFormat.CHAT: ("title", "body"),
    MessageFormat.SOCIAL: ("body",),
    MessageFormat.WEBHOOK: ("title", "body"),
    MessageFormat.SUPPORT: ("title", "body"),
    MessageFormat.STATUS_PAGE: ("title", "body"),
}

# Internal formats go to the team; everything else reaches customers and is guarded.
INTERNAL_FORMATS = frozenset({MessageFormat.CHAT, MessageFormat.SUPPORT})


class Impact(StrEnum):
    """Statuspage's impact scale, used for severities and the public indicator."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class TimeoutAction(StrEnum):
    """What happens when nobody approves an external message in time."""

    ESCALATE = "escalate"
    SEND_HOLDING_STATEMENT = "send_holding_statement"
    HOLD = "hold"
