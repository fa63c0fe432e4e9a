"""The post-incident summary's first draft, written from what the incident already knows.

After resolution the workflow drafts a customer-facing summary per locale with the four parts
customers look for — **what happened**, the **impact window** (start to end in the locale's time
zone, and how long), **what was done** and **what will change** — plus what customers told us
through the "Was this update helpful?" links. The communications manager edits and approves it on
the review page like every external message.

**What went wrong and how it was fixed come only from what the person resolving typed**
(``resolve --cause --fix --impact``: :attr:`Incident.resolution_details`), never from a progress
note: "We found the cause and are fixing it" is not a cause, and its present tense does not belong
in a summary. A part nobody typed (or one the guard refuses: an internal identifier or jargon) is
a **gap**: the draft leaves it out of the customer text (no invented cause, no placeholder to slip
through an approval) and lists it in :attr:`SummaryDraft.gaps`, which the approval request and the
team's chat copy ask for. What customers noticed falls back to a plain past-tense sentence naming
the plan's public components. Internal titles, alarm names and ARNs never reach the draft; the
text that is approved is the text that is published.

The draft feeds the ``post_incident_summary`` templates (``summary.cause`` / ``summary.fix`` /
``summary.prevention``, with the draft's ``impact`` as what customers noticed), so every channel
of that scenario gets its own formatted message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from outage_comms.guard import Finding, find_identifiers, find_jargon
from outage_comms.incident import RESOLUTION_PARTS, Incident
from outage_comms.plan import Plan
from outage_comms.ports import FeedbackTally
from outage_comms.rendering import format_duration, format_time, join_names

#: The draft's four parts, in the order customers read them.
PARTS = ("what_happened", "impact_window", "what_was_done", "what_will_change")


def gap_lines(gaps: dict[str, list[str]]) -> list[str]:
    """One line per locale naming, in English (the team's pages are English), what the approver must write."""
    return [
        f"{locale}: {', '.join(_WORDS['en'].get(f'gap_{part}', part) for part in parts)}"
        for locale, parts in gaps.items()
    ]


_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "what_happened": "What happened",
        "impact_window": "When",
        "what_was_done": "What we did",
        "what_will_change": "What we're changing",
        "feedback": "What you told us",
        "window": "From {start} to {end} ({duration}).",
        "impact": "{components} did not work normally for some customers",
        "gap": "Nobody wrote {parts} when resolving: write them in the summary before approving it.",
        "gap_cause": "what went wrong (the cause)",
        "gap_fix": "how it was fixed",
        "gap_impact": "what customers noticed",
        "prevention": "We are reviewing what happened so that it does not happen again.",
    },
    "pt": {
        "what_happened": "O que aconteceu",
        "impact_window": "Quando",
        "what_was_done": "O que fizemos",
        "what_will_change": "O que vamos mudar",
        "feedback": "O que você nos disse",
        "window": "De {start} até {end} ({duration}).",
        "impact": "{components} não funcionou normalmente para alguns clientes",
        "gap": "Ninguém escreveu {parts} ao resolver: escreva no resumo antes de aprová-lo.",
        "gap_cause": "o que deu errado (a causa)",
        "gap_fix": "como foi corrigido",
        "gap_impact": "o que os clientes perceberam",
        "prevention": "Estamos analisando o que aconteceu para que isso não se repita.",
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
    #: Per locale, the resolve details nobody typed (``cause``, ``fix``, ``impact``): the approver's to write.
    gaps: dict[str, list[str]] = field(default_factory=dict)

    def part(self, name: str, plan: Plan, locale: str) -> str:
        if name == "impact_window":
            return self.window.text(plan, locale)
        if name == "what_happened":
            return " ".join(t for t in (f"{self.impact[locale]}.", self.what_happened[locale]) if t)
        value: str = getattr(self, name)[locale]
        return value

    def text(self, plan: Plan, locale: str) -> str:
        """The whole draft as plain text with a heading per part (and the feedback, when any).

        A gap is left out, not filled: see :meth:`gap_note` for what the approver is asked.
        """
        words = _words(locale)
        parts = [(name, self.part(name, plan, locale)) for name in PARTS]
        blocks = [f"{words[name]}\n{text}" for name, text in parts if text]
        if self.feedback.get(locale):
            blocks.append(f"{words['feedback']}\n" + "\n".join(self.feedback[locale]))
        return "\n\n".join(blocks)

    def gap_note(self, locale: str) -> str:
        """For the approver: which parts nobody typed ('' when none), in the locale's words."""
        missing = self.gaps.get(locale) or []
        if not missing:
            return ""
        words = _words(locale)
        return words["gap"].format(parts=join_names([words[f"gap_{part}"] for part in missing], locale))

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
            "gaps": {locale: list(parts) for locale, parts in self.gaps.items() if parts},
            "gap_note": {
                locale: self.gap_note(locale) for locale in plan.locale_codes if self.gap_note(locale)
            },
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
    details = incident.resolution_details
    impact, happened, done, change = {}, {}, {}, {}
    gaps: dict[str, list[str]] = {}
    for locale in plan.locale_codes:
        words = _words(locale)
        typed = {part: _safe_detail(plan, details.text(part, locale)) for part in RESOLUTION_PARTS}
        gaps[locale] = [part for part in RESOLUTION_PARTS if not typed[part]]
        components = _components(plan, incident, locale)
        impact[locale] = (typed["impact"] or words["impact"].format(components=components)).rstrip(".")
        happened[locale] = _sentences([typed["cause"]] if typed["cause"] else [])
        done[locale] = _sentences([typed["fix"]] if typed["fix"] else [])
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
        gaps={locale: parts for locale, parts in gaps.items() if parts},
    )


def _components(plan: Plan, incident: Incident, locale: str) -> str:
    names = [
        c.name.get(locale) or c.name[plan.default_locale]
        for c in plan.components
        if c.id in incident.components
    ]
    return join_names(names, locale) or incident.public_title.get(locale, "")


def _safe_detail(plan: Plan, text: str) -> str:
    """A typed detail as one line, or '' when the guard finds an internal identifier or jargon in it."""
    line = " ".join(text.split())
    return line if line and not guard_text(plan, line) else ""


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
