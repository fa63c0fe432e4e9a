"""Bluesky: ``com.atproto.server.createSession`` then ``com.atproto.repo.createRecord``.

The record is an ``app.bsky.feed.post`` with ``text`` (at most 300 graphemes), ``createdAt``
(UTC, ``Z``), ``langs`` (BCP 47, e.g. ``pt-BR``) and a link facet for every URL so it is
clickable: facet offsets are **UTF-8 byte** offsets into the text, not character offsets. Link
markup ``[Yes](https://…)`` in the body (the feedback question, see ``outage_comms.social_text``)
becomes the word "Yes" in the text plus a link facet over it: the markup is never posted. The app
password is the secret (a plain string or ``{"app_password": ...}``); never the account password.

Only Outage Comms writes link markup: a note's ``]`` carries a word joiner
(``outage_comms.channel_markup``), so a note can never make a link whose words differ from its
target; a bare address in a note is linked to itself only. No mention or tag facet is ever made.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from outage_comms.channels import http
from outage_comms.channels.base import ChannelPermanentError, Delivery, DeliveryResult
from outage_comms.channels.catalog import settings_of
from outage_comms.channels.secrets import SecretCache, secret_field
from outage_comms.plan import BlueskySettings
from outage_comms.social_text import BLUESKY_MAX_GRAPHEMES, URL, grapheme_count, parse_link_markup
from outage_comms.vocabulary import Channel

if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext

MAX_GRAPHEMES = BLUESKY_MAX_GRAPHEMES


def _facet(start: int, end: int, uri: str) -> dict[str, Any]:
    return {
        "index": {"byteStart": start, "byteEnd": end},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
    }


def link_facets(text: str) -> list[dict[str, Any]]:
    """``app.bsky.richtext.facet#link`` for each URL, with UTF-8 byte offsets."""
    facets = []
    for match in URL.finditer(text):
        start = len(text[: match.start()].encode("utf-8"))
        facets.append(_facet(start, start + len(match.group().encode("utf-8")), match.group()))
    return facets


def post_text_and_facets(body: str) -> tuple[str, list[dict[str, Any]]]:
    """The text as posted (link markup resolved to its words) and every link facet, in byte order."""
    linked = parse_link_markup(body)
    facets = [_facet(link.byte_start, link.byte_end, link.uri) for link in linked.links]
    taken = [(link.byte_start, link.byte_end) for link in linked.links]
    for facet in link_facets(linked.text):  # visible URLs, unless inside a linked word
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        if all(end <= a or start >= b for a, b in taken):
            facets.append(facet)
    return linked.text, sorted(facets, key=lambda f: int(f["index"]["byteStart"]))


def post_record(body: str, *, locale: str, now: datetime) -> dict[str, Any]:
    text, facets = post_text_and_facets(body)
    return {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "langs": [locale],
        "facets": facets,
    }


def create_session(
    *, service_url: str, handle: str, secrets: SecretCache, app_password_secret: str, timeout: float
) -> dict[str, Any]:
    """``com.atproto.server.createSession`` with the plan's app password: ``accessJwt`` and ``did``."""
    password = secret_field(secrets, app_password_secret, "app_password", "password")
    session = http.post_json(
        f"{service_url.rstrip('/')}/xrpc/com.atproto.server.createSession",
        {"identifier": handle, "password": password},
        service="Bluesky createSession",
        timeout=timeout,
    ).json()
    if not isinstance(session, dict) or "accessJwt" not in session or "did" not in session:
        raise ChannelPermanentError("rejected: Bluesky createSession: no accessJwt/did in the answer")
    return session


class BlueskyChannel:
    channel = Channel.BLUESKY

    def __init__(
        self,
        *,
        settings: BlueskySettings,
        secrets: SecretCache,
        timeout: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._secrets = secrets
        self._timeout = timeout
        self._clock = clock

    def _xrpc(self, method: str) -> str:
        return f"{self._settings.service_url.rstrip('/')}/xrpc/{method}"

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        session = create_session(
            service_url=self._settings.service_url,
            handle=self._settings.handle,
            secrets=self._secrets,
            app_password_secret=self._settings.app_password_secret,
            timeout=self._timeout,
        )
        uris = []
        for locale, fields in delivery.messages.items():
            text = fields["body"]
            size = grapheme_count(parse_link_markup(text).text)
            if size > MAX_GRAPHEMES:
                raise ChannelPermanentError(
                    f"rejected: Bluesky: the {locale} post has {size} characters (limit {MAX_GRAPHEMES})"
                )
            created = http.post_json(
                self._xrpc("com.atproto.repo.createRecord"),
                {
                    "repo": session["did"],
                    "collection": "app.bsky.feed.post",
                    "record": post_record(text, locale=locale, now=self._clock()),
                },
                service="Bluesky createRecord",
                headers={"Authorization": f"Bearer {session['accessJwt']}"},
                timeout=self._timeout,
            ).json()
            uris.append(str((created or {}).get("uri", "")))
        return DeliveryResult(
            channel=self.channel.value, status="delivered", provider_ids=uris, locales=list(delivery.messages)
        )


def build(ctx: ChannelContext) -> BlueskyChannel:
    """The Bluesky adapter (``registry`` spec ``bluesky``)."""
    return BlueskyChannel(settings=settings_of(ctx.plan, "bluesky"), secrets=ctx.secrets)
