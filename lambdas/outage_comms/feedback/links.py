"""Signed "Was this update helpful?" links: one token per incident x update x channel x locale.

A token is ``base64url(payload || mac)`` with no padding: **28 characters** for the plan's usual
locales (it was 42-46 with layout version 1), so an SMS or a social post spends as little as
possible on it. The payload is a fixed, bit-packed binary layout (version 2), 12 bytes::

    version(4 bits) channel(4 bits) | scenario(4 bits) locale code(4 bits) | update number(2)
    incident opened, minutes since 2025-01-01 UTC(3) | incident suffix(3)
    expiry, whole hours after the incident opened(2)
    [locale length(1) locale(ASCII)]   only when the locale has no code (code 0)

which is a lossless encoding of ``incident_id`` (``inc-YYYYMMDD-HHMM-xxxxxx``), ``update_id``
(``NNN-<scenario>``), ``channel``, ``locale`` and ``scenario``; the expiry is rounded *down* to
a whole hour after the incident opened (a link may close up to an hour early, never late). The
MAC is HMAC-SHA256 over a domain-separation label and the payload with a key derived from the
Secrets Manager secret, truncated to 72 bits (NIST SP 800-107 allows truncation; a forger cannot
check guesses offline and the API is throttled to 25 requests a second, so one forged answer
takes about 10^14 years of guessing). Every field is signed, so a token never verifies for another
update, channel, locale or scenario; the vote (yes/no) is the last path segment and is not signed:
both answers of one message share one token. Verification is one HMAC, no table read.

**Per-recipient tokens (layout version 3).** Where a channel has recipients (email), the sender
turns the update's token into one per recipient (:meth:`LinkSigner.for_recipient`): the same
fields with version 3 and a 6-byte recipient tag (HMAC of the subscriber id) after the fixed part,
signed as a whole: 36 characters. An answer through such a link counts once per *recipient*, from
any network and browser; the tag cannot be changed or removed without breaking the signature. A
version 2 token (public page, social post, SMS, push: one link seen by many) counts once per
client network (see ``feedback/clients.py``).

Why not a shorter, server-side link record (random id -> record in the feedback table)? It gives
16-20 characters, but adds a table write to the Render step on the way to the first customer
message and a read to every answer. Measured on ``plans/example.yaml`` with the API Gateway default
URL (``outage-comms lint``), the 8-12 characters saved move two of 44 SMS/social messages: one
English SMS from the compact form to two links, one Portuguese SMS from "no room" to compact. The
~60-character base URL, not the token, is what keeps the rest out.

:meth:`LinkSigner.verify` raises :class:`MalformedLinkError`, :class:`ForgedLinkError` (signature
does not match: forged or tampered) or :class:`ExpiredLinkError`, all :class:`FeedbackLinkError`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from outage_comms.channel_specs import registry
from outage_comms.vocabulary import Channel, Scenario

VERSION = 2
#: The layout of a per-recipient token: version 2's fields, then the recipient tag.
RECIPIENT_VERSION = 3
RECIPIENT_BYTES = 6
MAC_BYTES = 9
MAX_TOKEN_CHARS = 96
_LABEL = b"outage-comms/feedback-link/v2\x00"
# version|channel, scenario|locale code, update number, opened (24-bit minutes), suffix, expiry hours
_HEADER = struct.Struct(">BBH3s3sH")
_INCIDENT_ID = re.compile(r"^inc-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})-([0-9a-f]{6})$")
_UPDATE_ID = re.compile(r"^(\d{1,5})-([a-z_]+)$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
#: Incident ids from before this minute cannot be signed (their messages go out without links).
TOKEN_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_MAX_MINUTES = 0xFFFFFF  # until 2056
_MAX_HOURS = 0xFFFF  # links live at most ~7 years


# Stable one-byte codes: append new values, never renumber (tokens in sent messages use them).
class _ChannelCodes(Mapping[Channel, int]):
    """Channel -> its ``feedback_code`` in the registry (read live; channels without one carry no links)."""

    def __getitem__(self, channel: Channel) -> int:
        code = registry.spec(channel).feedback_code if registry.is_registered(channel) else None
        if code is None:
            raise KeyError(channel)
        return code

    def __iter__(self) -> Iterator[Channel]:
        return iter(registry.feedback_codes())

    def __len__(self) -> int:
        return len(registry.feedback_codes())


CHANNEL_CODES: Mapping[Channel, int] = _ChannelCodes()


def _channel_of(code: int) -> Channel | None:
    return next((channel for channel, known in registry.feedback_codes().items() if known == code), None)


SCENARIO_CODES: dict[Scenario, int] = {
    Scenario.INVESTIGATING: 1,
    Scenario.IDENTIFIED: 2,
    Scenario.MONITORING: 3,
    Scenario.RESOLVED: 4,
    Scenario.DEGRADED_PERFORMANCE: 5,
    Scenario.PARTIAL_OUTAGE: 6,
    Scenario.MAJOR_OUTAGE: 7,
    Scenario.MAINTENANCE_SCHEDULED: 8,
    Scenario.MAINTENANCE_IN_PROGRESS: 9,
    Scenario.MAINTENANCE_COMPLETED: 10,
    Scenario.HOLDING_UPDATE: 11,
    Scenario.POST_INCIDENT_SUMMARY: 12,
}
#: Locales with a 4-bit code (0 means: spelled out after the fixed part, any BCP 47 tag works).
LOCALE_CODES: dict[str, int] = {
    "en": 1,
    "pt-BR": 2,
    "es": 3,
    "pt": 4,
    "en-US": 5,
    "en-GB": 6,
    "es-419": 7,
    "fr": 8,
    "de": 9,
}
_SCENARIOS = {code: scenario for scenario, code in SCENARIO_CODES.items()}
_LOCALES = {code: locale for locale, code in LOCALE_CODES.items()}
assert max(SCENARIO_CODES.values()) < 16  # 4-bit field (channel codes: the registry checks theirs)

#: The answers a link can carry, as the last path segment (short forms keep SMS short).
VOTES = {"y": "yes", "yes": "yes", "n": "no", "no": "no"}


class FeedbackLinkError(Exception):
    """A feedback link that must not count. ``reason`` is a short code for metrics and logs."""

    reason = "invalid"


class MalformedLinkError(FeedbackLinkError):
    """Not a feedback token at all (cut short by a mail client, wrong characters, unknown version)."""

    reason = "malformed"


class ForgedLinkError(FeedbackLinkError):
    """The signature does not match: made up, or changed after we signed it."""

    reason = "forged"


class ExpiredLinkError(FeedbackLinkError):
    """The link is older than the plan's ``feedback.link_lifetime_days``."""

    reason = "expired"


@dataclass(frozen=True)
class LinkClaims:
    """What a verified token says: which message of which update the answer is about."""

    incident_id: str
    update_id: str
    channel: Channel
    locale: str
    scenario: Scenario
    expires_at: int
    #: The recipient tag (hex) of a per-recipient link; empty for a link many people see.
    recipient: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text) or len(text) % 4 == 1:
        raise MalformedLinkError("the link is not a feedback token")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose (links, client hashing, CSRF) from the one secret."""
    return hmac.new(secret, f"outage-comms/feedback/{purpose}".encode(), hashlib.sha256).digest()


class LinkSigner:
    """Signs and verifies feedback tokens with the secret from Secrets Manager (bytes)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the feedback signing secret must be at least 16 bytes")
        self._key = derive_key(secret, "links")
        self._recipient_key = derive_key(secret, "recipient")

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, _LABEL + payload, hashlib.sha256).digest()[:MAC_BYTES]

    def sign(self, claims: LinkClaims) -> str:
        """The token for ``claims``; ValueError when an id does not have the workflow's shape.

        The expiry is rounded down to a whole hour after the incident opened (see the module doc).
        """
        incident = _INCIDENT_ID.match(claims.incident_id)
        if not incident:
            raise ValueError(f"incident id {claims.incident_id!r} is not inc-YYYYMMDD-HHMM-xxxxxx")
        update = _UPDATE_ID.match(claims.update_id)
        if not update or update.group(2) != claims.scenario.value or int(update.group(1)) > 0xFFFF:
            raise ValueError(f"update id {claims.update_id!r} is not NNN-{claims.scenario.value}")
        if not _LOCALE.match(claims.locale) or len(claims.locale) > 35:
            raise ValueError(f"locale {claims.locale!r} is not a BCP 47 tag")
        year, month, day, hour, minute, suffix = incident.groups()
        opened = datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=UTC)
        minutes = int((opened - TOKEN_EPOCH).total_seconds()) // 60
        if not 0 <= minutes <= _MAX_MINUTES:
            raise ValueError(f"incident id {claims.incident_id!r} is outside 2025-2056")
        hours = max(0, (claims.expires_at - int(opened.timestamp())) // 3600)
        if hours > _MAX_HOURS:
            raise ValueError("feedback links cannot live longer than about 7 years")
        code = LOCALE_CODES.get(claims.locale, 0)
        payload = _HEADER.pack(
            VERSION << 4 | CHANNEL_CODES[claims.channel],
            SCENARIO_CODES[claims.scenario] << 4 | code,
            int(update.group(1)),
            minutes.to_bytes(3, "big"),
            bytes.fromhex(suffix),
            hours,
        )
        if code == 0:
            locale = claims.locale.encode("ascii")
            payload += bytes([len(locale)]) + locale
        return _b64(payload + self._mac(payload))

    def verify(self, token: str, *, now: datetime | None = None) -> LinkClaims:
        """The claims of a genuine, unexpired token; else a :class:`FeedbackLinkError` subclass.

        Cheap: one base64 decode and one HMAC; the MAC is checked before any field is trusted.
        """
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise MalformedLinkError("the link is not a feedback token")
        raw = _unb64(token)
        if len(raw) < _HEADER.size + MAC_BYTES or raw[0] >> 4 not in (VERSION, RECIPIENT_VERSION):
            raise MalformedLinkError("the link is not a feedback token")
        payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise ForgedLinkError("the link's signature does not match")
        first, second, number, minutes, suffix, hours = _HEADER.unpack_from(payload)
        channel, scenario, code = first & 0x0F, second >> 4, second & 0x0F
        tail, recipient = payload[_HEADER.size :], b""
        if first >> 4 == RECIPIENT_VERSION:
            recipient, tail = tail[:RECIPIENT_BYTES], tail[RECIPIENT_BYTES:]
            if len(recipient) != RECIPIENT_BYTES:
                raise MalformedLinkError("the link is not a feedback token")
        if code == 0:
            locale = tail[1:].decode("ascii", errors="replace") if tail and tail[0] == len(tail) - 1 else ""
        else:
            locale = _LOCALES.get(code, "") if not tail else ""
        the_channel = _channel_of(channel)
        if not locale or the_channel is None or scenario not in _SCENARIOS:
            # signed by us, yet unreadable: a newer layout
            raise MalformedLinkError("the link is not a feedback token")
        opened = TOKEN_EPOCH + timedelta(minutes=int.from_bytes(minutes, "big"))
        expires_at = int(opened.timestamp()) + hours * 3600
        current = now or datetime.now(UTC)
        if current.timestamp() > expires_at:
            raise ExpiredLinkError("the link has expired")
        the_scenario = _SCENARIOS[scenario]
        return LinkClaims(
            incident_id=f"inc-{opened:%Y%m%d-%H%M}-{suffix.hex()}",
            update_id=f"{number:03d}-{the_scenario.value}",
            channel=the_channel,
            locale=locale,
            scenario=the_scenario,
            expires_at=expires_at,
            recipient=recipient.hex(),
        )

    def recipient_tag(self, subscriber_id: str) -> bytes:
        """The 6 bytes that stand for one subscriber in their links (not reversible without the key)."""
        digest = hmac.new(self._recipient_key, subscriber_id.encode(), hashlib.sha256).digest()
        return digest[:RECIPIENT_BYTES]

    def for_recipient(self, token: str, subscriber_id: str) -> str:
        """``token`` (an update's version 2 token) bound to one recipient: a version 3 token.

        Raises :class:`FeedbackLinkError` when ``token`` is not a genuine version 2 token.
        """
        raw = _unb64(token) if token and len(token) <= MAX_TOKEN_CHARS else b""
        if len(raw) < _HEADER.size + MAC_BYTES or raw[0] >> 4 != VERSION:
            raise MalformedLinkError("only an update's shared link can be made per recipient")
        payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise ForgedLinkError("the link's signature does not match")
        bound = (
            bytes([RECIPIENT_VERSION << 4 | payload[0] & 0x0F])
            + payload[1 : _HEADER.size]
            + self.recipient_tag(subscriber_id)
            + payload[_HEADER.size :]
        )
        return _b64(bound + self._mac(bound))


@dataclass(frozen=True)
class FeedbackUrls:
    """The two one-click answers for one message, and the answer page for tight formats.

    ``page`` (``<base>/f/<token>``) opens a page with two big Yes / No buttons: one tap to open,
    one tap to answer. Used where the two one-click links do not fit (SMS, social posts).
    """

    yes: str
    no: str
    page: str


class Shortener(Protocol):
    """Stores a short code for a token and returns it (``feedback/short_links.py``)."""

    def short(self, token: str, expires_at: int) -> str: ...


#: Channels whose links keep the signed token: email re-signs it per recipient
#: (``channels/personalise.py``) and shows its links behind words, where length costs nothing.
LONG_TOKEN_CHANNELS = frozenset({Channel.EMAIL})


@dataclass(frozen=True)
class FeedbackLinker:
    """Makes the links of one deployment: its signer, its public base URL, the links' lifetime.

    With a ``shortener`` every channel but email gets a short link (``<base>/f/<8-character code>``)
    whose code the shortener stores; see ``feedback/short_links.py``.
    """

    signer: LinkSigner
    base_url: str
    lifetime: timedelta = timedelta(days=30)
    shortener: Shortener | None = None

    def urls(
        self,
        *,
        incident_id: str,
        update_id: str,
        channel: Channel,
        locale: str,
        scenario: Scenario,
        now: datetime,
    ) -> FeedbackUrls:
        expires_at = int((now + self.lifetime).timestamp())
        token = self.signer.sign(
            LinkClaims(
                incident_id=incident_id,
                update_id=update_id,
                channel=channel,
                locale=locale,
                scenario=scenario,
                expires_at=expires_at,
            )
        )
        if self.shortener is not None and channel not in LONG_TOKEN_CHANNELS:
            token = self.shortener.short(token, expires_at)
        base = f"{self.base_url.rstrip('/')}/f/{token}"
        return FeedbackUrls(yes=f"{base}/y", no=f"{base}/n", page=base)
