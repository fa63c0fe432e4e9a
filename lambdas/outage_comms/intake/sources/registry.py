"""The intake sources by name: each source is one module declaring a single
:class:`~outage_comms.intake.sources.spec.SourceSpec`.

A spec says everything intake, coalescing and the stacks need to know about one source: the
EventBridge ``source`` of its events and how they become a Signal (its Powertools Parser model and
mapping live in the same module), the direct input it may also take (the runbook's, a person's
request), the EventBridge rule it needs on the default bus (the intake stack builds one per spec),
and how coalescing treats it. Built-in sources are loaded on first use, in a fixed order (the
order decides which direct input is tried first); :func:`register` adds one more.

Cheap to import: no source module (and so no event model) is imported until a spec is asked for.
"""

from __future__ import annotations

from outage_comms.intake.sources.spec import EventRule, Normaliser, RulePattern, SourceSpec

__all__ = ["EventRule", "Normaliser", "RulePattern", "SourceSpec"]

_specs: dict[str, SourceSpec] = {}
_built_in: list[str] = []
_loaded = False


def _load_built_in() -> None:
    """Register the built-in sources, once. Imported here, not at module level, so that importing the
    dispatcher (and the intake handler's cold start) loads no event model until an event arrives."""
    global _loaded
    if _loaded:
        return
    from outage_comms.intake.sources import alarm, health, human, incident_manager, opsitem

    # The built-in sources (modules of this package, each with a ``SPEC``), in dispatch order.
    for module in (alarm, health, incident_manager, opsitem, human):
        _built_in.append(_add(module.SPEC).name)
    _loaded = True


def built_in() -> tuple[str, ...]:
    """The names of the built-in sources, in dispatch order."""
    _load_built_in()
    return tuple(_built_in)


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
    if name in built_in():
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
