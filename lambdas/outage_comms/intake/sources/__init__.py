"""Intake sources: one module per trigger (``alarm``, ``health``, ``incident_manager``, ``opsitem``,
``human``), each holding its Powertools Parser event model, its mapping to a Signal and its
:class:`~outage_comms.intake.sources.spec.SourceSpec`, found through
:mod:`outage_comms.intake.sources.registry`. Importing this package loads no source module.
"""

from outage_comms.intake.sources.registry import (
    EventRule,
    SourceSpec,
    built_in,
    event_sources,
    find,
    for_event_source,
    register,
    spec,
    specs,
    unregister,
)

__all__ = [
    "EventRule",
    "SourceSpec",
    "built_in",
    "event_sources",
    "find",
    "for_event_source",
    "register",
    "spec",
    "specs",
    "unregister",
]
