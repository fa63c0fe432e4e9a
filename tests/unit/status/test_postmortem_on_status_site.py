"""A published post-incident summary on the status site: Statuspage's postmortem fields and the page."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from outage_comms.incident import Incident
from outage_comms.status import build_site
from tests.status_site_fixtures import NOW, example_plan, major_outage, resolved_minor

pytestmark = pytest.mark.unit

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "statuspage-v2.schema.json").read_text())
POSTMORTEM = {
    "en": "What you noticed: Search was slow.\n\nWhat we're changing: We are reviewing what happened.",
    "pt-BR": "O que você percebeu: a busca ficou lenta.\n\nO que vamos mudar: Estamos analisando tudo.",
}


def with_postmortem(incident: Incident) -> Incident:
    assert incident.resolved_at is not None
    return incident.evolve(
        postmortem=POSTMORTEM, postmortem_published_at=incident.resolved_at + timedelta(days=1)
    )


def incidents_json(site: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(site["api/v2/incidents.json"].body)
    return document


def test_published_postmortem_is_in_the_statuspage_json_and_matches_the_schema() -> None:
    plan = example_plan()
    published = with_postmortem(resolved_minor())
    site = build_site(plan, [published, major_outage()], now=NOW)
    document = incidents_json(site)
    schema = {**SCHEMA, "$ref": "#/$defs/incidents.json"}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(document))
    assert not errors, errors[:3]
    by_id = {i["id"]: i for i in document["incidents"]}
    incident = by_id[published.id]
    assert incident["status"] == "postmortem"
    assert incident["postmortem_body"] == POSTMORTEM["en"]
    assert incident["postmortem_published_at"] == "2026-11-25T14:00:00.000Z"
    assert incident["postmortem_body_last_updated_at"] == incident["postmortem_published_at"]
    # the updates keep their own lifecycle: the last one is still "resolved"
    assert incident["incident_updates"][0]["status"] == "resolved"
    # an open incident has the fields, empty, as Statuspage's incidents do
    open_one = by_id[major_outage().id]
    assert (open_one["postmortem_body"], open_one["postmortem_published_at"]) == (None, None)


def test_incident_page_shows_the_postmortem_in_each_locale() -> None:
    plan = example_plan()
    published = with_postmortem(resolved_minor())
    site = build_site(plan, [published], now=NOW)
    english = site[f"incidents/{published.id}.html"].body.decode()
    portuguese = site[f"pt-br/incidents/{published.id}.html"].body.decode()
    assert "What happened and what we&#39;re changing" in english
    assert "<p>What you noticed: Search was slow.</p>" in english
    assert "O que aconteceu e o que vamos mudar" in portuguese
    assert "<p>O que você percebeu: a busca ficou lenta.</p>" in portuguese


def test_without_a_published_postmortem_nothing_changes() -> None:
    plan = example_plan()
    unpublished = resolved_minor().evolve(postmortem=POSTMORTEM)  # approved words but no publish time
    site = build_site(plan, [unpublished], now=NOW)
    incident = incidents_json(site)["incidents"][0]
    assert incident["status"] == "resolved" and incident["postmortem_body"] is None
    assert "What you noticed: Search was slow." not in site[f"incidents/{unpublished.id}.html"].body.decode()
