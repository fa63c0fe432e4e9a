"""Mastodon and Bluesky measured by their own rules, and the Bluesky link markup (facets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from outage_comms.channels.bluesky import post_record
from outage_comms.drill_mode import marker_of
from outage_comms.feedback.links import FeedbackLinker, LinkSigner
from outage_comms.feedback.messages import LINKS, UpdateFeedback, feedback_form
from outage_comms.guard import guard_message
from outage_comms.incident import Incident, IncidentSource
from outage_comms.plan import Plan, load_plan
from outage_comms.rendering import RenderedMessage, build_context, render_message
from outage_comms.sample import sample_facts
from outage_comms.social_text import (
    broken_link_markup,
    grapheme_count,
    link_markup,
    mastodon_length,
    parse_link_markup,
    short_url,
    shorten_links,
)
from outage_comms.vocabulary import Channel, MessageFormat, Scenario
from outage_comms.workflow.updates import guard_edited

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
LONG_URL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/f/KrIAAw9IrT-iwQLQ9cIRguSbQ3XR/y"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(ROOT / "plans" / "example.yaml")


def social(body: str) -> RenderedMessage:
    return RenderedMessage(
        scenario=Scenario.INVESTIGATING, format=MessageFormat.SOCIAL, locale="en", fields={"body": body}
    )


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Não", 3),
        ("Na\u0303o", 3),  # a combining tilde joins its letter
        ("👨\u200d👩\u200d👧", 1),  # one family emoji (ZWJ sequence)
        ("👍🏽", 1),  # skin tone modifier
        ("🇧🇷🇺🇸", 2),  # two flags = four regional indicators
        ("a\r\nb", 3),
        ("", 0),
    ],
)
def test_graphemes_are_what_a_reader_sees(text: str, count: int) -> None:
    assert grapheme_count(text) == count


def test_mastodon_counts_every_url_as_23_characters() -> None:
    text = f"Sync is down. Yes: {LONG_URL} No: {LONG_URL[:-1]}n"
    assert len(text) > 2 * len(LONG_URL) and mastodon_length(text) == len("Sync is down. Yes:  No: ") + 2 * 23
    assert mastodon_length("short http://a.example.") == len("short ") + 23 + 1  # the full stop is text


def test_guard_measures_a_mastodon_post_by_mastodons_rule(plan: Plan) -> None:
    fits = social("x" * 400 + " " + LONG_URL)  # 497 characters, 424 as Mastodon counts
    assert [f.code for f in guard_message(plan, fits)] == ["limit.length"]  # the shared 300 rule
    assert not guard_message(plan, fits, Channel.MASTODON)
    too_long = social("x" * 478 + " " + LONG_URL)  # 502 as Mastodon counts
    (finding,) = guard_message(plan, too_long, Channel.MASTODON)
    assert finding.code == "limit.length" and "502" in finding.message and "500" in finding.message


def test_guard_measures_a_bluesky_post_by_its_visible_graphemes(plan: Plan) -> None:
    words = "Não " * 66 + "ok"  # 266 characters, 332 UTF-8 bytes
    linked = social(f"{words}\n{link_markup('Sim', LONG_URL)} · {link_markup('Não', LONG_URL)}")
    assert len(linked.fields["body"]) > 300 and guard_message(plan, linked)  # the shared rule
    assert grapheme_count(parse_link_markup(linked.fields["body"]).text) == 266 + 1 + 9
    assert not guard_message(plan, linked, Channel.BLUESKY)
    emoji = social("👍🏽" * 300)  # 300 graphemes, 600 code points, 2400 bytes
    assert not [f for f in guard_message(plan, emoji, Channel.BLUESKY) if f.code == "limit.length"]
    (finding,) = guard_message(plan, social("x" * 301), Channel.BLUESKY)
    assert "301" in finding.message
    (too_big,) = guard_message(plan, social("👨\u200d👩\u200d👧" * 200), Channel.BLUESKY)  # 200 graphemes
    assert "3000 bytes" in too_big.message


def test_link_markup_becomes_visible_words_with_utf8_byte_ranges() -> None:
    body = (
        f"Atualização.\nFoi útil? {link_markup('Sim', LONG_URL)} · {link_markup('Não', LONG_URL[:-1] + 'n')}"
    )
    posted = parse_link_markup(body)
    assert posted.text == "Atualização.\nFoi útil? Sim · Não"
    data = posted.text.encode("utf-8")
    assert [data[link.byte_start : link.byte_end].decode("utf-8") for link in posted.links] == ["Sim", "Não"]
    assert posted.links[1].byte_end == len(data) == len(posted.text) + 5  # ç, ã, ú, ·, ã: 2 bytes each
    assert [link.uri[-1] for link in posted.links] == ["y", "n"]


def test_the_bluesky_record_has_one_facet_per_link_in_byte_order() -> None:
    body = shorten_links("Sincronização parada. https://status.nimbusnotes.example/incidents/inc-20261127-01")
    body += f"\nEsta atualização foi útil? {link_markup('Sim', LONG_URL)} · {link_markup('Não', LONG_URL)}"
    record = post_record(body, locale="pt-BR", now=NOW)
    data = record["text"].encode("utf-8")
    seen = [
        (data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode("utf-8"), f["features"][0]["uri"])
        for f in record["facets"]
    ]
    assert seen == [
        (
            "status.nimbusnotes.example/incidents/in...",
            "https://status.nimbusnotes.example/incidents/inc-20261127-01",
        ),
        ("Sim", LONG_URL),
        ("Não", LONG_URL),
    ]


def test_short_urls_look_like_the_bluesky_app_shows_them() -> None:
    assert short_url("https://status.example.com/") == "status.example.com"
    assert short_url("https://status.example.com/i/1") == "status.example.com/i/1"
    assert short_url("https://status.example.com/incidents/inc-1") == "status.example.com/incidents/in..."
    assert shorten_links(f"see {link_markup('Yes', LONG_URL)}") == f"see {link_markup('Yes', LONG_URL)}"


def test_an_approver_who_breaks_a_bluesky_link_is_told_and_one_who_keeps_it_is_not(plan: Plan) -> None:
    question = f"Was this update helpful? {link_markup('Yes', LONG_URL)} · {link_markup('No', LONG_URL)}"
    good = f"Sync is back.\n{question}"
    assert not guard_edited(
        plan, Scenario.RESOLVED, Channel.BLUESKY, "en", {"body": good.replace("back", "fine")}
    )
    broken = good.replace(f"]({LONG_URL})", f"]({LONG_URL}", 1)
    assert broken_link_markup(broken)
    problems = guard_edited(plan, Scenario.RESOLVED, Channel.BLUESKY, "en", {"body": broken})
    assert any("link is broken" in p for p in problems), problems
    without = "Sync is back."  # deleting the whole question is fine
    assert not guard_edited(plan, Scenario.RESOLVED, Channel.BLUESKY, "en", {"body": without})


def test_a_drill_bluesky_post_keeps_its_marker_and_gets_the_linked_words(plan: Plan) -> None:
    incident = Incident(
        id="inc-20261127-1405-3fa2c1",
        status="investigating",
        scenario="investigating",
        severity=plan.severities[0].id,
        components=[plan.components[0].id],
        audiences=["all_customers"],
        started_at=NOW - timedelta(minutes=5),
        updated_at=NOW,
        internal_title="search down",
        public_title={"en": "Search", "pt-BR": "Busca"},
        drill=True,
        source=IncidentSource(type="human", reference="drill"),
    )
    feedback = UpdateFeedback(
        linker=FeedbackLinker(
            signer=LinkSigner(b"drill test key, 16+ bytes"),
            base_url="https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/",
        ),
        incident_id=incident.id,
        update_id="001-investigating",
        now=NOW,
    )
    for locale, marker in (("en", "[DRILL]"), ("pt-BR", "[SIMULAÇÃO]")):
        context = build_context(plan, sample_facts(plan, Scenario.INVESTIGATING), locale)
        message = render_message(
            scenario=Scenario.INVESTIGATING, fmt=MessageFormat.SOCIAL, locale=locale, context=context
        )
        linked, form = feedback_form(
            plan, marker_of(plan, incident).message(message), Channel.BLUESKY, feedback
        )
        assert form == LINKS
        record = post_record(linked.fields["body"], locale=locale, now=NOW)
        assert record["text"].startswith(f"{marker} ") and "](" not in record["text"]
        assert record["text"].endswith(" · No" if locale == "en" else " · Não")
        assert len(record["facets"]) == 3  # status page link + the two answers


def test_the_review_page_refuses_an_edit_that_points_a_bluesky_word_elsewhere(plan: Plan) -> None:
    from outage_comms.workflow.review import _edits

    question = f"Was this update helpful? {link_markup('Yes', LONG_URL)} · {link_markup('No', LONG_URL)}"
    body = f"Sync is down.\n{question}"
    update = {"scenario": "investigating", "messages": {"bluesky": {"en": {"fields": {"body": body}}}}}
    # the page's verified request: what it showed, for which update, under which plan
    review = SimpleNamespace(plan=plan, update=update, shown={"bluesky": {"en": {"body": body}}})
    reworded = body.replace("Sync is down.", "Sync is not working.")
    changes, problems = _edits(review, {"text:bluesky:en:body": reworded})
    assert not problems and changes[("bluesky", "en")]["body"] == reworded
    elsewhere = body.replace(LONG_URL, "https://phish.example/y", 1)
    _, problems = _edits(review, {"text:bluesky:en:body": elsewhere})
    assert problems == ["bluesky/en: a linked word points somewhere new; keep its link"]
    broken = body.replace(")", "", 1)
    _, problems = _edits(review, {"text:bluesky:en:body": broken})
    assert any("link is broken" in p for p in problems), problems
