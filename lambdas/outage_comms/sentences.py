"""No sentence twice in one message: a person's note replaces the template sentence it repeats.

A template says what the scenario means ("We found the cause and are fixing it."); the person
writing the update often says the same in their own words, and the customer then reads it twice
("We found the cause and are fixing it. We found the cause and are fixing it."). The rule, applied
to each rendered field before it is sent (and by ``outage-comms lint`` to the templates with
sample notes):

- a **template sentence** (one that carries none of the person's words) that is identical or
  near-identical to one of the person's sentences present in the same field is dropped: the
  person's words win, where the template placed them;
- a sentence carrying the person's words that repeats an earlier one (the same note placed twice)
  is dropped too.

Near-identical means: after normalising (Unicode NFKC, case folded, typographic apostrophes made
plain, punctuation and spacing ignored) the two sentences' similarity ratio
(:class:`difflib.SequenceMatcher`) is at least :data:`SIMILARITY`. Sentences end at ``.``, ``!``,
``?`` or ``…`` followed by white space, or at a line break, so URLs, times and decimals stay whole.
Works for any language written with sentence punctuation; the shipped locales are en and pt-BR.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher
from typing import Any

#: Two sentences at least this similar (0..1, after :func:`normalise`) count as the same sentence.
SIMILARITY = 0.85
#: A person's sentence shorter than this (normalised characters) is too short to judge by.
MIN_CHARS = 8

_END = re.compile(r"(?<=[.!?…])(\s+)")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_NOT_WORD = re.compile(r"[^\w']+")


def normalise(sentence: str) -> str:
    """The sentence as compared: NFKC, case folded, plain apostrophes, words separated by one space."""
    text = unicodedata.normalize("NFKC", sentence).translate(_APOSTROPHES).casefold()
    return " ".join(_NOT_WORD.sub(" ", text).replace("'", "").split())


@functools.lru_cache(maxsize=4096)
def similar(a: str, b: str) -> bool:
    """Are two *normalised* sentences identical or near-identical?"""
    if not a or not b:
        return False
    if a == b:
        return True
    shorter, longer = sorted((len(a), len(b)))
    if 2 * shorter / (shorter + longer) < SIMILARITY:  # the ratio cannot reach the bar: skip the match
        return False
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= SIMILARITY


def split_sentences(text: str) -> list[str]:
    """The sentences of one text, line by line (a line break always ends a sentence)."""
    out: list[str] = []
    for line in text.splitlines():
        out.extend(part for part in _END.split(line)[0::2] if part.strip())
    return out


def human_sentences(values: Iterable[Any]) -> list[str]:
    """The normalised sentences of a person's words (strings, or dicts/lists of them, any depth)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            for sentence in split_sentences(value):
                normal = normalise(sentence)
                if len(normal) >= MIN_CHARS and normal not in found:
                    found.append(normal)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    for value in values:
        walk(value)
    return found


def repeated_sentences(text: str, humans: list[str]) -> list[str]:
    """The sentences :func:`without_repeats` would drop from ``text``, as written (for lint and reports)."""
    return _scan(text, humans)[1]


def without_repeats(text: str, humans: list[str]) -> str:
    """``text`` with every repeated sentence dropped (see the module doc); other text is unchanged.

    ``humans``: :func:`human_sentences` of the person's words that went into ``text``. A line left
    empty by a drop is removed; blank lines between paragraphs stay.
    """
    return _scan(text, humans)[0]


def _scan(text: str, humans: list[str]) -> tuple[str, list[str]]:
    if not humans or not text:
        return text, []
    lines = [_END.split(line) for line in text.split("\n")]
    flat = [normalise(part) for parts in lines for part in parts[0::2]]
    kept = [True] * len(flat)
    for i, normal in enumerate(flat):
        kept[i] = not (normal and _repeats(i, flat, kept, humans))
    dropped: list[str] = []
    out_lines: list[str] = []
    index = 0
    for parts in lines:
        pieces: list[str] = []
        for position, sentence in enumerate(parts[0::2]):
            if not kept[index]:
                dropped.append(sentence.strip())
            else:
                if pieces:
                    pieces.append(parts[2 * position - 1])
                pieces.append(sentence)
            index += 1
        line, original = "".join(pieces), "".join(parts)
        if original.strip() and not line.strip():
            continue  # the line held only repeats
        if line != original:
            line = line.rstrip()
        if not line.strip() and (not out_lines or not out_lines[-1].strip()) and dropped:
            continue  # a paragraph emptied by a drop leaves no double blank line
        out_lines.append(line)
    while dropped and out_lines and not out_lines[-1].strip():
        out_lines.pop()
    return "\n".join(out_lines), dropped


def _repeats(i: int, flat: list[str], kept: list[bool], humans: list[str]) -> bool:
    """Is sentence ``i`` a repeat (see the module doc)? ``kept`` is final for the sentences before it."""
    normal = flat[i]
    others = [j for j in range(len(flat)) if j != i]
    for h in humans:
        if not similar(normal, h):
            continue
        if h not in normal:  # the template's own, near-identical wording: the note wins where it stands
            if any(h in flat[j] for j in others):
                return True
        elif any(h in flat[j] and not similar(flat[j], h) for j in others) or any(
            kept[j] and h in flat[j] for j in range(i)
        ):
            return True  # the bare note again, said elsewhere in the template's frame or before
    carried = [h for h in humans if h in normal]
    return bool(carried) and any(
        kept[j] and any(h in flat[j] for h in carried) and (normal in flat[j] or similar(normal, flat[j]))
        for j in range(i)
    )
