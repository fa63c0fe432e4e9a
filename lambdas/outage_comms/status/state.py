"""The publisher's materialised state: what the last publish built from, so the next one re-renders
only what one changed incident touches.

One gzip-compressed JSON object (:data:`STATE_KEY`, in the status bucket, never served: the edge
answers 404 under ``_publisher/``) holds:

* ``incidents``: the public copy of every incident the site shows (open ones, the last 90 days, the
  50 most recent of each kind) — without timeline, notes, internal title or source, which the site
  never reads;
* ``words``: the rendered public words of each incident, keyed by its version and its "next update
  by" time (the one input of an open incident's words that moves with the clock);
* ``etags``: the MD5 of every object the site last wrote, so unchanged objects are skipped without
  listing the bucket;
* ``fingerprint``: plan, options, templates and code; any change means a full rebuild.

Its size is bounded by the site's window, never by the incidents table's history.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from outage_comms.incident import Incident, IncidentSource
from outage_comms.plan import Plan
from outage_comms.status.site_state import SiteState
from outage_comms.status.view import IncidentView, SiteOptions, UpdateView
from outage_comms.status.words import Words

STATE_KEY = "_publisher/state.json.gz"
#: Bump when the layout below changes: an older state is then ignored (full rebuild).
STATE_FORMAT = 4
_PUBLIC_SOURCE = IncidentSource(type="alarm", reference="status-site")


def public_copy(incident: Incident) -> Incident:
    """The incident without what the site never reads (and must never hold): timeline, notes, sources."""
    return incident.model_copy(
        update={"timeline": (), "public_note": {}, "internal_title": "", "source": _PUBLIC_SOURCE}
    )


CachedWords = tuple[int, str | None, list[dict[str, Words]], dict[str, Words]]


def _pairs(words: Mapping[str, Words]) -> dict[str, list[str]]:
    return {locale: [w.title, w.body] for locale, w in words.items()}


def _words(pairs: Mapping[str, list[str]]) -> dict[str, Words]:
    return {locale: Words(title, body) for locale, (title, body) in pairs.items()}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@functools.cache
def _code_and_templates(templates_dir: Path) -> str:
    """Hash of the status code and every template file (fixed for the life of a Lambda environment)."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    # The deployed asset ships the package as bytecode only (module.pyc beside nothing): hash either form.
    code = [*here.glob("*.py"), *here.glob("*.pyc")]
    for path in sorted([*code, *(p for p in templates_dir.rglob("*") if p.is_file())]):
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(plan: Plan, options: SiteOptions) -> str:
    """Everything a rendered word or page depends on besides the incidents and the time."""
    digest = hashlib.sha256(f"{STATE_FORMAT}".encode())
    digest.update(plan.model_dump_json().encode())
    digest.update(repr(options).encode())
    digest.update(_code_and_templates(options.templates_dir).encode())
    return digest.hexdigest()


@dataclass
class SiteMemory:
    """The materialised state (see the module docstring)."""

    fingerprint: str
    incidents: dict[str, Incident] = field(default_factory=dict)
    #: incident id -> (its version, when its next update was due, its updates' words newest first,
    #: its banner's words)
    words: dict[str, CachedWords] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)
    #: The JSON each unchanged incident and words entry was read from (written back as is).
    _raw_incidents: dict[str, tuple[Incident, str]] = field(default_factory=dict, repr=False)
    _raw_words: dict[str, tuple[CachedWords, str]] = field(default_factory=dict, repr=False)

    def cached_words(self, view: IncidentView) -> tuple[list[UpdateView], dict[str, Words]] | None:
        """The incident's rendered updates and banner, when they were rendered from this very version
        and the same "next update by" time (the only input besides the incident that moves with the clock)."""
        cached = self.words.get(view.id)
        if cached is None or cached[0] != view.incident.version or cached[1] != _iso(view.next_update):
            return None
        updates = list(reversed(view.public))
        if len(updates) != len(cached[2]):
            return None
        views = [UpdateView(update, words) for update, words in zip(updates, cached[2], strict=True)]
        return views, cached[3]

    def remember(self, state: SiteState, incidents: Iterable[Incident]) -> None:
        """Keep ``incidents`` (the window) and the words the state rendered for them."""
        self.incidents = {
            i.id: i if self._raw_incidents.get(i.id, (None,))[0] is i else public_copy(i) for i in incidents
        }
        words: dict[str, CachedWords] = {}
        for view in (*state.incidents, *state.maintenances):
            if view.id in self.incidents and "updates" in view.__dict__ and "banner" in view.__dict__:
                due = _iso(view.next_update)
                before = self.words.get(view.id)
                if before is not None and before[:2] == (view.incident.version, due):
                    words[view.id] = before  # the view was given these very words
                else:
                    updates = [u.words for u in view.updates]
                    words[view.id] = (view.incident.version, due, updates, view.banner)
        self.words = words

    def to_bytes(self) -> bytes:
        incidents = [
            raw[1] if (raw := self._raw_incidents.get(i.id)) and raw[0] is i else _incident_json(i)
            for i in self.incidents.values()
        ]
        words = {
            incident_id: text[1]
            if (text := self._raw_words.get(incident_id)) and text[0] is entry
            else _dump(entry)
            for incident_id, entry in self.words.items()
        }
        document = {
            "format": STATE_FORMAT,
            "fingerprint": self.fingerprint,
            "incidents": incidents,
            "words": words,
            "etags": self.etags,
        }
        return gzip.compress(json.dumps(document, separators=(",", ":")).encode(), compresslevel=1, mtime=0)

    @classmethod
    def from_bytes(cls, body: bytes, expected_fingerprint: str) -> SiteMemory | None:
        """The stored state, or None when it is from another format, plan, template set or code."""
        document: Mapping[str, Any] = json.loads(gzip.decompress(body))
        if document.get("format") != STATE_FORMAT or document.get("fingerprint") != expected_fingerprint:
            return None
        raw_incidents = {}
        for text in document["incidents"]:
            incident = Incident.model_validate_json(text)
            raw_incidents[incident.id] = (incident, text)
        raw_words = {incident_id: (_load(text), text) for incident_id, text in document["words"].items()}
        return cls(
            fingerprint=expected_fingerprint,
            incidents={incident_id: incident for incident_id, (incident, _) in raw_incidents.items()},
            words={incident_id: entry for incident_id, (entry, _) in raw_words.items()},
            etags=dict(document["etags"]),
            _raw_incidents=raw_incidents,
            _raw_words=raw_words,
        )


_LONE_SURROGATES = re.compile("[\ud800-\udfff]")


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATES.sub("", value)
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def _incident_json(incident: Incident) -> str:
    """The incident as stored state. Text kept from before the doors' rule (or sent by AWS) may hold a
    lone surrogate, which UTF-8 cannot carry: it is dropped here, as the public output drops it, so one
    incident's words never stop the state save."""
    try:
        return incident.model_dump_json(warnings=False)
    except ValueError:  # PydanticSerializationError: "surrogates not allowed"
        data = _without_surrogates(incident.model_dump(mode="json", warnings=False))
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _dump(entry: CachedWords) -> str:
    version, due, updates, banner = entry
    return json.dumps([version, due, [_pairs(u) for u in updates], _pairs(banner)], separators=(",", ":"))


def _load(text: str) -> CachedWords:
    version, due, updates, banner = json.loads(text)
    return int(version), due, [_words(u) for u in updates], _words(banner)
