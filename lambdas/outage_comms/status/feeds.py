"""RSS 2.0 and Atom feeds of incidents and their updates, per locale, built with feedgen.

Every text is passed through :func:`printable` on its way into the XML: a control character
(an ANSI escape, NUL, U+FFFE) can never make the feed builder raise, whatever reached the words.
"""

from __future__ import annotations

from html import escape

from feedgen.feed import FeedGenerator

from outage_comms.status.model import printable
from outage_comms.status.site_state import SiteState
from outage_comms.status.view import (
    RECENT_LIMIT,
    Artefact,
    IncidentView,
    SiteFailure,
    describe,
    locale_prefix,
)

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"


def _html(text: str) -> str:
    """Plain text as escaped HTML paragraphs: feed readers render descriptions as HTML."""
    return "".join(
        "<p>" + "<br>".join(escape(line) for line in block.split("\n")) + "</p>"
        for block in text.split("\n\n")
        if block.strip()
    )


def _entry_html(state: SiteState, view: IncidentView, locale: str) -> str:
    status_names = state.strings[locale]["incident_status"]
    blocks = []
    for update_view in view.updates:
        update = update_view.update
        heading = f"{status_names.get(update.status, update.status)} - {state.time(update.at, locale)}"
        blocks.append(f"<p><strong>{escape(heading)}</strong></p>{_html(update_view.words[locale].body)}")
    return printable("".join(blocks))


def _feed(
    state: SiteState, locale: str, recent: list[IncidentView], failures: list[SiteFailure] | None
) -> FeedGenerator:
    strings = state.strings[locale]
    prefix = locale_prefix(state.plan, locale)
    feed = FeedGenerator()
    feed.id(f"{state.base_url}/{prefix}history")
    feed.title(printable(str(strings["page_title"]).format(org=state.plan.organization.name)))
    feed.subtitle(printable(str(strings["history_intro"])))
    feed.link(href=f"{state.base_url}/{prefix}", rel="alternate")
    feed.link(href=f"{state.base_url}/{prefix}history.atom", rel="self")
    feed.language(locale)
    feed.updated(state.updated_at)
    # feedgen prepends entries: add oldest first so the newest comes first in the document.
    for view in reversed(recent):
        try:
            content, title = _entry_html(state, view, locale), printable(view.name(locale))
        except Exception as error:  # one incident never stops the feed
            if failures is None:
                raise
            failures.append(
                SiteFailure(view.id, f"{locale_prefix(state.plan, locale)}history feeds", describe(error))
            )
            continue
        entry = feed.add_entry()
        entry.id(state.shortlink(view))
        entry.guid(state.shortlink(view), permalink=True)
        entry.title(title)
        entry.link(href=state.shortlink(view))
        entry.published(view.created_at)
        entry.updated(view.incident.updated_at)
        entry.description(content)
        entry.content(content, type="html")
    return feed


def feed_artefacts(state: SiteState, failures: list[SiteFailure] | None = None) -> dict[str, Artefact]:
    """``history.rss`` and ``history.atom`` per locale; a locale's feed that fails is recorded and skipped."""
    out: dict[str, Artefact] = {}
    recent = sorted(
        (*state.incidents[:RECENT_LIMIT], *state.maintenances[:RECENT_LIMIT]),
        key=lambda v: v.incident.updated_at,
        reverse=True,
    )[:RECENT_LIMIT]
    for locale in state.plan.locale_codes:
        prefix = locale_prefix(state.plan, locale)
        try:
            feed = _feed(state, locale, recent, failures)
            rss, atom = feed.rss_str(pretty=False), feed.atom_str(pretty=False)
        except Exception as error:  # one locale's feed never stops the rest of the site
            if failures is None:
                raise
            failures.append(SiteFailure(None, f"{prefix}history feeds", describe(error)))
            continue
        out[f"{prefix}history.rss"] = Artefact(rss, RSS)
        out[f"{prefix}history.atom"] = Artefact(atom, ATOM)
    return out
