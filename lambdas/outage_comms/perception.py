"""Perception: how many public social posts mention us right now (Bluesky search, Mastodon hashtags).

A scheduled function (``handlers/social_mentions.py``) asks each network for posts since the start of
the window, counts them once each (a post found by two keywords, or on two pages, counts once) and
emits ``SocialMentions`` (Count, dimension ``network``) for the internal dashboard.

* **Bluesky**: ``com.atproto.server.createSession`` with the plan's app password, then
  ``GET /xrpc/app.bsky.feed.searchPosts?q=…&since=…&sort=latest&limit=100[&cursor=…]`` with the
  session's ``accessJwt`` as Bearer token, one query per keyword; pages follow ``cursor``.
* **Mastodon**: ``GET /api/v1/timelines/tag/:hashtag?limit=40[&max_id=…]`` on the plan's instance,
  public and unauthenticated (the plan's token is write-scoped and never leaves the channel); newest
  first, so paging stops at the first status older than the window.

Paging is bounded (``max_pages`` per query). Networks are isolated: one that fails is reported with
its reason and gets **no** count (never a fake 0), the others are still counted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from aws_lambda_powertools.metrics import single_metric

from outage_comms.channels import http
from outage_comms.channels.base import ChannelError
from outage_comms.channels.bluesky import create_session
from outage_comms.channels.secrets import SecretCache
from outage_comms.plan import Plan

DEFAULT_WINDOW = timedelta(minutes=5)
DEFAULT_MAX_PAGES = 3
BLUESKY_PAGE_SIZE = 100  # searchPosts: 1..100, default 25
MASTODON_PAGE_SIZE = 40  # timelines/tag: default 20, max 40


@dataclass(frozen=True)
class Mention:
    """One public post: ``key`` identifies it across queries and pages (AT URI, status URI)."""

    key: str
    created_at: datetime


@dataclass(frozen=True)
class NetworkCount:
    """A network's result: ``count`` is None when the network failed (``error`` says why)."""

    network: str
    count: int | None
    error: str = ""
    truncated: bool = False


class MentionSource(Protocol):
    """One network: yields the posts matching the keywords since ``since`` (raises on failure)."""

    network: str

    def mentions(self, since: datetime) -> Iterable[Mention]: ...

    @property
    def truncated(self) -> bool: ...


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or offset) as an aware UTC datetime; None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def count_unique(mentions: Iterable[Mention], since: datetime) -> int:
    """Posts at or after ``since``, each counted once."""
    return len({m.key for m in mentions if m.created_at >= since})


def count_mentions(sources: Sequence[MentionSource], *, since: datetime) -> list[NetworkCount]:
    """Each network's count; a failing network yields an error, never a number, and never stops the rest."""
    results = []
    for source in sources:
        try:
            count = count_unique(list(source.mentions(since)), since)
        except (ChannelError, ValueError, TypeError, KeyError) as error:
            results.append(NetworkCount(source.network, None, error=str(error) or type(error).__name__))
            continue
        results.append(NetworkCount(source.network, count, truncated=source.truncated))
    return results


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BlueskySearch:
    """``app.bsky.feed.searchPosts`` per keyword, authenticated with a session from the app password."""

    network = "bluesky"

    def __init__(
        self,
        *,
        service_url: str,
        handle: str,
        app_password_secret: str,
        keywords: Sequence[str],
        secrets: SecretCache,
        max_pages: int = DEFAULT_MAX_PAGES,
        timeout: float = http.DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._base = service_url.rstrip("/")
        self._handle = handle
        self._secret = app_password_secret
        self._keywords = [k for k in keywords if k.strip()]
        self._secrets = secrets
        self._max_pages = max_pages
        self._timeout = timeout
        self.truncated = False

    def _xrpc(self, method: str) -> str:
        return f"{self._base}/xrpc/{method}"

    def _session_token(self) -> str:
        session = create_session(
            service_url=self._base,
            handle=self._handle,
            secrets=self._secrets,
            app_password_secret=self._secret,
            timeout=self._timeout,
        )
        return str(session["accessJwt"])

    def mentions(self, since: datetime) -> Iterable[Mention]:
        self.truncated = False
        token = self._session_token()
        found: list[Mention] = []
        for keyword in self._keywords:
            cursor: str | None = None
            for page in range(self._max_pages):
                params = {"q": keyword, "since": iso_z(since), "sort": "latest", "limit": BLUESKY_PAGE_SIZE}
                if cursor:
                    params["cursor"] = cursor
                answer = http.request(
                    "GET",
                    f"{self._xrpc('app.bsky.feed.searchPosts')}?{urlencode(params)}",
                    service="Bluesky searchPosts",
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                    timeout=self._timeout,
                ).json()
                posts = (answer or {}).get("posts") or []
                for post in posts:
                    record = post.get("record") or {}
                    created = parse_time(post.get("indexedAt")) or parse_time(record.get("createdAt"))
                    if post.get("uri") and created is not None:
                        found.append(Mention(str(post["uri"]), created))
                cursor = (answer or {}).get("cursor")
                if not cursor or not posts:
                    break
                if page == self._max_pages - 1:
                    self.truncated = True
        return found


class MastodonHashtags:
    """``GET /api/v1/timelines/tag/:hashtag`` per hashtag (public), paged back with ``max_id``."""

    network = "mastodon"

    def __init__(
        self,
        *,
        instance_url: str,
        hashtags: Sequence[str],
        max_pages: int = DEFAULT_MAX_PAGES,
        timeout: float = http.DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._base = instance_url.rstrip("/")
        self._hashtags = [h.strip().lstrip("#") for h in hashtags if h.strip().lstrip("#")]
        self._max_pages = max_pages
        self._timeout = timeout
        self.truncated = False

    def mentions(self, since: datetime) -> Iterable[Mention]:
        self.truncated = False
        found: list[Mention] = []
        for tag in self._hashtags:
            max_id: str | None = None
            for page in range(self._max_pages):
                params: dict[str, str | int] = {"limit": MASTODON_PAGE_SIZE}
                if max_id:
                    params["max_id"] = max_id
                statuses = http.request(
                    "GET",
                    f"{self._base}/api/v1/timelines/tag/{quote(tag, safe='')}?{urlencode(params)}",
                    service="Mastodon timelines/tag",
                    headers={"Accept": "application/json"},
                    timeout=self._timeout,
                ).json()
                if not isinstance(statuses, list) or not statuses:
                    break
                oldest: datetime | None = None
                for status in statuses:
                    created = parse_time(status.get("created_at"))
                    key = status.get("uri") or status.get("id")
                    if key and created is not None:
                        found.append(Mention(str(key), created))
                        oldest = created if oldest is None else min(oldest, created)
                max_id = str(statuses[-1].get("id") or "")
                if oldest is None or oldest < since or len(statuses) < MASTODON_PAGE_SIZE or not max_id:
                    break
                if page == self._max_pages - 1:
                    self.truncated = True
        return found


def default_keywords(organization: str) -> list[str]:
    return [organization]


def default_hashtags(organization: str) -> list[str]:
    """``#<org>status`` from the name's letters and digits (``Nimbus Notes`` → nimbusnotesstatus)."""
    slug = "".join(ch for ch in organization.lower() if ch.isalnum())
    return [f"{slug}status"] if slug else []


def window_start(now: datetime, window: timedelta = DEFAULT_WINDOW) -> datetime:
    return now.astimezone(UTC) - window


METRIC_NAME = "SocialMentions"
SERVICE = "social-mentions"
NAMESPACE = "OutageComms"  # what the Lambda factory sets as POWERTOOLS_METRICS_NAMESPACE


def sources_for(
    plan: Plan,
    *,
    secrets: Any = None,
    keywords: list[str] | None = None,
    hashtags: list[str] | None = None,
) -> list[MentionSource]:
    """The enabled networks of the plan, searching ``keywords`` (Bluesky) and ``hashtags`` (Mastodon).

    None: the organization's name (:func:`default_keywords`, :func:`default_hashtags`). The handler passes
    its settings' values (``PERCEPTION_KEYWORDS`` / ``PERCEPTION_HASHTAGS``).
    """
    from outage_comms.channels.secrets import default_cache

    organization = plan.organization.name
    sources: list[MentionSource] = []
    bluesky = plan.channels.bluesky
    if bluesky is not None and bluesky.enabled:
        sources.append(
            BlueskySearch(
                service_url=bluesky.service_url,
                handle=bluesky.handle,
                app_password_secret=bluesky.app_password_secret,
                keywords=keywords if keywords is not None else default_keywords(organization),
                secrets=secrets or default_cache(),
            )
        )
    mastodon = plan.channels.mastodon
    if mastodon is not None and mastodon.enabled:
        sources.append(
            MastodonHashtags(
                instance_url=mastodon.instance_url,
                hashtags=hashtags if hashtags is not None else default_hashtags(organization),
            )
        )
    return sources


def emit(results: list[NetworkCount]) -> None:
    """One ``SocialMentions`` datapoint per network that answered; failures are logged, not counted."""
    # Imported here: importing this module (the CDK app reads its defaults) must not create the
    # Powertools singletons before the environment is set.
    from outage_comms.observability import MetricUnit, logger, metrics

    for result in results:
        if result.count is None:
            logger.warning(
                "social mentions not counted", extra={"network": result.network, "reason": result.error}
            )
            continue
        if result.truncated:
            logger.info("social mentions capped by max pages", extra={"network": result.network})
        namespace = metrics.namespace or NAMESPACE
        with single_metric(
            name=METRIC_NAME, unit=MetricUnit.Count, value=result.count, namespace=namespace
        ) as metric:
            # Exactly the dimensions the internal dashboard searches for: {OutageComms,network,service}.
            metric.add_dimension(name="service", value=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE))
            metric.add_dimension(name="network", value=result.network)


def measure(
    sources: list[MentionSource],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    window: timedelta = DEFAULT_WINDOW,
) -> dict[str, Any]:
    since = window_start(now(), window)
    results = count_mentions(sources, since=since)
    emit(results)
    return {
        "since": since.isoformat(),
        "counts": {r.network: r.count for r in results if r.count is not None},
        "failed": {r.network: r.error for r in results if r.count is None},
    }
