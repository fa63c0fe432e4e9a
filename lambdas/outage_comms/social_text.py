"""How Mastodon and Bluesky measure a post, and the link markup the Bluesky adapter turns into facets.

- **Mastodon** (``StatusLengthValidator``): a status is at most 500 characters on a default server,
  counted in graphemes, and every http(s) URL counts as 23 characters whatever its length
  (the instance's ``configuration.statuses.characters_reserved_per_url``).
- **Bluesky** (``app.bsky.feed.post``): the ``text`` is at most 300 graphemes (and 3000 UTF-8
  bytes). Links are rich-text facets (``app.bsky.richtext.facet#link``) over a UTF-8 *byte*
  range of the text, so the visible words can be short ("Yes") while the facet carries the URI.

**Link markup** (Bluesky messages only): ``[Yes](https://…)`` in a rendered Bluesky body means
"the visible word *Yes*, linked to https://…". Only Outage Comms writes it (the feedback question,
``outage_comms.feedback.messages``); the Bluesky adapter always replaces it by the visible word and
a link facet before posting, so no reader of the post ever sees it. The approver sees it on the
review page (it is the source they may edit); the guard refuses an edit that breaks it.
A note can never write it: rendering puts a word joiner after every ``]`` a person typed
(``outage_comms.channel_markup``), so no ``](`` from a note reaches this parser.
Labels are 1-80 characters without brackets or line breaks; the target must be an https URL.

Graphemes: the Lambda has no ``regex``/``\\X``; :func:`grapheme_count` follows UAX #29 for what
posts carry (combining marks, ZWJ emoji sequences, variation selectors, skin tones, flags, CRLF).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MASTODON_MAX_CHARACTERS = 500
MASTODON_CHARACTERS_PER_URL = 23
BLUESKY_MAX_GRAPHEMES = 300
BLUESKY_MAX_BYTES = 3000

#: A URL as Mastodon and Bluesky clients detect it (trailing punctuation is not part of it).
URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")
LINK_MARKUP = re.compile(r"\[([^\[\]\n]{1,80})\]\((https://[^\s()<>\"']+)\)")
_ZWJ = "\u200d"


def _extends(ch: str) -> bool:
    """Does ``ch`` join the grapheme before it (marks, variation selectors, skin tones, tags)?"""
    code = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or ch == _ZWJ
    )


def _regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def grapheme_count(text: str) -> int:
    """User-perceived characters, as Bluesky and Mastodon count them ("👨‍👩‍👧" is one, "ã" is one)."""
    count = 0
    previous = ""
    pending_ri = False  # the cluster so far is one regional indicator waiting for its pair
    for ch in text:
        if count and (
            _extends(ch)
            or previous == _ZWJ
            or (previous == "\r" and ch == "\n")
            or (pending_ri and _regional_indicator(ch))
        ):
            pending_ri = False
        else:
            count += 1
            pending_ri = _regional_indicator(ch)
        previous = ch
    return count


def mastodon_length(text: str) -> int:
    """A status's length as Mastodon counts it: graphemes, each URL as 23 characters."""
    return grapheme_count(URL.sub("x" * MASTODON_CHARACTERS_PER_URL, text))


def link_markup(label: str, uri: str) -> str:
    """``label`` linked to ``uri`` in a Bluesky body (see the module docstring)."""
    if not LINK_MARKUP.fullmatch(f"[{label}]({uri})"):
        raise ValueError(f"cannot link {label!r} to {uri!r}: 1-80 plain characters and an https URL")
    return f"[{label}]({uri})"


def short_url(url: str) -> str:
    """How the Bluesky app shows a link: host and at most 13 characters of the path, then "..."."""
    rest = url.split("://", 1)[1]
    host, _, path = rest.partition("/")
    path = f"/{path}" if path else ""  # the bare "/" is dropped, as the app does
    return f"{host}{path[:13]}..." if len(path) > 15 else f"{host}{path}"


def shorten_links(body: str) -> str:
    """Every visible https URL as its short form linked to the whole URL (link markup).

    A URL already inside link markup, or whose short form would not make a label, stays as it is.
    """
    taken = [m.span() for m in LINK_MARKUP.finditer(body)]

    def short(match: re.Match[str]) -> str:
        url = match.group()
        inside = any(a <= match.start() < b for a, b in taken)
        if inside or not url.startswith("https://"):
            return url
        try:
            return link_markup(short_url(url), url)
        except ValueError:
            return url

    return URL.sub(short, body)


@dataclass(frozen=True)
class TextLink:
    """One link facet: UTF-8 byte range of the visible text, and its target."""

    byte_start: int
    byte_end: int
    uri: str


@dataclass(frozen=True)
class LinkedText:
    """A Bluesky body with its link markup resolved: the text as posted, and the link facets."""

    text: str
    links: tuple[TextLink, ...]


def parse_link_markup(body: str) -> LinkedText:
    """Replace every ``[label](https://…)`` by ``label``; byte offsets are over the UTF-8 of the result."""
    parts: list[str] = []
    links: list[TextLink] = []
    offset = 0  # bytes of visible text so far
    last = 0
    for match in LINK_MARKUP.finditer(body):
        before = body[last : match.start()]
        parts.append(before)
        offset += len(before.encode("utf-8"))
        label = match.group(1)
        size = len(label.encode("utf-8"))
        links.append(TextLink(offset, offset + size, match.group(2)))
        parts.append(label)
        offset += size
        last = match.end()
    parts.append(body[last:])
    return LinkedText("".join(parts), tuple(links))


def broken_link_markup(body: str) -> bool:
    """Is there what is left of a link after an edit (``](`` with no whole ``[label](https://…)``)?"""
    return "](" in parse_link_markup(body).text


def retargeted_links(before: str, after: str) -> list[str]:
    """Link targets in ``after``'s markup that ``before`` did not link to (an edit that re-points a word)."""
    known = {link.uri for link in parse_link_markup(before).links}
    return [link.uri for link in parse_link_markup(after).links if link.uri not in known]
