"""Marking: every drill message starts with the plan's drill marker, within its field's limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from outage_comms.plan import Plan
from outage_comms.vocabulary import MessageFormat

if TYPE_CHECKING:
    from outage_comms.rendering import RenderedMessage

#: The first field of each format that a reader sees first; formats without one mark the body.
_LEAD_FIELDS = ("subject", "title")
#: What a voice call says (a bracketed marker read aloud sounds like nothing); by language.
_SPOKEN = {"en": "This is a drill.", "pt": "Isto é uma simulação."}


def marker(plan: Plan, locale: str) -> str:
    """The plan's drill marker for ``locale`` (the default locale's when it has none)."""
    words = plan.drill.marker
    return (words.get(locale) or words.get(plan.default_locale) or "[DRILL]").strip()


def spoken_marker(plan: Plan, locale: str) -> str:
    """What a voice call says first: a sentence, not a bracketed tag."""
    language = locale.split("-", 1)[0].lower()
    if language in _SPOKEN:
        return _SPOKEN[language]
    word = marker(plan, locale).strip("[]()<>{} ")
    return f"{word}." if word else _SPOKEN["en"]


def _prefixed(prefix: str, text: str, limit: int | None = None) -> str:
    """``prefix text``, shortening the text (never the marker) when it would pass the field's ``limit``."""
    text = text.lstrip()
    if text.startswith(prefix):
        return text
    if limit is not None and len(prefix) + 1 + len(text) > limit:
        text = text[: max(0, limit - len(prefix) - 2)].rstrip() + "…"
    return f"{prefix} {text}"


@dataclass(frozen=True)
class Marker:
    """The words in front of every message of an update, per locale; empty: the update is not marked."""

    written: Mapping[str, str] = field(default_factory=dict)
    spoken: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def _word(words: Mapping[str, str], locale: str) -> str:
        # A locale the marker does not name still gets one: a drill message is never unmarked.
        return words.get(locale) or next(iter(words.values()), "")

    def fields(self, fmt: MessageFormat, locale: str, fields: Mapping[str, str]) -> dict[str, str]:
        """``fields`` with the marker in front of the subject/title, or of the body when there is none.

        A field with a length limit (push title, SNS and email subjects, social posts) keeps within it:
        the words after the marker are shortened with "…" (a lock screen would cut them anyway).
        """
        from outage_comms.guard import LIMITS  # lazy: intake imports this module and never renders

        marked = dict(fields)
        written, spoken = self._word(self.written, locale), self._word(self.spoken, locale)
        if fmt is MessageFormat.VOICE:
            if spoken and "body" in marked:
                marked["body"] = _prefixed(spoken, marked["body"])
            return marked
        lead = next((name for name in _LEAD_FIELDS if name in marked), "body")
        if written and lead in marked:
            limit = LIMITS.get((fmt, lead))
            marked[lead] = _prefixed(written, marked[lead], limit[0] if limit else None)
        if written and fmt is MessageFormat.EMAIL and "body" in marked:
            # A forwarded email loses its subject line: the words themselves say it is an exercise.
            marked["body"] = _prefixed(written, marked["body"])
        return marked

    def message(self, message: RenderedMessage) -> RenderedMessage:
        """The rendered message marked (its HTML too). Called before the guard: the marker counts."""
        fields = self.fields(message.format, message.locale, message.fields)
        html = message.html
        if html and "subject" in fields and fields["subject"] != message.fields["subject"]:
            # The HTML was laid out from the unmarked subject (its <title> and heading): mark those too.
            from markupsafe import escape  # lazy, as above

            html = html.replace(str(escape(message.fields["subject"])), str(escape(fields["subject"])))
        return replace(message, fields=fields, html=html)

    def internal(self, text: str, locale: str) -> str:
        """A subject or title for the team (approval requests, reminders), marked in ``locale``."""
        word = self._word(self.written, locale)
        return _prefixed(word, text) if word else text


NO_MARKER = Marker()


def drill_marker(plan: Plan) -> Marker:
    """The plan's drill marker in every locale."""
    codes = plan.locale_codes
    return Marker({c: marker(plan, c) for c in codes}, {c: spoken_marker(plan, c) for c in codes})
