"""Build the whole public status site from the plan and the incidents: a pure function.

``build_site`` returns every object of the site (HTML per locale, Statuspage v2 JSON, RSS/Atom,
the in-app banner and its snippet, the CloudWatch dashboard body) keyed by its path, with the
Content-Type and Cache-Control it must be served with. Nothing here talks to AWS.

This is the one module that knows every part: it computes the state (:mod:`outage_comms.status.site_state`,
over the incidents as :mod:`outage_comms.status.view` shows them) and calls each part's producer. The
parts import the state and the view, never this module nor each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outage_comms.incident import Incident
from outage_comms.plan import Plan
from outage_comms.status import banner, dashboard, feeds, pages, statuspage_api
from outage_comms.status.site_state import SiteState, site_state, site_window
from outage_comms.status.uptime import UptimeHistory
from outage_comms.status.view import (
    ASSET_CACHE,
    HTML,
    JSON,
    RECENT_LIMIT,
    SHORT_CACHE,
    SUBSCRIBE_PATH,
    Artefact,
    IncidentView,
    SiteFailure,
    SiteOptions,
    UpdateView,
    WordsCache,
    describe,
)

__all__ = [  # the view's names callers have always imported from here
    "ASSET_CACHE",
    "HTML",
    "JSON",
    "RECENT_LIMIT",
    "SHORT_CACHE",
    "SUBSCRIBE_PATH",
    "Artefact",
    "IncidentView",
    "SiteFailure",
    "SiteOptions",
    "SiteState",
    "UpdateView",
    "WordsCache",
    "build_site",
    "clear_caches",
    "describe",
    "site_artefacts",
    "site_state",
    "site_window",
    "write_status_artifacts",
]


def build_site(
    plan: Plan,
    incidents: Sequence[Incident],
    maintenances: Sequence[Incident] = (),
    now: datetime | None = None,
    uptime_history: UptimeHistory | None = None,
    options: SiteOptions | None = None,
) -> dict[str, Artefact]:
    """Every object of the status site, keyed by path (no leading slash).

    ``incidents`` may hold maintenances too (scenario ``maintenance_*`` or a ``scheduled_for``):
    they are sorted out here. ``uptime_history`` defaults to what the incidents themselves say.
    """
    state = site_state(
        plan, incidents, maintenances, now or datetime.now(UTC), uptime_history, options or SiteOptions()
    )
    return site_artefacts(state, [])


def site_artefacts(
    state: SiteState, failures: list[SiteFailure], incident_pages: frozenset[str] | None = None
) -> dict[str, Artefact]:
    """Every artefact the state yields. A producer that fails is recorded in ``failures`` and skipped
    (its objects keep their last published version), so the others are still built.

    ``incident_pages``: render only these incidents' own pages (None: every incident page)."""
    producers: tuple[tuple[str, Callable[[SiteState, list[SiteFailure]], dict[str, Artefact]]], ...] = (
        ("pages", lambda s, f: pages.page_artefacts(s, f, incident_pages)),
        ("statuspage_api", lambda s, _f: statuspage_api.api_artefacts(s)),
        ("feeds", feeds.feed_artefacts),
        ("banner", lambda s, _f: banner.banner_artefacts(s)),
        ("dashboard", lambda s, _f: dashboard.dashboard_artefact(s)),
    )
    site: dict[str, Artefact] = {}
    for name, produce in producers:
        try:
            site.update(produce(state, failures))
        except Exception as error:  # one artefact never stops the others
            failures.append(SiteFailure(None, name, describe(error)))
    return site


def write_status_artifacts(
    out_dir: Path,
    plan: Plan,
    incidents: Sequence[Incident],
    now: datetime,
    options: SiteOptions | None = None,
) -> dict[str, Any]:
    """Write the whole site (HTML, JSON API, feeds, banner, dashboard body) under ``out_dir``.

    Returns a summary with the file count and how to open the page locally.
    """
    site = build_site(plan, incidents, (), now, None, options)
    for path, artefact in site.items():
        target = out_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(artefact.body)
    index = site["index.html"]
    return {
        "directory": str(out_dir),
        "files": len(site),
        "index_gzipped_bytes": index.gzipped_size(),
        "open": f"python3 -m http.server 8000 --bind 127.0.0.1 --directory {out_dir}  # then http://127.0.0.1:8000/",
    }


def clear_caches() -> None:
    """Forget every per-process memo of the site (words, times, pages): a benchmark's cold rebuild."""
    from outage_comms.status import pages, site_state, uptime, view, words

    words._compiled.cache_clear()
    view.load_strings.cache_clear()
    view._iso_text.cache_clear()
    site_state._time_text.cache_clear()
    pages._day_text.cache_clear()
    uptime.format_uptime.cache_clear()
    pages._COMPONENT_ROWS.clear()
