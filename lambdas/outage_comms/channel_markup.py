"""Per-channel escaping of the words people type (notes, updates, titles), so they stay words.

Templates are trusted markup (the team reviews them); the values people type into an incident are
not. Rendering passes every typed value through :func:`neutralise` for the channel it renders for,
the way an HTML template autoescapes. The template's own markup (``*bold*`` in chat, a feedback
link in a Bluesky post) keeps working; a note can never ping a channel or disguise a link.

A channel's registry spec names the markup its text is read as (``ChannelSpec.markup``), so a channel
added later picks one of these dialects (a Discord channel reads Markdown and ``@everyone``: "chatbot"
neutralises both) without a line here. What each dialect treats as markup, and how a value is neutralised:

* **Slack** (mrkdwn, "Formatting text for app surfaces"): ``&``, ``<`` and ``>`` are control
  characters and must be sent as ``&amp;`` ``&lt;`` ``&gt;`` (and nothing else entity-encoded).
  That removes every ``<!channel>``, ``<!here>``, ``<@U…>``, ``<#C…>`` and ``<url|text>``. With
  ``verbatim`` false Slack may also turn a bare ``@here`` / ``@channel`` into a mention, so a
  word joiner (U+2060, invisible) follows every ``@`` that starts a word.
* **Teams** (Adaptive Card ``TextBlock``: a CommonMark subset, no HTML): links are
  ``[text](url)``; a word joiner after every ``]`` means no ``](``, so no link, image or
  reference link can form. ``{{DATE(…)}}`` / ``{{TIME(…)}}`` are card functions: ``{{`` is split.
  Mentions need ``<at>`` plus ``msteams.entities``, which our cards never carry.
* **AWS Chatbot** (``client-markdown``, shown in Slack or Teams): both of the above, with a word
  joiner after ``<`` instead of entities (the text is Markdown, not Slack mrkdwn), and ``{{`` split.
* **Mastodon** (``POST /api/v1/statuses`` takes plain text; the server links ``@user``,
  ``@user@domain`` and ``#tag`` where the sign starts a word): a word joiner after such a ``@``
  or ``#`` so the server finds no mention (nobody is notified) and no hashtag. Web addresses keep
  their ``/@user`` and ``#fragment``: there the sign does not start a word.
* **Bluesky** (plain ``text`` plus rich-text facets; only facets link): our adapter builds link
  facets from ``[label](https://…)`` markup that Outage Comms writes; a word joiner after every
  ``]`` in a typed value means a note can never make one. A bare URL in a note is still linked,
  but only to itself (``outage_comms.channels.bluesky``).

The word joiner is invisible, does not break a line and counts as one character; the guard reads
text with it removed (``outage_comms.leaks.scan_text``), so it cannot hide an identifier either.
"""

from __future__ import annotations

import re

from outage_comms.channel_specs import registry
from outage_comms.vocabulary import Channel

WORD_JOINER = "\u2060"
_MENTION_SIGN = re.compile(r"(?<![\w/=.+-])([@#＠＃])(?=[\w.-])")
_AT_SIGN = re.compile(r"(?<![\w/=.+-])([@＠])(?=[\w.-])")
_LINK_CLOSE = re.compile(r"\]")
_CARD_FUNCTION = re.compile(r"\{\{")


def slack_escape(text: str) -> str:
    """Slack's three control characters as entities (``&`` first, so nothing is escaped twice)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_unescape(text: str) -> str:
    """The reverse of :func:`slack_escape`, for Slack ``plain_text`` objects (shown as typed)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def break_mentions(text: str, *, hashtags: bool = False) -> str:
    """A word joiner after each ``@`` (and ``#``) that starts a word: no mention, no hashtag."""
    pattern = _MENTION_SIGN if hashtags else _AT_SIGN
    return pattern.sub(lambda m: m.group(1) + WORD_JOINER, text)


def break_markdown_links(text: str) -> str:
    """A word joiner after each ``]``: no ``[text](url)``, ``![image](url)`` or ``[ref]: url``."""
    return _LINK_CLOSE.sub("]" + WORD_JOINER, text)


def _slack(text: str) -> str:
    return break_mentions(slack_escape(text))


def _teams(text: str) -> str:
    return _CARD_FUNCTION.sub("{" + WORD_JOINER + "{", break_markdown_links(text))


def _chatbot(text: str) -> str:  # shown in Slack or Teams: neither one's markup may work
    text = _CARD_FUNCTION.sub("{" + WORD_JOINER + "{", text.replace("<", "<" + WORD_JOINER))
    return break_mentions(break_markdown_links(text))


def _mastodon(text: str) -> str:
    return break_mentions(text, hashtags=True)


#: Markup dialect (a channel spec's ``markup``) -> how a typed value is made inert in it.
NEUTRALISERS = {
    "slack": _slack,
    "teams": _teams,
    "chatbot": _chatbot,
    "mastodon": _mastodon,
    "bluesky": break_markdown_links,
}


def markup_of(channel: Channel | str) -> str | None:
    """The markup dialect the channel's text is read as (its registry spec's ``markup``), None: plain text."""
    return registry.spec(channel).markup if registry.is_registered(channel) else None


def neutralise(channel: Channel, text: str) -> str:
    """``text`` typed by a person, made inert for ``channel`` (unchanged for plain-text channels)."""
    dialect = markup_of(channel)
    return NEUTRALISERS[dialect](text) if dialect else text


#: Channels whose text is markup (the others carry plain text and need no escaping).
MARKUP_CHANNELS = registry.ChannelSet(lambda spec: spec.markup is not None, "markup channels")

# ---------------------------------------------------------------------------------------------
# Active markup in a whole message (for reviewer edits, which are not escaped)
# ---------------------------------------------------------------------------------------------

_SLACK_ACTIVE = re.compile(r"<[!@#]|<[a-z][a-z0-9+.-]*:[^>|]*\|", re.IGNORECASE)
_MARKDOWN_LINK = re.compile(r"\]\s*[(\[:]")
_ACTIVE_MENTION = re.compile(r"(?<![\w/=.+-])[@＠][A-Za-z0-9_]")
_ACTIVE_HASHTAG = re.compile(r"(?<![\w/=.+)-])[#＃][^\W\d_]")
_BROADCAST = re.compile(r"(?<![\w/=.+-])@(?:here|channel|everyone|all)\b", re.IGNORECASE)


def active_markup(channel: Channel, text: str) -> list[str]:
    """What in ``text`` the platform would turn into a mention or a disguised link (empty when none)."""
    found: list[str] = []
    dialect = markup_of(channel)
    if dialect == "slack":
        found += [f"Slack markup '{m.group()}'" for m in _SLACK_ACTIVE.finditer(text)]
        found += [f"a mention '{m.group()}'" for m in _BROADCAST.finditer(text)]
    if dialect in ("teams", "chatbot"):
        found += [f"a Markdown link '{m.group()}'" for m in _MARKDOWN_LINK.finditer(text)]
    if dialect == "chatbot":
        found += [f"Slack markup '{m.group()}'" for m in _SLACK_ACTIVE.finditer(text)]
        found += [f"a mention '{m.group()}'" for m in _BROADCAST.finditer(text)]
    if dialect == "mastodon":
        found += [f"a mention '{m.group()}'" for m in _ACTIVE_MENTION.finditer(text)]
        found += [f"a hashtag '{m.group()}'" for m in _ACTIVE_HASHTAG.finditer(text)]
    return found
