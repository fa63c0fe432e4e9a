"""What every part of the status site reads besides the state: an incident as the site shows it (its
updates in words, rendered on first use), the site's options and strings, and the artefact type.

The builder (:mod:`outage_comms.status.site`) computes one :class:`~outage_comms.status.site_state.SiteState`
from these and hands it to each part (pages, Statuspage API, feeds, banner, dashboard); the parts import
this module, the state and the status model, never the builder nor each other. Nothing here talks to AWS.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from outage_comms.incident import Incident
from outage_comms.plan import Plan
from outage_comms.rendering import DEFAULT_TEMPLATES_DIR
from outage_comms.status.model import (
    PublicUpdate,
    has_postmortem,
    is_maintenance,
    next_update_at,
    public_updates,
    safe_note,
    statuspage_status,
)
from outage_comms.status.words import Words, render_update
from outage_comms.vocabulary import MessageFormat

#: HTML, JSON and feeds: browsers and CloudFront keep them 30 s, so an update shows within a minute.
SHORT_CACHE = "public, max-age=30, s-maxage=30"
#: Style sheet and embeddable snippet: change only with a release.
ASSET_CACHE = "public, max-age=300, s-maxage=300"
HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
#: How many incidents the list endpoints and feeds carry (Statuspage: the 50 most recent).
RECENT_LIMIT = 50
#: The subscribe form's action on the status site's own domain (CloudFront's ``/api/*`` behaviour).
SUBSCRIBE_PATH = "/api/subscriptions"
UNRESOLVED = frozenset({"investigating", "identified", "monitoring"})


@dataclass(frozen=True, slots=True)
class Artefact:
    """One object of the site: its bytes and how it must be served."""

    body: bytes
    content_type: str
    cache_control: str = SHORT_CACHE

    @property
    def md5(self) -> str:
        """Hex MD5 of the body: S3's ETag for a single-part SSE-S3 upload (unchanged objects are skipped)."""
        return hashlib.md5(self.body, usedforsecurity=False).hexdigest()

    def gzipped_size(self) -> int:
        return len(gzip.compress(self.body, compresslevel=6))


@dataclass(frozen=True, kw_only=True)
class SiteOptions:
    """Deployment facts the plan does not hold."""

    subscribe_url: str | None = None
    region: str = "us-east-1"
    templates_dir: Path = DEFAULT_TEMPLATES_DIR
    created_at: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def subscribe_endpoint(self, plan: Plan) -> str:
        """Where the form posts: the status site's own ``/api/subscriptions`` (CloudFront sends ``/api/*``
        to the subscribe API), or the API's own URL when ``STATUS_SUBSCRIBE_URL`` names one."""
        del plan  # the same path on every status domain: a root-relative action needs no host
        return self.subscribe_url or SUBSCRIBE_PATH


def locale_prefix(plan: Plan, locale: str) -> str:
    """Where a locale's pages live: the default locale at the root, others under ``pt-br/`` etc."""
    return "" if locale == plan.default_locale else f"{locale.lower()}/"


@functools.lru_cache(maxsize=16)
def load_strings(templates_dir: Path, locale: str) -> dict[str, Any]:
    from outage_comms.templates_location import read_template_data  # compiled JSON in the Lambda asset

    data = read_template_data(templates_dir / "status" / "strings" / f"{locale}.yaml")
    if not isinstance(data, dict):
        raise ValueError(f"{templates_dir}/status/strings/{locale}.yaml: expected a mapping of labels")
    return data


@dataclass(frozen=True)
class UpdateView:
    """A public update with its words in every locale."""

    update: PublicUpdate
    words: dict[str, Words]


@dataclass(frozen=True)
class IncidentView:
    """An incident as the site shows it. Its words are rendered on first use (most are never shown)."""

    plan: Plan
    incident: Incident
    now: datetime
    strings: Mapping[str, Mapping[str, Any]]
    options: SiteOptions
    public: list[PublicUpdate]
    status: str
    maintenance: bool
    next_update: datetime | None

    @property
    def id(self) -> str:
        return self.incident.id

    def name(self, locale: str) -> str:
        return self.updates[0].words[locale].title

    @property
    def unresolved(self) -> bool:
        return self.status in UNRESOLVED

    @property
    def created_at(self) -> datetime:
        return self.public[0].at

    def postmortem(self, locale: str) -> str | None:
        """The published post-incident summary in ``locale`` (else the default locale), or None."""
        if not has_postmortem(self.incident):
            return None
        words = safe_note(self.plan, self.incident.postmortem)
        return words.get(locale) or words.get(self.plan.default_locale)

    def first_at(self, status: str) -> datetime | None:
        return next((u.at for u in self.public if u.status == status), None)

    def _words(
        self, update: PublicUpdate, fmt: MessageFormat, following: datetime | None
    ) -> dict[str, Words]:
        return {
            locale: render_update(
                plan=self.plan,
                strings=self.strings,
                incident=self.incident,
                update=update,
                locale=locale,
                fmt=fmt,
                next_update=following,
                templates_dir=self.options.templates_dir,
            )
            for locale in self.plan.locale_codes
        }

    @functools.cached_property
    def updates(self) -> list[UpdateView]:
        """Every public update in words, newest first."""
        last = len(self.public) - 1
        views = [
            UpdateView(
                update,
                self._words(
                    update, MessageFormat.STATUS_PAGE, self.public[i + 1].at if i < last else self.next_update
                ),
            )
            for i, update in enumerate(self.public)
        ]
        views.reverse()
        return views

    @functools.cached_property
    def banner(self) -> dict[str, Words]:
        """The in-app words of the latest update (empty when closed or the in-app channel is off)."""
        in_app = self.plan.channels.in_app
        if not self.incident.is_open or in_app is None or not in_app.enabled:
            return {}
        return self._words(self.public[-1], MessageFormat.IN_APP, self.next_update)


@dataclass(frozen=True, slots=True)
class SiteFailure:
    """One part of the site that could not be built; the rest of the site is still published."""

    incident_id: str | None
    part: str  # "incident", an artefact producer's name, or an object key
    error: str

    def as_dict(self) -> dict[str, str | None]:
        return {"incident_id": self.incident_id, "part": self.part, "error": self.error}


def describe(error: BaseException) -> str:
    """An error for the team's logs (never for a public page)."""
    return f"{type(error).__name__}: {error}"[:500]


def incident_view(
    plan: Plan,
    incident: Incident,
    now: datetime,
    strings: Mapping[str, Mapping[str, Any]],
    options: SiteOptions,
) -> IncidentView:
    updates = public_updates(plan, incident)
    return IncidentView(
        plan=plan,
        incident=incident,
        now=now,
        strings=strings,
        options=options,
        public=updates,
        status=statuspage_status(plan, incident),
        maintenance=is_maintenance(incident),
        next_update=next_update_at(plan, incident, updates[-1].at, now),
    )


class WordsCache(Protocol):
    """Rendered words kept from an earlier publish (the publisher's materialised state)."""

    def cached_words(self, view: IncidentView) -> tuple[list[UpdateView], dict[str, Words]] | None:
        """The view's updates in words and its banner's words, if rendered before from the same inputs."""


def checked_view(
    plan: Plan,
    incident: Incident,
    now: datetime,
    strings: Mapping[str, Mapping[str, Any]],
    options: SiteOptions,
    failures: list[SiteFailure],
    cache: WordsCache | None = None,
) -> IncidentView | None:
    """The incident's view with every word rendered, or None when it cannot be shown at all.

    An incident whose published words cannot be rendered falls back to its public status in the
    plan's generic words; one that cannot be shown even so is left out. Either way the failure is
    recorded with the incident id and the rest of the site is built.
    """
    attempts = [incident] if not incident.published else [incident, incident.evolve(published=())]
    for attempt in attempts:
        try:
            view = incident_view(plan, attempt, now, strings, options)
            cached = cache.cached_words(view) if cache is not None and attempt is incident else None
            if cached is not None:  # into the functools.cached_property slots
                view.__dict__["updates"], view.__dict__["banner"] = cached
            for locale in plan.locale_codes:
                view.name(locale)
                view.postmortem(locale)
            _ = view.banner
            return view
        except Exception as error:  # one incident never stops the site
            failures.append(SiteFailure(incident.id, "incident", describe(error)))
    return None


_JSON_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def json_artefact(document: Any) -> Artefact:
    """Compact UTF-8 JSON with ``<``, ``>`` and ``&`` escaped (same data; inert if ever sniffed as HTML)."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":")).translate(_JSON_HTML_SAFE)
    return Artefact(text.encode(), JSON)


def iso(moment: datetime | None) -> str | None:
    """Statuspage's timestamp form: ISO 8601 in UTC with milliseconds and ``Z``."""
    return None if moment is None else _iso_text(moment)


@functools.lru_cache(maxsize=8192)
def _iso_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
