"""The feedback API's pages: one click counts once, in the customer's language, safely."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from feedback_fakes import INCIDENT, NOW, SECRET, FakeFeedbackStore, link_token

from outage_comms.feedback.pages import Site, page
from outage_comms.feedback.service import FeedbackRequest, FeedbackResponse, FeedbackService
from outage_comms.feedback.store import client_id
from outage_comms.vocabulary import Channel, Scenario

pytestmark = pytest.mark.unit

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def get(
    service: FeedbackService, path: str, *, agent: str = BROWSER, ip: str = "198.51.100.7"
) -> FeedbackResponse:
    return service.handle(FeedbackRequest(method="GET", path=path, source_ip=ip, user_agent=agent))


def post(
    service: FeedbackService,
    path: str,
    form: dict[str, str],
    *,
    agent: str = BROWSER,
    ip: str = "198.51.100.7",
) -> FeedbackResponse:
    return service.handle(
        FeedbackRequest(method="POST", path=path, source_ip=ip, user_agent=agent, form=form)
    )


def csrf_of(response: FeedbackResponse) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', response.html)
    assert match, "no comment form on the page"
    return match.group(1)


def test_a_yes_click_counts_once_and_thanks_in_english(
    service: FeedbackService, store: FakeFeedbackStore
) -> None:
    response = get(service, f"/f/{link_token(channel=Channel.EMAIL)}/y")
    assert response.status == 200
    assert response.counted == ("yes", "email")
    assert "Thank you for your answer" in response.html and 'lang="en"' in response.html
    assert [(c.update_id, vote) for c, vote in store.votes] == [("002-identified", "yes")]


def test_a_portuguese_link_answers_in_portuguese(service: FeedbackService) -> None:
    response = get(service, f"/f/{link_token(locale='pt-BR', channel=Channel.SMS)}/n")
    assert response.counted == ("no", "sms")
    assert 'lang="pt-BR"' in response.html
    assert "Obrigado pela resposta" in response.html and "Sua resposta: Não" in response.html
    assert "Thank you" not in response.html


def test_the_same_client_clicking_again_flips_nothing(
    service: FeedbackService, store: FakeFeedbackStore
) -> None:
    token = link_token()
    assert get(service, f"/f/{token}/y").counted == ("yes", "email")
    again = get(service, f"/f/{token}/n")
    assert again.status == 409 and again.refused == "replay" and again.counted is None
    assert "We already have your answer" in again.html
    assert [vote for _, vote in store.votes] == ["yes"]


def test_another_client_on_the_same_link_counts(service: FeedbackService, store: FakeFeedbackStore) -> None:
    token = link_token()
    get(service, f"/f/{token}/y", ip="198.51.100.7")
    assert get(service, f"/f/{token}/y", ip="203.0.113.9").counted == ("yes", "email")
    assert len(store.votes) == 2


def test_a_forged_link_is_refused_with_a_page_in_both_languages(service: FeedbackService) -> None:
    forged = link_token(secret=b"not our secret but long enough anyway")
    response = get(service, f"/f/{forged}/y")
    assert (response.status, response.refused, response.counted) == (403, "forged", None)
    assert "This link does not work" in response.html and "Este link não funciona" in response.html


def test_an_expired_link_is_refused(service: FeedbackService) -> None:
    old = link_token(now=NOW - timedelta(days=31))
    response = get(service, f"/f/{old}/y")
    assert (response.status, response.refused) == (410, "expired")
    assert "This link has expired" in response.html


def test_a_link_to_an_update_we_never_sent_is_refused(
    service: FeedbackService, known_updates: set[tuple[str, str]]
) -> None:
    unknown = link_token(update_id="009-identified")
    response = get(service, f"/f/{unknown}/y")
    assert (response.status, response.refused) == (404, "unknown_update")


@pytest.mark.parametrize(
    ("method", "path", "status", "reason"),
    [
        ("GET", "/", 404, "not_found"),
        ("GET", "/f/abc", 400, "malformed"),  # the answer page of a token that is not one
        ("GET", "/x/{token}", 404, "not_found"),
        ("DELETE", "/f/{token}", 405, "method"),
        ("GET", "/f/{token}/maybe", 404, "not_found"),
        ("GET", "/f/{token}/comment", 405, "method"),
        ("DELETE", "/f/{token}/y", 405, "method"),
        ("GET", "/f/!!!/y", 400, "malformed"),
    ],
)
def test_everything_else_gets_a_clear_4xx_page(
    service: FeedbackService, method: str, path: str, status: int, reason: str
) -> None:
    response = service.handle(
        FeedbackRequest(method=method, path=path.format(token=link_token()), user_agent=BROWSER)
    )
    assert (response.status, response.refused, response.counted) == (status, reason, None)
    assert response.html.startswith("<!DOCTYPE html>") and "<h1" in response.html


@pytest.mark.parametrize(
    ("agent", "headers"),
    [
        ("", {}),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", {}),
        ("Microsoft Office Existence Discovery", {}),
        (BROWSER, {"sec-purpose": "prefetch"}),
    ],
)
def test_scanners_and_prefetch_see_a_button_and_are_not_counted(
    service: FeedbackService, store: FakeFeedbackStore, agent: str, headers: dict[str, str]
) -> None:
    token = link_token()
    response = service.handle(
        FeedbackRequest(method="GET", path=f"/f/{token}/y", user_agent=agent, headers=headers)
    )
    assert (response.status, response.refused, response.counted) == (200, "automated", None)
    assert '<form method="post" action="">' in response.html and "Send my answer" in response.html
    assert store.votes == []
    # A person behind such an agent presses the button: that POST counts.
    assert post(service, f"/f/{token}/y", {}, agent=agent).counted == ("yes", "email")


def test_a_comment_needs_the_form_token_of_this_link_and_client(
    service: FeedbackService, store: FakeFeedbackStore
) -> None:
    token = link_token()
    thanks = get(service, f"/f/{token}/n")
    csrf = csrf_of(thanks)
    assert (
        post(service, f"/f/{token}/comment", {"comment": "Say when", "csrf": "x" + csrf[1:]}).refused
        == "csrf"
    )
    other_client = post(
        service, f"/f/{token}/comment", {"comment": "Say when", "csrf": csrf}, ip="203.0.113.9"
    )
    assert (other_client.status, other_client.refused) == (403, "csrf")
    saved = post(service, f"/f/{token}/comment", {"comment": "Say when it will be fixed", "csrf": csrf})
    assert saved.status == 200 and saved.commented == "email"
    assert "Thank you for your comment" in saved.html
    assert [text for _, text in store.comments] == ["Say when it will be fixed"]
    again = post(service, f"/f/{token}/comment", {"comment": "and again", "csrf": csrf})
    assert (again.status, again.refused) == (409, "replay")


def test_a_comment_longer_than_1000_characters_or_empty_is_refused(service: FeedbackService) -> None:
    token = link_token()
    csrf = csrf_of(get(service, f"/f/{token}/y"))
    for text in ("x" * 1001, "   "):
        response = post(service, f"/f/{token}/comment", {"comment": text, "csrf": csrf})
        assert (response.status, response.refused) == (400, "comment_invalid")
    assert post(service, f"/f/{token}/comment", {"comment": "x" * 1000, "csrf": csrf}).status == 200


def test_a_comment_without_an_answer_first_is_refused(service: FeedbackService) -> None:
    token = link_token()
    csrf = service.csrf_token(token, client_id(SECRET, "198.51.100.7", BROWSER))
    response = post(service, f"/f/{token}/comment", {"comment": "hello", "csrf": csrf})
    assert (response.status, response.refused) == (409, "no_answer")


def test_pages_escape_what_they_print_and_run_no_script() -> None:
    site = Site(org='<script>alert("x")</script>', status_url='https://status.example/"><img src=x>')
    shown = page(200, site, "thanks", "en", vote="yes", csrf='"><b>', comment=True)
    assert "<script>" not in shown.html and "<img" not in shown.html and "<b>" not in shown.html
    assert "&lt;script&gt;" in shown.html


def test_every_page_is_labelled_and_locked_down(service: FeedbackService) -> None:
    response = get(service, f"/f/{link_token(locale='pt-BR')}/y")
    assert '<label for="comment"' in response.html and 'id="comment"' in response.html
    assert 'maxlength="1000"' in response.html
    assert "<script" not in response.html.lower()
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_client_fingerprint_is_salted_and_does_not_contain_the_address() -> None:
    one = client_id(SECRET, "198.51.100.7", BROWSER)
    assert "198.51.100.7" not in one and len(one) == 32
    assert one != client_id(b"another secret of the same kind!!", "198.51.100.7", BROWSER)
    assert one != client_id(SECRET, "198.51.100.8", BROWSER)


def test_cross_update_links_count_separately_per_update(
    service: FeedbackService, store: FakeFeedbackStore
) -> None:
    get(service, f"/f/{link_token(update_id='002-identified')}/y")
    get(service, f"/f/{link_token(update_id='003-resolved', scenario=Scenario.RESOLVED)}/y")
    assert [(c.incident_id, c.update_id) for c, _ in store.votes] == [
        (INCIDENT, "002-identified"),
        (INCIDENT, "003-resolved"),
    ]


# -- the answer page: the compact form in SMS and social posts (one tap to open + one to answer) --


def test_the_answer_page_shows_two_big_buttons_in_the_links_language_and_counts_nothing(
    service: FeedbackService, store: FakeFeedbackStore
) -> None:
    token = link_token(channel=Channel.SMS, locale="pt-BR")
    shown = get(service, f"/f/{token}")
    assert (shown.status, shown.counted, shown.refused) == (200, None, None)
    assert "Esta atualização foi útil?" in shown.html
    assert re.findall(
        r'<button type="submit" name="vote" value="(yes|no)"[^>]*>(\w+)</button>', shown.html
    ) == [
        ("yes", "Sim"),
        ("no", "Não"),
    ]
    assert '<form method="post" action="">' in shown.html and csrf_of(shown)
    assert store.votes == []  # opening the page (or a scanner fetching it) counts nothing


def test_pressing_a_button_on_the_answer_page_counts_once(
    service: FeedbackService, store: FakeFeedbackStore
) -> None:
    token = link_token(channel=Channel.BLUESKY)
    csrf = csrf_of(get(service, f"/f/{token}"))
    counted = post(service, f"/f/{token}", {"vote": "no", "csrf": csrf})
    assert (counted.status, counted.counted) == (200, ("no", "bluesky"))
    assert "You answered: No" in counted.html
    again = post(service, f"/f/{token}", {"vote": "yes", "csrf": csrf})  # replay, or a change of mind
    assert (again.status, again.refused, again.counted) == (409, "replay", None)
    one_click = get(service, f"/f/{token}/y")  # the same client through a one-click link
    assert (one_click.status, one_click.refused) == (409, "replay")
    assert [(claims.channel, vote) for claims, vote in store.votes] == [(Channel.BLUESKY, "no")]


@pytest.mark.parametrize(
    ("form", "ip", "status", "reason"),
    [
        ({"vote": "yes"}, "198.51.100.7", 403, "csrf"),  # no form token: posted from elsewhere
        ({"vote": "yes", "csrf": "forged"}, "198.51.100.7", 403, "csrf"),
        ({"vote": "yes", "csrf": "{csrf}"}, "203.0.113.9", 403, "csrf"),  # another client's form token
        ({"vote": "maybe", "csrf": "{csrf}"}, "198.51.100.7", 400, "vote_invalid"),
    ],
)
def test_the_answer_page_refuses_posts_without_its_form_token_or_a_real_answer(
    service: FeedbackService,
    store: FakeFeedbackStore,
    form: dict[str, str],
    ip: str,
    status: int,
    reason: str,
) -> None:
    token = link_token(channel=Channel.SMS)
    csrf = csrf_of(get(service, f"/f/{token}"))
    response = post(service, f"/f/{token}", {k: v.format(csrf=csrf) for k, v in form.items()}, ip=ip)
    assert (response.status, response.refused, response.counted) == (status, reason, None)
    assert store.votes == []


def test_the_answer_page_refuses_forged_expired_and_unknown_links(service: FeedbackService) -> None:
    forged = link_token(secret=b"not our secret but long enough anyway")
    expired = link_token(now=NOW - timedelta(days=31))
    unknown = link_token(update_id="009-identified")
    for token, status, reason in (
        (forged, 403, "forged"),
        (expired, 410, "expired"),
        (unknown, 404, "unknown_update"),
    ):
        for method in ("GET", "POST"):
            response = service.handle(
                FeedbackRequest(method=method, path=f"/f/{token}", user_agent=BROWSER, form={"vote": "yes"})
            )
            assert (response.status, response.refused, response.counted) == (status, reason, None)


def test_after_the_answer_page_the_comment_form_posts_to_the_links_comment_address(
    service: FeedbackService, store: FakeFeedbackStore
) -> None:
    token = link_token(channel=Channel.MASTODON)
    thanks = post(service, f"/f/{token}", {"vote": "yes", "csrf": csrf_of(get(service, f"/f/{token}"))})
    # The page lives at .../f/<token>: a relative "comment" would post to .../f/comment.
    assert f'<form method="post" action="{token}/comment">' in thanks.html
    saved = post(service, f"/f/{token}/comment", {"comment": "Clear, thanks", "csrf": csrf_of(thanks)})
    assert (saved.status, saved.commented) == (200, "mastodon")
    assert [text for _, text in store.comments] == ["Clear, thanks"]
