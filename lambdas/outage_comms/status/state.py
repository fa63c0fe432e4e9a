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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from outage_comms.incident import Incident, IncidentSource
from outage_comms.plan import Plan
from outage_comms.status.site import IncidentView, SiteOptions, SiteState, UpdateView
from outage_comms.status.words import Words

STATE_KEY = "_publisher/state.json.gz"
#: Bump when the layout below changes: an older state is then ignored (full rebuild).
STATE_FORMAT = 2
_PUBLIC_SOURCE = IncidentSource(type="alarm", reference="status-site")


def public_copy(incident: Incident) -> Incident:
    """The incident without what the site never reads (and must never hold): timeline, notes, sources."""
    return incident.model_copy(
        update={"timeline": (), "public_note": {}, "internal_title": "", "source": _PUBLIC_SOURCE}
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@functools.cache
def _code_and_templates(templates_dir: Path) -> str:
    """Hash of the status code and every template file (fixed for the life of a Lambda environment)."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted([*here.glob("*.py"), *(p for p in templates_dir.rglob("*") if p.is_file())]):
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
    #: incident id -> (its version, when its next update was due, its updates' words newest first)
    words: dict[str, tuple[int, str | None, list[dict[str, Words]]]] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)

    def cached_updates(self, view: IncidentView) -> list[UpdateView] | None:
        """The incident's rendered updates, when they were rendered from this very version and the
        same "next update by" time (the only input besides the incident that changes with the clock)."""
        cached = self.words.get(view.id)
        if cached is None or cached[0] != view.incident.version or cached[1] != _iso(view.next_update):
            return None
        updates = list(reversed(view.public))
        if len(updates) != len(cached[2]):
            return None
        return [UpdateView(update, words) for update, words in zip(updates, cached[2], strict=True)]

    def remember(self, state: SiteState, incidents: Iterable[Incident]) -> None:
        """Keep ``incidents`` (the window) and the words the state rendered for them."""
        self.incidents = {i.id: public_copy(i) for i in incidents}
        words: dict[str, tuple[int, str | None, list[dict[str, Words]]]] = {}
        for view in (*state.incidents, *state.maintenances):
            if view.id in self.incidents and "updates" in view.__dict__:
                updates = [u.words for u in view.updates]
                words[view.id] = (view.incident.version, _iso(view.next_update), updates)
        self.words = words

    def to_bytes(self) -> bytes:
        document: dict[str, Any] = {
            "format": STATE_FORMAT,
            "fingerprint": self.fingerprint,
            "incidents": [i.model_dump(mode="json", warnings=False) for i in self.incidents.values()],
            "words": {
                incident_id: [
                    version,
                    due,
                    [{loc: [w.title, w.body] for loc, w in u.items()} for u in updates],
                ]
                for incident_id, (version, due, updates) in self.words.items()
            },
            "etags": self.etags,
        }
        return gzip.compress(json.dumps(document, separators=(",", ":")).encode(), compresslevel=5, mtime=0)

    @classmethod
    def from_bytes(cls, body: bytes, expected_fingerprint: str) -> SiteMemory | None:
        """The stored state, or None when it is from another format, plan, template set or code."""
        document: Mapping[str, Any] = json.loads(gzip.decompress(body))
        if document.get("format") != STATE_FORMAT or document.get("fingerprint") != expected_fingerprint:
            return None
        incidents = (Incident.model_validate(raw) for raw in document["incidents"])
        return cls(
            fingerprint=expected_fingerprint,
            incidents={i.id: i for i in incidents},
            words={
                incident_id: (
                    int(version),
                    due,
                    [{loc: Words(title, body) for loc, (title, body) in u.items()} for u in updates],
                )
                for incident_id, (version, due, updates) in document["words"].items()
            },
            etags=dict(document["etags"]),
        )
