"""The intake sources by name: each source is one module declaring a single :class:`SourceSpec`.

A spec says everything intake, coalescing and the stacks need to know about one source: the
EventBridge ``source`` of its events and how they become a Signal (its Powertools Parser model and
mapping live in the same module), the direct input it may also take (the runbook's, a person's
request), the EventBridge rule it needs on the default bus (the intake stack builds one per spec),
and how coalescing treats it. Built-in sources are loaded on first use, in a fixed order (the
order decides which direct input is tried first); :func:`register` adds one more.

Cheap to import: no pydantic models are built here and no source module is imported until a spec
is asked for.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outage_comms.intake.signal import Rejection, Signal
    from outage_comms.plan import Plan

#: The built-in sources, in dispatch order: modules of this package, each with a ``SPEC``.
BUILT_IN = ("alarm", "health", "incident_manager", "opsitem", "human")
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


_specs: dict[str, SourceSpec] = {}
_loaded = False


def _load_built_in() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in BUILT_IN:
        module = importlib.import_module(f"{__package__}.{name}")
        _add(module.SPEC)


def _add(spec: SourceSpec) -> SourceSpec:
    clash = next(
        (
            other
            for other in _specs.values()
            if other.name == spec.name
            or (spec.event_source is not None and other.event_source == spec.event_source)
            or (spec.direct_key is not None and other.direct_key == spec.direct_key)
            or (spec.rule and other.rule and spec.rule.construct_id == other.rule.construct_id)
        ),
        None,
    )
    if clash is not None:
        raise ValueError(f"source {spec.name} clashes with registered source {clash.name}")
    _specs[spec.name] = spec
    return spec


def register(spec: SourceSpec) -> SourceSpec:
    """Add a source after the built-in ones. Its name, event source, direct key and rule id must be new."""
    _load_built_in()
    return _add(spec)


def unregister(name: str) -> None:
    """Remove a source added with :func:`register` (tests); built-in sources stay."""
    if name in BUILT_IN:
        raise ValueError(f"{name} is a built-in source")
    _specs.pop(name, None)


def specs() -> tuple[SourceSpec, ...]:
    """Every source, built-in first, in registration order."""
    _load_built_in()
    return tuple(_specs.values())


def find(name: str) -> SourceSpec | None:
    _load_built_in()
    return _specs.get(name)


def spec(name: str) -> SourceSpec:
    found = find(name)
    if found is None:
        raise KeyError(f"no intake source {name!r}; registered: {', '.join(_specs)}")
    return found


def for_event_source(event_source: str) -> SourceSpec | None:
    """The source whose EventBridge events carry ``source: event_source``."""
    return next((s for s in specs() if s.event_source == event_source), None)


def event_sources() -> list[str]:
    """Every EventBridge ``source`` intake accepts, sorted."""
    return sorted(s.event_source for s in specs() if s.event_source is not None)
