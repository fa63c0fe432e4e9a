"""Statuspage v2 public API documents (``api/v2/*.json``): same field names, enums and semantics.

Tools that read an Atlassian Statuspage page (``summary.json``, ``status.json``, ...) read these
unchanged. The API speaks the plan's default locale, as a Statuspage page has one language.
"""

from __future__ import annotations

from typing import Any

from outage_comms.status.model import ComponentStatus, has_postmortem, severity_of
from outage_comms.status.site_state import SiteState, page_object, status_object
from outage_comms.status.view import RECENT_LIMIT, Artefact, IncidentView, iso, json_artefact

API = "api/v2"


def group_id(group: str) -> str:
    return f"group-{group}"


def components(state: SiteState) -> list[dict[str, Any]]:
    """Groups and their components, in plan order, as Statuspage lists them (groups carry ``components``)."""
    plan, locale = state.plan, state.plan.default_locale
    created = iso(state.options.created_at)
    out: list[dict[str, Any]] = []
    position = 0
    for group in plan.groups:
        members = [c for c in plan.components if c.group == group.id]
        if not members:
            continue
        worst = max((state.statuses[c.id] for c in members), key=list(ComponentStatus).index)
        position += 1
        out.append(
            {
                "id": group_id(group.id),
                "name": group.name.get(locale, group.id),
                "status": worst.value,
                "created_at": created,
                "updated_at": iso(
                    max(state.component_updated_at.get(c.id, state.options.created_at) for c in members)
                ),
                "position": position,
                "description": None,
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": state.page_id,
                "group": True,
                "only_show_if_degraded": False,
                "components": [c.id for c in members],
            }
        )
        for component in members:
            position += 1
            out.append(component_object(state, component.id, position))
    return out


def component_object(state: SiteState, component_id: str, position: int | None = None) -> dict[str, Any]:
    plan, locale = state.plan, state.plan.default_locale
    component = plan.component(component_id)
    if position is None:
        position = 1 + [c.id for c in plan.components].index(component_id)
    return {
        "id": component.id,
        "name": component.name.get(locale, component.id),
        "status": state.statuses[component.id].value,
        "created_at": iso(state.options.created_at),
        "updated_at": iso(state.component_updated_at.get(component.id, state.options.created_at)),
        "position": position,
        "description": component.description.get(locale),
        "showcase": True,
        "start_date": state.options.created_at.date().isoformat(),
        "group_id": group_id(component.group),
        "page_id": state.page_id,
        "group": False,
        "only_show_if_degraded": False,
    }


def incident_object(state: SiteState, view: IncidentView) -> dict[str, Any]:
    """A Statuspage incident (or scheduled maintenance, with its window)."""
    locale = state.plan.default_locale
    incident = view.incident
    known = [c for c in state.plan.components if c.id in incident.components]
    component_docs = [component_object(state, c.id) for c in known]
    updates = []
    for index, update_view in enumerate(view.updates):
        update = update_view.update
        older = view.updates[index + 1].update if index + 1 < len(view.updates) else None
        updates.append(
            {
                "id": update.id,
                "status": update.status,
                "body": update_view.words[locale].body,
                "incident_id": incident.id,
                "created_at": iso(update.at),
                "updated_at": iso(update.at),
                "display_at": iso(update.at),
                "affected_components": [
                    {
                        "code": c.id,
                        "name": c.name.get(locale, c.id),
                        "old_status": _status_at(state, view, older),
                        "new_status": _status_at(state, view, update),
                    }
                    for c in known
                ],
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
        )
    document: dict[str, Any] = {
        "id": incident.id,
        "name": view.name(locale),
        "status": view.status,
        "created_at": iso(view.created_at),
        "updated_at": iso(incident.updated_at),
        "monitoring_at": iso(view.first_at("monitoring")),
        "resolved_at": iso(incident.resolved_at),
        "impact": severity_of(state.plan, incident.severity).impact.value,
        "shortlink": state.shortlink(view),
        "started_at": iso(incident.started_at),
        "page_id": state.page_id,
        "incident_updates": updates,
        "components": component_docs,
    }
    if not view.maintenance:
        # Statuspage's incident postmortem fields (null until one is published)
        published = iso(incident.postmortem_published_at) if has_postmortem(incident) else None
        document["postmortem_body"] = view.postmortem(locale)
        document["postmortem_body_last_updated_at"] = published
        document["postmortem_published_at"] = published
    if view.maintenance:
        start = incident.scheduled_for or incident.started_at
        document["scheduled_for"] = iso(start)
        document["scheduled_until"] = iso(incident.scheduled_until or start)
    return document


def _status_at(state: SiteState, view: IncidentView, update: Any) -> str:
    from outage_comms.status.model import component_status_for

    if update is None or update.status in ("resolved", "postmortem", "completed", "scheduled"):
        return ComponentStatus.OPERATIONAL.value
    if update.status in ("in_progress", "verifying"):
        return ComponentStatus.UNDER_MAINTENANCE.value
    return component_status_for(state.plan, view.incident, update.scenario).value


def api_artefacts(state: SiteState) -> dict[str, Artefact]:
    page = page_object(state)
    status = status_object(state)
    component_list = components(state)
    docs: dict[str, dict[str, Any]] = {}

    def listed(views: list[IncidentView]) -> list[dict[str, Any]]:
        for view in views:
            if view.id not in docs:
                docs[view.id] = incident_object(state, view)
        return [docs[v.id] for v in views]

    recent = state.incidents[:RECENT_LIMIT]
    unresolved = state.active_incidents()
    upcoming = state.upcoming_maintenances()
    active = state.active_maintenances()
    return {
        f"{API}/summary.json": json_artefact(
            {
                "page": page,
                "status": status,
                "components": component_list,
                "incidents": listed(unresolved),
                "scheduled_maintenances": listed([*active, *upcoming]),
            }
        ),
        f"{API}/status.json": json_artefact({"page": page, "status": status}),
        f"{API}/components.json": json_artefact({"page": page, "components": component_list}),
        f"{API}/incidents.json": json_artefact({"page": page, "incidents": listed(recent)}),
        f"{API}/incidents/unresolved.json": json_artefact({"page": page, "incidents": listed(unresolved)}),
        f"{API}/scheduled-maintenances.json": json_artefact(
            {"page": page, "scheduled_maintenances": listed(state.maintenances[:RECENT_LIMIT])}
        ),
        f"{API}/scheduled-maintenances/upcoming.json": json_artefact(
            {"page": page, "scheduled_maintenances": listed(upcoming)}
        ),
        f"{API}/scheduled-maintenances/active.json": json_artefact(
            {"page": page, "scheduled_maintenances": listed(active)}
        ),
    }
