"""The HTML pages, per locale: the current status, one page per incident, the history.

Jinja2 with autoescape on and ``StrictUndefined``: every title, body and name is escaped. The
pages have no scripts and no inline styles (the Content-Security-Policy forbids both): one
style sheet, server-rendered uptime bars, a plain POST form to subscribe.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from outage_comms.plan import Component
from outage_comms.rendering import DEFAULT_TEMPLATES_DIR
from outage_comms.status.model import ComponentStatus
from outage_comms.status.site_state import SiteState
from outage_comms.status.uptime import UPTIME_DAYS, DayRecord, uptime_text
from outage_comms.status.view import (
    ASSET_CACHE,
    HTML,
    Artefact,
    IncidentView,
    SiteFailure,
    describe,
    locale_prefix,
)
from outage_comms.status.words import paragraphs

STYLESHEET = "assets/status.css"
#: Progressive enhancement of the subscribe form (fetch + inline answer); the form works without it.
SUBSCRIBE_SCRIPT = "assets/subscribe.js"
#: How many days of past incidents the home page lists (Statuspage shows a week).
PAST_DAYS = 7
#: Where a message's generic unsubscribe link lands (``/unsubscribe`` -> this object at the edge).
UNSUBSCRIBE_PAGE = "unsubscribe/index.html"
_IMAGE_TYPES = {
    "svg": "image/svg+xml",
    "png": "image/png",
    "webp": "image/webp",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "ico": "image/x-icon",
}


@functools.lru_cache(maxsize=4)
def _environment(templates_dir: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir / "status")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["paragraphs"] = paragraphs
    return env


def incident_path(view: IncidentView) -> str:
    """The object key of an incident page; the public ``/incidents/<id>`` URL maps here at the edge."""
    return f"incidents/{view.id.lower()}.html"


#: Component lines already rendered in this process (see ``PageHelper.component``).
_COMPONENT_ROWS: dict[tuple[Any, ...], ComponentRow] = {}
_COMPONENT_ROWS_MAX = 8192


class Row(NamedTuple):
    href: str
    title: str
    status: str
    iso: str
    time: str


class ComponentRow(NamedTuple):
    name: str
    status: str
    status_name: str
    description: str
    summary: str
    detail: str
    bars: Markup


@dataclass(frozen=True)
class Page:
    """What every page template receives about where it is."""

    locale: str
    root: str  # relative path from this page to the site root, e.g. "../"
    home: str  # relative path from this page to this locale's home page

    def link(self, path: str) -> str:
        return self.root + path


class PageHelper:
    """Formatting the templates call: times, status names, uptime text."""

    def __init__(self, state: SiteState, locale: str) -> None:
        self.state = state
        self.locale = locale
        self.s = state.strings[locale]

    def time(self, moment: datetime) -> str:
        return self.state.time(moment, self.locale)

    def iso(self, moment: datetime) -> str:
        return moment.isoformat(timespec="seconds")

    def status_name(self, status: str) -> str:
        return str(self.s["incident_status"].get(status, status))

    def component_name(self, status: ComponentStatus) -> str:
        return str(self.s["component_status"][status.value])

    def percent(self, records: Sequence[DayRecord]) -> str:
        """Uptime of ``records`` as the locale writes a percentage (Babel; strings' ``percent_format``)."""
        return uptime_text(records, self.locale, self.s.get("percent_format"))

    def day(self, day: date) -> str:
        return _day_text(day, self.locale)

    def uptime_text(self, component_id: str) -> tuple[str, str]:
        records = self.state.uptime.get(component_id, [])
        summary = str(self.s["uptime_summary"]).format(percent=self.percent(records))
        bad = [r for r in records if r.worst is not ComponentStatus.OPERATIONAL]
        if not bad:
            return summary, str(self.s["uptime_no_problems"])
        days = "; ".join(
            f"{self.day(r.day)} {self.component_name(r.worst)} ({self.percent([r])})" for r in bad[-10:]
        )
        return summary, str(self.s["uptime_days_with_problems"]).format(days=days)

    def rows(self, views: Sequence[IncidentView], page: Page) -> list[Row]:
        """What a list of incidents prints (the history page, past incidents), in one call per list."""
        prefix = locale_prefix(self.state.plan, self.locale)
        return [
            Row(
                href=page.link(prefix + incident_path(view)),
                title=self.words(view).title,
                status=self.status_name(view.status),
                iso=self.iso(view.incident.started_at),
                time=self.time(view.incident.started_at),
            )
            for view in views
        ]

    def component(self, component: Component) -> ComponentRow:
        """What one component's line of the home page prints, in one call.

        Remembered by everything it is made of (words, status, the days that were not calm), so a
        publish re-renders only the lines of the components whose uptime or status changed.
        """
        status = self.state.statuses[component.id]
        records = self.state.uptime.get(component.id, [])
        key = (
            self.state.options.templates_dir,
            self.state.plan.default_locale,
            self.locale,
            component.id,
            component.name[self.locale],
            component.description[self.locale],
            status,
            records[0].day if records else None,
            len(records),
            tuple(r for r in records if r.downtime_minutes or r.worst is not ComponentStatus.OPERATIONAL),
        )
        row = _COMPONENT_ROWS.get(key)
        if row is None:
            summary, detail = self.uptime_text(component.id)
            row = ComponentRow(
                name=component.name[self.locale],
                status=status.value,
                status_name=self.component_name(status),
                description=component.description[self.locale],
                summary=summary,
                detail=detail,
                bars=self.bar_svg(component.id),
            )
            if len(_COMPONENT_ROWS) >= _COMPONENT_ROWS_MAX:
                _COMPONENT_ROWS.clear()
            _COMPONENT_ROWS[key] = row
        return row

    def bar_svg(self, component_id: str) -> Markup:
        """The uptime bar as one inline SVG: a path per status (a sub-path per day), not an element per day.

        The colour of a day and every percentage come from the same :class:`DayRecord`; the per-day
        detail is in the visually hidden text next to it (the SVG is decorative for assistive tech).
        """
        records = self.state.uptime.get(component_id, [])
        width = len(records) or UPTIME_DAYS
        days: dict[str, list[int]] = {}
        for index, record in enumerate(records):
            css = _BAR_CLASS[record.worst]
            if css != "o":
                days.setdefault(css, []).append(index)
        paths = "".join(
            f'<path class="{css}" d="{"".join(f"M{i} 0h1v10h-1z" for i in indices)}"/>'
            for css, indices in sorted(days.items())
        )
        return Markup(  # noqa: S704 - only integers and fixed class names, no text
            f'<svg class="bars" viewBox="0 0 {width} 10" preserveAspectRatio="none" aria-hidden="true" '
            f'focusable="false"><rect class="o" width="{width}" height="10"/>{paths}'
            f'<rect width="{width}" height="10" fill="url(#day-gaps)"/></svg>'
        )

    def past_days(self, days: int = PAST_DAYS) -> list[tuple[str, list[IncidentView]]]:
        """Statuspage's "past incidents": each of the last ``days`` days in the locale's zone, newest
        first, with the incidents and maintenances that started that day."""
        zone = ZoneInfo(self.state.plan.locale(self.locale).timezone)
        today = self.state.now.astimezone(zone).date()
        by_day: dict[date, list[IncidentView]] = {}
        for view in self.state.history():
            started = view.incident.started_at.astimezone(zone).date()
            if 0 <= (today - started).days < days:
                by_day.setdefault(started, []).append(view)
        return [
            (self.day(today - timedelta(days=back)), by_day.get(today - timedelta(days=back), []))
            for back in range(days)
        ]

    def bars(self, component_id: str) -> list[tuple[str, str]]:
        """(css class, title) per day, oldest first: o operational, d slow, p partial, m major."""
        out = []
        for record in self.state.uptime.get(component_id, []):
            css = _BAR_CLASS[record.worst]
            title = "" if css == "o" else f"{record.day.isoformat()}: {self.component_name(record.worst)}"
            out.append((css, title))
        return out

    def words(self, view: IncidentView, index: int = 0) -> Any:
        return view.updates[index].words[self.locale]


@functools.lru_cache(maxsize=4096)
def _day_text(day: date, locale: str) -> str:
    """A date as the locale writes it (Babel), remembered: the same 90 days are printed on every publish."""
    from babel.dates import format_date

    from outage_comms.locale_format import babel_locale

    return str(format_date(day, "medium", locale=babel_locale(locale)))


_BAR_CLASS = {
    ComponentStatus.OPERATIONAL: "o",
    ComponentStatus.UNDER_MAINTENANCE: "u",
    ComponentStatus.DEGRADED_PERFORMANCE: "d",
    ComponentStatus.PARTIAL_OUTAGE: "p",
    ComponentStatus.MAJOR_OUTAGE: "m",
}


def _brand(state: SiteState) -> dict[str, str | None]:
    settings = state.plan.channels.status_page
    return {
        "logo": f"assets/{settings.logo}" if settings and settings.logo else None,
        "favicon": f"assets/{settings.favicon}" if settings and settings.favicon else None,
        "accent": settings.accent_color if settings else None,
    }


def _render(state: SiteState, template: str, page: Page, **extra: Any) -> Artefact:
    plan = state.plan
    strings = state.strings[page.locale]
    alternates = [
        {
            "code": code,
            "name": state.strings[code]["language_name"],
            "href": page.root + locale_prefix(plan, code) + extra.get("same_page", "index.html"),
        }
        for code in plan.locale_codes
    ]
    html = (
        _environment(state.options.templates_dir)
        .get_template(template)
        .render(
            s=strings,
            h=PageHelper(state, page.locale),
            page=page,
            state=state,
            org=plan.organization,
            title=str(strings["page_title"]).format(org=plan.organization.name),
            alternates=alternates,
            stylesheet=page.root + STYLESHEET,
            subscribe_url=state.options.subscribe_endpoint(plan),
            subscribe_script=SUBSCRIBE_SCRIPT,
            page_prefix=locale_prefix(plan, page.locale),
            incident_path=incident_path,
            brand=_brand(state),
            **extra,
        )
    )
    return Artefact(html.encode("utf-8"), HTML)


def _asset(templates_dir: Path, name: str) -> bytes:
    """A team's own copy of an asset, else the shipped one (a team's templates may predate it)."""
    own = templates_dir / "status" / "assets" / name
    return (own if own.is_file() else DEFAULT_TEMPLATES_DIR / "status" / "assets" / name).read_bytes()


def _stylesheet(state: SiteState) -> bytes:
    """The style sheet, with the plan's accent colour for links and buttons (no inline style: CSP)."""
    css = (state.options.templates_dir / "status" / "assets" / "status.css").read_bytes()
    accent = _brand(state)["accent"]
    return css + f"\n:root{{--link:{accent};--accent:{accent}}}\n".encode() if accent else css


def asset_artefacts(state: SiteState) -> dict[str, Artefact]:
    """The style sheet, the subscribe script and the plan's brand files (logo, favicon)."""
    out = {
        STYLESHEET: Artefact(_stylesheet(state), "text/css; charset=utf-8", ASSET_CACHE),
        SUBSCRIBE_SCRIPT: Artefact(
            _asset(state.options.templates_dir, "subscribe.js"),
            "text/javascript; charset=utf-8",
            ASSET_CACHE,
        ),
    }
    for key in filter(None, (_brand(state)["logo"], _brand(state)["favicon"])):
        name = key.removeprefix("assets/")
        out[key] = Artefact(
            (state.options.templates_dir / "status" / "assets" / name).read_bytes(),
            _IMAGE_TYPES[name.rsplit(".", 1)[-1].lower()],
            ASSET_CACHE,
        )
    return out


def page_artefacts(
    state: SiteState,
    failures: list[SiteFailure] | None = None,
    incident_pages: frozenset[str] | None = None,
) -> dict[str, Artefact]:
    """Every HTML page; an incident page that cannot be rendered is recorded in ``failures`` and skipped.

    ``incident_pages`` limits the incident pages to those incidents (an incremental publish renders
    only the page of the incident that changed); None renders every incident page of the history.
    """
    plan = state.plan
    out = asset_artefacts(state)
    groups = [
        (group, [c for c in plan.components if c.group == group.id])
        for group in plan.groups
        if any(c.group == group.id for c in plan.components)
    ]
    history = state.history()
    for locale in plan.locale_codes:
        prefix = locale_prefix(plan, locale)
        depth = prefix.count("/")
        root = "../" * depth
        home = Page(locale, root, "index.html")
        out[f"{prefix}index.html"] = _render(
            state,
            "index.html.j2",
            home,
            groups=groups,
            active=state.active_incidents() + state.active_maintenances(),
            upcoming=state.upcoming_maintenances(),
            same_page="index.html",
            show_updated=True,
        )
        out[f"{prefix}history.html"] = _render(
            state,
            "history.html.j2",
            Page(locale, root, "index.html"),
            history=history,
            same_page="history.html",
            show_updated=False,
        )
        deeper = Page(locale, "../" * (depth + 1), "../index.html")
        static = incident_pages is None  # an incremental publish leaves pages no incident changes alone
        if static and (state.options.templates_dir / "status" / "unsubscribe.html.j2").is_file():
            out[f"{prefix}{UNSUBSCRIBE_PAGE}"] = _render(
                state, "unsubscribe.html.j2", deeper, same_page=UNSUBSCRIBE_PAGE, show_updated=False
            )
        pages = history if incident_pages is None else _with_pages(state, incident_pages)
        # Pages of older incidents were written while they were recent and stay in the bucket.
        for view in pages:
            try:
                out[f"{prefix}{incident_path(view)}"] = _render(
                    state,
                    "incident.html.j2",
                    deeper,
                    view=view,
                    same_page=incident_path(view),
                    show_updated=False,
                )
            except Exception as error:  # one incident's page never stops the others
                if failures is None:
                    raise
                failures.append(SiteFailure(view.id, f"{prefix}{incident_path(view)}", describe(error)))
    return out


def _with_pages(state: SiteState, ids: frozenset[str]) -> list[IncidentView]:
    return [view for view in (*state.incidents, *state.maintenances) if view.id in ids]
