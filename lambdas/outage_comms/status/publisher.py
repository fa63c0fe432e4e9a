"""Publish the status site: read incidents, build the site, write what changed, update the dashboard.

The status bucket, dashboard and distribution live in the status stack, possibly in another
account and region; the publisher reaches them only through the narrowly scoped role that stack
creates. AWS calls sit behind :class:`StatusSink`, so tests pass a fake or moto clients.
"""

from __future__ import annotations

import functools
import gc
import inspect
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol, cast

from outage_comms.clock import now as clock_now
from outage_comms.drill_mode import DRILL, PUBLIC, audience_of, drill_site_plan, in_audience
from outage_comms.incident import Incident
from outage_comms.observability import logger
from outage_comms.plan import Plan
from outage_comms.ports import IncidentRepository
from outage_comms.status.bucket_sink import Boto3StatusSink, StatusPublishError
from outage_comms.status.dashboard import DASHBOARD_BODY_PATH, STATUS_NAMESPACE, metric_data
from outage_comms.status.site import (
    RECENT_LIMIT,
    Artefact,
    SiteFailure,
    SiteOptions,
    build_site,
    describe,
    site_artefacts,
    site_state,
    site_window,
)
from outage_comms.status.state import STATE_KEY, SiteMemory, fingerprint
from outage_comms.status.uptime import UPTIME_DAYS

__all__ = [
    "Boto3StatusSink",  # lives in bucket_sink; importers name it here
    "MemoryStateStore",
    "PublishResult",
    "SiteStateStore",
    "StatusPublishError",
    "StatusPublisher",
    "StatusSink",
]

#: How many incidents the site is rebuilt from (open ones always included by the repository order).
RECENT_INCIDENTS = 100
_INCIDENT_PAGE = re.compile(r"incidents/(inc-\d{8}-\d{4}-[0-9a-f]{6})\.html$")
#: The handler's count of parts (an incident, an artefact, an object) one run could not publish.
FAILURE_METRIC = "StatusSurfaceFailures"
#: Objects that never go to the bucket: the dashboard body is put with PutDashboard.
NOT_IN_BUCKET_PREFIXES = ("dashboard/",)


class StatusSink(Protocol):
    """Where the site goes: the status bucket, the public dashboard and the status metric."""

    def etags(self) -> dict[str, str]:
        """Key -> hex MD5 of every object in the bucket (S3's ETag for single-part SSE-S3 uploads)."""

    def put_object(self, key: str, artefact: Artefact) -> None:
        """Write one object with its Content-Type and Cache-Control."""

    def put_dashboard(self, body: str) -> None:
        """Replace the public dashboard's body."""

    def put_metric_data(self, namespace: str, data: list[dict[str, Any]]) -> None:
        """Publish the per-component status metric."""

    def invalidate(self, paths: list[str]) -> None:
        """Ask the CDN to drop cached copies (no-op when no distribution is configured)."""


@dataclass(frozen=True)
class PublishResult:
    written: list[str]
    unchanged: int
    dashboard_updated: bool
    metrics: int
    elapsed_ms: float
    indicator: str
    invalidated: list[str] = field(default_factory=list)
    #: What could not be built or written (``SiteFailure.as_dict``); the rest was published.
    failures: list[dict[str, str | None]] = field(default_factory=list)
    #: True for a full rebuild, False when only what one incident touches was rendered.
    rebuilt: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "written": len(self.written),
            "unchanged": self.unchanged,
            "dashboard_updated": self.dashboard_updated,
            "metrics": self.metrics,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "indicator": self.indicator,
            "invalidated": self.invalidated,
            "failures": len(self.failures),
            "rebuilt": self.rebuilt,
        }


class SiteStateStore(Protocol):
    """Where the publisher keeps its materialised state (:mod:`outage_comms.status.state`)."""

    def read_state(self) -> bytes | None:
        """The stored state, or None when there is none yet."""

    def write_state(self, body: bytes) -> None:
        """Replace the stored state."""


class MemoryStateStore:
    """The state in this process only (a sink without its own state store: a test's fake)."""

    def __init__(self) -> None:
        self.body: bytes | None = None

    def read_state(self) -> bytes | None:
        return self.body

    def write_state(self, body: bytes) -> None:
        self.body = body


class StatusPublisher:
    """Publish the status surfaces: a full rebuild from the incidents the site shows, or, after one
    incident's update, only what that incident touches, from the materialised state."""

    def __init__(
        self,
        *,
        plan: Plan,
        incidents: IncidentRepository,
        sink: StatusSink,
        options: SiteOptions | None = None,
        clock: Callable[[], datetime] = clock_now,
        state_store: SiteStateStore | None = None,
    ) -> None:
        self._plan = plan
        self._incidents = incidents
        self._sink = sink
        self._options = options or SiteOptions()
        self._clock = clock
        if state_store is None:
            state_store = cast(SiteStateStore, sink) if hasattr(sink, "read_state") else MemoryStateStore()
        self._state_store = state_store

    def publish(self, incident_id: str | None = None) -> PublishResult:
        """Publish every surface that ``incident_id`` (the update that triggered it) touches.

        With a stored state of the same plan, templates and code, the changed incident is read with
        one GetItem and only its own page, the home and history pages, the JSON API, the feeds, the
        banner and the dashboard are rendered; words of other closed incidents come from the state,
        and unchanged objects are skipped by the MD5s it holds. Without one (or with no incident
        id) the site is rebuilt from the incidents it shows (open ones, the last 90 days, the 50
        most recent) and the state is written for the next publish.

        Each incident and each artefact is isolated: what cannot be built or written is logged with
        its incident id and returned in ``failures`` (the handler counts them), the rest is published.
        Raises :class:`StatusPublishError` only when nothing could be written at all.
        """
        paused = gc.isenabled()
        gc.disable()  # short-lived, acyclic garbage: refcounting frees it; no full-heap scans mid-render
        try:
            return self._publish(incident_id)
        finally:
            if paused:
                gc.enable()

    def _publish(self, incident_id: str | None) -> PublishResult:
        start = time.perf_counter()
        now = self._clock()
        failures: list[SiteFailure] = []
        changed: Incident | None = None
        if incident_id is not None:
            try:
                changed = self._incidents.get(incident_id)  # one GetItem
            except Exception as error:  # an unreadable incident never stops the site: rebuild without it
                failures.append(SiteFailure(incident_id, "incident", describe(error)))
        # Each audience has its own site: the changed incident's (a full rebuild is the public one's).
        audience = audience_of(changed) if changed is not None else PUBLIC
        return self._SITES[audience](self, changed, failures, now, start)

    def _publish_public(
        self, changed: Incident | None, failures: list[SiteFailure], now: datetime, start: float
    ) -> PublishResult:
        """The public site, feeds, banner, dashboard and status metric, from public incidents only."""
        expected = fingerprint(self._plan, self._options)
        memory = self._load_memory(expected, failures) if changed is not None else None
        if memory is None:
            memory, incidents, pages = SiteMemory(expected), self._window(now, changed), None
        else:
            assert changed is not None
            memory.incidents[changed.id] = changed
            self._reconcile_open(memory, changed.id, failures)
            incidents, pages = list(memory.incidents.values()), frozenset({changed.id})
        incidents = in_audience(incidents, PUBLIC)  # a drill is never on the public site, feeds or dashboard
        state = site_state(self._plan, incidents, (), now, None, self._options, failures, memory)
        site = site_artefacts(state, failures, pages)
        bucket = {k: a for k, a in site.items() if not k.startswith(NOT_IN_BUCKET_PREFIXES)}
        known = self._sink.etags() if pages is None else memory.etags
        written = self._write(bucket, known, failures)
        failed = {f.part for f in failures}
        window = {i.id for i in site_window(incidents, now)}
        etags = {**memory.etags, **{k: a.md5 for k, a in bucket.items() if k not in failed}}
        memory.etags = {  # an incident page out of the window stays in the bucket, but not in the state
            k: v for k, v in etags.items() if (m := _INCIDENT_PAGE.search(k)) is None or m.group(1) in window
        }
        memory.remember(state, (i for i in incidents if i.id in window))
        self._isolated(STATE_KEY, failures, lambda: self._state_store.write_state(memory.to_bytes()))
        dashboard_updated = DASHBOARD_BODY_PATH in site and self._isolated(
            "dashboard", failures, lambda: self._sink.put_dashboard(site[DASHBOARD_BODY_PATH].body.decode())
        )
        metrics: list[dict[str, Any]] = []
        if self._isolated("status metric", failures, lambda: metrics.extend(metric_data(state))):
            self._isolated(
                "status metric", failures, lambda: self._sink.put_metric_data(STATUS_NAMESPACE, metrics)
            )
        invalidated = ["/*"] if written else []
        if invalidated:
            self._isolated("invalidation", failures, lambda: self._sink.invalidate(invalidated))
        _log(failures)
        return PublishResult(
            written=written,
            unchanged=len(bucket) - len(written),
            dashboard_updated=dashboard_updated,
            metrics=len(metrics),
            elapsed_ms=(time.perf_counter() - start) * 1000,
            indicator=state.indicator.value,
            invalidated=invalidated,
            failures=[f.as_dict() for f in failures],
            rebuilt=pages is None,
        )

    def _reconcile_open(self, memory: SiteMemory, changed_id: str, failures: list[SiteFailure]) -> None:
        """Bring the state's open incidents up to date: another publish may have run at the same time
        (its state write and ours race; the last one wins). One Query of the sparse open index, bounded
        by the open incidents, never by history; an incident the state holds as open that is no longer
        listed was closed meanwhile and is read again by key."""
        list_open = getattr(self._incidents, "list_open", None)
        if list_open is None:
            return
        try:
            current = {i.id: i for i in list_open() if i.id != changed_id}
            for incident_id, known in list(memory.incidents.items()):
                if incident_id in current:
                    if current[incident_id].version != known.version:
                        memory.incidents[incident_id] = current[incident_id]
                elif known.is_open and incident_id != changed_id:
                    memory.incidents[incident_id] = self._incidents.get(incident_id)
            for incident_id, incident in current.items():
                memory.incidents.setdefault(incident_id, incident)
        except Exception as error:  # the state as it was is still the best this publish has
            failures.append(SiteFailure(None, "open incidents", describe(error)))

    def _load_memory(self, expected: str, failures: list[SiteFailure]) -> SiteMemory | None:
        """The stored state if it is of this plan, template set and code; else None (full rebuild)."""
        try:
            body = self._state_store.read_state()
            return SiteMemory.from_bytes(body, expected) if body else None
        except Exception as error:  # an unreadable state only costs a full rebuild
            failures.append(SiteFailure(None, STATE_KEY, describe(error)))
            return None

    def _window(self, now: datetime, changed: Incident | None) -> list[Incident]:
        """The incidents the site shows, by key and index (never a scan): changed in the last 90 days,
        the most recent, and every open one however old; plus the one that triggered the publish."""
        repository: Any = self._incidents
        if "since" in inspect.signature(repository.list_recent).parameters:
            since = now - timedelta(days=UPTIME_DAYS)
            found = [*repository.list_recent(since), *repository.list_recent(limit=RECENT_LIMIT)]
        else:  # a repository with only list_recent(limit)
            found = list(repository.list_recent(limit=RECENT_INCIDENTS))
        if hasattr(repository, "list_open"):
            found.extend(repository.list_open())
        if changed is not None:
            found.append(changed)
        return list({i.id: i for i in found}.values())

    def _drill_incidents(self, changed: Incident) -> list[Incident]:
        incidents = self._incidents.list_recent(limit=RECENT_INCIDENTS)
        return [changed, *(i for i in incidents if i.id != changed.id)]

    def _write(
        self, site: dict[str, Artefact], existing: Mapping[str, str], failures: list[SiteFailure]
    ) -> list[str]:
        """Put what changed, each object on its own; raise only when every object failed."""
        written: list[str] = []
        tried = 0
        for key, artefact in sorted(site.items(), key=lambda item: _upload_order(item[0])):
            if existing.get(key) == artefact.md5:
                continue
            tried += 1
            if self._isolated(key, failures, functools.partial(self._sink.put_object, key, artefact)):
                written.append(key)
        if tried and not written:
            _log(failures)
            raise StatusPublishError(f"none of the {tried} changed status objects could be written")
        return written

    @staticmethod
    def _isolated(part: str, failures: list[SiteFailure], action: Callable[[], object]) -> bool:
        try:
            action()
        except Exception as error:  # one object never stops the others
            page = _INCIDENT_PAGE.search(part)
            failures.append(SiteFailure(page.group(1) if page else None, part, describe(error)))
            return False
        return True

    def _publish_drill(
        self, changed: Incident | None, failures: list[SiteFailure], now: datetime, start: float
    ) -> PublishResult:
        """The drill page under ``plan.drill.status_prefix``, from drill incidents only.

        Nothing outside the prefix is written, the public dashboard and status metric are left alone.
        """
        assert changed is not None  # only a drill's own publish reaches the drill page
        prefix = self._plan.drill.status_prefix
        plan = drill_site_plan(self._plan)
        options = replace(self._options, subscribe_url=self._options.subscribe_endpoint(self._plan))
        drills = in_audience(self._drill_incidents(changed), DRILL)
        site = {
            prefix + key: artefact
            for key, artefact in build_site(plan, drills, (), now, None, options).items()
            if not key.startswith(NOT_IN_BUCKET_PREFIXES)
        }
        existing = self._sink.etags()
        written = []
        for key, artefact in sorted(site.items(), key=lambda item: _upload_order(item[0])):
            if existing.get(key) != artefact.md5:
                self._sink.put_object(key, artefact)
                written.append(key)
        invalidated = [f"/{prefix}*"] if written else []
        if invalidated:
            self._sink.invalidate(invalidated)
        state = site_state(plan, drills, (), now, {}, options)
        return PublishResult(
            written=written,
            unchanged=len(site) - len(written),
            dashboard_updated=False,
            metrics=0,
            elapsed_ms=(time.perf_counter() - start) * 1000,
            indicator=state.indicator.value,
            invalidated=invalidated,
        )

    #: Each audience's site: the public one, or the drill page (written under its prefix only).
    _SITES: ClassVar[dict[str, Callable[..., PublishResult]]] = {
        PUBLIC: _publish_public,
        DRILL: _publish_drill,
    }


def _log(failures: list[SiteFailure]) -> None:
    for failure in failures:
        logger.error("status surface not published", extra=failure.as_dict())


def _upload_order(key: str) -> tuple[int, str]:
    """Incident pages and assets first, then the lists, home pages last: links never point at nothing."""
    if key.startswith(("assets/", "embed/")) or "/incidents/" in f"/{key}":
        return (0, key)
    if key.endswith("index.html"):
        return (2, key)
    return (1, key)
