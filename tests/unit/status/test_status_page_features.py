"""What customers read on the status page (issue 14.5, 13.5): locale numbers, uptime that agrees with
its colours, past incidents, the brand, no feedback links, and a page that stays small at 200 components."""

from __future__ import annotations

import copy
import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from outage_comms.incident import Incident, PublishedUpdate, PublishedWords
from outage_comms.plan import Plan, brand_problems, parse_plan, read_plan_data
from outage_comms.rendering import DEFAULT_TEMPLATES_DIR
from outage_comms.status import build_site
from outage_comms.status.site import SiteOptions
from tests.status_site_fixtures import (
    EXAMPLE_PLAN,
    NOW,
    all_kinds,
    example_plan,
    major_outage,
    resolved_minor,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def plan() -> Plan:
    return example_plan()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def component_line(html: str, name: str) -> str:
    start = html.index(f"<span>{name}</span>")
    return html[start : html.index("</li>", start)]


def short_outage(plan: Plan, minutes: int = 3) -> Incident:
    """A major outage on Search two days ago, fixed after ``minutes``."""
    started = NOW - timedelta(days=2)
    return resolved_minor().model_copy(
        update={
            "id": "inc-20261125-1500-0a0b0d",
            "severity": plan.severities[0].id,
            "scenario": "major_outage",
            "status": "resolved",
            "started_at": started,
            "updated_at": started + timedelta(minutes=minutes),
            "resolved_at": started + timedelta(minutes=minutes),
            "published": (),
        }
    )


def test_percentages_are_written_as_each_locale_writes_them(plan: Plan) -> None:
    site = build_site(plan, [], now=NOW)
    assert "100.00% uptime" in text_of(site["index.html"].body.decode())
    assert "100,00\u00a0% de disponibilidade" in site["pt-br/index.html"].body.decode()  # no break before %


def test_a_day_with_an_outage_never_reads_100_percent_and_its_bar_is_red(plan: Plan) -> None:
    # Given a 3-minute major outage on Search (0.0023 % of 90 days: 100.00 % if rounded to nearest)
    site = build_site(plan, [short_outage(plan)], now=NOW)
    for key, expected, day in (
        ("index.html", "99.99%", "(99.79%)"),
        ("pt-br/index.html", "99,99\u00a0%", "(99,79\u00a0%)"),
    ):
        name = plan.component("search").name["en" if key == "index.html" else "pt-BR"]
        search = component_line(site[key].body.decode(), name)
        # Then its total reads below 100 %, the day is listed with its own percentage, and the bar is red
        assert expected in search
        assert '<path class="m" d="M87 0h1v10h-1z"/>' in search  # day 88 of 90: two days ago
        assert day in search  # the day itself: 3 of 1,440 minutes down, rounded down


def test_past_incidents_of_the_last_seven_days_are_on_the_home_page(plan: Plan) -> None:
    site = build_site(plan, all_kinds(), now=NOW)
    page = site["index.html"].body.decode()
    past = page[page.index('id="past"') : page.index('id="sub"')]
    assert past.count('<h3 class="day">') == 7
    assert "27 Nov 2026" in past and "21 Nov 2026" in past
    assert f'href="incidents/{resolved_minor().id}.html"' in past  # 3 days ago, with its link
    assert "No incidents reported." in past  # a quiet day says so


def brand_plan(**status_page: str) -> Plan:
    data = copy.deepcopy(read_plan_data(EXAMPLE_PLAN))
    data["channels"]["status_page"].update(status_page)
    return parse_plan(data, "brand-plan")


def test_logo_favicon_and_accent_colour_come_from_the_plan(tmp_path: Path) -> None:
    # Given a team's templates with a logo and a favicon, and a plan naming them with an accent colour
    templates = tmp_path / "templates"
    import shutil

    shutil.copytree(DEFAULT_TEMPLATES_DIR, templates)
    (templates / "status" / "assets" / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'
    )
    (templates / "status" / "assets" / "favicon.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    plan = brand_plan(logo="logo.svg", favicon="favicon.png", accent_color="#0b5cad")
    site = build_site(plan, all_kinds(), now=NOW, options=SiteOptions(templates_dir=templates))
    # Then every page shows them, from the site's own assets (the CSP allows images from the site only)
    home = site["index.html"].body.decode()
    assert '<img class="logo" src="assets/logo.svg" alt="" height="32">' in home
    assert '<link rel="icon" href="assets/favicon.png">' in home
    assert (
        '<link rel="icon" href="../../assets/favicon.png">'
        in site[f"pt-br/incidents/{resolved_minor().id}.html"].body.decode()
    )
    assert site["assets/logo.svg"].content_type == "image/svg+xml"
    assert site["assets/favicon.png"].content_type == "image/png"
    assert site["assets/status.css"].body.decode().rstrip().endswith(":root{--link:#0b5cad;--accent:#0b5cad}")
    assert brand_problems(plan, "plan.yaml", templates) == []


def test_lint_refuses_an_accent_colour_below_wcag_aa_and_a_missing_brand_file(tmp_path: Path) -> None:
    plan = brand_plan(accent_color="#ff9900", logo="logo.svg")
    problems = brand_problems(plan, "plan.yaml", tmp_path)
    assert [p.path for p in problems] == ["channels.status_page.accent_color", "channels.status_page.logo"]
    assert "2.14:1" in problems[0].message


def test_public_pages_never_print_a_feedback_link(plan: Plan) -> None:
    # Given an update that was sent with its feedback links (per message, per recipient)
    incident = major_outage()
    words = {
        code: PublishedWords(
            title="Fixed",
            body="The problem is fixed.\n\nHow did we do? Tell us here: "
            "https://abc123.execute-api.us-east-1.amazonaws.com/None/f/TOKEN/y "
            "or status.nimbusnotes.example/f/AbC12",
        )
        for code in plan.locale_codes
    }
    update = PublishedUpdate(
        update_id="009-resolved", at=NOW, status="resolved", scenario="resolved", text=words
    )
    resolved = incident.evolve(
        status="resolved", scenario="resolved", resolved_at=NOW, published=(*incident.published, update)
    )
    # and an incident with no sent words, whose generic resolved words would carry {{ links.feedback }}
    generic = resolved_minor().model_copy(update={"published": ()})
    site = build_site(plan, [resolved, generic], now=NOW + timedelta(minutes=1))
    for key, artefact in site.items():
        body = artefact.body.decode(errors="replace")
        assert "/f/" not in body and "/feedback" not in body and "How did we do" not in body, key
    assert "The problem is fixed." in site[f"incidents/{resolved.id}.html"].body.decode()


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.count += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.count += 1


def test_two_hundred_components_stay_under_3000_elements_and_50_kb(plan: Plan) -> None:
    data = copy.deepcopy(read_plan_data(EXAMPLE_PLAN))
    group = data["groups"][0]["id"]
    data["components"] = [
        {
            "id": f"service-{n:03d}",
            "name": {"en": f"Service {n}", "pt-BR": f"Serviço {n}"},
            "description": {"en": f"What service {n} does", "pt-BR": f"O que o serviço {n} faz"},
            "group": group,
            "audiences": ["all-customers"],
        }
        for n in range(200)
    ]
    big = parse_plan(data, "big")
    outage = short_outage(big).model_copy(update={"components": ("service-001", "service-150")})
    site = build_site(big, [outage], now=NOW)
    parser = Elements()
    parser.feed(site["index.html"].body.decode())
    assert parser.count < 3000
    assert site["index.html"].gzipped_size() < 50 * 1024
    assert site["index.html"].body.decode().count('<svg class="bars"') == 200


def test_outage_comms_lint_reports_a_low_contrast_accent_colour(write_plan: Any) -> None:
    from typer.testing import CliRunner

    from outage_comms_cli.main import app

    # Given a plan whose accent colour is too light for text on the white page
    path = write_plan(lambda data: data["channels"]["status_page"].update({"accent_color": "#7fb3ff"}))
    # When lint runs on it with the shipped templates
    result = CliRunner().invoke(
        app, ["lint", str(path), "--templates", str(DEFAULT_TEMPLATES_DIR), "--format", "json"]
    )
    # Then it fails on that one finding, where to fix it and how
    findings = json.loads(result.stdout)["findings"]
    assert [f["code"] for f in findings] == ["status.brand"], findings
    assert "channels.status_page.accent_color" in findings[0]["where"]
    assert result.exit_code == 1
