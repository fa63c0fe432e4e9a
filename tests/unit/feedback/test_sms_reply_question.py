"""SMS replies: the reply question in the message, the words that count, the payload, the service."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from feedback_fakes import INCIDENT, NOW, SECRET, FakeFeedbackStore

from outage_comms.feedback.links import FeedbackLinker, LinkSigner
from outage_comms.feedback.messages import (
    COMPACT,
    LINKS,
    NO_ROOM,
    REPLY,
    SAMPLE_BASE_URL,
    UpdateFeedback,
    carries_reply_line,
    feedback_form,
)
from outage_comms.feedback.replies import (
    ReplyRefusedError,
    SentSms,
    SmsReplyService,
    parse_payload,
    vote_from_text,
)
from outage_comms.guard import guard_message
from outage_comms.plan import Plan, load_plan
from outage_comms.rendering import RenderedMessage, build_context, render_message
from outage_comms.sample import sample_facts
from outage_comms.vocabulary import CHANNEL_FORMAT, Channel, Scenario

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(ROOT / "plans" / "example.yaml")


def with_replies(plan: Plan, on: bool) -> Plan:
    return plan.model_copy(update={"feedback": plan.feedback.model_copy(update={"sms_replies": on})})


def rendered(plan: Plan, channel: Channel, locale: str, scenario: Scenario) -> RenderedMessage:
    context = build_context(plan, sample_facts(plan, scenario), locale)
    return render_message(scenario=scenario, fmt=CHANNEL_FORMAT[channel], locale=locale, context=context)


def feedback(scenario: Scenario, base_url: str = SAMPLE_BASE_URL) -> UpdateFeedback:
    linker = FeedbackLinker(signer=LinkSigner(SECRET), base_url=base_url, lifetime=timedelta(days=30))
    return UpdateFeedback(linker=linker, incident_id=INCIDENT, update_id=f"003-{scenario.value}", now=NOW)


def short_feedback(scenario: Scenario) -> UpdateFeedback:
    """Short links on the status domain, as deployed (``/f/<code>``, codes stored)."""
    from outage_comms.feedback.short_links import MemoryShortLinks, Shortener

    linker = FeedbackLinker(
        signer=LinkSigner(SECRET),
        base_url="https://status.nimbusnotes.example",
        lifetime=timedelta(days=30),
        shortener=Shortener(SECRET, MemoryShortLinks()),
    )
    return UpdateFeedback(linker=linker, incident_id=INCIDENT, update_id=f"003-{scenario.value}", now=NOW)


# -- the question in the message ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "scenario", "line"),
    [
        ("pt-BR", Scenario.RESOLVED, "Ajudou? Responda SIM ou NÃO"),  # room for the full question
        ("pt-BR", Scenario.INVESTIGATING, "Útil? SIM/NÃO"),  # 186 of 201 units: only the short one
        ("en", Scenario.MAINTENANCE_IN_PROGRESS, "Helpful? Reply YES or NO"),
    ],
)
def test_an_sms_without_room_for_two_links_asks_for_a_reply_when_the_plan_has_two_way_sms(
    plan: Plan, locale: str, scenario: Scenario, line: str
) -> None:
    message = rendered(plan, Channel.SMS, locale, scenario)
    on, off = with_replies(plan, True), with_replies(plan, False)
    asked, form = feedback_form(on, message, Channel.SMS, feedback(scenario))
    assert form == REPLY and not guard_message(on, asked, Channel.SMS)
    assert asked.fields["body"] == f"{message.fields['body']}\n{line}"
    assert carries_reply_line(asked.fields["body"], locale)
    assert "https://" not in asked.fields["body"].splitlines()[-1]
    # Without two-way SMS the same message gets the compact link or nothing, as before
    assert feedback_form(off, message, Channel.SMS, feedback(scenario))[1] in (COMPACT, NO_ROOM)


def test_two_links_still_win_when_they_fit(plan: Plan) -> None:
    # a short English SMS (one part): the two short links keep it within two parts
    message = rendered(plan, Channel.SMS, "en", Scenario.MAINTENANCE_COMPLETED)
    body, form = feedback_form(
        with_replies(plan, True), message, Channel.SMS, short_feedback(Scenario.MAINTENANCE_COMPLETED)
    )
    assert form == LINKS and not carries_reply_line(body.fields["body"], "en")


def test_social_posts_never_ask_for_a_reply(plan: Plan) -> None:
    on = with_replies(plan, True)
    for scenario in (Scenario.IDENTIFIED, Scenario.MAJOR_OUTAGE):
        message = rendered(on, Channel.BLUESKY, "pt-BR", scenario)
        assert feedback_form(on, message, Channel.BLUESKY, feedback(scenario))[1] != REPLY


def test_when_even_the_short_question_would_break_the_parts_limit_nothing_is_added(plan: Plan) -> None:
    on = with_replies(plan, True)
    base = rendered(on, Channel.SMS, "pt-BR", Scenario.INVESTIGATING)
    # 201 UCS-2 units in 3 parts: fill the text up to 195, the short question costs 14
    padded = base.fields["body"] + "x" * (195 - len(base.fields["body"]))
    message = RenderedMessage(
        scenario=base.scenario, format=base.format, locale=base.locale, fields={"body": padded}
    )
    assert not guard_message(on, message, Channel.SMS)
    assert feedback_form(on, message, Channel.SMS, feedback(Scenario.INVESTIGATING)) == (message, NO_ROOM)


# -- the words that count -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "vote"),
    [
        ("YES", "yes"),
        ("yes!", "yes"),
        (" Y ", "yes"),
        ("Yes, thanks", "yes"),
        ("1", "yes"),
        ("SIM", "yes"),
        ("sim.", "yes"),
        ("S", "yes"),
        ("Sím 👍", "yes"),
        ("NO", "no"),
        ("no.", "no"),
        ("n", "no"),
        ("2", "no"),
        ("NÃO", "no"),
        ("Não!", "no"),
        ("nao", "no"),
        ("não ajudou", "no"),
    ],
)
def test_yes_and_no_in_english_and_portuguese_whatever_the_case_accents_or_punctuation(
    body: str, vote: str
) -> None:
    assert vote_from_text(body) == vote


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("STOP", "keyword"),
        ("help", "keyword"),
        ("PARE", "keyword"),
        ("", "not_a_vote"),
        ("?!", "not_a_vote"),
        ("maybe", "not_a_vote"),
        ("yesterday it worked", "not_a_vote"),
    ],
)
def test_carrier_keywords_and_other_text_are_not_votes(body: str, reason: str) -> None:
    with pytest.raises(ReplyRefusedError) as refused:
        vote_from_text(body)
    assert refused.value.reason == reason


# -- the payload --------------------------------------------------------------------------------

PAYLOAD = {
    "originationNumber": "+14255550182",
    "destinationNumber": "+12125550101",
    "messageKeyword": "JOIN",
    "messageBody": "YES",
    "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
    "previousPublishedMessageId": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}


def test_the_documented_two_way_payload_parses() -> None:
    inbound = parse_payload(json.dumps(PAYLOAD))
    assert (inbound.origination_number, inbound.body, inbound.previous_message_id) == (
        "+14255550182",
        "YES",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("{not json", "malformed"),
        ("[1, 2]", "malformed"),
        (json.dumps({**PAYLOAD, "messageBody": 7}), "malformed"),
        (json.dumps({k: v for k, v in PAYLOAD.items() if k != "originationNumber"}), "malformed"),
        (json.dumps({**PAYLOAD, "previousPublishedMessageId": ""}), "unknown_message"),
    ],
)
def test_a_bad_payload_is_refused_with_a_reason(message: str, reason: str) -> None:
    with pytest.raises(ReplyRefusedError) as refused:
        parse_payload(message)
    assert refused.value.reason == reason


# -- the service --------------------------------------------------------------------------------


class FakeSentLog:
    def __init__(self, *records: SentSms) -> None:
        self.records = {record.message_id: record for record in records}

    def find(self, message_id: str) -> SentSms | None:
        return self.records.get(message_id)


def test_the_service_counts_through_the_same_store_as_the_links_keyed_by_a_salted_phone_hash() -> None:
    store = FakeFeedbackStore()
    expires = int((NOW + timedelta(days=30)).timestamp())
    sent = SentSms(
        PAYLOAD["previousPublishedMessageId"], INCIDENT, "002-identified", "en", Scenario.IDENTIFIED, expires
    )
    service = SmsReplyService(secret=SECRET, sent=FakeSentLog(sent), store=store, now=lambda: NOW)
    first = service.handle(json.dumps(PAYLOAD))
    again: Any = service.handle(json.dumps({**PAYLOAD, "messageBody": "no"}))
    assert first.counted == ("yes", "sms") and again.refused == "replay"
    ((claims, vote),) = store.votes
    assert (claims.incident_id, claims.update_id, claims.channel, claims.locale, vote) == (
        INCIDENT,
        "002-identified",
        Channel.SMS,
        "en",
        "yes",
    )
    ((*_, client),) = store.clicks
    assert PAYLOAD["originationNumber"] not in client and "4255550182" not in client  # never stored raw
