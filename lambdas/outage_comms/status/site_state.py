"""The site's state: every incident in words and every fact the parts (pages, API, feeds, banner,
dashboard) read, computed once per build by :func:`site_state` from the plan and the incidents.

Below the parts and above :mod:`outage_comms.status.view` (an incident as the site shows it, the artefact
type): the builder computes it, the parts read it, nothing here imports a part or the builder.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from outage_comms.incident import Incident
from outage_comms.locale_files import status_strings
from outage_comms.plan import Plan
from outage_comms.status.model import (
    INDICATOR_DESCRIPTION,
    ComponentStatus,
    current_component_statuses,
    is_maintenance,
    overall_indicator,
)
from outage_comms.status.uptime import UPTIME_DAYS, UptimeHistory, uptime_from_incidents
from outage_comms.status.view import (
    RECENT_LIMIT,
    IncidentView,
    SiteFailure,
    SiteOptions,
    WordsCache,
    checked_view,
    iso,
)
from outage_comms.vocabulary import Impact


@dataclass(frozen=True)
class SiteState:
    """Everything the artefact writers read, computed once per build."""

    plan: Plan
    now: datetime
    updated_at: datetime
    options: SiteOptions
    strings: dict[str, dict[str, Any]]
    incidents: list[IncidentView]  # not maintenance, most recent first
    maintenances: list[IncidentView]  # most recent first
    statuses: dict[str, ComponentStatus]
    component_updated_at: dict[str, datetime]
    indicator: Impact
    uptime: UptimeHistory

    @functools.cached_property
    def page_id(self) -> str:
        return hashlib.sha256(self.plan.organization.status_page_url.encode()).hexdigest()[:12]

    @functools.cached_property
    def base_url(self) -> str:
        return self.plan.organization.status_page_url.rstrip("/")

    @property
    def indicator_description(self) -> str:
        return INDICATOR_DESCRIPTION[self.indicator]

    def shortlink(self, view: IncidentView) -> str:
        return f"{self.base_url}/incidents/{view.id.lower()}"

    def time(self, moment: datetime, locale: str) -> str:
        settings = self.plan.locale(locale)
        return _time_text(moment, settings.code, settings.timezone, settings.timezone_label)

    def active_incidents(self) -> list[IncidentView]:
        return [v for v in self.incidents if v.unresolved]

    def upcoming_maintenances(self) -> list[IncidentView]:
        return [v for v in self.maintenances if v.status == "scheduled"]

    def active_maintenances(self) -> list[IncidentView]:
        return [v for v in self.maintenances if v.status in ("in_progress", "verifying")]

    def history(self) -> list[IncidentView]:
        """Incidents and maintenances of the last 90 days (and any still open), newest first."""
        since = self.now - timedelta(days=UPTIME_DAYS)
        merged = [
            v
            for v in (*self.incidents, *self.maintenances)
            if v.incident.started_at >= since or v.incident.is_open
        ]
        return sorted(merged, key=lambda v: v.incident.started_at, reverse=True)


@functools.lru_cache(maxsize=8192)
def _time_text(moment: datetime, code: str, timezone: str, label: str) -> str:
    """A time as the locale writes it; remembered, since every publish prints the same times again."""
    from outage_comms.locale_format import format_moment

    return format_moment(moment, code, timezone, label)


def site_state(
    plan: Plan,
    incidents: Sequence[Incident],
    maintenances: Sequence[Incident],
    now: datetime,
    uptime_history: UptimeHistory | None,
    options: SiteOptions,
    failures: list[SiteFailure] | None = None,
    cache: WordsCache | None = None,
) -> SiteState:
    """``failures`` collects the incidents that could not be shown (they are left out of the lists).

    Only the incidents some page shows are put into words (:func:`site_window`): the open ones,
    the last 90 days, the 50 most recent of each kind. ``cache`` supplies words rendered before.
    """
    failures = [] if failures is None else failures
    strings = {  # a missing file or key falls back to the default locale's words, with a warning
        code: status_strings(options.templates_dir, code, plan.default_locale) for code in plan.locale_codes
    }
    unique = {i.id: i for i in (*incidents, *maintenances)}
    everything = site_window(unique.values(), now)
    checked = (
        checked_view(plan, incident, now, strings, options, failures, cache) for incident in everything
    )
    views = [view for view in checked if view is not None]
    component_updated: dict[str, datetime] = {}
    for incident in everything:
        for component_id in incident.components:
            if incident.updated_at > component_updated.get(component_id, options.created_at):
                component_updated[component_id] = incident.updated_at
    statuses = current_component_statuses(plan, everything, now)
    return SiteState(
        plan=plan,
        now=now,
        updated_at=max((i.updated_at for i in everything), default=options.created_at),
        options=options,
        strings=strings,
        incidents=[v for v in views if not v.maintenance],
        maintenances=[v for v in views if v.maintenance],
        statuses=statuses,
        component_updated_at=component_updated,
        indicator=overall_indicator(plan, everything, statuses),
        uptime=uptime_history if uptime_history is not None else uptime_from_incidents(plan, everything, now),
    )


def site_window(incidents: Iterable[Incident], now: datetime) -> list[Incident]:
    """What the site shows, newest first: open incidents, those started in the last 90 days, and the
    50 most recent of each kind (incidents, maintenances). The history page and the uptime bars read
    90 days, the JSON API and the feeds the 50 most recent, the home page the open ones."""
    since = now - timedelta(days=UPTIME_DAYS)
    ordered = sorted(incidents, key=lambda i: (i.started_at, i.id), reverse=True)
    counts = {False: 0, True: 0}
    kept = []
    for incident in ordered:
        kind = is_maintenance(incident)
        if incident.is_open or incident.started_at >= since or counts[kind] < RECENT_LIMIT:
            kept.append(incident)
        counts[kind] += 1
    return kept


def page_object(state: SiteState) -> dict[str, Any]:
    return {
        "id": state.page_id,
        "name": state.plan.organization.name,
        "url": state.base_url,
        "time_zone": "Etc/UTC",
        "updated_at": iso(state.updated_at),
    }


def status_object(state: SiteState) -> dict[str, Any]:
    return {"indicator": state.indicator.value, "description": state.indicator_description}
