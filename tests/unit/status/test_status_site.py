"""The status site generator: Statuspage v2 JSON against a schema, feeds, enums, escaping, no internals."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import pytest

from outage_comms.plan import Plan
from outage_comms.status import build_site, write_status_artifacts
from outage_comms.status.dashboard import DASHBOARD_BODY_PATH, metric_data
from outage_comms.status.model import STATUS_METRIC_VALUE, ComponentStatus
from outage_comms.status.site import SiteOptions, site_state
from tests.status_site_fixtures import (
    ALARM,
    INTERNAL_TITLE,
    NOW,
    XSS_NOTE,
    all_kinds,
    example_plan,
    major_outage,
    resolved_minor,
)

pytestmark = pytest.mark.unit

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "statuspage-v2.schema.json").read_text())
API_FILES = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return example_plan()


@pytest.fixture(scope="module")
def site(plan: Plan) -> dict[str, Any]:
    return build_site(plan, all_kinds(), now=NOW)


def api(site: dict[str, Any], name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(site[f"api/v2/{name}"].body)
    return document


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = {**SCHEMA, "$ref": "#/$defs/" + name.replace("~", "~0").replace("/", "~1")}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("name", API_FILES)
def test_every_api_document_matches_the_statuspage_schema(site: dict[str, Any], name: str) -> None:
    errors = sorted(validator(name).iter_errors(api(site, name)), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_the_schema_rejects_a_wrong_enum_so_the_check_above_can_fail(site: dict[str, Any]) -> None:
    document = api(site, "status.json")
    document["status"]["indicator"] = "red"
    assert not validator("status.json").is_valid(document)
    summary = api(site, "summary.json")
    summary["components"][1]["status"] = "down"
    assert not validator("summary.json").is_valid(summary)


def test_indicator_and_component_statuses_follow_the_open_incidents(site: dict[str, Any]) -> None:
    summary = api(site, "summary.json")
    assert summary["status"] == {"indicator": "critical", "description": "Major System Outage"}
    statuses = {c["id"]: c["status"] for c in summary["components"] if not c["group"]}
    assert statuses["web-app"] == statuses["sync"] == "major_outage"
    assert statuses["attachments"] == "under_maintenance"
    assert statuses["search"] == statuses["sign-in"] == "operational"  # resolved / not started yet
    groups = {c["id"]: c for c in summary["components"] if c["group"]}
    assert groups["group-apps"]["status"] == "major_outage"
    assert set(groups["group-apps"]["components"]) == {"web-app", "mobile-apps", "sync", "search"}


def test_lists_hold_the_right_incidents_and_maintenances(site: dict[str, Any]) -> None:
    unresolved = [i["id"] for i in api(site, "incidents/unresolved.json")["incidents"]]
    assert unresolved == ["inc-20261127-1410-abcdef"]
    everything = [i["id"] for i in api(site, "incidents.json")["incidents"]]
    assert everything == ["inc-20261127-1410-abcdef", "inc-20261124-1300-123456"]
    upcoming = api(site, "scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    active = api(site, "scheduled-maintenances/active.json")["scheduled_maintenances"]
    assert [m["status"] for m in upcoming] == ["scheduled"]
    assert [m["status"] for m in active] == ["in_progress"]
    assert {m["id"] for m in api(site, "summary.json")["scheduled_maintenances"]} == {
        upcoming[0]["id"],
        active[0]["id"],
    }


def test_incident_updates_are_newest_first_with_their_lifecycle(site: dict[str, Any]) -> None:
    incident = api(site, "incidents.json")["incidents"][1]  # the resolved one
    assert [u["status"] for u in incident["incident_updates"]] == ["resolved", "monitoring", "investigating"]
    assert incident["monitoring_at"] == "2026-11-24T13:30:00.000Z"
    assert incident["resolved_at"] == "2026-11-24T14:00:00.000Z"
    assert incident["impact"] == "minor"
    assert incident["shortlink"] == "https://status.nimbusnotes.example/incidents/inc-20261124-1300-123456"


def test_public_text_never_carries_internal_titles_or_arns(site: dict[str, Any]) -> None:
    for path, artefact in site.items():
        text = artefact.body.decode("utf-8", errors="replace")
        for secret in (INTERNAL_TITLE, ALARM.reference, "111122223333", "search-p99", "prod-web-alb"):
            assert secret not in text, f"{path} leaks {secret!r}"


def test_a_note_naming_an_internal_host_is_not_published(plan: Plan) -> None:
    leaky = major_outage(note={"en": "Restarted api-1.corp.nimbusnotes.example", "pt-BR": "Reiniciamos."})
    site = build_site(plan, [leaky], now=NOW)
    assert b"corp.nimbusnotes.example" not in b"".join(a.body for a in site.values())
    assert "Reiniciamos." in site["pt-br/index.html"].body.decode()


def test_script_and_onerror_payloads_are_escaped_in_html(site: dict[str, Any]) -> None:
    own = '<script src="assets/subscribe.js" defer></script>'  # the form's enhancement, a file (CSP 'self')
    assert site["index.html"].body.decode().count(own) == 1
    page = site["index.html"].body.decode().replace(own, "")
    assert "<script" not in page and "<img" not in page
    assert html.escape(XSS_NOTE["en"].split(" Pages")[0], quote=False) in page  # shown as text
    assert "&lt;img src=x onerror=" in page
    assert "<script" not in site["pt-br/incidents/inc-20261127-1410-abcdef.html"].body.decode()


def test_json_keeps_the_words_but_no_raw_angle_brackets(site: dict[str, Any]) -> None:
    raw = site["api/v2/summary.json"].body.decode()
    assert "<" not in raw and ">" not in raw
    body = api(site, "summary.json")["incidents"][0]["incident_updates"][0]["body"]
    assert XSS_NOTE["en"] in body  # the data itself is intact for API readers


def test_status_page_words_come_from_the_status_page_templates(site: dict[str, Any]) -> None:
    incident = api(site, "unresolved.json".join(["incidents/", ""]))["incidents"][0]
    latest = incident["incident_updates"][0]["body"]
    assert "Fixing it is our top priority" in latest  # templates/messages/en/major_outage.yaml
    assert "We'll post the next update by 27 Nov, 15:20 UTC." in latest
    pt = site["pt-br/index.html"].body.decode()
    assert "A próxima atualização sai até" in pt or "próxima atualização" in pt


@pytest.mark.parametrize("name", ["history.rss", "history.atom", "pt-br/history.rss", "pt-br/history.atom"])
def test_feeds_parse_without_errors(site: dict[str, Any], name: str) -> None:
    feed = feedparser.parse(site[name].body)
    assert feed.bozo == 0, feed.get("bozo_exception")
    links = [e.link for e in feed.entries]
    assert "https://status.nimbusnotes.example/incidents/inc-20261127-1410-abcdef" in links
    assert len(feed.entries) == 4
    assert feed.entries[0].title  # newest first, a public title


def test_feed_text_escapes_the_payloads(site: dict[str, Any]) -> None:
    raw = site["history.rss"].body.decode()
    assert "<script>" not in raw
    entry = next(e for e in feedparser.parse(raw).entries if e.link.endswith("abcdef"))
    # RSS descriptions are HTML to readers: the payload arrives escaped, so a reader shows it as text.
    assert "&lt;script&gt;" in entry.description and "onerror" in entry.description
    assert "<script" not in entry.description


def test_banner_carries_in_app_words_per_locale(site: dict[str, Any]) -> None:
    banner = json.loads(site["api/v2/banner.json"].body)
    assert banner["active"] is True
    first = banner["banners"][0]
    assert first["incident_id"] == "inc-20261127-1410-abcdef"
    assert first["severity"] == "critical"
    assert set(first["locales"]) == {"en", "pt-BR"}
    assert (
        first["locales"]["en"]["title"] == "We found the cause and are fixing it"
        or first["locales"]["en"]["title"]
    )
    assert first["next_update_at"] == "2026-11-27T15:20:00.000Z"
    snippet = site["embed/banner.js"].body.decode()
    assert "textContent" in snippet and "innerHTML" not in snippet and "eval(" not in snippet


def test_dashboard_body_and_metric(plan: Plan, site: dict[str, Any]) -> None:
    body = json.loads(site[DASHBOARD_BODY_PATH].body)
    markdown = body["widgets"][0]["properties"]["markdown"]
    assert "Web app" in markdown and "Down" in markdown
    assert "Next update by 27 Nov, 15:20 UTC" in markdown.replace("\\", "")
    assert re.search(r"(?<!\\)[<>]", markdown) is None  # every angle bracket is escaped: text, never HTML
    assert body["widgets"][1]["properties"]["metrics"][0][:4] == [
        "OutageComms/Status",
        "ComponentStatus",
        "component",
        "web-app",
    ]
    values = {
        d["Dimensions"][0]["Value"]: d["Value"]
        for d in metric_data(site_state(plan, all_kinds(), (), NOW, None, SiteOptions()))
    }
    assert values["web-app"] == STATUS_METRIC_VALUE[ComponentStatus.MAJOR_OUTAGE] == 4
    assert values["search"] == 0
    assert values["attachments"] == STATUS_METRIC_VALUE[ComponentStatus.UNDER_MAINTENANCE]


def test_uptime_bars_count_the_resolved_incident(site: dict[str, Any]) -> None:
    page = site["index.html"].body.decode()
    assert page.count('<svg class="bars"') == len(example_plan().components)  # one SVG per component
    assert "24 Nov 2026 Slow (100.00%)" in page  # the resolved minor incident's day on Search (no downtime)


def test_every_locale_has_its_pages_and_links_stay_relative(site: dict[str, Any]) -> None:
    for path in ("index.html", "history.html", "pt-br/index.html", "pt-br/history.html"):
        assert site[path].content_type == "text/html; charset=utf-8"
        assert 'href="https://status.nimbusnotes.example' not in site[path].body.decode()
    assert '<html lang="pt-BR">' in site["pt-br/index.html"].body.decode()
    assert site["pt-br/incidents/inc-20261127-1410-abcdef.html"]


def test_cache_headers_let_an_update_show_within_a_minute(site: dict[str, Any]) -> None:
    for path, artefact in site.items():
        if path.endswith((".html", ".json", ".rss", ".atom")) and not path.startswith("dashboard/"):
            max_age = int(artefact.cache_control.split("max-age=")[1].split(",")[0])
            assert max_age <= 60, path


def test_unchanged_input_gives_identical_bytes_for_old_incident_pages(plan: Plan) -> None:
    first = build_site(plan, all_kinds(), now=NOW)
    later = build_site(plan, all_kinds(), now=NOW + timedelta(minutes=7))
    path = "incidents/inc-20261124-1300-123456.html"
    assert first[path].md5 == later[path].md5  # the publisher skips it


def test_index_is_small_enough(site: dict[str, Any]) -> None:
    assert site["index.html"].gzipped_size() < 30 * 1024


def test_write_status_artifacts_writes_the_drill_output(plan: Plan, tmp_path: Path) -> None:
    summary = write_status_artifacts(tmp_path / "status", plan, [major_outage(), resolved_minor()], NOW)
    assert (tmp_path / "status" / "index.html").is_file()
    assert (tmp_path / "status" / "api" / "v2" / "summary.json").is_file()
    assert (tmp_path / "status" / "history.atom").is_file()
    assert (tmp_path / "status" / "dashboard" / "body.json").is_file()
    assert "http.server" in summary["open"]
