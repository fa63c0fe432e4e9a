"""The in-app banner feed (``api/v2/banner.json``) and the embeddable snippet that shows it.

The banner carries the ``in_app`` words of every open incident and running maintenance, in every
locale, so the product shows the same approved words customers read everywhere else. The snippet
(``embed/banner.js``) has no dependencies and writes text only with ``textContent``.
"""

from __future__ import annotations

from typing import Any

from outage_comms.status.model import severity_of
from outage_comms.status.site_state import SiteState, page_object, status_object
from outage_comms.status.view import ASSET_CACHE, Artefact, iso, json_artefact

EMBED_PATH = "embed/banner.js"


def banner_document(state: SiteState) -> dict[str, Any]:
    banners = []
    for view in (*state.active_incidents(), *state.active_maintenances()):
        if not view.banner:
            continue
        banners.append(
            {
                "incident_id": view.id,
                "status": view.status,
                "impact": severity_of(state.plan, view.incident.severity).impact.value,
                "severity": "maintenance"
                if view.maintenance
                else severity_of(state.plan, view.incident.severity).impact.value,
                "link": state.shortlink(view),
                "updated_at": iso(view.incident.updated_at),
                "next_update_at": iso(view.next_update),
                "locales": {
                    locale: {"title": words.title, "body": words.body}
                    for locale, words in view.banner.items()
                },
            }
        )
    return {
        "page": page_object(state),
        "status": status_object(state),
        "default_locale": state.plan.default_locale,
        "active": bool(banners),
        "banners": banners,
    }


def banner_artefacts(state: SiteState) -> dict[str, Artefact]:
    in_app = state.plan.channels.in_app
    if in_app is None or not in_app.enabled:
        return {}
    snippet = (state.options.templates_dir / "status" / "assets" / "banner.js").read_bytes()
    return {
        in_app.banner_path.lstrip("/"): json_artefact(banner_document(state)),
        EMBED_PATH: Artefact(snippet, "text/javascript; charset=utf-8", ASSET_CACHE),
    }
