"""Slack, Teams, Mastodon, Bluesky, the signed webhook and the support macro against a real HTTP server.

Each test asserts the documented request shape; the fault tests inject 429, 500, a timeout and
401 and check the typed error (and its kind) that the workflow's Retry/Catch matches on.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from outage_comms.channels.base import ChannelPermanentError, ChannelRetryableError, ChannelUnavailableError
from outage_comms.channels.bluesky import BlueskyChannel
from outage_comms.channels.mastodon import MastodonChannel
from outage_comms.channels.secrets import SecretCache
from outage_comms.channels.slack import SlackChannel
from outage_comms.channels.support import SupportChannel
from outage_comms.channels.teams import TeamsChannel
from outage_comms.channels.webhook import WebhookChannel, verify_signature
from outage_comms.plan import BlueskySettings, MastodonSettings, Plan
from outage_comms.vocabulary import Channel
from tests.channels_fixtures import LocalServer, Reply, delivery


def failure_kind(error: BaseException) -> str:
    """The kind word (``throttled``, ``timeout``…) a channel error's message starts with."""
    return str(error).split(":", 1)[0]


pytestmark = pytest.mark.integration

CHAT = {
    "en": {"title": "inc-1 [Critical] Major outage: web-5xx", "body": "*Customers are told:* Sync is down."},
    "pt-BR": {"title": "inc-1 [Crítico] Queda grave", "body": "*Clientes sabem:* Sincronização parada."},
}
SOCIAL = {
    "en": {
        "body": "Sync is down. Next update by 14:35 UTC. https://status.nimbusnotes.example/incidents/inc-1"
    },
    "pt-BR": {
        "body": "Sincronização parada. Próxima atualização às 11h35. https://status.nimbusnotes.example/i/1"
    },
}


def put_secret(secretsmanager: Any, name: str, value: str | dict[str, str]) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        secretsmanager.create_secret(Name=name, SecretString=text)
    except secretsmanager.exceptions.ResourceExistsException:
        secretsmanager.put_secret_value(SecretId=name, SecretString=text)


def test_slack_posts_block_kit_with_a_text_fallback_in_the_default_locale(
    server: LocalServer, secretsmanager: Any, secrets: SecretCache
) -> None:
    put_secret(secretsmanager, "outage-comms/slack-webhook", f"{server.url}/services/T0/B0/X")
    channel = SlackChannel(secret_name="outage-comms/slack-webhook", secrets=secrets, default_locale="en")

    result = channel.deliver(delivery(Channel.SLACK, CHAT))

    (request,) = server.at("/services/T0/B0/X")
    body = request.json()
    assert request.method == "POST" and request.headers["content-type"].startswith("application/json")
    assert body["text"].startswith("inc-1 [Critical]")
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "context"]
    assert body["blocks"][0]["text"]["type"] == "plain_text" and len(body["blocks"][0]["text"]["text"]) <= 150
    assert body["blocks"][1]["text"] == {"type": "mrkdwn", "text": "*Customers are told:* Sync is down."}
    assert result.status == "delivered" and result.locales == ["en"]


def test_teams_posts_an_adaptive_card_in_a_message_envelope(
    server: LocalServer, secretsmanager: Any, secrets: SecretCache
) -> None:
    put_secret(secretsmanager, "outage-comms/teams-webhook", {"url": f"{server.url}/workflows/abc"})
    server.reply("/workflows/abc", Reply(status=202, body=b""))
    channel = TeamsChannel(secret_name="outage-comms/teams-webhook", secrets=secrets, default_locale="en")

    channel.deliver(delivery(Channel.TEAMS, CHAT))

    body = server.at("/workflows/abc")[0].json()
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert (
        card["body"][1]["text"] == "**Customers are told:** Sync is down."
    )  # Slack *bold* -> Teams **bold**
    assert {"title": "Incident", "value": "inc-20261127-1405-abc123"} in card["body"][2]["facts"]


def test_mastodon_posts_each_locale_with_bearer_token_and_idempotency_key(
    server: LocalServer, secretsmanager: Any, secrets: SecretCache
) -> None:
    put_secret(secretsmanager, "outage-comms/mastodon-token", "tok-123")
    server.reply("/api/v1/statuses", Reply(body={"id": "1", "url": "https://m.example/@s/1"}))
    settings = MastodonSettings(
        instance_url="https://placeholder", access_token_secret="outage-comms/mastodon-token"
    )
    channel = MastodonChannel(
        settings=settings.model_copy(update={"instance_url": server.url}), secrets=secrets
    )

    result = channel.deliver(delivery(Channel.MASTODON, SOCIAL))

    first, second = server.at("/api/v1/statuses")
    assert first.headers["authorization"] == "Bearer tok-123"
    assert first.headers["idempotency-key"] == "outage-comms:inc-20261127-1405-abc123:u-0001:en"
    assert second.headers["idempotency-key"].endswith(":pt-BR")
    assert first.json() == {"status": SOCIAL["en"]["body"], "visibility": "public", "language": "en"}
    assert second.json()["language"] == "pt"
    assert result.provider_ids == ["https://m.example/@s/1", "https://m.example/@s/1"]


def test_bluesky_creates_a_session_then_a_post_with_utf8_byte_link_facets(
    server: LocalServer, secretsmanager: Any, secrets: SecretCache
) -> None:
    put_secret(secretsmanager, "outage-comms/bluesky-app-password", {"app_password": "abcd-efgh-ijkl-mnop"})
    server.reply(
        "/xrpc/com.atproto.server.createSession", Reply(body={"accessJwt": "jwt-1", "did": "did:plc:x"})
    )
    server.reply(
        "/xrpc/com.atproto.repo.createRecord", Reply(body={"uri": "at://did:plc:x/post/1", "cid": "c"})
    )
    settings = BlueskySettings(
        handle="status.nimbusnotes.example", app_password_secret="outage-comms/bluesky-app-password"
    )
    channel = BlueskyChannel(
        settings=settings.model_copy(update={"service_url": server.url}), secrets=secrets
    )

    channel.deliver(delivery(Channel.BLUESKY, SOCIAL))

    (session,) = server.at("/xrpc/com.atproto.server.createSession")
    assert session.json() == {"identifier": "status.nimbusnotes.example", "password": "abcd-efgh-ijkl-mnop"}
    posts = server.at("/xrpc/com.atproto.repo.createRecord")
    assert [p.headers["authorization"] for p in posts] == ["Bearer jwt-1", "Bearer jwt-1"]
    pt = posts[1].json()
    assert pt["repo"] == "did:plc:x" and pt["collection"] == "app.bsky.feed.post"
    record = pt["record"]
    assert record["$type"] == "app.bsky.feed.post" and record["langs"] == ["pt-BR"]
    assert record["createdAt"].endswith("Z")
    (facet,) = record["facets"]
    text_bytes = record["text"].encode("utf-8")
    link = text_bytes[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8")
    assert link == "https://status.nimbusnotes.example/i/1" == facet["features"][0]["uri"]
    # The Portuguese text has accents before the link: byte offsets differ from character offsets.
    assert facet["index"]["byteStart"] != record["text"].index("https://")


def test_webhook_is_statuspage_shaped_and_signed_over_timestamp_and_body(
    plan: Plan, server: LocalServer, secretsmanager: Any, secrets: SecretCache
) -> None:
    put_secret(secretsmanager, "outage-comms/webhook-signing-key", "whsec-test-key")
    channel = WebhookChannel(
        plan=plan, url=f"{server.url}/hook", secret_name="outage-comms/webhook-signing-key", secrets=secrets
    )
    words = {"en": {"title": "Major outage: Sync is down", "body": "Sync is down."}, "pt-BR": CHAT["pt-BR"]}

    channel.deliver(delivery(Channel.WEBHOOK, words))

    (request,) = server.at("/hook")
    payload = request.json()
    assert payload["page"]["status_indicator"] == "critical"
    assert payload["incident"]["status"] == "investigating" and payload["incident"]["impact"] == "critical"
    assert payload["incident"]["incident_updates"][0]["body"] == "Sync is down."
    assert set(payload["incident"]["localized"]) == {"en", "pt-BR"}
    header = request.headers["x-outagecomms-signature"]
    assert verify_signature(b"whsec-test-key", request.body, header)
    assert not verify_signature(b"whsec-test-key", request.body + b" ", header)
    assert not verify_signature(b"another-key", request.body, header)
    assert not verify_signature(b"whsec-test-key", request.body, header, now=time.time() + 301)


def test_support_macro_goes_to_the_ticketing_webhook_with_bearer_token(
    server: LocalServer, secretsmanager: Any, secrets: SecretCache
) -> None:
    put_secret(
        secretsmanager,
        "outage-comms/helpdesk-webhook",
        {"url": f"{server.url}/tickets/macro", "token": "hd-tok"},
    )
    words = {"en": {"title": "inc-1: Nimbus Notes is down", "body": "REPLY TO CUSTOMERS: ..."}}
    SupportChannel(secret_name="outage-comms/helpdesk-webhook", secrets=secrets).deliver(
        delivery(Channel.SUPPORT, words)
    )

    (request,) = server.at("/tickets/macro")
    assert request.headers["authorization"] == "Bearer hd-tok"
    body = request.json()
    assert body["macro"] == {"title": "inc-1: Nimbus Notes is down", "body": "REPLY TO CUSTOMERS: ..."}
    assert "inc-20261127-1405-abc123" in body["tags"]
    assert verify_signature(b"hd-tok", request.body, request.headers["x-outagecomms-signature"])


# ---------------------------------------------------------------------------------------------
# Fault injection: every HTTP channel, every failure kind
# ---------------------------------------------------------------------------------------------

FAULTS = [
    (Reply(status=429, headers={"Retry-After": "7"}), ChannelRetryableError, "throttled"),
    (Reply(status=500, body={"error": "boom"}), ChannelRetryableError, "unavailable"),
    (Reply(delay=1.5), ChannelRetryableError, "timeout"),
    (Reply(status=401, body={"error": "invalid_token"}), ChannelPermanentError, "credentials"),
]


def build_channel(
    name: str, plan: Plan, server: LocalServer, secretsmanager: Any, secrets: SecretCache
) -> Any:
    if name == "slack":
        put_secret(secretsmanager, "s", f"{server.url}/fault")
        channel: Any = SlackChannel(secret_name="s", secrets=secrets, default_locale="en", timeout=0.5)
    elif name == "teams":
        put_secret(secretsmanager, "s", f"{server.url}/fault")
        channel = TeamsChannel(secret_name="s", secrets=secrets, default_locale="en", timeout=0.5)
    elif name == "mastodon":
        put_secret(secretsmanager, "s", "tok")
        settings = MastodonSettings(instance_url="https://x", access_token_secret="s")
        channel = MastodonChannel(
            settings=settings.model_copy(update={"instance_url": f"{server.url}/fault"}),
            secrets=secrets,
            timeout=0.5,
        )
        server.reply("/fault/api/v1/statuses", *server.replies["/fault"])
    elif name == "bluesky":
        put_secret(secretsmanager, "s", "pw")
        settings_b = BlueskySettings(handle="h.example", app_password_secret="s")
        channel = BlueskyChannel(
            settings=settings_b.model_copy(update={"service_url": f"{server.url}/fault"}),
            secrets=secrets,
            timeout=0.5,
        )
        server.reply("/fault/xrpc/com.atproto.server.createSession", *server.replies["/fault"])
    elif name == "webhook":
        put_secret(secretsmanager, "s", "key")
        channel = WebhookChannel(
            plan=plan, url=f"{server.url}/fault", secret_name="s", secrets=secrets, timeout=0.5
        )
    else:
        put_secret(secretsmanager, "s", {"url": f"{server.url}/fault"})
        channel = SupportChannel(secret_name="s", secrets=secrets, timeout=0.5)
    return channel


@pytest.mark.parametrize("name", ["slack", "teams", "mastodon", "bluesky", "webhook", "support"])
@pytest.mark.parametrize(("reply", "error", "kind"), FAULTS, ids=[f[2] for f in FAULTS])
def test_faults_become_the_typed_error_the_workflow_matches(
    name: str,
    reply: Reply,
    error: type[Exception],
    kind: str,
    plan: Plan,
    server: LocalServer,
    secretsmanager: Any,
    secrets: SecretCache,
) -> None:
    server.reply("/fault", reply)
    channel = build_channel(name, plan, server, secretsmanager, secrets)
    words = {"en": {"title": "t", "body": "Sync is down. https://status.nimbusnotes.example/x"}}

    with pytest.raises(error) as raised:
        channel.deliver(delivery(channel.channel, words))

    assert type(raised.value) is error  # exact class: Step Functions matches the class name
    assert failure_kind(raised.value) == kind


def test_a_missing_secret_makes_the_channel_unavailable_not_retryable(secrets: SecretCache) -> None:
    channel = SlackChannel(secret_name="outage-comms/nope", secrets=secrets, default_locale="en")
    with pytest.raises(ChannelUnavailableError, match="outage-comms/nope"):
        channel.deliver(delivery(Channel.SLACK, CHAT))


def test_one_failing_channel_does_not_stop_the_others(
    plan: Plan, server: LocalServer, secretsmanager: Any, secrets: SecretCache
) -> None:
    # Given Slack is down and Teams is fine
    put_secret(secretsmanager, "slack", f"{server.url}/slack")
    put_secret(secretsmanager, "teams", f"{server.url}/teams")
    server.reply("/slack", Reply(status=503))
    channels = [
        SlackChannel(secret_name="slack", secrets=secrets, default_locale="en"),
        TeamsChannel(secret_name="teams", secrets=secrets, default_locale="en"),
    ]
    # When each is delivered in its own branch (as the fan-out does)
    outcomes = {}
    for channel in channels:
        try:
            outcomes[channel.channel.value] = channel.deliver(delivery(channel.channel, CHAT)).status
        except ChannelRetryableError as exc:
            outcomes[channel.channel.value] = failure_kind(exc)
    # Then Teams delivered
    assert outcomes == {"slack": "unavailable", "teams": "delivered"}


def _with_feedback_links(channel: Channel) -> tuple[dict[str, dict[str, str]], Any]:
    """The example plan's major-outage post per locale, with its feedback question as the workflow adds it."""
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from outage_comms.feedback.links import FeedbackLinker, LinkSigner
    from outage_comms.feedback.messages import LINKS, UpdateFeedback, feedback_form
    from outage_comms.plan import load_plan
    from outage_comms.rendering import build_context, render_message
    from outage_comms.sample import sample_facts
    from outage_comms.vocabulary import CHANNEL_FORMAT, Scenario

    plan = load_plan(Path(__file__).resolve().parents[3] / "plans" / "example.yaml")
    now = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
    signer = LinkSigner(b"local-server test key")
    feedback = UpdateFeedback(
        linker=FeedbackLinker(
            signer=signer,
            base_url="https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/",
            lifetime=timedelta(days=30),
        ),
        incident_id="inc-20261127-1405-3fa2c1",
        update_id="003-investigating",
        now=now,
    )
    messages = {}
    for locale in ("en", "pt-BR"):
        context = build_context(plan, sample_facts(plan, Scenario.INVESTIGATING), locale)
        message = render_message(
            scenario=Scenario.INVESTIGATING, fmt=CHANNEL_FORMAT[channel], locale=locale, context=context
        )
        linked, form = feedback_form(plan, message, channel, feedback)
        assert form == LINKS, (locale, linked.fields)
        messages[locale] = dict(linked.fields)
    return messages, (signer, now)


def test_bluesky_feedback_links_are_facets_over_yes_no_words_with_utf8_byte_offsets(
    server: LocalServer, secretsmanager: Any, secrets: SecretCache
) -> None:
    put_secret(secretsmanager, "outage-comms/bluesky-app-password", "abcd-efgh-ijkl-mnop")
    server.reply(
        "/xrpc/com.atproto.server.createSession", Reply(body={"accessJwt": "jwt-1", "did": "did:plc:x"})
    )
    server.reply(
        "/xrpc/com.atproto.repo.createRecord", Reply(body={"uri": "at://did:plc:x/post/1", "cid": "c"})
    )
    settings = BlueskySettings(
        handle="status.nimbusnotes.example",
        app_password_secret="outage-comms/bluesky-app-password",
        service_url="https://placeholder",
    )
    channel = BlueskyChannel(
        settings=settings.model_copy(update={"service_url": server.url}), secrets=secrets
    )
    messages, (signer, now) = _with_feedback_links(Channel.BLUESKY)

    channel.deliver(delivery(Channel.BLUESKY, messages))

    posts = [p.json()["record"] for p in server.at("/xrpc/com.atproto.repo.createRecord")]
    for record, (locale, words, question) in zip(
        posts,
        [
            ("en", ("Yes", "No"), "Was this update helpful?"),
            ("pt-BR", ("Sim", "Não"), "Esta atualização foi útil?"),
        ],
        strict=True,
    ):
        text = record["text"]
        assert text.endswith(f"\n{question} {words[0]} · {words[1]}"), text
        assert "](" not in text and "execute-api" not in text  # the markup and the long links never show
        data = text.encode("utf-8")
        by_word = {}
        for facet in record["facets"]:
            (feature,) = facet["features"]
            assert feature["$type"] == "app.bsky.richtext.facet#link"
            by_word[data[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8")] = feature[
                "uri"
            ]
        assert set(words) <= set(by_word), by_word
        yes, no = by_word[words[0]], by_word[words[1]]
        assert yes.endswith("/y") and no.endswith("/n") and yes[:-2] == no[:-2]
        claims = signer.verify(yes.rsplit("/", 2)[1], now=now)
        assert (claims.channel, claims.locale) == (Channel.BLUESKY, locale)
        # The status page link: a short visible form, the whole URL behind it.
        (status_label,) = [w for w in by_word if w not in words]
        assert status_label.startswith("status.nimbusnotes.example/") and status_label.endswith("...")
        assert by_word[status_label].startswith("https://status.nimbusnotes.example/incidents/")
        if locale == "pt-BR":  # "Não" is 4 UTF-8 bytes for 3 characters: byte offsets, not characters
            (no_facet,) = [f for f in record["facets"] if f["features"][0]["uri"] == no]
            assert no_facet["index"]["byteEnd"] - no_facet["index"]["byteStart"] == 4
            assert no_facet["index"]["byteEnd"] == len(data) != len(text)


def test_mastodon_sends_a_post_with_feedback_links_whole_counting_each_url_as_23(
    server: LocalServer, secretsmanager: Any, secrets: SecretCache
) -> None:
    from outage_comms.social_text import mastodon_length

    put_secret(secretsmanager, "outage-comms/mastodon-token", "tok-123")
    server.reply("/api/v1/statuses", Reply(body={"id": "1", "url": "https://m.example/@s/1"}))
    settings = MastodonSettings(
        instance_url="https://placeholder", access_token_secret="outage-comms/mastodon-token"
    )
    channel = MastodonChannel(
        settings=settings.model_copy(update={"instance_url": server.url}), secrets=secrets
    )
    messages, (signer, now) = _with_feedback_links(Channel.MASTODON)
    long_one = max(messages.values(), key=lambda fields: len(fields["body"]))["body"]
    assert len(long_one) > 300 and mastodon_length(long_one) <= 500

    channel.deliver(delivery(Channel.MASTODON, messages))

    sent = [p.json()["status"] for p in server.at("/api/v1/statuses")]
    assert sent == [messages["en"]["body"], messages["pt-BR"]["body"]]  # whole: the links are not cut
    token = sent[1].rsplit("/", 2)[1]
    assert signer.verify(token, now=now).channel is Channel.MASTODON


# ---------------------------------------------------------------------------------------------
# Issue 11, finding 9: a note's markup reaches each platform as words, in the request actually sent
# ---------------------------------------------------------------------------------------------

INJECTION = (
    "<!channel> @here read <https://evil.example/login|our status page> or "
    "[our status page](https://evil.example/phish), ask @admin@evil.example #outage "
    "{{DATE(2017-02-14T06:08:39Z)}}"
)


def _rendered_injection(plan: Plan) -> dict[str, dict[str, dict[str, str]]]:
    """The words of every channel for a sev2 note carrying the injection, as the workflow stores them."""
    from datetime import UTC, datetime

    from outage_comms.incident import Incident, IncidentSource
    from outage_comms.vocabulary import Scenario
    from outage_comms.workflow.updates import render_update

    now = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
    incident = Incident(
        id="inc-20261127-1405-abc123",
        internal_title=f"alarm {INJECTION}",
        public_title={"en": "Sync", "pt-BR": "Sincronização"},
        components=("sync",),
        severity="sev2",
        status="investigating",
        scenario=Scenario.INVESTIGATING,
        audiences=("all-customers",),
        started_at=now,
        updated_at=now,
        source=IncidentSource(type="human", reference="cli"),
        public_note={"en": INJECTION, "pt-BR": INJECTION},
    )
    messages, _ = render_update(plan, incident, Scenario.INVESTIGATING, now)
    return {channel: {loc: m["fields"] for loc, m in by.items()} for channel, by in messages.items()}


def test_a_notes_markup_arrives_as_words_on_every_chat_and_social_platform(
    plan: Plan, server: LocalServer, secretsmanager: Any, secrets: SecretCache
) -> None:
    from tests.security.guard_corpus import (
        bluesky_violations,
        mastodon_violations,
        slack_violations,
        teams_violations,
        webhook_violations,
    )

    words = _rendered_injection(plan)
    for name, value in (
        ("slack", f"{server.url}/slack"),
        ("teams", f"{server.url}/teams"),
        ("mastodon", "tok"),
        ("bluesky", "abcd-efgh-ijkl-mnop"),
        ("webhook", "whsec-test-key"),
    ):
        put_secret(secretsmanager, f"outage-comms/{name}", value)
    server.reply("/api/v1/statuses", Reply(body={"id": "1"}))
    server.reply("/xrpc/com.atproto.server.createSession", Reply(body={"accessJwt": "j", "did": "did:plc:x"}))
    server.reply("/xrpc/com.atproto.repo.createRecord", Reply(body={"uri": "at://x/1"}))
    SlackChannel(secret_name="outage-comms/slack", secrets=secrets, default_locale="en").deliver(
        delivery(Channel.SLACK, words["slack"])
    )
    TeamsChannel(secret_name="outage-comms/teams", secrets=secrets, default_locale="en").deliver(
        delivery(Channel.TEAMS, words["teams"])
    )
    mastodon = MastodonSettings(
        instance_url="https://placeholder", access_token_secret="outage-comms/mastodon"
    )
    MastodonChannel(
        settings=mastodon.model_copy(update={"instance_url": server.url}), secrets=secrets
    ).deliver(delivery(Channel.MASTODON, words["mastodon"]))
    bluesky = BlueskySettings(handle="s.example", app_password_secret="outage-comms/bluesky")
    BlueskyChannel(settings=bluesky.model_copy(update={"service_url": server.url}), secrets=secrets).deliver(
        delivery(Channel.BLUESKY, words["bluesky"])
    )
    WebhookChannel(
        plan=plan, url=f"{server.url}/hook", secret_name="outage-comms/webhook", secrets=secrets
    ).deliver(delivery(Channel.WEBHOOK, words["webhook"]))

    (slack,) = server.at("/slack")
    assert slack_violations(slack.json()) == []
    assert "&lt;!channel&gt;" in slack.json()["blocks"][1]["text"]["text"]  # shown, not pinging
    (teams,) = server.at("/teams")
    assert teams_violations(teams.json()) == []
    for status in server.at("/api/v1/statuses"):
        assert mastodon_violations(status.json()["status"]) == []
        assert "@\u2060admin@evil.example" in status.json()["status"]  # the words are there, inert
    for post in server.at("/xrpc/com.atproto.repo.createRecord"):
        record = post.json()["record"]
        assert bluesky_violations(record, {"status.nimbusnotes.example"}) == []
    (hook,) = server.at("/hook")
    assert webhook_violations(hook.body, words["webhook"]) == []
