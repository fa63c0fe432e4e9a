"""Checks every customer-facing message must pass, at lint time and again at run time.

- no credentials, in any message (the team's chat included): AWS keys, tokens, passwords...;
- no internal identifiers in customer messages: ARNs, account ids, IP addresses, AWS resource ids
  and endpoints, ``s3://`` URIs, internal host names (``outage_comms.leaks`` has the rules);
- no jargon from the plan's list;
- fits the channel: SMS segments (GSM-7 / UCS-2), social post length, push, SNS subject…
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from outage_comms import social_text
from outage_comms.channel_specs import registry
from outage_comms.leaks import Finding as Finding
from outage_comms.leaks import find_credentials
from outage_comms.leaks import find_identifiers as find_identifiers
from outage_comms.plan import Plan
from outage_comms.rendering import RenderedMessage
from outage_comms.vocabulary import INTERNAL_FORMATS, Channel, MessageFormat

# ---------------------------------------------------------------------------------------------
# SMS encoding (3GPP TS 23.038): GSM-7 default alphabet + extension table, else UCS-2
# ---------------------------------------------------------------------------------------------

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    offending: str = ""  # characters that forced UCS-2

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def sms_size(text: str) -> SmsSize:
    """How many SMS parts a text costs: 160/153 GSM-7 septets or 70/67 UCS-2 units per part."""
    offending = "".join(sorted({ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION}))
    if not offending:
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 0 if units == 0 else 1 if units <= single else -(-units // multi)
    return SmsSize(encoding=encoding, units=units, segments=segments, offending=offending)


# ---------------------------------------------------------------------------------------------
# Internal identifiers and jargon
# ---------------------------------------------------------------------------------------------


def public_hosts(plan: Plan) -> tuple[str, ...]:
    """Hosts the plan publishes to customers (status page, support site): links there are fine."""
    hosts = []
    for url in (plan.organization.status_page_url, plan.organization.support_url, *plan.guard.public_urls):
        try:
            host = urlsplit(url).hostname
        except ValueError:
            continue
        if host:
            hosts.append(host.lower())
    return tuple(hosts)


def find_leaks(plan: Plan, text: str, *, internal: bool = False) -> list[Finding]:
    """Credentials in ``text``, and (unless ``internal``: the team's own words) internal identifiers."""
    hosts = public_hosts(plan)
    findings = find_credentials(text)
    if not internal:
        findings += find_identifiers(text, plan.organization.internal_domains, hosts)
    return findings


@functools.cache  # one compile per term per process (the plan's jargon list is fixed)
def _jargon_pattern(term: str) -> re.Pattern[str]:
    prefix = term.endswith("*")
    core = re.escape(term.rstrip("*"))
    flags = 0 if term.rstrip("*").isupper() else re.IGNORECASE
    tail = r"\w*" if prefix else r"(?!\w)"
    return re.compile(rf"(?<!\w){core}{tail}", flags)


def find_jargon(text: str, jargon: list[str]) -> list[Finding]:
    """Terms from the plan's jargon list. ALL-CAPS terms match case-sensitively; 'stem*' matches a prefix."""
    findings = []
    for term in jargon:
        match = _jargon_pattern(term).search(text)
        if match:
            findings.append(
                Finding(
                    "jargon", f"uses jargon '{match.group()}'", "say what customers notice in everyday words"
                )
            )
    return findings


# ---------------------------------------------------------------------------------------------
# Channel limits
# ---------------------------------------------------------------------------------------------

# Limits per format and field: (max characters, why). Bluesky posts are capped at 300
# graphemes (Mastodon's default is 500, so 300 serves both templates; once a message is known to
# go to one channel, that platform's own rule applies instead: its spec's guard_rule); push titles
# and bodies are cut by the phone's lock screen well before APNs/FCM payload limits; SNS
# subjects are <= 100 ASCII characters on one line; in-app banners must fit a narrow screen.
LIMITS: dict[tuple[MessageFormat, str], tuple[int, str]] = {
    (MessageFormat.SOCIAL, "body"): (300, "Bluesky allows 300 characters per post"),
    (MessageFormat.PUSH, "title"): (50, "lock screens cut push titles near 50 characters"),
    (MessageFormat.PUSH, "body"): (150, "lock screens show about 150 characters of a push body"),
    (MessageFormat.SNS, "subject"): (100, "SNS subjects are at most 100 characters"),
    (MessageFormat.EMAIL, "subject"): (78, "mail clients cut subjects near 78 characters"),
    (MessageFormat.IN_APP, "title"): (60, "the in-app banner title must fit a phone screen"),
    (MessageFormat.IN_APP, "body"): (200, "the in-app banner must fit a phone screen"),
    (MessageFormat.STATUS_PAGE, "title"): (120, "status page titles should fit one line"),
    (MessageFormat.CHAT, "body"): (3000, "Slack section blocks hold at most 3000 characters"),
}
_URL = re.compile(r"https?://\S+")


def mastodon_findings(body: str) -> list[Finding]:
    """Mastodon's own rule: 500 characters (graphemes), every URL counting as 23."""
    size = social_text.mastodon_length(body)
    if size <= social_text.MASTODON_MAX_CHARACTERS:
        return []
    return [
        Finding(
            "limit.length",
            f"body is {size} characters as Mastodon counts them (each link = "
            f"{social_text.MASTODON_CHARACTERS_PER_URL}), over {social_text.MASTODON_MAX_CHARACTERS}",
            "shorten the body",
            where="body",
        )
    ]


def bluesky_findings(body: str) -> list[Finding]:
    """Bluesky's own rule: the posted text (links are facets: only their words count) <= 300 graphemes."""
    text = social_text.parse_link_markup(body).text
    findings = []
    size = social_text.grapheme_count(text)
    if size > social_text.BLUESKY_MAX_GRAPHEMES:
        findings.append(
            Finding(
                "limit.length",
                f"body is {size} characters, over {social_text.BLUESKY_MAX_GRAPHEMES} "
                "(Bluesky allows 300 per post; a linked word counts only its letters)",
                "shorten the body",
                where="body",
            )
        )
    if len(text.encode("utf-8")) > social_text.BLUESKY_MAX_BYTES:
        findings.append(
            Finding(
                "limit.length",
                f"body is over {social_text.BLUESKY_MAX_BYTES} bytes (Bluesky's limit)",
                "shorten the body",
                where="body",
            )
        )
    if social_text.broken_link_markup(body):
        findings.append(
            Finding(
                "limit.bluesky_link",
                "a link is broken: keep '[word](https://…)' whole",
                "undo the change to the link, or delete the whole '[word](https://…)'",
                where="body",
            )
        )
    return findings


def _channel_rule(channel: Channel | None) -> Callable[[str], list[Finding]] | None:
    """The channel's own rule for its body (its registry spec's ``guard_rule``), replacing the format's
    body limit once the message is known to go to that channel (Mastodon counts links as 23 characters)."""
    if channel is None or not registry.is_registered(channel):
        return None
    path = registry.spec(channel).guard_rule
    rule: Callable[[str], list[Finding]] | None = registry.resolve(path) if path else None
    return rule


def channel_limit_findings(
    plan: Plan, message: RenderedMessage, channel: Channel | None = None
) -> list[Finding]:
    """``channel``: the message goes to this channel only (after the feedback links are added), so
    a social post is measured by that platform's rule; without it, by the format's stricter rule."""
    findings: list[Finding] = []
    social_rule = _channel_rule(channel)
    if social_rule and "body" in message.fields:
        findings += social_rule(message.fields["body"])
    for name, value in message.fields.items():
        if social_rule and name == "body":
            continue
        limit = LIMITS.get((message.format, name))
        if limit and len(value) > limit[0]:
            findings.append(
                Finding(
                    "limit.length",
                    f"{name} is {len(value)} characters, over {limit[0]} ({limit[1]})",
                    f"shorten the {name}",
                    where=name,
                )
            )
    if message.format is MessageFormat.SMS:
        size = sms_size(message.fields["body"])
        allowed = plan.channels.sms.max_segments if plan.channels.sms else 1
        if size.segments > allowed:
            why = f" ({size.offending!r} forced UCS-2)" if size.offending else ""
            findings.append(
                Finding(
                    "limit.sms_segments",
                    f"SMS needs {size.segments} {size.encoding} segments "
                    f"({size.units} units){why}, plan allows {allowed}",
                    "shorten the text or avoid characters outside GSM-7",
                    where="body",
                )
            )
    # SNS: "Subjects must be UTF-8 text with no line breaks or control characters" (Publish API).
    if message.format is MessageFormat.SNS and any(ord(ch) < 32 for ch in message.fields["subject"]):
        findings.append(
            Finding(
                "limit.sns_subject",
                "SNS subject must be one line with no control characters",
                "remove line breaks and tabs from the subject",
                where="subject",
            )
        )
    if message.format is MessageFormat.VOICE and _URL.search(message.fields["body"]):
        findings.append(
            Finding(
                "limit.voice_url",
                "voice message reads a web address aloud",
                "say 'on our status page' instead of the address",
                where="body",
            )
        )
    return findings


def guard_message(plan: Plan, message: RenderedMessage, channel: Channel | None = None) -> list[Finding]:
    """Every run-time check for one rendered message. Internal formats (the team's chat, the support
    macro) skip the identifier and jargon checks, never the credential check.

    ``channel``: the channel this message goes to (Mastodon and Bluesky measure a post by their
    own rules); without it, the format's rule, shared by every channel of the format.
    """
    findings = channel_limit_findings(plan, message, channel)
    internal = message.format in INTERNAL_FORMATS
    text = message.text()
    findings += find_leaks(plan, text, internal=internal)
    if not internal:
        findings += find_jargon(text, plan.guard.jargon)
    return findings
