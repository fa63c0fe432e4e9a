"""RSS 2.0 and Atom feeds of incidents and their updates, per locale, built with feedgen."""

from __future__ import annotations

from html import escape

from feedgen.feed import FeedGenerator

from outage_comms.status.site import RECENT_LIMIT, Artefact, SiteState, locale_prefix

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"


def _html(text: str) -> str:
    """Plain text as escaped HTML paragraphs: feed readers render descriptions as HTML."""
    return "".join(
        "<p>" + "<br>".join(escape(line) for line in block.split("\n")) + "</p>"
        for block in text.split("\n\n")
        if block.strip()
    )


def feed_artefacts(state: SiteState) -> dict[str, Artefact]:
    out: dict[str, Artefact] = {}
    recent = sorted(
        (*state.incidents[:RECENT_LIMIT], *state.maintenances[:RECENT_LIMIT]),
        key=lambda v: v.incident.updated_at,
        reverse=True,
    )[:RECENT_LIMIT]
    for locale in state.plan.locale_codes:
        strings = state.strings[locale]
        prefix = locale_prefix(state.plan, locale)
        home = f"{state.base_url}/{prefix}"
        feed = FeedGenerator()
        feed.id(f"{state.base_url}/{prefix}history")
        feed.title(str(strings["page_title"]).format(org=state.plan.organization.name))
        feed.subtitle(str(strings["history_intro"]))
        feed.link(href=home, rel="alternate")
        feed.link(href=f"{state.base_url}/{prefix}history.atom", rel="self")
        feed.language(locale)
        feed.updated(state.updated_at)
        # feedgen prepends entries: add oldest first so the newest comes first in the document.
        for view in reversed(recent):
            words = view.updates[0].words[locale]
            status_names = strings["incident_status"]
            blocks = []
            for update_view in view.updates:
                update = update_view.update
                heading = (
                    f"{status_names.get(update.status, update.status)} - {state.time(update.at, locale)}"
                )
                blocks.append(
                    f"<p><strong>{escape(heading)}</strong></p>{_html(update_view.words[locale].body)}"
                )
            entry = feed.add_entry()
            entry.id(state.shortlink(view))
            entry.guid(state.shortlink(view), permalink=True)
            entry.title(words.title)
            entry.link(href=state.shortlink(view))
            entry.published(view.created_at)
            entry.updated(view.incident.updated_at)
            entry.description("".join(blocks))
            entry.content("".join(blocks), type="html")
        out[f"{prefix}history.rss"] = Artefact(feed.rss_str(pretty=False), RSS)
        out[f"{prefix}history.atom"] = Artefact(feed.atom_str(pretty=False), ATOM)
    return out
