"""Issue 11, findings 3 and 9: no leak reaches a customer, no note makes live markup anywhere.

* **guard**: every identifier / credential of the corpus (``guard_corpus.LEAKS``, 48 cases) is put
  in a sev4 note (auto-sent, no human in the loop) and in the alarm's internal title, rendered for
  every channel of the plan and both locales, with and without the plan's fallback text, then
  passed through each HTTP channel's payload builder. A secret found in any customer message (or a
  credential in any message at all, the team's included) counts as accepted wrongly. Ordinary
  sentences (``guard_corpus.ORDINARY``, en and pt-BR) must pass: a block counts as wrong too.
* **escaping**: every injection note (``guard_corpus.INJECTIONS``) is rendered and built into the
  Slack, Teams, Chatbot, Mastodon, Bluesky and webhook payloads; the platform oracles count live
  mentions, disguised links and unescaped control markup.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from outage_comms.channel_markup import slack_unescape
from outage_comms.channels.base import Delivery
from outage_comms.channels.bluesky import post_record
from outage_comms.channels.internal_chat import custom_notification
from outage_comms.channels.mastodon import status_text
from outage_comms.channels.slack import block_kit_message
from outage_comms.channels.teams import adaptive_card_message
from outage_comms.channels.webhook import statuspage_payload
from outage_comms.incident import Incident, IncidentSource
from outage_comms.leaks import scan_text
from outage_comms.plan import Plan, load_plan
from outage_comms.vocabulary import CHANNEL_FORMAT, INTERNAL_FORMATS, Channel, Scenario
from outage_comms.workflow.updates import render_update
from tests.security.figures import scaled
from tests.security.guard_corpus import (
    INJECTIONS,
    LEAKS,
    ORDINARY,
    bluesky_violations,
    chatbot_violations,
    mastodon_violations,
    slack_violations,
    teams_violations,
    webhook_violations,
)
from tests.unit.conftest import EXAMPLE_PLAN

NOW = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    plan = load_plan(EXAMPLE_PLAN)
    no_fallback = plan.model_copy(update={"guard": plan.guard.model_copy(update={"fallback": None})})
    assert plan.guard.fallback, "the example plan ships a fallback sentence"
    return {"fallback": plan, "no fallback": no_fallback}


def incident(note: str, *, severity: str = "sev4", title: str = "sync-5xx alarm") -> Incident:
    return Incident(
        id="inc-20261127-1405-abc123",
        internal_title=title,
        public_title={"en": "Sync", "pt-BR": "Sincronização"},
        components=("sync",),
        severity=severity,
        status="investigating",
        scenario=Scenario.INVESTIGATING,
        audiences=("all-customers",),
        started_at=NOW,
        updated_at=NOW,
        source=IncidentSource(type="human", reference="cli"),
        public_note={"en": note, "pt-BR": note},
    )


def payloads(plan: Plan, channel: str, by_locale: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What each HTTP / SNS channel would actually send for these words (the adapters' builders)."""
    fields = {locale: m["fields"] for locale, m in by_locale.items()}
    en = fields.get("en") or next(iter(fields.values()))
    ids = {"incident_id": "inc-1", "update_id": "001-investigating", "severity": "sev2"}
    if channel == "slack":
        return {"en": block_kit_message(en, **ids)}
    if channel == "teams":
        return {"en": adaptive_card_message(en, **ids)}
    if channel == "chatbot":
        return {
            loc: custom_notification(title=f["title"], description=f["body"], thread_id="i")
            for loc, f in fields.items()
        }
    if channel == "mastodon":
        return {loc: status_text(f["body"]) for loc, f in fields.items()}
    if channel == "bluesky":
        return {loc: post_record(f["body"], locale=loc, now=NOW) for loc, f in fields.items()}
    if channel == "webhook":
        delivery = Delivery(
            incident_id="inc-1",
            update_id="001-investigating",
            channel=Channel.WEBHOOK,
            scenario="investigating",
            components=["sync"],
            audiences=["all-customers"],
            severity="sev2",
            messages=fields,
        )
        raw = json.dumps(statuspage_payload(plan, delivery, now=NOW.timestamp()), ensure_ascii=False)
        return {"raw": raw}
    return fields


def _seen(value: Any) -> str:
    """Everything a reader could see in a payload, as the guard reads text (entities decoded...)."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return scan_text(slack_unescape(json.loads(json.dumps(text))))


def test_no_identifier_or_credential_reaches_a_customer(plans: dict[str, Plan], figures) -> None:  # type: ignore[no-untyped-def]
    f = figures("guard")
    for note, secret, kind in LEAKS[: scaled(ci=len(LEAKS), full=len(LEAKS))]:
        needle = scan_text(secret)
        for variant, plan in plans.items():
            for where in ("note", "internal title"):
                case = incident(note) if where == "note" else incident("Sync is slow", title=f"alarm {note}")
                try:
                    messages, _ = render_update(plan, case, Scenario.INVESTIGATING, NOW)
                except Exception as error:  # a crash is a figure, not a stop
                    f.tried += 1
                    f.crash(f"{variant}/{where}: {note!r}: {error!r}")
                    continue
                for channel, by_locale in messages.items():
                    internal = CHANNEL_FORMAT[Channel(channel)] in INTERNAL_FORMATS
                    if internal and kind == "identifier":
                        continue  # the team's own chat may name hosts and ids
                    for locale, sent in payloads(plan, channel, by_locale).items():
                        f.tried += 1
                        if needle in _seen(sent):
                            f.wrong(f"{variant}/{where}: {secret!r} reached {channel}/{locale}")
    assert f.tried >= 40 * 2
    assert f.clean, f.failure_message()


def test_ordinary_sentences_are_never_blocked(plans: dict[str, Plan], figures) -> None:  # type: ignore[no-untyped-def]
    f = figures("guard")
    plan = plans["no fallback"]
    for sentence in ORDINARY:
        f.tried += 1
        _, blocked = render_update(plan, incident(sentence), Scenario.INVESTIGATING, NOW)
        reasons = [r for b in blocked for r in b["reasons"] if "looks like" in r or "contains" in r]
        if reasons:
            f.wrong(f"{sentence!r} blocked: {reasons[0]}")
    assert f.clean, f.failure_message()


def test_no_note_makes_a_mention_a_disguised_link_or_live_markup(plans: dict[str, Plan], figures) -> None:  # type: ignore[no-untyped-def]
    f = figures("escaping")
    plan = plans["fallback"]
    own_hosts = {"status.nimbusnotes.example"}
    oracles = {
        "slack": lambda sent, _words: slack_violations(sent),
        "teams": lambda sent, _words: teams_violations(sent),
        "chatbot": lambda sent, _words: chatbot_violations(sent),
        "mastodon": lambda sent, _words: mastodon_violations(sent),
        "bluesky": lambda sent, _words: bluesky_violations(sent, own_hosts),
        "webhook": lambda sent, words: webhook_violations(sent.encode(), words),
    }
    for note in INJECTIONS:
        for where in ("note", "internal title"):
            case = (
                incident(note, severity="sev2") if where == "note" else incident("Sync is slow", title=note)
            )
            messages, _ = render_update(plan, case, Scenario.INVESTIGATING, NOW)
            for channel, oracle in oracles.items():
                by_locale = messages.get(channel)
                if not by_locale:
                    f.tried += 1
                    f.loss(f"{channel}: nothing rendered for {note!r}")
                    continue
                words = {loc: m["fields"] for loc, m in by_locale.items()}
                for locale, sent in payloads(plan, channel, by_locale).items():
                    f.tried += 1
                    found = oracle(sent, words)
                    if found:
                        f.wrong(f"{where} {note!r} -> {channel}/{locale}: {found[:3]}")
    assert f.clean, f.failure_message()
