"""What an intake source declares: a :class:`SourceSpec` (and the :class:`EventRule` it needs). Each source
module (``outage_comms.intake.sources.<name>``) holds one, as ``SPEC``; the registry
(:mod:`outage_comms.intake.sources.registry`) finds them by name."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outage_comms.intake.signal import Rejection, Signal
    from outage_comms.plan import Plan

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

#: An event (or direct input), the plan and the time it was received -> a Signal or a Rejection.
Normaliser = Callable[[dict[str, Any], "Plan", datetime], "Signal | Rejection"]
#: An EventBridge event pattern as JSON (``source``, ``detail-type``, ``detail``, ...).
RulePattern = dict[str, Any]


@dataclass(frozen=True)
class EventRule:
    """The rule a source needs on the account's default bus, delivering to the intake queue."""

    #: The rule's construct id in the intake stack (it names the CloudFormation resource: keep it stable).
    construct_id: str
    description: str
    #: The pattern for this plan, or None when the plan maps nothing this source could send (no rule).
    pattern: Callable[[Plan], RulePattern | None]
    #: Its events land only in the region they concern: a two-region engine forwards them across regions.
    forwarded: bool = False


@dataclass(frozen=True)
class SourceSpec:
    """One intake source. ``name`` is what ``IncidentSource.type`` records on incidents and timelines."""

    name: str
    #: How people read the source ("CloudWatch alarm"): rejections and docs.
    label: str
    #: The EventBridge ``source`` of its events, and how one becomes a Signal.
    event_source: str | None
    normalise: Normaliser | None
    #: A key only its direct (non-EventBridge) input carries, and how that input becomes a Signal.
    direct_key: str | None = None
    normalise_direct: Normaliser | None = None
    #: What its direct input is called ("runbook input"), in the rejection of an event nobody reads.
    direct_label: str = "direct input"
    rule: EventRule | None = None
    #: Inside a running maintenance window, its signals about the window's components are expected.
    expected_in_maintenance: bool = False
    #: Its reference names what went wrong (an alarm, a record), so a later event finds the same incident;
    #: false when it names who asked (a person's principal).
    identifies_incident: bool = True
    #: An update from it may lower the incident's severity (an alarm only ever raises it).
    may_lower_severity: bool = True
    #: The state its references report while firing: its ``monitoring`` waits until no other reference of
    #: this source on the incident is still in that state.
    firing_state: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"source name {self.name!r}: use 1-64 of a-z, 0-9, _ starting with a letter")
        if (self.event_source is None) != (self.normalise is None):
            raise ValueError(f"source {self.name}: event_source and normalise go together")
        if (self.direct_key is None) != (self.normalise_direct is None):
            raise ValueError(f"source {self.name}: direct_key and normalise_direct go together")
        if self.event_source is None and self.direct_key is None:
            raise ValueError(f"source {self.name}: give an event_source, a direct_key or both")
