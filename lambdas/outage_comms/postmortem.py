"""The post-incident summary's first draft, written from what the incident already knows.

After resolution the workflow drafts a customer-facing summary per locale with the four parts
customers look for — **what happened**, the **impact window** (start to end in the locale's time
zone, and how long), **what was done** and **what will change** — plus what customers told us
through the "Was this update helpful?" links. The communications manager edits and approves it on
the review page like every external message.

Only public inputs are read: the people's notes for customers on the timeline (each dropped if
the guard finds an internal identifier or jargon in it), the plan's public component names, the
times and the feedback counts. Internal titles, alarm names and ARNs in the timeline never reach
the draft. Where the timeline says nothing, the draft says something true and general rather
than leaving a placeholder: the text that is approved is the text that is published.

The draft feeds the ``post_incident_summary`` templates (``summary.cause`` / ``summary.fix`` /
``summary.prevention``, with the draft's ``impact`` as what customers noticed), so every channel
of that scenario gets its own formatted message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from outage_comms.guard import Finding, find_identifiers, find_jargon
from outage_comms.incident import Incident, TimelineEntry
from outage_comms.plan import Plan
from outage_comms.ports import FeedbackTally
from outage_comms.rendering import format_duration, format_time, join_names

#: The draft's four parts, in the order customers read them.
PARTS = ("what_happened", "impact_window", "what_was_done", "what_will_change")

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "what_happened": "What happened",
        "impact_window": "When",
        "what_was_done": "What we did",
        "what_will_change": "What we're changing",
        "feedback": "What you told us",
        "window": "From {start} to {end} ({duration}).",
        "impact": "{components} did not work normally for some customers",
        "cause": "A problem in our systems stopped {components} from working normally.",
        "cause_provider": "A problem at one of the cloud providers we use stopped {components} from "
        "working normally.",
        "fix": "Our team fixed the problem and checked that {components} worked normally again.",
        "prevention": "We are reviewing what happened to find the changes that will stop it from "
        "happening again.",
    },
    "pt": {
        "what_happened": "O que aconteceu",
        "impact_window": "Quando",
        "what_was_done": "O que fizemos",
        "what_will_change": "O que vamos mudar",
        "feedback": "O que você nos disse",
        "window": "De {start} até {end} ({duration}).",
        "impact": "{components} não funcionou normalmente para alguns clientes",
        "cause": "Um problema nos nossos sistemas impediu que {components} funcionasse normalmente.",
        "cause_provider": "Um problema em um dos provedores de nuvem que usamos impediu que {components} "
        "funcionasse normalmente.",
        "fix": "Nossa equipe corrigiu o problema e confirmou que {components} voltou a funcionar "
        "normalmente.",
        "prevention": "Estamos analisando o que aconteceu para definir as mudanças que vão evitar que "
        "isso se repita.",
    },
}


def _words(locale: str) -> dict[str, str]:
    return _WORDS["pt" if locale.startswith("pt") else "en"]


@dataclass(frozen=True)
class ImpactWindow:
    """When customers were affected: from the incident's start to its resolution."""

    started_at: datetime
    ended_at: datetime

    @property
    def duration(self) -> timedelta:
        return max(self.ended_at - self.started_at, timedelta(0))

    def text(self, plan: Plan, locale: str) -> str:
        """``From 27 Nov, 14:05 UTC to 27 Nov, 15:10 UTC (1 hour and 5 minutes).`` in the locale's zone."""
        settings = plan.locale(locale)
        return _words(locale)["window"].format(
            start=format_time(self.started_at, settings),
            end=format_time(self.ended_at, settings),
            duration=format_duration(self.duration, locale),
        )


@dataclass(frozen=True)
class SummaryDraft:
    """The draft, per locale. ``impact`` is what customers noticed (one clause, no final period)."""

    incident_id: str
    window: ImpactWindow
    impact: dict[str, str]
    what_happened: dict[str, str]
    what_was_done: dict[str, str]
    what_will_change: dict[str, str]
    feedback: dict[str, list[str]] = field(default_factory=dict)
    #: How many customers answered the feedback links (customers read the feedback only if some did).
    feedback_answers: int = 0

    def part(self, name: str, plan: Plan, locale: str) -> str:
        if name == "impact_window":
            return self.window.text(plan, locale)
        if name == "what_happened":
            return f"{self.impact[locale]}. {self.what_happened[locale]}"
        value: str = getattr(self, name)[locale]
        return value

    def text(self, plan: Plan, locale: str) -> str:
        """The whole draft as plain text with a heading per part (and the feedback, when any)."""
        words = _words(locale)
        blocks = [f"{words[name]}\n{self.part(name, plan, locale)}" for name in PARTS]
        if self.feedback.get(locale):
            blocks.append(f"{words['feedback']}\n" + "\n".join(self.feedback[locale]))
        return "\n\n".join(blocks)

    def summary_facts(self) -> dict[str, dict[str, str]]:
        """``UpdateFacts.summary`` for the ``post_incident_summary`` templates."""
        return {
            "cause": dict(self.what_happened),
            "fix": dict(self.what_was_done),
            "prevention": dict(self.what_will_change),
            "feedback": {locale: " ".join(lines) for locale, lines in self.feedback.items()}
            if self.feedback_answers
            else {},
        }

    def as_update(self, plan: Plan) -> dict[str, Any]:
        """What ``Render update`` receives: the facts, what customers noticed and the whole text."""
        return {
            "impact": dict(self.impact),
            "resolved_at": self.window.ended_at.isoformat(),
            "facts": self.summary_facts(),
            "text": {locale: self.text(plan, locale) for locale in plan.locale_codes},
        }


# ---------------------------------------------------------------------------------------------
# Drafting
# ---------------------------------------------------------------------------------------------


def draft_summary(
    plan: Plan,
    incident: Incident,
    now: datetime,
    *,
    feedback: Mapping[str, Any] | None = None,
) -> SummaryDraft:
    """The first draft of ``incident``'s post-incident summary in every locale of the plan.

    ``feedback`` is :meth:`outage_comms.ports.FeedbackTally.counts` for the incident (None: no tally).
    """
    window = ImpactWindow(incident.started_at, incident.resolved_at or now)
    entries = [e for e in incident.timeline if e.public_note]
    before_fix = [e for e in entries if not _is_fix(e)]
    fixes = [e for e in entries if _is_fix(e)]
    impact, happened, done, change = {}, {}, {}, {}
    for locale in plan.locale_codes:
        words = _words(locale)
        components = _components(plan, incident, locale)
        clean = _safe_notes(plan, locale)
        noticed = clean([e for e in before_fix if _status_word(e) != "identified"])
        impact[locale] = (noticed[0] if noticed else words["impact"].format(components=components)).rstrip(
            "."
        )
        causes = clean([e for e in before_fix if _status_word(e) == "identified"])
        provider = incident.source.type == "health"
        happened[locale] = _sentences(causes) or words["cause_provider" if provider else "cause"].format(
            components=components
        )
        done[locale] = _sentences(clean(fixes)[-2:]) or words["fix"].format(components=components)
        change[locale] = words["prevention"]
    lines = (
        {locale: feedback_lines(feedback, locale) for locale in plan.locale_codes}
        if feedback is not None
        else {}
    )
    return SummaryDraft(
        incident_id=incident.id,
        window=window,
        impact=impact,
        what_happened=happened,
        what_was_done=done,
        what_will_change=change,
        feedback=lines,
        feedback_answers=int(feedback.get("yes", 0)) + int(feedback.get("no", 0)) if feedback else 0,
    )


def _status_word(entry: TimelineEntry) -> str | None:
    for word in ("investigating", "identified", "monitoring", "resolved"):
        if f"-> {word}" in entry.text:
            return word
    return None


def _is_fix(entry: TimelineEntry) -> bool:
    return entry.kind == "resolved" or _status_word(entry) in ("monitoring", "resolved")


def _components(plan: Plan, incident: Incident, locale: str) -> str:
    names = [
        c.name.get(locale) or c.name[plan.default_locale]
        for c in plan.components
        if c.id in incident.components
    ]
    return join_names(names, locale) or incident.public_title.get(locale, "")


def _safe_notes(plan: Plan, locale: str) -> Callable[[Sequence[TimelineEntry]], list[str]]:
    """The entries' notes in ``locale`` that pass the guard, without repeats, in order."""

    def clean(entries: Sequence[TimelineEntry]) -> list[str]:
        out: list[str] = []
        for entry in entries:
            note = " ".join((entry.public_note.get(locale) or "").split())
            if note and not guard_text(plan, note) and note not in out:
                out.append(note)
        return out

    return clean


def _sentences(notes: Sequence[str]) -> str:
    return " ".join(n if n.endswith((".", "!", "?")) else f"{n}." for n in notes)


def guard_text(plan: Plan, text: str) -> list[Finding]:
    """The customer-text guard (internal identifiers and the plan's jargon) on free text."""
    return find_identifiers(text, plan.organization.internal_domains) + find_jargon(text, plan.guard.jargon)


def guard_draft(plan: Plan, draft: SummaryDraft) -> list[Finding]:
    """Every finding the guard has on the draft's text, in every locale (expected: none)."""
    return [f for locale in plan.locale_codes for f in guard_text(plan, draft.text(plan, locale))]


# ---------------------------------------------------------------------------------------------
# Customer feedback
# ---------------------------------------------------------------------------------------------


def feedback_lines(counts: Mapping[str, Any] | None, locale: str) -> list[str]:
    """What customers said through the feedback links, in plain words (none without a tally)."""
    if counts is None:
        return []
    from outage_comms.feedback import feedback_summary_lines

    return list(feedback_summary_lines(counts, locale))


def feedback_counts(tally: FeedbackTally | None, incident_id: str) -> dict[str, Any] | None:
    """The tally's counts for the incident, or None when no tally is configured."""
    return None if tally is None else dict(tally.counts(incident_id))
