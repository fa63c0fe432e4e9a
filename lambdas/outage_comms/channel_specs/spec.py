"""What one channel declares about itself: :class:`ChannelSpec` (read by the registry).

Plain frozen dataclasses, no imports beyond the vocabulary: a spec module is cheap to import, and every
reference to code (the adapter factory, the plan settings model, the CDK wiring) is a ``"module:attr"``
string resolved only where it is used (delivery, plan validation, synth).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from outage_comms.vocabulary import MessageFormat

#: customer: the fan-out delivers it to customers (or their support desk); team: told first, before any
#: customer; public: a surface the status site publishes (status page, dashboard, in-app banner).
Reach = Literal["customer", "team", "public"]
#: audience: a subscriber channel, a drill sends to the drill audience only; topic: SNS, the drill topic;
#: secret: a web channel, a drill posts with the secret ``plan.drill.webhook_secrets`` names; internal: the
#: team's own channel, hears the drill (marked); none: never sent in a drill.
DrillKind = Literal["audience", "topic", "secret", "internal", "none"]
#: The markup dialects ``outage_comms.channel_markup`` neutralises typed words for.
Markup = Literal["slack", "teams", "chatbot", "mastodon", "bluesky"]


@dataclass(frozen=True)
class DrillSpec:
    """How a drill reaches the channel (``outage_comms.drill_mode`` reads it)."""

    kind: DrillKind
    #: secret: the plan settings field naming the real secret, which the drill secret replaces.
    secret_field: str | None = None
    #: secret: (field of the drill secret, plan settings field it replaces, required) for channels whose
    #: target is in the plan, not the secret (Bluesky's handle, the webhook's URL).
    target_fields: tuple[tuple[str, str, bool], ...] = ()

    def __post_init__(self) -> None:
        if (self.kind == "secret") != (self.secret_field is not None):
            raise ValueError("a drill of kind 'secret' names its secret_field, and only that kind does")


@dataclass(frozen=True)
class LocalTarget:
    """How the embedded AWS (``outage_comms_embedded``) stores this channel's secrets, aimed at its sink.

    Values are templates: ``{sink}`` is the sink's ``http://127.0.0.1:<port>``, ``{token}`` a fresh random
    token. A URL on the sink should start ``{sink}/<channel name>/`` so the sink knows the channel. ``routes``
    names plan settings fields holding an https URL whose host the sink answers for (Mastodon's instance).
    """

    secret: Mapping[str, str] = field(default_factory=dict, hash=False)
    drill_secret: Mapping[str, str] = field(default_factory=dict, hash=False)
    routes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelSpec:
    """Everything the product knows about one channel, declared once in the channel's spec module."""

    #: the plan key (``channels.<name>``) and the channel's name everywhere (state, records, reports)
    name: str
    format: MessageFormat
    reach: Reach
    #: human name in the console and reports ("team Slack")
    label: str
    #: the plan settings model for ``channels.<name>``, ``"module:Class"`` (a ``ChannelSettings``)
    settings: str
    drill: DrillSpec
    #: the factory building the adapter from a ``ChannelContext``, ``"module:function"``; None: no adapter
    #: here (status surfaces are published; SNS and the team chat topic are the workflow's own)
    adapter: str | None = None
    #: the CDK wiring (grants, set-up) in ``outage_comms_cdk``, ``"module:attr"``, resolved only at synth
    cdk: str | None = None
    #: stable code in feedback-link tokens (1-15; append, never renumber); None: no feedback links
    feedback_code: int | None = None
    #: feedback links by default (``plan.feedback.channels``)
    feedback_default: bool = False
    #: False: the channel cannot carry a link (voice)
    carries_links: bool = True
    #: plan settings fields that name Secrets Manager secrets
    secret_fields: tuple[str, ...] = ()
    #: (``regions.standby_channels`` field, ``channels.<name>`` field) of a sending identity bound to one
    #: region (SES identities, End User Messaging numbers); None: the channel is not region-bound
    region_identity: tuple[str, str] | None = None
    #: customers subscribe to it themselves through the subscribe API
    self_service: bool = False
    #: the markup its text is read as (``outage_comms.channel_markup``: slack, teams, chatbot, mastodon,
    #: bluesky): what people type is neutralised for it; None: plain text, nothing to neutralise
    markup: Markup | None = None
    #: a channel-specific guard rule ``"module:function"`` (plan, message) -> findings, after the format's
    guard_rule: str | None = None
    #: the embedded AWS's stand-in for the channel's secrets (None: it needs none)
    local: LocalTarget | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or not self.name.islower():
            raise ValueError(f"channel name '{self.name}': lower-case letters, digits and _ only")
        if self.feedback_code is not None and not 0 < self.feedback_code < 16:
            raise ValueError(f"channel '{self.name}': feedback_code is 1-15 (it is 4 bits of a token)")
        if self.feedback_default and not self.carries_links:
            raise ValueError(f"channel '{self.name}' cannot carry a link, so no feedback by default")
        if self.drill.kind == "secret" and self.drill.secret_field not in self.secret_fields:
            raise ValueError(f"channel '{self.name}': the drill's secret_field must be one of secret_fields")
