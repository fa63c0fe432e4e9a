"""Put "Was this update helpful? Yes: <url> No: <url>" into the customer messages of one update.

The first form that fits the channel's limits wins:

1. **two one-click links** (``.../f/<token>/y`` and ``.../n``): one tap answers. Always preferred.
   On Bluesky the links are rich-text facets over the words themselves: the post reads
   "Was this update helpful? Yes · No" and the body carries them as link markup
   ``[Yes](https://…)`` that the Bluesky adapter turns into facets (``outage_comms.social_text``);
   the body's own URLs are shown short there too ("status.example.com/incidents...", linked to
   the whole URL), as the Bluesky app shows links.
2. **compact**, for SMS and social posts only: ONE link to the answer page (``.../f/<token>``),
   "Helpful? Tell us: <url>" / "Foi útil? Responda: <url>". That is one tap to open the page plus
   one tap on its big Yes / No button (a POST with the page's CSRF token), so two taps, not one:
   the price of fitting in a 3-part SMS or a 300-character post.

With the plan's ``feedback.sms_replies`` (two-way SMS on the origination number), an SMS too short
for the two links asks **"Helpful? Reply YES or NO"** / "Ajudou? Responda SIM ou NÃO" instead of
the compact link: no link at all, the answer comes back as an SMS (``feedback/replies.py``).

Only channels listed in the plan's ``feedback.channels`` that the scenario speaks on carry the
links; never the team's own formats (chat, support) and never voice (a link cannot be heard).
Text formats get one more line (a blank line first where there is room for one); the HTML email
gets a paragraph with two plain-word links at the ``<!-- feedback -->`` marker of its layout
(before ``</body>`` when a layout has no marker).

An SMS keeps to :data:`FEEDBACK_SMS_PARTS` (2) parts with its question, or gains no part when it is
already longer: the form that fits wins, so an English update that the two links would push to a
third part asks for a reply (or carries the compact link) instead.

The links never make a message fail: a message whose question would break one of the guard's limits
(SMS parts, push sizes, the channel's own post rule: Mastodon 500 with a URL counting 23,
Bluesky 300 visible characters) in both forms is sent without it, exactly as before.
The linter (``outage-comms lint``) runs the same function with a realistic sample link, so the
plan's author sees which messages carry the links.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from markupsafe import Markup

from outage_comms.channel_specs import registry
from outage_comms.feedback.links import FeedbackLinker, FeedbackUrls, LinkSigner
from outage_comms.guard import guard_message, sms_size
from outage_comms.plan import Plan
from outage_comms.rendering import RenderedMessage
from outage_comms.social_text import link_markup, shorten_links
from outage_comms.vocabulary import CHANNEL_FORMAT, INTERNAL_FORMATS, Channel, MessageFormat, Scenario

log = logging.getLogger(__name__)

LINE = {
    "en": "Was this update helpful? Yes: {yes} No: {no}",
    "pt": "Esta atualização foi útil? Sim: {yes} Não: {no}",
}
#: Bluesky: the question with the two answers as linked words (facets), "{yes}" = ``[Yes](url)``.
FACET_LINE = {
    "en": "Was this update helpful? {yes} · {no}",
    "pt": "Esta atualização foi útil? {yes} · {no}",
}
#: One link to the answer page (one tap to open + one tap to answer), for SMS and social posts.
COMPACT_LINE = {
    "en": "Helpful? Tell us: {page}",
    "pt": "Foi útil? Responda: {page}",
}
#: SMS with ``feedback.sms_replies``: no link at all, the customer texts back (two-way SMS, see
#: ``feedback/replies.py``). The full line first; the short one where only it fits (measured on
#: plans/example.yaml: the Portuguese texts leave 15-23 UCS-2 units of 201, the full line costs 28,
#: the short one 14: 3 of 11 scenarios with the full line alone, 11 of 11 with the short fallback).
REPLY_LINE = {
    "en": "Helpful? Reply YES or NO",
    "pt": "Ajudou? Responda SIM ou NÃO",
}
SHORT_REPLY_LINE = {
    "en": "Helpful? YES/NO",
    "pt": "Útil? SIM/NÃO",
}
#: Formats that may fall back to the compact form when the two links do not fit.
COMPACT_FORMATS = frozenset({MessageFormat.SMS, MessageFormat.SOCIAL})
_HTML_WORDS = {
    "en": ("Was this update helpful?", "Yes", "No"),
    "pt": ("Esta atualização foi útil?", "Sim", "Não"),
}
#: Formats where every character costs: one line break, not a blank line.
_TIGHT_FORMATS = frozenset(
    {MessageFormat.SMS, MessageFormat.SOCIAL, MessageFormat.PUSH, MessageFormat.IN_APP}
)
HTML_MARKER = "<!-- feedback -->"
_HTML_PARAGRAPH = Markup(
    '<p style="margin:0 0 16px 0; font-size:16px; line-height:24px; color:#1f2328;">'
    "{question} {yes} &middot; {no}</p>"
)
_HTML_LINK = Markup('<a href="{href}" style="color:#0b57d0; text-decoration:underline;">{label}</a>')
#: An API Gateway default URL: what links would use with neither a status site route nor a feedback domain.
SAMPLE_BASE_URL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/"
SAMPLE_INCIDENT_ID = "inc-20261127-1405-3fa2c1"


def _language(locale: str) -> str:
    return "pt" if locale.lower().startswith("pt") else "en"


def carries_feedback(plan: Plan, channel: Channel) -> bool:
    """Does this channel's customer message get the links (plan's choice, minus voice and team formats)?"""
    return (
        plan.feedback.enabled
        and channel in plan.feedback.channels
        and registry.spec(channel).carries_links
        and CHANNEL_FORMAT[channel] not in INTERNAL_FORMATS
    )


@dataclass(frozen=True)
class UpdateFeedback:
    """The links of one update: every message gets its own token (channel and locale are signed)."""

    linker: FeedbackLinker
    incident_id: str
    update_id: str
    now: datetime

    def urls(self, channel: Channel, locale: str, scenario: Scenario) -> FeedbackUrls:
        return self.linker.urls(
            incident_id=self.incident_id,
            update_id=self.update_id,
            channel=channel,
            locale=locale,
            scenario=scenario,
            now=self.now,
        )


def sample_feedback(plan: Plan, scenario: Scenario, now: datetime) -> UpdateFeedback:
    """Links as long as real ones, for the linter (fixed sample key: these links never verify live):
    the plan's feedback domain, else the status site's ``/f/`` route, with short codes as deployed."""
    from outage_comms.feedback.short_links import MemoryShortLinks, Shortener

    key = b"sample key for lint, never deployed"
    linker = FeedbackLinker(
        signer=LinkSigner(key),
        base_url=plan.feedback.base_url or plan.organization.status_page_url,
        shortener=Shortener(key, MemoryShortLinks()),
    )
    return UpdateFeedback(
        linker=linker, incident_id=SAMPLE_INCIDENT_ID, update_id=f"003-{scenario.value}", now=now
    )


def feedback_line(locale: str, urls: FeedbackUrls) -> str:
    """The localized line for text formats."""
    return LINE[_language(locale)].format(yes=urls.yes, no=urls.no)


def facet_line(locale: str, urls: FeedbackUrls) -> str:
    """The localized line for Bluesky: "… Yes · No", each word linked (link markup, see above)."""
    _, yes, no = _HTML_WORDS[_language(locale)]
    return FACET_LINE[_language(locale)].format(yes=link_markup(yes, urls.yes), no=link_markup(no, urls.no))


def compact_line(locale: str, urls: FeedbackUrls) -> str:
    """The localized one-link line: the answer page (one tap to open, one tap to answer)."""
    return COMPACT_LINE[_language(locale)].format(page=urls.page)


def reply_line(locale: str, *, short: bool = False) -> str:
    """The localized "Reply YES or NO" line (SMS with two-way replies); ``short``: "YES/NO"."""
    return (SHORT_REPLY_LINE if short else REPLY_LINE)[_language(locale)]


def carries_reply_line(body: str, locale: str) -> bool:
    """Does this SMS body end with the reply question (so its replies must be recorded)?"""
    return body.endswith((reply_line(locale), reply_line(locale, short=True)))


def feedback_html(locale: str, urls: FeedbackUrls) -> Markup:
    """The same question for HTML email: two plain-word links (every value escaped)."""
    question, yes, no = _HTML_WORDS[_language(locale)]
    return _HTML_PARAGRAPH.format(
        question=question,
        yes=_HTML_LINK.format(href=urls.yes, label=yes),
        no=_HTML_LINK.format(href=urls.no, label=no),
    )


def add_links(
    message: RenderedMessage,
    urls: FeedbackUrls,
    *,
    compact: bool = False,
    facets: bool = False,
    reply: bool = False,
    short: bool = False,
) -> RenderedMessage:
    """``message`` with the feedback line appended to its body (and its HTML, if any).

    ``compact``: the one-link line to the answer page instead of the two one-click links.
    ``facets``: the two links as linked words (Bluesky), not as visible URLs.
    ``reply``: "Reply YES or NO" (two-way SMS), no link; with ``short``: "YES/NO".
    """
    fields = dict(message.fields)
    gap = "\n" if message.format in _TIGHT_FORMATS else "\n\n"
    body = fields["body"]
    if reply:
        line = reply_line(message.locale, short=short)
    elif compact:
        line = compact_line(message.locale, urls)
    elif facets:  # Bluesky: linked words, and the body's URLs shown short as the Bluesky app does
        line, body = facet_line(message.locale, urls), shorten_links(body)
    else:
        line = feedback_line(message.locale, urls)
    fields["body"] = f"{body}{gap}{line}"
    html = message.html
    if html:
        snippet = str(feedback_html(message.locale, urls))
        if HTML_MARKER in html:
            html = html.replace(HTML_MARKER, snippet, 1)
        elif "</body>" in html:
            head, tail = html.rsplit("</body>", 1)
            html = f"{head}{snippet}\n</body>{tail}"
        else:
            html += snippet
    return replace(message, fields=fields, html=html)


#: What :func:`feedback_form` chose: two one-click links, the compact answer-page link, the SMS reply
#: question, no room, off.
LINKS, COMPACT, REPLY, NO_ROOM, OFF = "links", "compact", "reply", "no room", "off"


def _forms(plan: Plan, message: RenderedMessage) -> list[tuple[str, dict[str, bool]]]:
    """The forms to try, best first.

    Two one-click links always come first: one tap, nothing to type, no two-way number needed.
    With ``sms_replies`` an SMS then asks for a reply *instead of* the compact link: typing YES is
    one action in the app the customer is already in (the compact link is a tap, a browser and a
    second tap), works without mobile data, and the line is 13-27 characters where the compact link
    costs ~85, so it fits where nothing else does (Portuguese SMS). The compact link stays last, for
    social posts and for SMS without two-way replies.
    """
    forms: list[tuple[str, dict[str, bool]]] = [(LINKS, {})]
    if message.format is MessageFormat.SMS and plan.feedback.sms_replies:
        forms += [(REPLY, {"reply": True}), (REPLY, {"reply": True, "short": True})]
    if message.format in COMPACT_FORMATS:
        forms.append((COMPACT, {"compact": True}))
    return forms


def feedback_form(
    plan: Plan, message: RenderedMessage, channel: Channel, feedback: UpdateFeedback | None
) -> tuple[RenderedMessage, str]:
    """The message as it goes out, and which form of the question it carries (``LINKS`` …).

    The two one-click links when they fit; else, for SMS with ``feedback.sms_replies``, the reply
    question; else, for SMS and social posts, the compact line (one link to the answer page); else
    the message without links, exactly as before (never a failure).
    """
    if feedback is None or not carries_feedback(plan, channel) or "body" not in message.fields:
        return message, OFF
    try:
        urls = feedback.urls(channel, message.locale, message.scenario)
    except ValueError as error:  # an id of another shape (not made by the workflow): send without links
        log.warning("feedback links left out: %s", error)
        return message, OFF
    allowed = len(guard_message(plan, message, channel))
    for form, options in _forms(plan, message):
        candidate = add_links(message, urls, facets=channel is Channel.BLUESKY, **options)
        if len(guard_message(plan, candidate, channel)) <= allowed and _within_sms_budget(message, candidate):
            return candidate, form
    log.info(
        "feedback links left out of %s/%s: they would break the channel's limits",
        channel.value,
        message.locale,
    )
    return message, NO_ROOM


#: The feedback question may make a GSM-7 SMS at most this many parts long (or add no part to a longer
#: one): an update of one or two parts stays within two with its question (links when they fit, else the
#: reply keyword or the compact link), whatever the plan's ``max_segments`` allows. A UCS-2 text (67
#: characters a part) keeps to the plan's ``max_segments`` as before.
FEEDBACK_SMS_PARTS = 2


def _within_sms_budget(message: RenderedMessage, candidate: RenderedMessage) -> bool:
    if message.format is not MessageFormat.SMS:
        return True
    before = sms_size(message.fields["body"])
    if before.encoding != "GSM-7":  # UCS-2 (ã, ç…): 67 characters a part; the plan's max_segments rules
        return True
    return sms_size(candidate.fields["body"]).segments <= max(FEEDBACK_SMS_PARTS, before.segments)


def with_feedback(
    plan: Plan, message: RenderedMessage, channel: Channel, feedback: UpdateFeedback | None
) -> RenderedMessage:
    """The message with its feedback question when the plan wants it for ``channel`` and it fits."""
    return feedback_form(plan, message, channel, feedback)[0]
