"""Email through SES v2 on moto: per-recipient locale, one-click unsubscribe headers, suppression."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from outage_comms.channels.email import EmailChannel
from outage_comms.plan import Plan
from outage_comms.rendering import render_message
from outage_comms.sample import sample_facts
from outage_comms.subscribers.audiences import AudienceResolver
from outage_comms.subscribers.store import Subscriber, SubscriberStore, normalise_address, subscriber_id
from outage_comms.subscribers.tokens import TokenSigner
from outage_comms.vocabulary import Channel, MessageFormat, Scenario
from tests.channels_fixtures import delivery

pytestmark = pytest.mark.integration

SIGNER = TokenSigner(b"k" * 48)
UNSUBSCRIBE = "https://api.example/v1/unsubscribe"


def rendered_email(
    plan: Plan, scenario: Scenario = Scenario.RESOLVED
) -> tuple[dict[str, Any], dict[str, str]]:
    from outage_comms.rendering import build_context

    messages, html = {}, {}
    for locale in plan.locale_codes:
        message = render_message(
            scenario=scenario,
            fmt=MessageFormat.EMAIL,
            locale=locale,
            context=build_context(plan, sample_facts(plan, scenario), locale),
        )
        messages[locale] = message.fields
        html[locale] = message.html or ""
    return messages, html


def subscribe(store: SubscriberStore, address: str, locale: str, components: tuple[str, ...]) -> str:
    sid = subscriber_id("email", address)
    address = normalise_address("email", address)
    store.activate(
        Subscriber(id=sid, channel="email", address=address, locale=locale, components=components), now=1
    )
    return sid


def test_each_subscriber_gets_their_language_and_their_own_unsubscribe_link(
    plan: Plan, ses: Any, store: SubscriberStore
) -> None:
    # Given two subscribers of an affected component in two languages, and one of an unaffected one
    ana = subscribe(store, "ana@example.com", "pt-BR", ("sync",))
    bob = subscribe(store, "Bob@Example.com", "en", ("*",))
    subscribe(store, "carol@example.com", "en", ("public-api",))
    messages, html = rendered_email(plan)
    channel = EmailChannel(
        plan=plan,
        client=ses,
        signer=SIGNER,
        unsubscribe_base=UNSUBSCRIBE,
        audience=AudienceResolver(store),
        rate_per_second=1000,
    )

    # When the update is delivered
    result = channel.deliver(delivery(Channel.EMAIL, messages, html=html, components=["sync", "search"]))

    # Then only the affected two got it, each in their language
    assert result.status == "delivered" and result.detail.startswith("sent 2, failed 0")
    by_address = {p["Destination"]["ToAddresses"][0]: p for p in ses.sent}
    assert set(by_address) == {"ana@example.com", "bob@example.com"}
    assert (
        by_address["ana@example.com"]["Content"]["Simple"]["Subject"]["Data"] == messages["pt-BR"]["subject"]
    )
    assert by_address["bob@example.com"]["Content"]["Simple"]["Subject"]["Data"] == messages["en"]["subject"]
    for address, sid in (("ana@example.com", ana), ("bob@example.com", bob)):
        request = by_address[address]
        headers = {h["Name"]: h["Value"] for h in request["Content"]["Simple"]["Headers"]}
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = headers["List-Unsubscribe"].strip("<>")
        token = parse_qs(urlsplit(link).query)["token"][0]
        assert link.startswith(UNSUBSCRIBE) and SIGNER.verify(token, "unsubscribe").subscriber_id == sid
        body = request["Content"]["Simple"]["Body"]
        assert link in body["Text"]["Data"]  # footer link is the personal one
        assert f'href="{link}"' in body["Html"]["Data"]  # and so is the layout's link
        # no link to a page the status site does not publish (the feedback question, with each recipient's
        # own signed token, is added by the workflow on the plan's feedback channels: tests/unit/feedback)
        assert "/feedback" not in body["Text"]["Data"] and "/feedback" not in body["Html"]["Data"]
        assert request["ConfigurationSetName"] == "outage-comms"
        assert request["ReplyToAddresses"] == ["help@nimbusnotes.example"]


def test_no_subscribers_means_skipped_not_failed(plan: Plan, ses: Any, store: SubscriberStore) -> None:
    messages, html = rendered_email(plan)
    channel = EmailChannel(
        plan=plan, client=ses, signer=SIGNER, unsubscribe_base=UNSUBSCRIBE, audience=AudienceResolver(store)
    )
    assert channel.deliver(delivery(Channel.EMAIL, messages, html=html)).status == "skipped"
    assert ses.sent == []


def test_unsubscribed_and_suppressed_addresses_are_not_in_the_audience(
    plan: Plan, store: SubscriberStore
) -> None:
    from handlers.email_suppression import suppress

    kept = subscribe(store, "kept@example.com", "en", ("sync",))
    bounced = subscribe(store, "bounced@example.com", "en", ("sync",))
    complained = subscribe(store, "complained@example.com", "en", ("sync",))
    soft = subscribe(store, "full-mailbox@example.com", "en", ("sync",))

    def sns(notification: dict[str, Any]) -> dict[str, Any]:
        return {"Records": [{"Sns": {"Message": json.dumps(notification)}}]}

    suppress(
        sns(
            {
                "eventType": "Bounce",
                "bounce": {
                    "bounceType": "Permanent",
                    "bouncedRecipients": [{"emailAddress": "bounced@example.com"}],
                },
            }
        ),
        store=store,
    )
    suppress(
        sns(
            {
                "eventType": "Complaint",
                "complaint": {"complainedRecipients": [{"emailAddress": "complained@example.com"}]},
            }
        ),
        store=store,
    )
    suppress(
        sns(
            {
                "eventType": "Bounce",
                "bounce": {
                    "bounceType": "Transient",
                    "bouncedRecipients": [{"emailAddress": "full-mailbox@example.com"}],
                },
            }
        ),
        store=store,
    )

    audience = {m.id for m in AudienceResolver(store).members(["sync"], ["en"], "email")}
    assert audience == {kept, soft}
    assert store.get(bounced).status == "suppressed"  # type: ignore[union-attr]
    assert store.get(complained).status == "suppressed"  # type: ignore[union-attr]
