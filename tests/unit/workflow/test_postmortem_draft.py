"""The post-incident summary's draft: four parts per locale, the impact window, feedback, no internals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outage_comms.incident import Incident, IncidentSource, ResolutionDetails, TimelineEntry
from outage_comms.plan import Plan, load_plan
from outage_comms.postmortem import ImpactWindow, draft_summary, feedback_lines, guard_draft
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.updates import render_update

pytestmark = pytest.mark.unit

PLAN = Path(__file__).resolve().parents[3] / "plans" / "example.yaml"
ALARM_ARN = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:sync-5xx-prod-use1"
ALARM = IncidentSource(type="alarm", reference=ALARM_ARN)
STARTED = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
RESOLVED = STARTED + timedelta(hours=1, minutes=35)
COUNTS = {
    "yes": 12,
    "no": 3,
    "comments": 2,
    "by_channel": {"email": {"yes": 9, "no": 1}, "sms": {"yes": 3, "no": 2}},
}


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(PLAN)


def entry(minutes: int, kind: str, text: str, note: dict[str, str] | None = None) -> TimelineEntry:
    return TimelineEntry(
        at=STARTED + timedelta(minutes=minutes),
        kind=kind,  # type: ignore[arg-type]
        text=text,
        source=ALARM,
        event_id=f"e{minutes}",
        public_note=note or {},
    )


NOTICED = {"en": "Some customers could not sync their notes", "pt-BR": "Alguns clientes não sincronizavam"}
CAUSE = {
    "en": "A settings change made our storage refuse new connections",
    "pt-BR": "Uma mudança de configuração fez o armazenamento recusar conexões",
}
FIX = {
    "en": "We undid the change and sync works again",
    "pt-BR": "Desfizemos a mudança e a sincronização voltou",
}
TYPED = ResolutionDetails(cause=CAUSE, fix=FIX, impact=NOTICED)
#: Progress notes as people post them during the incident: never a cause, never in a summary.
PROGRESS = {
    "en": "We found the cause and are fixing it",
    "pt-BR": "Encontramos a causa e estamos corrigindo",
}


def resolved_incident(
    timeline: tuple[TimelineEntry, ...] | None = None, details: ResolutionDetails = TYPED, **changes: Any
) -> Incident:
    default = (
        entry(0, "opened", f"{ALARM_ARN} ALARM on sync-api.corp.nimbusnotes.example"),
        entry(3, "signal", f"second alarm {ALARM_ARN}"),
        entry(30, "status", "human update (status investigating -> identified)", PROGRESS),
        entry(70, "status", "human update (status identified -> monitoring)", {"en": "Sync is back"}),
        entry(95, "resolved", f"{ALARM_ARN} OK"),
    )
    incident = Incident(
        id="inc-20261127-1405-abc123",
        internal_title=f"sync-5xx on {ALARM_ARN}",
        public_title={"en": "Sync", "pt-BR": "Sincronização"},
        components=("sync",),
        severity="sev2",
        status="resolved",
        scenario=Scenario.RESOLVED,
        audiences=("all-customers",),
        started_at=STARTED,
        updated_at=RESOLVED,
        resolved_at=RESOLVED,
        source=ALARM,
        timeline=default if timeline is None else timeline,
        resolution_details=details,
    )
    return incident.evolve(**changes) if changes else incident


def test_the_draft_has_the_four_parts_in_both_locales(plan: Plan) -> None:
    draft = draft_summary(plan, resolved_incident(), RESOLVED + timedelta(minutes=5), feedback=COUNTS)
    english, portuguese = draft.text(plan, "en"), draft.text(plan, "pt-BR")
    for heading in ("What happened", "When", "What we did", "What we're changing"):
        assert heading in english
    for heading in ("O que aconteceu", "Quando", "O que fizemos", "O que vamos mudar"):
        assert heading in portuguese
    # impact first: what customers noticed opens the summary, the cause the team typed follows
    assert english.index("Some customers could not sync their notes") < english.index("A settings change")
    assert draft.what_happened["en"] == "A settings change made our storage refuse new connections."
    assert draft.what_was_done["pt-BR"] == "Desfizemos a mudança e a sincronização voltou."
    assert draft.what_will_change["en"] and "[" not in draft.what_will_change["en"]


def test_the_impact_window_is_in_each_locales_time_zone_with_its_duration(plan: Plan) -> None:
    window = ImpactWindow(STARTED, RESOLVED)
    assert window.duration == timedelta(hours=1, minutes=35)
    assert window.text(plan, "en") == "From 27 Nov, 14:05 UTC to 27 Nov, 15:40 UTC (1 hour and 35 minutes)."
    # São Paulo is UTC-3: 14:05 UTC is 11h05 there
    assert window.text(plan, "pt-BR") == (
        "De 27/11 11:05 (horário de Brasília) até 27/11 12:40 (horário de Brasília) (1 hora e 35 minutos)."
    )


def test_an_unresolved_window_ends_now_and_never_runs_backwards(plan: Plan) -> None:
    now = STARTED + timedelta(minutes=20)
    draft = draft_summary(plan, resolved_incident(resolved_at=None), now)
    assert draft.window.ended_at == now and draft.window.duration == timedelta(minutes=20)
    assert ImpactWindow(STARTED, STARTED - timedelta(minutes=5)).duration == timedelta(0)


def test_feedback_counts_become_plain_lines_in_both_locales(plan: Plan) -> None:
    draft = draft_summary(plan, resolved_incident(), RESOLVED, feedback=COUNTS)
    for locale, heading in (("en", "What you told us"), ("pt-BR", "O que você nos disse")):
        lines = feedback_lines(COUNTS, locale)
        assert lines and any("12" in line and "3" in line for line in lines)
        assert draft.feedback[locale] == lines
        assert draft.text(plan, locale).endswith(heading + "\n" + "\n".join(lines))
    assert draft.summary_facts()["feedback"]["en"] == " ".join(feedback_lines(COUNTS, "en"))
    assert feedback_lines(COUNTS, "en") != feedback_lines(COUNTS, "pt-BR")


def test_no_tally_means_no_feedback_section_and_zero_answers_say_so(plan: Plan) -> None:
    assert "What you told us" not in draft_summary(plan, resolved_incident(), RESOLVED).text(plan, "en")
    assert feedback_lines(None, "en") == []
    zero = draft_summary(plan, resolved_incident(), RESOLVED, feedback={"yes": 0, "no": 0, "comments": 0})
    assert len(zero.feedback["pt-BR"]) == 1 and "What you told us" in zero.text(plan, "en")
    assert zero.summary_facts()["feedback"] == {}  # the team reads "nobody answered"; customers do not


def test_what_went_wrong_never_comes_from_a_progress_note(plan: Plan) -> None:
    # Given an incident resolved without cause, fix or impact, whose timeline has progress notes
    draft = draft_summary(plan, resolved_incident(details=ResolutionDetails()), RESOLVED, feedback=COUNTS)
    for locale in plan.locale_codes:
        text = draft.text(plan, locale)
        # Then no progress note stands in for a cause, a fix or an impact
        assert PROGRESS[locale] not in text and "Sync is back" not in text
        assert draft.what_happened[locale] == "" and draft.what_was_done[locale] == ""
        # and the draft asks for the three parts instead of inventing them
        assert draft.gaps[locale] == ["impact", "cause", "fix"]
        assert draft.gap_note(locale)
    assert draft.impact["en"] == "Sync did not work normally for some customers"  # plain, past tense
    update = draft.as_update(plan)
    assert update["gaps"]["en"] == ["impact", "cause", "fix"] and "cause" in update["gap_note"]["en"]
    # When it renders, customers read no "What went wrong" at all, and the team's chat flags the gap
    incident = resolved_incident(details=ResolutionDetails())
    messages, blocked = render_update(
        plan, incident, Scenario.POST_INCIDENT_SUMMARY, RESOLVED, summary=update
    )
    assert blocked == []
    status_page = messages["status_page"]["en"]["fields"]["body"]
    assert "What went wrong" not in status_page and "How we fixed it" not in status_page
    assert PROGRESS["en"] not in json.dumps(messages)
    assert "*Cause (customer words):* MISSING" in messages["chatbot"]["en"]["fields"]["body"]


def test_only_the_missing_locale_is_a_gap(plan: Plan) -> None:
    details = ResolutionDetails(cause={"en": CAUSE["en"]}, fix=FIX, impact=NOTICED)
    draft = draft_summary(plan, resolved_incident(details=details), RESOLVED)
    assert draft.gaps == {"pt-BR": ["cause"]}
    assert draft.what_happened["en"] == CAUSE["en"] + "." and draft.what_happened["pt-BR"] == ""


def test_typed_details_with_internal_names_are_left_out_as_gaps(plan: Plan) -> None:
    internal = ResolutionDetails(
        cause={
            "en": "The db at sync-api.corp.nimbusnotes.example had high latency",
            "pt-BR": "Conta 111122223333",
        },
        fix={"en": f"We restarted {ALARM_ARN}", "pt-BR": "Reiniciamos 10.0.3.7"},
    )
    draft = draft_summary(plan, resolved_incident(details=internal), RESOLVED, feedback=COUNTS)
    for locale in plan.locale_codes:
        text = draft.text(plan, locale)
        assert "arn:aws" not in text and "corp.nimbusnotes" not in text
        assert "10.0.3.7" not in text and "111122223333" not in text
        assert "latency" not in text  # the plan's jargon
        assert draft.gaps[locale] == ["impact", "cause", "fix"]
    assert guard_draft(plan, draft) == []


def test_the_draft_renders_through_every_channel_of_the_summary_scenario(plan: Plan) -> None:
    incident = resolved_incident()
    draft = draft_summary(plan, incident, RESOLVED, feedback=COUNTS)
    messages, blocked = render_update(
        plan, incident, Scenario.POST_INCIDENT_SUMMARY, RESOLVED, summary=draft.as_update(plan)
    )
    assert blocked == []
    expected = {c.value for c in plan.channels_for(Scenario.POST_INCIDENT_SUMMARY)}
    assert set(messages) == expected
    status_page = messages["status_page"]["en"]["fields"]["body"]
    assert "What you noticed: Some customers could not sync their notes." in status_page
    assert "It lasted 1 hour and 35 minutes, from 27 Nov, 14:05 UTC to 27 Nov, 15:40 UTC." in status_page
    assert "What went wrong: A settings change made our storage refuse new connections." in status_page
    assert "What we're changing: We are reviewing what happened" in status_page
    assert "O que vamos mudar: Estamos analisando" in messages["status_page"]["pt-BR"]["fields"]["body"]
    # what customers told us through the feedback links is in the summary and the team's chat
    told = " ".join(feedback_lines(COUNTS, "en"))
    assert f"What you told us about our updates: {told}" in status_page
    assert told in messages["chatbot"]["en"]["fields"]["body"]
    # and the internals stay in the team's chat only
    customer = [
        m
        for c, by in messages.items()
        if c not in ("chatbot", "slack", "teams", "support")
        for m in by.values()
    ]
    assert ALARM_ARN not in json.dumps(customer) and ALARM_ARN in messages["chatbot"]["en"]["fields"]["title"]


def test_the_resolved_message_says_what_was_typed_never_the_last_progress_note(plan: Plan) -> None:
    # Given an incident whose last progress note is "We found the cause and are fixing it"
    progress = resolved_incident(details=ResolutionDetails()).evolve(public_note=PROGRESS)
    messages, _ = render_update(plan, progress, Scenario.RESOLVED, RESOLVED)
    for locale in plan.locale_codes:
        for by_locale in messages.values():
            if locale in by_locale:
                assert PROGRESS[locale] not in json.dumps(by_locale[locale], ensure_ascii=False)
    # Then what happened is a plain past-tense sentence, and nothing says what went wrong
    body = messages["status_page"]["en"]["fields"]["body"]
    assert "What happened: Sync did not work normally for some customers." in body
    assert "What went wrong" not in body
    # When the person resolving typed cause, fix and impact, the resolved message says them
    typed = progress.evolve(resolution_details=TYPED)
    messages, blocked = render_update(plan, typed, Scenario.RESOLVED, RESOLVED)
    assert blocked == []
    body = messages["status_page"]["en"]["fields"]["body"]
    assert f"What happened: {NOTICED['en']}." in body
    assert f"What went wrong: {CAUSE['en']}" in body and f"How we fixed it: {FIX['en']}" in body
    assert f"O que deu errado: {CAUSE['pt-BR']}" in messages["sns"]["pt-BR"]["fields"]["body"]
