"""Text a person wrote (notes, titles, summaries): one rule for every door and for rendering.

Two entry points, both pure and cheap (``unicodedata`` only):

* :func:`check_text` — at a door (API, CLI, Incident Manager, runbook). Normalises to NFC, turns
  ``\\r\\n`` / ``\\r`` into ``\\n``, trims surrounding whitespace, then **refuses** (raises
  :class:`HumanTextError`, a ``ValueError``, so Pydantic validators report it as a field error)
  text with a character no channel should carry, or longer than the field's limit. The message
  names the field, the character (``U+001B ESCAPE at position 4``) or the limit, and the fix.
* :func:`clean_text` — where refusing is not possible (rendering, events AWS sends us, text stored
  before this rule existed). Same normalisation, but **drops** the forbidden characters and clips
  to ``limit``. Never raises.

Forbidden everywhere: C0 and C1 control characters (so every ANSI escape, which starts with ESC
or CSI), DEL, bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069:
"Trojan Source"), the line and paragraph separators U+2028/U+2029, the byte-order mark U+FEFF,
noncharacters (U+FDD0-U+FDEF and every U+xFFFE / U+xFFFF) and lone surrogates. Tab and line feed
are kept when ``multiline`` is true (notes); single-line fields (titles) refuse them. Joiners
(U+200C/U+200D), directional marks (LRM, RLM, ALM) and emoji tag sequences are ordinary text.

Lengths count code points after NFC (what people see as characters, near enough).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "HumanTextError",
    "check_text",
    "clean_text",
    "forbidden_character",
]

_BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))
_OTHER_FORBIDDEN = frozenset({0x2028, 0x2029, 0xFEFF, 0x7F})
_LINE_KEEPERS = frozenset({"\n", "\t"})
#: Whole terminal escape sequences (CSI ``ESC [ ... final``, OSC ``ESC ] ... BEL|ST``, two-byte ``ESC x``),
#: so cleaning leaves no ``[31m`` behind.
_ANSI_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[@-Z\\-_]"
)


class HumanTextError(ValueError):
    """Text refused at a door. ``str(error)`` is the message to show the person who sent it."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field, self.problem, self.fix = field, problem, fix
        super().__init__(f"'{field}' {problem}; {fix}")


def _is_forbidden(code: int) -> bool:
    return (
        code < 0x20
        or 0x80 <= code < 0xA0
        or code in _OTHER_FORBIDDEN
        or code in _BIDI_CONTROLS
        or 0xD800 <= code <= 0xDFFF
        or 0xFDD0 <= code <= 0xFDEF
        or (code & 0xFFFE) == 0xFFFE
    )


def forbidden_character(text: str, *, multiline: bool = True) -> tuple[int, str] | None:
    """``(index, character)`` of the first character the rule forbids in ``text``, else ``None``."""
    for index, char in enumerate(text):
        if multiline and char in _LINE_KEEPERS:
            continue
        if _is_forbidden(ord(char)):
            return index, char
    return None


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        return unicodedata.normalize("NFC", text)
    except UnicodeError:  # pragma: no cover - NFC never fails on str; kept for lone surrogates' sake
        return text


def _describe(char: str) -> str:
    code = ord(char)
    name = unicodedata.name(char, "")
    if not name:
        if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            name = "control character"
        elif 0xD800 <= code <= 0xDFFF:
            name = "lone surrogate"
        else:
            name = "noncharacter"
    return f"U+{code:04X} {name}"


def check_text(text: str, *, field: str, limit: int, multiline: bool = True) -> str:
    """``text`` normalised (NFC, ``\\n`` line ends, trimmed), or :class:`HumanTextError`.

    ``field`` is the name shown to the sender (``note.pt-BR``, ``title``); ``limit`` the most
    characters allowed after normalising.
    """
    normalised = _normalise(text).strip()
    found = forbidden_character(normalised, multiline=multiline)
    if found is not None:
        index, char = found
        if char == "\x1b" or char == "\x9b":
            what = f"contains a terminal escape sequence ({_describe(char)}) at position {index}"
        else:
            what = f"contains {_describe(char)} at position {index}"
        allowed = (
            "plain text only: line breaks and tabs are fine, control and formatting characters are not"
            if multiline
            else "this field is one line of plain text"
        )
        raise HumanTextError(field, what, f"remove it ({allowed})")
    if len(normalised) > limit:
        raise HumanTextError(
            field,
            f"is {len(normalised):,} characters long, over the limit of {limit:,}",
            f"shorten it to {limit:,} characters or fewer",
        )
    return normalised


def clean_text(text: str, *, limit: int | None = None, multiline: bool = True) -> str:
    """``text`` normalised with every forbidden character dropped, clipped to ``limit`` (with "…").

    For rendering and for sources that cannot be answered with an error. Never raises.
    """
    normalised = _ANSI_SEQUENCE.sub("", _normalise(text))
    if not multiline:
        normalised = normalised.replace("\n", " ").replace("\t", " ")
    kept = "".join(
        char for char in normalised if (multiline and char in _LINE_KEEPERS) or not _is_forbidden(ord(char))
    )
    kept = kept.strip()
    if limit is not None and len(kept) > limit:
        kept = kept[: max(limit - 1, 0)].rstrip() + "…"
    return kept
