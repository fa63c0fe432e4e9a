"""Short feedback links: a stored, expiring code for a signed token; bad input is a 4xx page, never a 5xx."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from feedback_fakes import INCIDENT, NOW, SECRET, FakeFeedbackStore

from outage_comms.feedback.links import ExpiredLinkError, FeedbackLinker, FeedbackUrls, LinkSigner
from outage_comms.feedback.pages import Site
from outage_comms.feedback.service import FeedbackRequest, FeedbackResponse, FeedbackService
from outage_comms.feedback.short_links import (
    MemoryShortLinks,
    ShortCodes,
    Shortener,
    UnknownLinkError,
    is_short_code,
    resolve,
)
from outage_comms.vocabulary import Channel, Scenario

pytestmark = pytest.mark.unit

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
STATUS = "https://status.example.com"


def linker(store: MemoryShortLinks, lifetime: timedelta = timedelta(days=30)) -> FeedbackLinker:
    return FeedbackLinker(
        signer=LinkSigner(SECRET), base_url=STATUS, lifetime=lifetime, shortener=Shortener(SECRET, store)
    )


def urls(
    store: MemoryShortLinks, channel: Channel = Channel.SMS, lifetime: timedelta = timedelta(days=30)
) -> FeedbackUrls:
    return linker(store, lifetime).urls(
        incident_id=INCIDENT,
        update_id="002-identified",
        channel=channel,
        locale="en",
        scenario=Scenario.IDENTIFIED,
        now=NOW,
    )


def service(store: MemoryShortLinks, now: datetime = NOW) -> FeedbackService:
    return FeedbackService(
        secret=SECRET,
        store=FakeFeedbackStore(),
        site=Site(org="Nimbus Notes", status_url=STATUS),
        now=lambda: now,
        short_links=store,
    )


def get(svc: FeedbackService, path: str) -> FeedbackResponse:
    return svc.handle(FeedbackRequest(method="GET", path=path, source_ip="198.51.100.7", user_agent=BROWSER))


def test_links_are_short_on_the_status_domain_and_resolve_to_the_signed_token() -> None:
    store = MemoryShortLinks()
    made = urls(store)
    code = made.page.rsplit("/", 1)[1]
    assert made.page == f"{STATUS}/f/{code}" and made.yes == f"{made.page}/y" and made.no == f"{made.page}/n"
    assert is_short_code(code) and len(made.yes) == len(STATUS) + len("/f/") + 8 + 2  # 46 characters here
    token, expires_at = store.items[code]
    claims = LinkSigner(SECRET).verify(resolve(store, code, NOW), now=NOW)
    assert (claims.incident_id, claims.channel) == (INCIDENT, Channel.SMS)
    assert claims.expires_at <= expires_at < claims.expires_at + 3600  # the link's own lifetime (the token
    # rounds it down to the hour)
    assert ShortCodes(SECRET).code(token) == code  # derived: a retried render writes the same item
    assert urls(store).page == made.page and len(store.items) == 1


def test_email_keeps_the_long_token_it_re_signs_per_recipient() -> None:
    store = MemoryShortLinks()
    token = urls(store, Channel.EMAIL).yes.split("/")[-2]
    assert not is_short_code(token) and len(token) >= 24 and store.items == {}


def test_a_short_link_counts_like_the_token() -> None:
    store = MemoryShortLinks()
    svc = service(store)
    response = get(svc, urls(store).yes.removeprefix(STATUS))
    assert (response.status, response.counted) == (200, ("yes", "sms"))
    assert get(svc, urls(store).page.removeprefix(STATUS)).status == 200  # the answer page


def test_an_expired_short_link_is_a_410_even_before_the_ttl_sweep() -> None:
    store = MemoryShortLinks()
    path = urls(store, lifetime=timedelta(hours=2)).yes.removeprefix(STATUS)
    later = NOW + timedelta(hours=3)
    response = get(service(store, later), path)
    assert (response.status, response.refused, response.counted) == (410, "expired", None)
    with pytest.raises(ExpiredLinkError):
        resolve(store, path.split("/")[2], later)


@pytest.mark.parametrize(
    "path",
    [
        "/f/AAAAAAAA/y",  # the right shape, never stored
        "/f/zzzzzzzz",  # the answer page of a made-up code
        "/f/AbC12/y",  # cut short
        "/f/AbC12%00x/y",
        "/f/" + "A" * 200 + "/y",
        "/f/../../etc/passwd/y",
        "/f//y",
    ],
)
def test_made_up_or_broken_codes_are_a_4xx_page_never_a_5xx(path: str) -> None:
    store = MemoryShortLinks()
    urls(store)  # one real code exists
    response = get(service(store), path)
    assert 400 <= response.status < 500 and response.counted is None, (path, response.status)


def test_a_stored_code_cannot_carry_a_forged_token() -> None:
    # Given a code whose stored token was altered (or signed with another key)
    store = MemoryShortLinks()
    code = urls(store).page.rsplit("/", 1)[1]
    token, expires_at = store.items[code]
    forged = ("B" if token[5] != "B" else "C").join((token[:5], token[6:]))
    store.put(code, forged, expires_at)
    other = MemoryShortLinks()
    other_code = FeedbackLinker(
        signer=LinkSigner(b"another deployment's secret, 64 characters long......"),
        base_url=STATUS,
        shortener=Shortener(SECRET, other),
    ).urls(
        incident_id=INCIDENT,
        update_id="002-identified",
        channel=Channel.SMS,
        locale="en",
        scenario=Scenario.IDENTIFIED,
        now=NOW,
    )
    store.items.update(other.items)
    # Then neither counts: the token behind a code is verified like any other
    for path in (f"/f/{code}/y", other_code.yes.removeprefix(STATUS)):
        response = get(service(store), path)
        assert response.status in (400, 403) and response.counted is None, response.status
    with pytest.raises(UnknownLinkError):
        resolve(store, "AAAAAAAA", NOW)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("198.51.100.10:46532", "198.51.100.10"),
        ("2001:db8::1:443", "2001:db8::1"),
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("not an address:1", ""),
        ("", ""),
    ],
)
def test_through_the_status_site_the_viewer_address_is_the_client(header: str, expected: str) -> None:
    """Via CloudFront the connecting address is CloudFront's: answers count per viewer network."""
    from outage_comms.feedback.store import viewer_address

    assert viewer_address({"cloudfront-viewer-address": header} if header else {}) == expected
