"""Lint: a template sentence that a sample note repeats (``quality.repeated_sentence``, a warning).

At run time the note replaces the template sentence it repeats (``outage_comms.sentences``), so the
customer reads it once; lint still tells the template's author, because the template then loses
its own words in exactly the situations where people tend to write them. The sample notes are
the notes people write in the game-day scenarios beside the plan (``drills/*.yaml``) and the plan's
``guard.fallback`` (what replaces a blocked note). Voice is left out: it
repeats the key facts on purpose ("Once again: ...").
"""

from __future__ import annotations

from pathlib import Path

from outage_comms.drill_scenario import ScenarioError, load_scenario, scenario_files
from outage_comms.leaks import Finding
from outage_comms.plan import Plan
from outage_comms.rendering import TemplateProblem, build_context, render_message
from outage_comms.sample import sample_facts
from outage_comms.sentences import human_sentences, repeated_sentences
from outage_comms.vocabulary import MessageFormat, Scenario

CODE = "quality.repeated_sentence"


def sample_notes(plan: Plan, plan_path: str | Path) -> dict[str, list[str]]:
    """Per locale, the notes people would write (see the module doc), without repeats."""
    notes: dict[str, list[str]] = {code: [] for code in plan.locale_codes}

    def add(texts: dict[str, str] | None) -> None:
        for code, text in (texts or {}).items():
            if code in notes and text and text.strip() and text not in notes[code]:
                notes[code].append(text.strip())

    for path in scenario_files(plan_path):
        try:
            scenario = load_scenario(path, plan)
        except ScenarioError:
            continue  # reported by the scenario check
        for event in scenario.events:
            add(getattr(event, "note", None))
            for name in ("cause", "fix", "impact"):
                add(getattr(event, name, None))
    add(plan.guard.fallback)
    return notes


def repeat_findings(plan: Plan, plan_path: str | Path, templates_dir: Path) -> list[Finding]:
    """One warning per template field and sample note where a template sentence repeats the note."""
    findings: list[Finding] = []
    notes = sample_notes(plan, plan_path)
    for scenario in Scenario:
        for fmt in plan.formats_for(scenario):
            if fmt is MessageFormat.VOICE:
                continue
            for locale in plan.locale_codes:
                base = build_context(plan, sample_facts(plan, scenario), locale)
                for note in notes[locale]:
                    findings += _one(plan, scenario, fmt, locale, templates_dir, base, note)
    return findings


def _one(
    plan: Plan,
    scenario: Scenario,
    fmt: MessageFormat,
    locale: str,
    templates_dir: Path,
    context: dict[str, object],
    note: str,
) -> list[Finding]:
    try:
        message = render_message(
            scenario=scenario,
            fmt=fmt,
            locale=locale,
            context={**context, "impact": note.rstrip("."), "update": None, "workaround": None, "eta": None},
            templates_dir=templates_dir,
            drop_repeats=False,
        )
    except TemplateProblem:
        return []  # reported by the template check
    humans = human_sentences([note])
    where = f"templates/messages/{locale}/{scenario.value}.yaml: {fmt.value}"
    return [
        Finding(
            CODE,
            f"the template sentence {sentence!r} repeats the note {note!r}; customers would read it "
            "twice (at run time the note replaces it)",
            "reword the template sentence so it adds something the note does not say",
            where=f"{where}.{name}",
            severity="warning",
        )
        for name, text in message.fields.items()
        for sentence in repeated_sentences(text, humans)
    ]
