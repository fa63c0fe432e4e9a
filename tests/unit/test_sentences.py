"""No sentence twice in one message: a person's note replaces the template sentence it repeats."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from outage_comms.plan import Plan, load_plan
from outage_comms.rendering import build_context, render_message
from outage_comms.sample import sample_facts
from outage_comms.sentences import (
    human_sentences,
    normalise,
    repeated_sentences,
    similar,
    split_sentences,
    without_repeats,
)
from outage_comms.vocabulary import MessageFormat, Scenario

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(ROOT / "plans" / "example.yaml")


def render(
    plan: Plan, scenario: Scenario, fmt: MessageFormat, locale: str, **human: object
) -> dict[str, str]:
    context = build_context(plan, sample_facts(plan, scenario, with_eta=False), locale)
    context |= {"update": None, "workaround": None, "eta": None} | human
    message = render_message(
        scenario=scenario, fmt=fmt, locale=locale, context=context, templates_dir=TEMPLATES
    )
    return message.fields


def times(sentence: str, text: str) -> int:
    """How many sentences of ``text`` say ``sentence`` (near-identical, or carrying it whole)."""
    wanted = normalise(sentence)
    return sum(1 for s in split_sentences(text) if wanted in normalise(s) or similar(normalise(s), wanted))


def test_the_english_sms_of_the_issue_says_the_note_once(plan: Plan) -> None:
    # Given the note the issue quotes, identical to the identified SMS's own sentence
    note = "We found the cause and are fixing it"
    # When the SMS is rendered
    body = render(plan, Scenario.IDENTIFIED, MessageFormat.SMS, "en", impact=note)["body"]
    # Then the customer reads it once, where the note goes, and the rest of the message stays
    assert times(note, body) == 1, body
    assert body.startswith(f"{plan.organization.name}: {note}. Next update by "), body


def test_a_near_identical_note_replaces_the_template_sentence() -> None:
    note = "We found the cause, and we're fixing it!"
    text = f"{note} We found the cause and are fixing it. Next update by 14:05 UTC."
    assert without_repeats(text, human_sentences([note])) == f"{note} Next update by 14:05 UTC."


def test_a_different_note_keeps_every_template_sentence() -> None:
    text = "Sign-in fails for some customers. We found the cause and are fixing it. Next update by 14:05."
    assert without_repeats(text, human_sentences(["Sign-in fails for some customers"])) == text


def test_the_same_note_placed_twice_is_said_once() -> None:
    note = "Pages load slowly for some people"
    text = f"{note}.\n\n{note}.\n\nNext update by 14:05 UTC."
    assert without_repeats(text, human_sentences([note])) == f"{note}.\n\nNext update by 14:05 UTC."


def test_urls_times_and_decimals_stay_whole() -> None:
    text = "Back by 16.30 UTC. See https://status.example.com/incidents/inc-1. Thanks."
    assert split_sentences(text) == [
        "Back by 16.30 UTC.",
        "See https://status.example.com/incidents/inc-1.",
        "Thanks.",
    ]


def test_voice_repeats_the_key_facts_on_purpose(plan: Plan) -> None:
    note = "We found the cause and are fixing it"
    body = render(plan, Scenario.IDENTIFIED, MessageFormat.VOICE, "en", impact=note)["body"]
    assert "Once again: " + note in body


def _template_sentences(plan: Plan, scenario: Scenario, fmt: MessageFormat, locale: str) -> list[str]:
    """The sentences of one template that carry none of the sample's human words."""
    fields = render(plan, scenario, fmt, locale)
    impact = normalise(build_context(plan, sample_facts(plan, scenario), locale)["impact"] or "")
    found: list[str] = []
    for text in fields.values():
        for sentence in split_sentences(text):
            normal = normalise(sentence)
            if (
                len(normal) >= 12
                and impact not in normal
                and "http" not in sentence
                and sentence not in found
            ):
                found.append(sentence)
    return found


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_every_template_sentence_written_as_the_note_is_read_once(plan: Plan, locale: str) -> None:
    """For every shipped locale, scenario and format (but voice): a note that copies any one of the
    template's own sentences is read once in every field."""
    checked = 0
    for scenario in Scenario:
        for fmt in plan.formats_for(scenario):
            if fmt is MessageFormat.VOICE:
                continue
            for sentence in _template_sentences(plan, scenario, fmt, locale):
                note = sentence.rstrip(".")
                for name, text in render(plan, scenario, fmt, locale, impact=note).items():
                    assert times(note, text) <= 1, (scenario.value, fmt.value, name, text)
                checked += 1
    assert checked > 100  # every template was read, not skipped


def test_lint_reports_a_template_sentence_that_a_sample_note_repeats(tmp_path: Path, plan: Plan) -> None:
    from outage_comms.plan_lint.sentences import repeat_findings

    # Given a template whose SMS says the plan's own fallback sentence (a note lint tries)
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    path = templates / "messages" / "en" / "investigating.yaml"
    data = yaml.safe_load(path.read_text())
    fallback = (plan.guard.fallback or {})["en"]
    data["sms"]["body"] = (
        f"{{{{ org.name }}}}: {{{{ impact }}}}. {fallback}. Next update by {{{{ next_update_at }}}}."
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    # When lint runs
    findings = repeat_findings(plan, ROOT / "plans" / "example.yaml", templates)
    # Then it names the template, the field and the sentence, as a warning (the shipped ones have none)
    found = [f for f in findings if f.code == "quality.repeated_sentence"]
    assert found and len(found) == len(findings), findings
    assert all(f.severity == "warning" for f in found)
    assert found[0].where == "templates/messages/en/investigating.yaml: sms.body"
    assert fallback in found[0].message


def test_repeated_sentences_lists_what_is_dropped() -> None:
    note = "We found the cause and are fixing it"
    text = f"Acme: {note}. We found the cause and are fixing it. Next update by 14:05."
    assert repeated_sentences(text, human_sentences([note])) == ["We found the cause and are fixing it."]
