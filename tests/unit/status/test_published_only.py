"""Issue 11, findings 1 and 2: the site shows only words that were approved and sent, and one bad
incident (or artefact) never stops the rest of the site."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import feedparser
import pytest

from outage_comms.incident import Incident, PublishedWords
from outage_comms.plan import Plan
from outage_comms.status import build_site
from outage_comms.status.site import SiteFailure, SiteOptions, site_artefacts, site_state
from outage_comms.vocabulary import Scenario
from tests.status_site_fixtures import NOW, example_plan, major_outage, resolved_minor, sent

pytestmark = pytest.mark.unit

REJECTED = {
    "en": "REJECTED-WORDS the database is on fire, ask Bob",
    "pt-BR": "PALAVRAS-REJEITADAS o banco pegou fogo",
}
CONTROL = {
    "en": "Pages \x1b[31mload\x1b[0m again\x00 now \ufffe fine\x07\x0b\x7f\x85",
    "pt-BR": "As páginas \x1b[31mvoltaram\x00\ufffe",
}


@pytest.fixture(scope="module")
def plan() -> Plan:
    return example_plan()


def everything(site: dict[str, Any]) -> str:
    return "\n".join(a.body.decode("utf-8", errors="replace") for a in site.values())


def rejected_update(incident: Incident, note: dict[str, str]) -> Incident:
    """A person's note on the record (timeline and latest note), whose update was never sent."""
    last = incident.timeline[-1].model_copy(update={"public_note": note})
    return incident.model_copy(update={"public_note": note, "timeline": (*incident.timeline[:-1], last)})


def test_a_rejected_note_never_reaches_any_public_artefact(plan: Plan) -> None:
    # Given an incident whose note was rejected (nothing was sent) and another that published
    unsent = rejected_update(major_outage(note={}).model_copy(update={"published": ()}), REJECTED)
    other = resolved_minor()
    # When the site is rebuilt for the other incident
    site = build_site(plan, [unsent, other], now=NOW)
    text = everything(site)
    # Then the rejected words appear nowhere: HTML, Statuspage JSON, RSS/Atom, banner, dashboard
    for words in (*REJECTED.values(), "REJECTED", "Bob", "REJEITADAS"):
        assert words not in text
    # and the incident still shows its public status in the plan's generic words
    summary = json.loads(site["api/v2/summary.json"].body)
    shown = next(i for i in summary["incidents"] if i["id"] == unsent.id)
    assert shown["status"] == "identified"
    assert [u["status"] for u in shown["incident_updates"]] == ["identified"]
    assert "Web app" in shown["name"]  # the plan's component names
    statuses = {c["id"]: c["status"] for c in summary["components"]}
    assert statuses["web-app"] == "major_outage"


def test_only_the_approved_edited_words_are_shown_never_the_raw_note(plan: Plan) -> None:
    # Given a note on the record, and the words the approver edited and sent
    edited = {
        "en": PublishedWords(title="Edited title for customers", body="EDITED-BODY we fixed the sync queue."),
        "pt-BR": PublishedWords(title="Título editado", body="CORPO-EDITADO corrigimos a fila."),
    }
    base = rejected_update(major_outage(note={}), REJECTED)
    last = base.published[-1].model_copy(update={"text": edited, "in_app": edited})
    incident = base.model_copy(update={"published": (*base.published[:-1], last)})
    site = build_site(plan, [incident], now=NOW)
    text = everything(site)
    assert "REJECTED-WORDS" not in text and "PALAVRAS-REJEITADAS" not in text
    for path in ("index.html", "incidents/inc-20261127-1410-abcdef.html", "history.rss", "history.atom"):
        assert "EDITED-BODY we fixed the sync queue." in site[path].body.decode(), path
    assert "CORPO-EDITADO" in site["pt-br/index.html"].body.decode()
    summary = json.loads(site["api/v2/summary.json"].body)
    assert summary["incidents"][0]["incident_updates"][0]["body"] == edited["en"].body
    assert summary["incidents"][0]["name"] == "Edited title for customers"
    banner = json.loads(site["api/v2/banner.json"].body)
    assert banner["banners"][0]["locales"]["pt-BR"]["body"] == edited["pt-BR"].body
    markdown = json.loads(site["dashboard/body.json"].body)["widgets"][0]["properties"]["markdown"]
    assert "Edited title for customers".replace(" ", " ") in markdown


def test_a_published_update_keeps_its_own_status_and_the_history_lists_every_sent_update(plan: Plan) -> None:
    incident = resolved_minor()
    site = build_site(plan, [incident], now=NOW)
    updates = json.loads(site["api/v2/incidents.json"].body)["incidents"][0]["incident_updates"]
    assert [u["status"] for u in updates] == ["resolved", "monitoring", "investigating"]
    assert [u["body"] for u in updates] == [p.text["en"].body for p in reversed(incident.published)]


@pytest.mark.parametrize("where", ["note", "published"])
def test_control_characters_never_crash_the_feeds_and_the_other_incident_appears(
    plan: Plan, where: str
) -> None:
    # Given one incident whose words carry an ANSI escape, NUL and U+FFFE, and a normal one
    bad = rejected_update(major_outage(note={}), CONTROL) if where == "note" else major_outage(note=CONTROL)
    normal = resolved_minor()
    # When the site is built, nothing raises and every feed parses
    site = build_site(plan, [bad, normal], now=NOW)
    for name in ("history.rss", "history.atom", "pt-br/history.rss", "pt-br/history.atom"):
        feed = feedparser.parse(site[name].body)
        assert feed.bozo == 0, (name, feed.get("bozo_exception"))
        assert {e.link.rsplit("/", 1)[-1] for e in feed.entries} >= {bad.id, normal.id}
    for char in ("\x1b", "\x00", "\ufffe", "\x07", "\x0b", "\x7f", "\x85", "[31m"):
        assert char not in everything(site), repr(char)
    if where == "published":
        assert "Pages load again now  fine" in site["index.html"].body.decode()


def test_an_incident_that_cannot_be_rendered_is_recorded_and_the_rest_is_built(
    plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outage_comms.status import words

    broken, normal = major_outage(), resolved_minor()
    real = words.render_update

    def failing(**kwargs: Any) -> words.Words:
        if kwargs["incident"].id == broken.id:
            raise RuntimeError("template exploded")
        return real(**kwargs)

    monkeypatch.setattr("outage_comms.status.view.render_update", failing)
    failures: list[SiteFailure] = []
    state = site_state(plan, [broken, normal], (), NOW, None, SiteOptions(), failures)
    site = site_artefacts(state, failures)
    assert {f.incident_id for f in failures} == {broken.id}
    assert "template exploded" in failures[0].error
    assert f"incidents/{normal.id}.html" in site
    assert normal.id in site["history.rss"].body.decode()
    # its components still show their status: that needs no words
    summary = json.loads(site["api/v2/summary.json"].body)
    assert {c["id"]: c["status"] for c in summary["components"]}["web-app"] == "major_outage"


def test_published_words_that_fail_fall_back_to_generic_words(
    plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outage_comms.status import words

    incident = major_outage()
    real = words.render_update

    def failing(**kwargs: Any) -> words.Words:
        if kwargs["update"].text:
            raise ValueError("published words unreadable")
        return real(**kwargs)

    monkeypatch.setattr("outage_comms.status.view.render_update", failing)
    failures: list[SiteFailure] = []
    site = site_artefacts(site_state(plan, [incident], (), NOW, None, SiteOptions(), failures), failures)
    assert [f.incident_id for f in failures] == [incident.id]
    assert f"incidents/{incident.id}.html" in site  # shown, in the plan's words
    assert "window.__xss" not in everything(site)


@pytest.mark.parametrize("producer", ["feeds.feed_artefacts", "statuspage_api.api_artefacts"])
def test_one_artefact_failing_never_stops_the_others(
    plan: Plan, monkeypatch: pytest.MonkeyPatch, producer: str
) -> None:
    def boom(*_args: Any) -> dict[str, Any]:
        raise OSError("disk full")

    monkeypatch.setattr(f"outage_comms.status.{producer}", boom)
    failures: list[SiteFailure] = []
    site = site_artefacts(
        site_state(plan, [major_outage()], (), NOW, None, SiteOptions(), failures), failures
    )
    assert [f.part for f in failures] == [producer.split(".")[0]]
    assert "index.html" in site and "api/v2/banner.json" in site


def test_the_latest_published_words_lead_and_the_record_moving_on_adds_nothing(plan: Plan) -> None:
    # The record was resolved, but the resolved update is still awaiting approval: nothing new is said
    incident = major_outage()
    moved = incident.evolve(status="resolved", resolved_at=NOW, scenario=Scenario.RESOLVED, updated_at=NOW)
    later = sent(moved, NOW + timedelta(minutes=1), "003-resolved")
    site = build_site(plan, [moved], now=NOW + timedelta(minutes=2))
    updates = json.loads(site["api/v2/incidents.json"].body)["incidents"][0]["incident_updates"]
    assert [u["status"] for u in updates] == ["identified", "investigating"]
    assert later.text["en"].body not in everything(site)
