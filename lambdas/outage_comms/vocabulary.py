"""The fixed words of the product: scenarios, channels, message formats and their fields.

These are shared by the plan schema, the renderer, the linter and (later) the workflow, so a
plan author, a template author and the state machine all speak the same vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any, ClassVar


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


class _ChannelNames(type):
    """``for c in Channel`` and ``len(Channel)``: the registered channels, in registration order."""

    def __iter__(cls) -> Iterator[Channel]:
        return iter(list(cls._known.values()))  # type: ignore[attr-defined]

    def __len__(cls) -> int:
        return len(cls._known)  # type: ignore[attr-defined]

    def __contains__(cls, value: object) -> bool:
        return isinstance(value, str) and value in cls._known  # type: ignore[attr-defined]


class Channel(str, metaclass=_ChannelNames):
    """A delivery channel's name, as the plan writes it (``channels.<name>``).

    An open set: the channel registry (``outage_comms.channel_specs.registry``) admits each channel it
    registers, so a channel added by its own module is a ``Channel`` like the built-in ones below.
    ``Channel("email") is Channel.EMAIL``; ``Channel("nope")`` raises ``ValueError`` naming the choices.
    It reads like the enum it replaces: ``.value`` and ``.name``, iteration in registration order.
    """

    __slots__ = ()
    _known: ClassVar[dict[str, Channel]] = {}
    _formats: ClassVar[dict[str, MessageFormat]] = {}

    SNS: ClassVar[Channel]
    EMAIL: ClassVar[Channel]
    SMS: ClassVar[Channel]
    VOICE: ClassVar[Channel]
    PUSH: ClassVar[Channel]
    IN_APP: ClassVar[Channel]
    CHATBOT: ClassVar[Channel]
    SLACK: ClassVar[Channel]
    TEAMS: ClassVar[Channel]
    MASTODON: ClassVar[Channel]
    BLUESKY: ClassVar[Channel]
    WEBHOOK: ClassVar[Channel]
    SUPPORT: ClassVar[Channel]
    STATUS_PAGE: ClassVar[Channel]
    DASHBOARD: ClassVar[Channel]

    def __new__(cls, value: str) -> Channel:
        known = cls._known.get(str(value))
        if known is None:
            raise ValueError(f"{value!r} is not a valid Channel; choose from {', '.join(cls._known)}")
        return known

    @classmethod
    def admit(cls, name: str, format: MessageFormat | None = None) -> Channel:
        """Make ``name`` a channel (the registry calls this when it registers a spec); idempotent."""
        if name not in cls._known:
            cls._known[name] = str.__new__(cls, name)
        if format is not None:
            cls._formats[name] = format
        return cls._known[name]

    @classmethod
    def withdraw(cls, name: str) -> None:
        """Forget a channel the registry unregisters (tests that register their own)."""
        cls._known.pop(name, None)
        cls._formats.pop(name, None)

    @property
    def value(self) -> str:
        return str.__str__(self)

    @property
    def name(self) -> str:
        return self.value.upper()

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"<Channel.{self.name}: {self.value!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Channel, (self.value,))

    def __deepcopy__(self, memo: dict[int, Any]) -> Channel:
        return self

    def __copy__(self) -> Channel:
        return self

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import PydanticCustomError, core_schema

        def validate(value: Any) -> Channel:
            if isinstance(value, Channel):
                return value
            if isinstance(value, str) and value in cls._known:
                return cls._known[value]
            names = [f"'{name}'" for name in cls._known]
            expected = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)
            raise PydanticCustomError("enum", "Input should be {expected}", {"expected": expected})

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(str, when_used="json-unless-none"),
            json_schema_input_schema=core_schema.str_schema(),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        return {"enum": list(cls._known), "title": "Channel", "type": "string"}


# The built-in channels' names (their specs: outage_comms/channel_specs/builtin/). Order is the registry's.
for _name in (
    "sns",
    "email",
    "sms",
    "voice",
    "push",
    "in_app",
    "chatbot",
    "slack",
    "teams",
    "mastodon",
    "bluesky",
    "webhook",
    "support",
    "status_page",
    "dashboard",
):
    setattr(Channel, _name.upper(), Channel.admit(_name))
del _name


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


class _ChannelFormats(Mapping[Channel, MessageFormat]):
    """Channel -> its message format, as the registry's specs declare it (read live: a channel registered
    later, e.g. by a test, is here too). Channels sharing a format share templates."""

    def __getitem__(self, channel: Channel) -> MessageFormat:
        return Channel._formats[str(channel)]

    def __iter__(self) -> Iterator[Channel]:
        return (c for c in Channel if c.value in Channel._formats)

    def __len__(self) -> int:
        return sum(1 for _ in self)


CHANNEL_FORMAT: Mapping[Channel, MessageFormat] = _ChannelFormats()

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
