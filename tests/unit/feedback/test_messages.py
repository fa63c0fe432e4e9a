"""The links in messages: per channel and locale, localized, only where the plan wants them and they fit."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from feedback_fakes import INCIDENT, SECRET

from outage_comms.feedback.links import FeedbackLinker, LinkSigner
from outage_comms.feedback.messages import (
    COMPACT,
    LINKS,
    NO_ROOM,
    REPLY,
    SAMPLE_BASE_URL,
    UpdateFeedback,
    add_links,
    carries_feedback,
    feedback_form,
    with_feedback,
)
from outage_comms.guard import guard_message, sms_size
from outage_comms.incident import Incident, IncidentSource
from outage_comms.plan import Plan, load_plan
from outage_comms.rendering import RenderedMessage, build_context, render_message
from outage_comms.sample import sample_facts
from outage_comms.vocabulary import CHANNEL_FORMAT, Channel, MessageFormat, Scenario
from outage_comms.workflow.updates import render_update

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
SIGNER = LinkSigner(SECRET)
_URL = re.compile(r"https://fb\.example/v1/f/([A-Za-z0-9_-]+)/([yn])")


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(ROOT / "plans" / "example.yaml")


def without_sms_replies(plan: Plan) -> Plan:
    """The plan as if its SMS number had no two-way SMS (the example plan turns replies on)."""
    return plan.model_copy(update={"feedback": plan.feedback.model_copy(update={"sms_replies": False})})


def feedback(update_id: str = "002-identified", base_url: str = "https://fb.example/v1/") -> UpdateFeedback:
    linker = FeedbackLinker(signer=SIGNER, base_url=base_url, lifetime=timedelta(days=30))
    return UpdateFeedback(linker=linker, incident_id=INCIDENT, update_id=update_id, now=NOW)


def rendered(
    plan: Plan, channel: Channel, locale: str, scenario: Scenario = Scenario.IDENTIFIED
) -> RenderedMessage:
    context = build_context(plan, sample_facts(plan, scenario), locale)
    return render_message(scenario=scenario, fmt=CHANNEL_FORMAT[channel], locale=locale, context=context)


@pytest.mark.parametrize(
    ("locale", "line"),
    [
        ("en", r"Was this update helpful\? Yes: (\S+) No: (\S+)$"),
        ("pt-BR", r"Esta atualização foi útil\? Sim: (\S+) Não: (\S+)$"),
    ],
)
def test_email_text_gets_the_localized_question_with_two_links(plan: Plan, locale: str, line: str) -> None:
    message = with_feedback(plan, rendered(plan, Channel.EMAIL, locale), Channel.EMAIL, feedback())
    match = re.search(line, message.fields["body"])
    assert match, message.fields["body"][-300:]
    yes, no = (_URL.fullmatch(url) for url in match.groups())
    assert yes and no and yes.group(1) == no.group(1) and (yes.group(2), no.group(2)) == ("y", "n")
    claims = SIGNER.verify(yes.group(1), now=NOW)
    assert (claims.channel, claims.locale, claims.update_id) == (Channel.EMAIL, locale, "002-identified")


def test_html_email_gets_plain_word_links_inside_its_layout(plan: Plan) -> None:
    message = with_feedback(plan, rendered(plan, Channel.EMAIL, "pt-BR"), Channel.EMAIL, feedback())
    assert message.html and "<!-- feedback -->" not in message.html
    paragraph = re.search(r"<p[^>]*>Esta atualização foi útil\? (.*?)</p>", message.html)
    assert paragraph, "no feedback paragraph in the HTML"
    assert re.findall(
        r'<a href="https://fb\.example/v1/f/[A-Za-z0-9_-]+/([yn])"[^>]*>(Sim|Não)</a>', paragraph.group(1)
    ) == [
        ("y", "Sim"),
        ("n", "Não"),
    ]
    assert message.html.index(paragraph.group(0)) < message.html.index("</table>")


def test_each_channel_and_locale_gets_its_own_token(plan: Plan) -> None:
    tokens = set()
    for channel in (Channel.EMAIL, Channel.SNS, Channel.WEBHOOK, Channel.STATUS_PAGE):
        for locale in ("en", "pt-BR"):
            body = with_feedback(plan, rendered(plan, channel, locale), channel, feedback()).fields["body"]
            (token,) = {m.group(1) for m in _URL.finditer(body)}
            claims = SIGNER.verify(token, now=NOW)
            assert (claims.channel, claims.locale) == (channel, locale)
            tokens.add(token)
    assert len(tokens) == 8


def test_voice_and_the_team_formats_never_carry_links(plan: Plan) -> None:
    everything = plan.model_copy(
        update={"feedback": plan.feedback.model_copy(update={"channels": list(Channel)})}
    )
    for channel in (Channel.VOICE, Channel.SLACK, Channel.TEAMS, Channel.CHATBOT, Channel.SUPPORT):
        assert not carries_feedback(everything, channel)
    message = RenderedMessage(Scenario.IDENTIFIED, MessageFormat.VOICE, "en", {"body": "We found the cause."})
    assert with_feedback(everything, message, Channel.VOICE, feedback()) is message


def test_no_links_when_the_plan_turns_feedback_off_or_the_deployment_has_no_api(plan: Plan) -> None:
    message = rendered(plan, Channel.EMAIL, "en")
    off = plan.model_copy(update={"feedback": plan.feedback.model_copy(update={"enabled": False})})
    assert with_feedback(off, message, Channel.EMAIL, feedback()) is message
    assert with_feedback(plan, message, Channel.EMAIL, None) is message
    in_app_only = plan.model_copy(
        update={"feedback": plan.feedback.model_copy(update={"channels": [Channel.IN_APP]})}
    )
    assert with_feedback(in_app_only, message, Channel.EMAIL, feedback()) is message


def test_an_sms_that_would_need_more_parts_than_the_plan_allows_goes_out_without_links(plan: Plan) -> None:
    plan = without_sms_replies(plan)
    message = rendered(plan, Channel.SMS, "pt-BR")
    assert not guard_message(plan, message)
    urls = feedback().urls(Channel.SMS, "pt-BR", Scenario.IDENTIFIED)
    for compact in (False, True):  # neither the two links nor the one answer-page link fit
        with_links = add_links(message, urls, compact=compact)
        assert sms_size(with_links.fields["body"]).segments > plan.channels.sms.max_segments  # type: ignore[union-attr]
    assert feedback_form(plan, message, Channel.SMS, feedback()) == (message, NO_ROOM)
    assert with_feedback(plan, message, Channel.SMS, feedback()) is message


def default_url_feedback(scenario: Scenario) -> UpdateFeedback:
    """Links under the API Gateway default URL (~60 characters): the longest a deployment's can get."""
    return feedback(update_id=f"003-{scenario.value}", base_url=SAMPLE_BASE_URL)


STATUS_URL = "https://status.nimbusnotes.example"


def short_link_feedback(scenario: Scenario, store: Any = None) -> UpdateFeedback:
    """Short links on the status domain, as deployed (``/f/<8-character code>``, codes stored)."""
    from outage_comms.feedback.short_links import MemoryShortLinks, Shortener

    linker = FeedbackLinker(
        signer=SIGNER,
        base_url=STATUS_URL,
        lifetime=timedelta(days=30),
        shortener=Shortener(SECRET, store if store is not None else MemoryShortLinks()),
    )
    return UpdateFeedback(linker=linker, incident_id=INCIDENT, update_id=f"003-{scenario.value}", now=NOW)


_PAGE = re.compile(re.escape(STATUS_URL) + r"/f/([A-Za-z0-9_-]{8})$")


@pytest.mark.parametrize(
    ("channel", "locale", "scenario", "line"),
    [
        (Channel.SMS, "en", Scenario.HOLDING_UPDATE, "Helpful? Tell us: "),
    ],
)
def test_a_tight_message_without_room_for_two_links_gets_one_link_to_the_answer_page(
    plan: Plan, channel: Channel, locale: str, scenario: Scenario, line: str
) -> None:
    from outage_comms.feedback.short_links import MemoryShortLinks, resolve

    plan = without_sms_replies(plan)
    store = MemoryShortLinks()
    message = rendered(plan, channel, locale, scenario)
    two_links = add_links(message, short_link_feedback(scenario, store).urls(channel, locale, scenario))
    assert sms_size(two_links.fields["body"]).segments > 2, "the two links should not fit in two parts"
    compact, form = feedback_form(plan, message, channel, short_link_feedback(scenario, store))
    assert form == COMPACT and not guard_message(plan, compact)
    assert sms_size(compact.fields["body"]).segments <= 2
    last = compact.fields["body"].splitlines()[-1]
    assert last.startswith(line)
    page = _PAGE.fullmatch(last.removeprefix(line))
    assert page, last
    claims = SIGNER.verify(resolve(store, page.group(1), NOW), now=NOW)
    assert (claims.channel, claims.locale, claims.scenario) == (channel, locale, scenario)


_SOCIAL_SCENARIOS = [
    s for s in Scenario if MessageFormat.SOCIAL in load_plan(ROOT / "plans" / "example.yaml").formats_for(s)
]
_MARKUP = re.compile(r"\[([^\]]+)\]\((https://\S+?)\)")


@pytest.mark.parametrize("scenario", _SOCIAL_SCENARIOS)
@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_mastodon_posts_carry_two_links_measured_by_mastodons_rule(
    plan: Plan, scenario: Scenario, locale: str
) -> None:
    from outage_comms.social_text import mastodon_length

    message = rendered(plan, Channel.MASTODON, locale, scenario)
    linked, form = feedback_form(plan, message, Channel.MASTODON, default_url_feedback(scenario))
    assert form == LINKS, linked.fields["body"]
    body = linked.fields["body"]
    question = "Was this update helpful? Yes: " if locale == "en" else "Esta atualização foi útil? Sim: "
    assert question in body
    assert not guard_message(plan, linked, Channel.MASTODON)
    assert mastodon_length(body) <= 500
    assert len(body) - mastodon_length(body) > 2 * (len(SAMPLE_BASE_URL) - 23)  # URLs counted as 23


def test_the_two_links_break_the_shared_300_rule_but_not_mastodons(plan: Plan) -> None:
    """The format-level check (used for the shared template) is still the stricter one."""
    over = 0
    for scenario in _SOCIAL_SCENARIOS:
        message = rendered(plan, Channel.MASTODON, "pt-BR", scenario)
        linked, form = feedback_form(plan, message, Channel.MASTODON, default_url_feedback(scenario))
        assert form == LINKS and not guard_message(plan, linked, Channel.MASTODON)
        over += any(f.code == "limit.length" for f in guard_message(plan, linked))
    assert over == len(_SOCIAL_SCENARIOS)


@pytest.mark.parametrize("scenario", _SOCIAL_SCENARIOS)
def test_bluesky_posts_carry_two_linked_words_in_english(plan: Plan, scenario: Scenario) -> None:
    from outage_comms.social_text import grapheme_count, parse_link_markup

    message = rendered(plan, Channel.BLUESKY, "en", scenario)
    linked, form = feedback_form(plan, message, Channel.BLUESKY, default_url_feedback(scenario))
    assert form == LINKS
    posted = parse_link_markup(linked.fields["body"])
    assert posted.text.endswith("\nWas this update helpful? Yes · No")
    assert "https://" not in posted.text  # every link is a facet over short words
    assert grapheme_count(posted.text) <= 300 and not guard_message(plan, linked, Channel.BLUESKY)
    words = dict(_MARKUP.findall(linked.fields["body"]))
    yes, no = words["Yes"], words["No"]
    assert yes.endswith("/y") and no.endswith("/n")
    claims = SIGNER.verify(yes.removeprefix(SAMPLE_BASE_URL + "f/").removesuffix("/y"), now=NOW)
    assert (claims.channel, claims.locale, claims.scenario) == (Channel.BLUESKY, "en", scenario)
    status = [uri for label, uri in words.items() if label not in ("Yes", "No")]
    assert status and all(
        uri.startswith("https://status.") for uri in status
    )  # whole URL behind a short label


def test_bluesky_portuguese_posts_carry_the_linked_words_where_they_fit(plan: Plan) -> None:
    from outage_comms.social_text import grapheme_count, parse_link_markup

    forms = []
    for scenario in _SOCIAL_SCENARIOS:
        message = rendered(plan, Channel.BLUESKY, "pt-BR", scenario)
        linked, form = feedback_form(plan, message, Channel.BLUESKY, default_url_feedback(scenario))
        forms.append(form)
        text = parse_link_markup(linked.fields["body"]).text
        assert grapheme_count(text) <= 300 and not guard_message(plan, linked, Channel.BLUESKY)
        if form == LINKS:
            assert text.endswith("\nEsta atualização foi útil? Sim · Não")
            assert {"Sim", "Não"} <= set(dict(_MARKUP.findall(linked.fields["body"])))
        else:
            assert form == NO_ROOM and linked is message
    assert forms.count(LINKS) >= len(forms) - 1, forms


def test_two_one_click_links_are_preferred_wherever_they_fit(plan: Plan) -> None:
    message = rendered(plan, Channel.SMS, "en", Scenario.MAINTENANCE_COMPLETED)  # one part before
    linked, form = feedback_form(
        plan, message, Channel.SMS, short_link_feedback(Scenario.MAINTENANCE_COMPLETED)
    )
    assert form == LINKS and "Was this update helpful? Yes: " in linked.fields["body"]
    assert "Helpful? Tell us:" not in linked.fields["body"]
    assert f"Yes: {STATUS_URL}/f/" in linked.fields["body"]
    assert not guard_message(plan, linked) and sms_size(linked.fields["body"]).segments <= 2


@pytest.mark.parametrize("scenario", list(Scenario))
@pytest.mark.parametrize("feedback_of", [short_link_feedback, default_url_feedback], ids=["short", "api-url"])
def test_the_english_sms_update_stays_within_two_gsm7_parts_with_its_feedback(
    plan: Plan, scenario: Scenario, feedback_of: Callable[[Scenario], UpdateFeedback]
) -> None:
    """Every scenario, both with and without two-way SMS: links when they fit in two parts, else the
    reply keyword (or the compact link), else no question; never a third part for the question."""
    if MessageFormat.SMS not in plan.formats_for(scenario):
        pytest.skip("the plan sends no SMS for this scenario")
    for replies in (True, False):
        the_plan = plan if replies else without_sms_replies(plan)
        message = rendered(the_plan, Channel.SMS, "en", scenario)
        before = sms_size(message.fields["body"])
        assert before.encoding == "GSM-7"
        sent, form = feedback_form(the_plan, message, Channel.SMS, feedback_of(scenario))
        after = sms_size(sent.fields["body"])
        assert after.encoding == "GSM-7" and after.segments <= max(2, before.segments), (form, sent.fields)
        if replies:
            assert form in (LINKS, REPLY), form  # two-way SMS always has room for "Reply YES or NO"
        assert "None" not in sent.fields["body"]


def test_formats_without_tight_limits_never_use_the_compact_form(plan: Plan) -> None:
    for channel in (Channel.EMAIL, Channel.SNS, Channel.WEBHOOK, Channel.STATUS_PAGE):
        for locale in ("en", "pt-BR"):
            message = rendered(plan, channel, locale, Scenario.MAJOR_OUTAGE)
            _, form = feedback_form(plan, message, channel, default_url_feedback(Scenario.MAJOR_OUTAGE))
            assert form == LINKS, (channel, locale)


def test_an_sms_with_room_gets_the_links_and_still_fits(plan: Plan) -> None:
    roomy = plan.model_copy(
        update={
            "channels": plan.channels.model_copy(
                update={"sms": plan.channels.sms.model_copy(update={"max_segments": 6})}
            )
        }  # type: ignore[union-attr]
    )
    message, form = feedback_form(roomy, rendered(roomy, Channel.SMS, "pt-BR"), Channel.SMS, feedback())
    assert form == LINKS  # with room, the two one-click links win over the compact form
    assert "Esta atualização foi útil? Sim: https://fb.example/" in message.fields["body"]
    assert "\n\n" not in message.fields["body"]  # one line break only: every character costs
    assert not guard_message(roomy, message)


def test_an_update_id_of_another_shape_renders_without_links(plan: Plan) -> None:
    message = rendered(plan, Channel.EMAIL, "en")
    assert with_feedback(plan, message, Channel.EMAIL, feedback(update_id="manual-1")) is message


@pytest.fixture
def incident(plan: Plan) -> Incident:
    started = NOW - timedelta(minutes=20)
    return Incident(
        id=INCIDENT,
        status="identified",
        scenario="identified",
        severity=plan.severities[0].id,
        components=[plan.components[0].id],
        audiences=["all_customers"],
        started_at=started,
        updated_at=NOW,
        internal_title="search down",
        public_title={"en": "Search", "pt-BR": "Busca"},
        public_note={"en": "Search is not returning results", "pt-BR": "A busca não retorna resultados"},
        source=IncidentSource(type="human", reference="arn:aws:iam::111122223333:role/oncall"),
    )


def test_render_update_puts_links_in_every_channel_that_wants_them_and_blocks_nothing_more(
    plan: Plan, incident: Incident
) -> None:
    plain, plain_blocked = render_update(plan, incident, Scenario.IDENTIFIED, NOW)
    linked, linked_blocked = render_update(plan, incident, Scenario.IDENTIFIED, NOW, feedback=feedback())
    assert linked_blocked == plain_blocked
    assert linked.keys() == plain.keys()
    for channel, by_locale in linked.items():
        for locale, record in by_locale.items():
            found = {m.group(1) for m in _URL.finditer(record["fields"].get("body", ""))}
            if channel in ("email", "sns", "webhook", "status_page"):
                (token,) = found
                claims = SIGNER.verify(token, now=NOW)
                assert (claims.channel.value, claims.locale, claims.update_id) == (
                    channel,
                    locale,
                    "002-identified",
                )
            elif channel == "mastodon":
                (token,) = found  # the two links as URLs (each counts 23 on Mastodon)
                assert SIGNER.verify(token, now=NOW).channel is Channel.MASTODON
            elif channel == "bluesky":
                words = dict(
                    re.findall(r"\[([^\]]+)\]\((https://fb\.example/\S+?)\)", record["fields"]["body"])
                )
                assert set(words) == ({"Yes", "No"} if locale == "en" else {"Sim", "Não"}), words
                (token,) = {m.group(1) for m in _URL.finditer(" ".join(words.values()))}
                assert SIGNER.verify(token, now=NOW).channel is Channel.BLUESKY
            elif not carries_feedback(plan, Channel(channel)):
                assert not found and record == plain[channel][locale], channel


def _no_op(_: Any) -> None:
    return None


def test_lint_checks_messages_with_a_realistic_link_and_stays_clean(
    write_plan: Callable[[Callable[[dict[str, Any]], None]], Path],
) -> None:
    from outage_comms.plan_lint import lint_plan

    report = lint_plan(write_plan(_no_op))
    assert report.exit_code == 0, [f.as_dict() for f in report.findings]
    assert all(row["segments"] <= 3 for row in report.sms)
    english = [row for row in report.sms if row["locale"] == "en"]
    assert english and {row["feedback_links"] for row in english} <= {LINKS, REPLY}
    assert all(row["segments"] <= 2 and row["encoding"] == "GSM-7" for row in english)  # with the question
    # Portuguese SMS (UCS-2, 201 units in 3 parts) has no room even for one default-URL link: with the
    # plan's sms_replies every one of them asks for a reply instead.
    assert {row["feedback_links"] for row in report.sms if row["locale"] == "pt-BR"} == {REPLY}
    social = [row for row in report.feedback if row["format"] == "social"]
    assert {(row["channel"], row["locale"]) for row in social} == {
        (channel, locale) for channel in ("mastodon", "bluesky") for locale in ("en", "pt-BR")
    }
    # Each platform's own rule: Mastodon counts a URL as 23 (limit 500), Bluesky only the linked words.
    assert {row["feedback_links"] for row in social if row["channel"] == "mastodon"} == {LINKS}
    assert {row["feedback_links"] for row in social if row["channel"] == "bluesky"} <= {LINKS, NO_ROOM}
    bluesky_pt = [
        row["feedback_links"] for row in social if (row["channel"], row["locale"]) == ("bluesky", "pt-BR")
    ]
    assert bluesky_pt.count(LINKS) >= len(bluesky_pt) - 1
    assert all(row["characters"] <= 500 for row in social if row["channel"] == "mastodon")
    assert all(row["characters"] <= 300 for row in social if row["channel"] == "bluesky")


def _short_domain(data: dict[str, Any]) -> None:
    data["feedback"]["base_url"] = "https://fb.nimbusnotes.example"


def test_lint_prints_feedback_coverage_per_channel_and_locale_and_a_short_domain_raises_only_sms(
    write_plan: Callable[[Callable[[dict[str, Any]], None]], Path],
) -> None:
    from typer.testing import CliRunner

    from outage_comms.plan_lint import lint_plan
    from outage_comms_cli.main import app

    default_url = write_plan(_no_op)
    result = CliRunner().invoke(app, ["lint", str(default_url)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Feedback question in SMS and social posts" in result.output
    rows = {tuple(line.split("│")[1:3]): line for line in result.output.splitlines() if line.count("│") == 8}
    assert {(f.strip(), loc.strip()) for f, loc in rows} >= {
        ("sms", "en"),
        ("sms", "pt-BR"),
        ("mastodon", "en"),
        ("mastodon", "pt-BR"),
        ("bluesky", "en"),
        ("bluesky", "pt-BR"),
    }

    def carried(path: Path, channel: str, locale: str) -> tuple[int, int]:
        rows = [r for r in lint_plan(path).feedback if (r["channel"], r["locale"]) == (channel, locale)]
        return sum(r["feedback_links"] == LINKS for r in rows), sum(
            r["feedback_links"] in (COMPACT, REPLY) for r in rows
        )

    keys = [(c, loc) for c in ("sms", "mastodon", "bluesky") for loc in ("en", "pt-BR")]
    before = {key: carried(default_url, *key) for key in keys}
    short = write_plan(_short_domain)  # (the same file, rewritten)
    after = {key: carried(short, *key) for key in keys}
    # A link's length does not count on Mastodon (23 each) nor Bluesky (facets): the same coverage.
    assert all(after[key] == before[key] for key in keys if key[0] != "sms")
    assert before[("mastodon", "en")] == before[("mastodon", "pt-BR")] == before[("bluesky", "en")] == (11, 0)
    # The status domain's short links are about as short as a feedback domain's: the same coverage.
    assert after[("sms", "en")][0] >= before[("sms", "en")][0]
    assert sum(after[("sms", "en")]) == sum(before[("sms", "en")]) == 11
