"""Perception: Bluesky searchPosts and Mastodon hashtag timelines against a real HTTP server on 127.0.0.1.

Asserts the documented request shapes (paths, query parameters, the session's Bearer token), the counts
(since-window, de-duplication, bounded paging) and isolation (one network failing still counts the other,
and the failed one emits no datapoint).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from outage_comms.channels.secrets import SecretCache
from outage_comms.perception import (
    BlueskySearch,
    MastodonHashtags,
    MentionSource,
    count_mentions,
    default_hashtags,
    measure,
    sources_for,
)
from outage_comms.plan import load_plan
from tests.channels_fixtures import LocalServer, Reply, local_server

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
SINCE = NOW - timedelta(minutes=5)
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
SESSION = "/xrpc/com.atproto.server.createSession"
TAG = "/api/v1/timelines/tag/nimbusnotesstatus"


class FakeSecrets:
    """Just enough of a Secrets Manager client for SecretCache."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.calls: list[str] = []

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        self.calls.append(SecretId)
        return {"SecretString": self.values[SecretId]}


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


@pytest.fixture
def secrets() -> SecretCache:
    return SecretCache(
        FakeSecrets({"outage-comms/bluesky-app-password": json.dumps({"app_password": "pw-1"})})
    )


def at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def post(uri: str, minutes_ago: float) -> dict[str, Any]:
    return {"uri": uri, "cid": "bafy", "indexedAt": at(minutes_ago), "record": {"createdAt": at(minutes_ago)}}


def status(ident: int, minutes_ago: float) -> dict[str, Any]:
    return {
        "id": str(ident),
        "uri": f"https://mastodon.example/users/a/statuses/{ident}",
        "created_at": at(minutes_ago),
    }


def query(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


def bluesky(
    server: LocalServer, secrets: SecretCache, keywords: list[str], max_pages: int = 3
) -> BlueskySearch:
    return BlueskySearch(
        service_url=server.url,
        handle="status.nimbusnotes.example",
        app_password_secret="outage-comms/bluesky-app-password",
        keywords=keywords,
        secrets=secrets,
        max_pages=max_pages,
    )


def test_bluesky_searches_with_the_session_token_pages_by_cursor_and_counts_each_post_once(
    server: LocalServer, secrets: SecretCache
) -> None:
    server.reply(SESSION, Reply(body={"accessJwt": "jwt-abc", "did": "did:plc:xyz"}))
    server.reply(
        SEARCH,
        Reply(body={"posts": [post("at://a/1", 1), post("at://a/2", 2)], "cursor": "c2", "hitsTotal": 3}),
        Reply(body={"posts": [post("at://a/3", 4)]}),  # "Nimbus Notes": last page, no cursor
        Reply(body={"posts": [post("at://a/1", 1), post("at://old", 9)]}),  # "#nimbusnotesstatus"
    )

    (result,) = count_mentions(
        [bluesky(server, secrets, ["Nimbus Notes", "#nimbusnotesstatus"])], since=SINCE
    )

    assert result.network == "bluesky" and result.count == 3 and not result.truncated
    (login,) = server.at(SESSION)
    assert login.method == "POST"
    assert login.json() == {"identifier": "status.nimbusnotes.example", "password": "pw-1"}
    searches = server.at(SEARCH)
    assert [r.method for r in searches] == ["GET"] * 3
    assert all(r.headers["authorization"] == "Bearer jwt-abc" for r in searches)
    first, second, third = (query(r.path) for r in searches)
    assert first == {
        "q": ["Nimbus Notes"],
        "since": ["2026-11-27T14:25:00Z"],
        "sort": ["latest"],
        "limit": ["100"],
    }
    assert second["cursor"] == ["c2"] and second["q"] == ["Nimbus Notes"]
    assert third["q"] == ["#nimbusnotesstatus"] and "cursor" not in third


def test_bluesky_paging_is_bounded_by_max_pages(server: LocalServer, secrets: SecretCache) -> None:
    server.reply(SESSION, Reply(body={"accessJwt": "jwt", "did": "did:plc:xyz"}))
    server.reply(
        SEARCH,
        Reply(body={"posts": [post("at://a/1", 1)], "cursor": "c2"}),
        Reply(body={"posts": [post("at://a/2", 1)], "cursor": "c3"}),
        Reply(body={"posts": [post("at://a/3", 1)], "cursor": "c4"}),  # repeats forever
    )

    (result,) = count_mentions([bluesky(server, secrets, ["Nimbus Notes"], max_pages=2)], since=SINCE)

    assert result.count == 2 and result.truncated
    assert len(server.at(SEARCH)) == 2


def test_mastodon_reads_the_public_tag_timeline_until_the_window_starts(server: LocalServer) -> None:
    full_page = [status(100 - i, 0.05 * i) for i in range(40)]  # all within the last 2 minutes
    server.reply(TAG, Reply(body=full_page), Reply(body=[status(59, 3), status(58, 6), status(57, 8)]))
    source = MastodonHashtags(instance_url=server.url, hashtags=["#nimbusnotesstatus"])

    (result,) = count_mentions([source], since=SINCE)

    assert result.network == "mastodon" and result.count == 41
    first, second = server.at(TAG)
    assert first.method == "GET" and "authorization" not in first.headers  # public, the token stays put
    assert query(first.path) == {"limit": ["40"]}
    assert query(second.path) == {"limit": ["40"], "max_id": ["61"]}


def test_a_failing_network_gets_no_count_and_the_other_is_still_counted(
    server: LocalServer,
    secrets: SecretCache,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "social-mentions")  # as the Lambda factory sets it
    server.reply(SESSION, Reply(status=401, body={"error": "AuthenticationRequired"}))
    server.reply(TAG, Reply(body=[status(7, 1), status(6, 2)]))
    sources: list[MentionSource] = [
        bluesky(server, secrets, ["Nimbus Notes"]),
        MastodonHashtags(instance_url=server.url, hashtags=["nimbusnotesstatus"]),
    ]

    outcome = measure(sources, now=lambda: NOW)

    assert outcome["counts"] == {"mastodon": 2}
    assert outcome["failed"]["bluesky"].startswith("credentials: Bluesky createSession: HTTP 401")
    assert server.at(SEARCH) == []
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metrics = [m for m in emitted if "SocialMentions" in m]
    assert [(m["network"], m["service"], m["SocialMentions"]) for m in metrics] == [
        ("mastodon", "social-mentions", [2.0])
    ]
    (directive,) = metrics[0]["_aws"]["CloudWatchMetrics"]
    from outage_comms.observability import metrics as configured

    # the namespace the function is configured with (POWERTOOLS_METRICS_NAMESPACE; OutageComms when deployed)
    assert directive["Namespace"] == configured.namespace
    assert set(directive["Dimensions"][0]) == {"network", "service"}
    assert directive["Metrics"] == [{"Name": "SocialMentions", "Unit": "Count"}]


def test_the_plan_enables_both_networks_and_default_keywords_come_from_the_organization(
    secrets: SecretCache,
) -> None:
    plan = load_plan("plans/example.yaml")

    sources = sources_for(plan, secrets=secrets, hashtags=["nimbusdown"])

    assert [s.network for s in sources] == ["bluesky", "mastodon"]
    assert default_hashtags("Nimbus Notes") == ["nimbusnotesstatus"]
    assert sources[1]._hashtags == ["nimbusdown"]  # type: ignore[attr-defined]
