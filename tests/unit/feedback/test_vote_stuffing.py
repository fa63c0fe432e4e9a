"""One answer per voter: per recipient for a per-recipient link, per IPv4 address or IPv6 /64 otherwise."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from feedback_fakes import SECRET, FakeFeedbackStore, link_token

from outage_comms.channels.personalise import RecipientLinks, compile_slots, generic_links, html_values
from outage_comms.feedback.links import ForgedLinkError, LinkSigner, MalformedLinkError
from outage_comms.feedback.service import FeedbackRequest, FeedbackService
from outage_comms.subscribers.network import client_network, wider_network
from outage_comms.subscribers.tokens import TokenSigner
from outage_comms.vocabulary import Channel

pytestmark = pytest.mark.unit

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def vote(service: FeedbackService, token: str, *, ip: str, agent: str = BROWSER, answer: str = "y") -> int:
    request = FeedbackRequest(method="GET", path=f"/f/{token}/{answer}", source_ip=ip, user_agent=agent)
    return service.handle(request).status


def test_one_address_rotating_100_user_agents_counts_once(
    service: FeedbackService, store: FakeFeedbackStore
) -> None:
    token = link_token(channel=Channel.STATUS_PAGE)
    statuses = [vote(service, token, ip="198.51.100.7", agent=f"{BROWSER} build/{n}") for n in range(100)]
    assert statuses.count(200) == 1 and statuses.count(409) == 99
    assert len(store.votes) == 1


def test_100_addresses_of_one_ipv6_64_count_once(service: FeedbackService, store: FakeFeedbackStore) -> None:
    token = link_token(channel=Channel.STATUS_PAGE)
    for n in range(100):
        vote(service, token, ip=f"2001:db8:aa:bb:{n:x}:{n * 7:x}::{n + 1:x}")
    assert len(store.votes) == 1


def test_different_networks_each_count_for_a_shared_link(
    service: FeedbackService, store: FakeFeedbackStore
) -> None:
    token = link_token(channel=Channel.MASTODON)
    for ip in ("198.51.100.7", "198.51.100.8", "2001:db8:aa:bb::1", "2001:db8:aa:bc::1"):
        assert vote(service, token, ip=ip) == 200
    assert len(store.votes) == 4


def test_the_client_network_is_the_ipv4_address_or_the_ipv6_64() -> None:
    assert client_network("198.51.100.7") == "198.51.100.7"
    assert client_network("::ffff:198.51.100.7") == "198.51.100.7"
    assert (
        client_network("2001:db8:aa:bb:1:2:3:4")
        == client_network("2001:DB8:AA:BB::9")
        == "2001:db8:aa:bb::/64"
    )
    assert client_network("2001:db8:aa:bc::1") != client_network("2001:db8:aa:bb::1")
    assert wider_network("2001:db8:aa:bb::1") == wider_network("2001:db8:aa:ffff::1") == "2001:db8:aa::/48"
    assert wider_network("198.51.100.7") == "198.51.100.0/24"
    assert client_network("unknown") == "unknown"


def test_a_per_recipient_link_counts_once_per_recipient_from_any_network(
    service: FeedbackService, store: FakeFeedbackStore
) -> None:
    signer = LinkSigner(SECRET)
    shared = link_token(channel=Channel.EMAIL)
    ana, bob = signer.for_recipient(shared, "email-ana"), signer.for_recipient(shared, "email-bob")
    assert len({shared, ana, bob}) == 3 and len(ana) == 36
    # Ana forwards her email to 100 friends on 100 networks: one answer.
    statuses = [vote(service, ana, ip=f"203.0.113.{n}") for n in range(100)]
    assert statuses.count(200) == 1
    assert vote(service, bob, ip="203.0.113.1") == 200  # Bob shares Ana's network, still his own vote
    assert len(store.votes) == 2
    assert {claims.recipient for claims, _ in store.votes} == {
        signer.recipient_tag("email-ana").hex(),
        signer.recipient_tag("email-bob").hex(),
    }


def test_a_recipient_tag_cannot_be_changed_removed_or_made_up(service: FeedbackService) -> None:
    signer = LinkSigner(SECRET)
    token = signer.for_recipient(link_token(), "email-ana")
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[8] ^= 0x01  # a byte of the recipient tag
    flipped = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert vote(service, flipped, ip="198.51.100.9") == 403
    with pytest.raises(ForgedLinkError):
        LinkSigner(b"another secret, just as long....").for_recipient(link_token(), "email-ana")
    with pytest.raises(MalformedLinkError):  # a per-recipient token is never re-bound to someone else
        signer.for_recipient(token, "email-eve")


def test_each_email_recipient_gets_their_own_feedback_token() -> None:
    from outage_comms.plan import load_plan

    plan = load_plan(Path(__file__).resolve().parents[3] / "plans" / "example.yaml")
    shared = link_token()
    base = "https://fb.example/v1/f"
    body = f"Fixed.\nWas this update helpful? Yes: {base}/{shared}/y No: {base}/{shared}/n"
    html = f'<a href="https://fb.example/v1/f/{shared}/y">Yes</a>'
    links = RecipientLinks(
        signer=TokenSigner(b"k" * 32),
        unsubscribe_base="https://api.example/unsubscribe",
        incident_id="inc-1",
        feedback_signer=LinkSigner(SECRET),
    )
    text, page = compile_slots(body, generic_links(plan)), compile_slots(html, generic_links(plan))
    ana, bob = text.fill(links.for_recipient("email-ana")), text.fill(links.for_recipient("email-bob"))
    ana_token = LinkSigner(SECRET).for_recipient(shared, "email-ana")
    assert shared not in ana and ana.count(ana_token) == 2 and ana != bob
    assert page.fill(html_values(links.for_recipient("email-ana"))) == html.replace(shared, ana_token)
    without = RecipientLinks(
        signer=TokenSigner(b"k" * 32),
        unsubscribe_base="https://api.example/unsubscribe",
        incident_id="inc-1",
        feedback_signer=None,
    )
    assert text.fill(without.for_recipient("email-ana")) == body  # no secret: the shared link, as before
