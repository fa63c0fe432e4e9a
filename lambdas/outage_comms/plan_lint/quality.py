"""Message quality, per message: reading grade (English), length, SMS parts and encoding, findings.

``outage-comms lint`` (and so ``cdk synth``'s lint gate) assesses every template rendered with sample
data; the drill (``outage_comms_cli.quality``) assesses every delivered message with the same rules.
The findings are what a reader would notice: a sentence said twice, template debris (``None``,
``null``, ``{{ ... }}``), an unfilled link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from outage_comms.guard import sms_size

#: Fewer words than this and a reading grade means nothing (textstat on a title).
MIN_WORDS_FOR_GRADE = 12
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
#: Template debris a reader must never see: Python/JSON nulls, unrendered Jinja, empty placeholders.
_DEBRIS = (
    re.compile(r"(?<![\w-])(None|null|undefined|NaN)(?![\w-])"),
    re.compile(r"\{\{|\}\}|\{%|%\}"),
    re.compile(r"\[\[|\]\]"),
)


@dataclass
class MessageQuality:
    """One message: where it went, what a reader gets."""

    name: str  # the delivered file, or scenario/format/locale in lint
    channel: str
    locale: str
    characters: int
    words: int
    grade: float | None  # Flesch-Kincaid grade, English only
    sms_parts: int | None = None
    sms_encoding: str | None = None
    findings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (lines and sentence ends split it), without URLs, normalised."""
    found: list[str] = []
    for line in text.splitlines():
        for part in _SENTENCE_END.split(_URL.sub("", line)):
            words = re.sub(r"\s+", " ", part).strip(" -*>#\t").strip()
            if len(words.split()) >= 3:
                found.append(words.lower().rstrip(".!?"))
    return found


def repeated_sentences(text: str) -> list[str]:
    """Sentences said more than once in ``text`` (each once, in order)."""
    seen: set[str] = set()
    repeated: list[str] = []
    for sentence in sentences(text):
        if sentence in seen and sentence not in repeated:
            repeated.append(sentence)
        seen.add(sentence)
    return repeated


def debris(text: str) -> list[str]:
    """Template debris in ``text`` (``None``, ``null``, unrendered ``{{ }}``), each once."""
    found: list[str] = []
    for pattern in _DEBRIS:
        for match in pattern.finditer(text):
            if match.group(0) not in found:
                found.append(match.group(0))
    return found


def grade(text: str, locale: str) -> float | None:
    """Flesch-Kincaid grade of English prose (None for other languages and short texts)."""
    if not locale.lower().startswith("en"):
        return None
    prose = re.sub(r"[*_`#>\[\]()|]", "", _URL.sub("", text))
    if len(prose.split()) < MIN_WORDS_FOR_GRADE:
        return None
    import textstat  # lazy: CLI/dev dependency

    return round(float(textstat.flesch_kincaid_grade(prose)), 1)


#: A phone call says the key facts twice on purpose (a listener cannot scroll back).
REPEATS_ON_PURPOSE = frozenset({"voice"})


def assess(
    name: str,
    channel: str,
    locale: str,
    text: str,
    *,
    sms: bool = False,
    body: str | None = None,
    parts: list[str] | None = None,
) -> MessageQuality:
    """The quality row of one message's reader-visible ``text``. Repeats are looked for within
    ``body`` (default: ``text`` without its first line, the subject or title a heading repeats on
    purpose), or within each of ``parts`` (the fields of a payload: an APNs and an FCM copy of the
    same words are two messages, not one message saying it twice)."""
    prose = body if body is not None else text.split("\n", 1)[1] if "\n" in text else text
    units = parts if parts is not None else [prose]
    repeats: list[str] = []
    if channel not in REPEATS_ON_PURPOSE:
        for unit in units:
            repeats += [r for r in repeated_sentences(unit) if r not in repeats]
    findings = [f"sentence repeated: '{s}'" for s in repeats]
    findings += [f"template debris: '{d}'" for d in debris(text)]
    size = sms_size(text) if sms else None
    return MessageQuality(
        name=name,
        channel=channel,
        locale=locale,
        characters=len(text),
        words=len(text.split()),
        grade=grade(text, locale),
        sms_parts=size.segments if size else None,
        sms_encoding=size.encoding if size else None,
        findings=findings,
    )


def reader_text(fields: Mapping[str, str]) -> str:
    """What a reader sees of a rendered message: its text fields, in order."""
    return "\n".join(str(v) for k, v in fields.items() if k not in ("html",) and isinstance(v, str))
