"""Turn any raw event into a Signal (what happened, to which components, how badly) or a Rejection.

``to_signal`` never raises: an unknown shape, a wrong field type or a mapping that matches nothing
comes back as a ``Rejection`` whose ``reason`` names the field and what to do.

This module only dispatches: an EventBridge event goes to the source registered for its ``source``,
any other object to the first source whose direct input key it carries (the Incident Manager
runbook's ``IncidentRecordArn``, a person's ``action``). Each source's event model and mapping
rules are in its own module of :mod:`outage_comms.intake.sources` (alarm, health,
incident_manager, opsitem, human), found through :mod:`outage_comms.intake.sources.registry`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from outage_comms.clock import now as clock_now
from outage_comms.intake.signal import (
    MAX_DETAIL,
    MAX_TITLE,
    Intent,
    Rejection,
    Signal,
    default_severity,
    json_type,
    plain_signal,
    show,
)
from outage_comms.intake.sources import registry
from outage_comms.plan import Plan

__all__ = [
    "MAX_DETAIL",
    "MAX_TITLE",
    "Intent",
    "Rejection",
    "Signal",
    "default_severity",
    "plain_signal",
    "to_signal",
]


def to_signal(raw_event: Any, plan: Plan, *, received_at: datetime | None = None) -> Signal | Rejection:
    """Normalise one raw event. Never raises.

    ``received_at`` stands in for the time of sources that carry none (runbook input, human
    requests without ``at``); it defaults to now.
    """
    try:
        found = _dispatch(raw_event, plan, received_at or clock_now())
        return found if isinstance(found, Rejection) else plain_signal(found)
    except Exception as exc:  # the contract is "never raises": a bug must not lose the event
        return Rejection(
            "internal_error",
            f"Intake could not read this event ({type(exc).__name__}). It is kept with this reason; "
            "report it with the event attached.",
            raw_event,
        )


def _dispatch(raw: Any, plan: Plan, received_at: datetime) -> Signal | Rejection:
    if not isinstance(raw, dict):
        return Rejection(
            "not_an_object",
            f"The event is a JSON {json_type(raw)}, not an object. Send an EventBridge event, the "
            "runbook input or a human request body.",
            raw,
        )
    if "source" in raw or "detail-type" in raw:
        source = raw.get("source")
        spec = registry.for_event_source(source) if isinstance(source, str) else None
        if spec is None or spec.normalise is None:
            return Rejection(
                "unknown_source",
                f"'source' is {show(source)}; intake accepts {', '.join(registry.event_sources())}. Narrow "
                "the EventBridge rule to those sources.",
                raw,
            )
        return spec.normalise(raw, plan, received_at)
    for spec in registry.specs():
        if spec.direct_key is not None and spec.direct_key in raw and spec.normalise_direct is not None:
            return spec.normalise_direct(raw, plan, received_at)
    shapes = ["'source'/'detail-type' (EventBridge)"]
    shapes += [f"'{s.direct_key}' ({s.direct_label})" for s in registry.specs() if s.direct_key is not None]
    listed = ", ".join(shapes[:-1]) + f" nor {shapes[-1]}" if len(shapes) > 1 else shapes[0]
    return Rejection(
        "unknown_shape",
        f"The event has neither {listed}. Check what the rule or caller sends.",
        raw,
    )
