"""The status page's subscribe form against the real handler (issue 12, 7): cross-site posts and answers.

A subscribe POST only creates a pending record and sends one confirmation message (double opt-in,
per-address and per-IP limits), so a forged cross-site form post achieves no more than typing someone's
address into the form: it is accepted on purpose (the page must work without JavaScript). What a
cross-site page must not get is a JSON body in through a "simple" content type (text/plain, multipart):
those are refused with a 400 naming the types to send. The HTML answer's link back never leaves the
status site and is escaped.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from outage_comms.subscribers.store import SubscriberStore, subscriber_id
from tests.security.figures import scaled
from tests.security.test_feedback_and_subscribe import Context, api_event, embedded  # noqa: F401

pytestmark = pytest.mark.security

SIMPLE_TYPES = ["text/plain", "text/plain; charset=utf-8", "multipart/form-data; boundary=x", "TEXT/PLAIN"]
REFERERS = [
    "https://status.example/",
    'https://evil.example/"><script>alert(1)</script>',
    "//evil.example/x",
    "javascript:alert(1)",
    "",
    "https://status.example/pt-br/index.html?x=<b>",
]


def _call(body: str, content_type: str, referer: str = "") -> dict[str, Any]:
    import handlers.subscribe_api as subscribe_api

    headers = {"Content-Type": content_type, "User-Agent": "Mozilla/5.0"}
    if referer:
        headers["Referer"] = referer
    return subscribe_api.handler(api_event("POST", "/subscriptions", body=body, headers=headers), Context())


def _pending(environment: dict[str, str], address: str) -> bool:
    return (
        SubscriberStore.named(environment["SUBSCRIBERS_TABLE"]).get(subscriber_id("email", address))
        is not None
    )


def _type(answer: dict[str, Any]) -> str:
    headers = {**(answer.get("multiValueHeaders") or {}), **(answer.get("headers") or {})}
    value = headers.get("Content-Type", "")
    return str(value[0] if isinstance(value, list) else value)


def test_cross_site_simple_posts_of_json_are_refused(embedded: dict[str, str], figures: Any) -> None:  # noqa: F811
    f = figures("subscribe")
    for i in range(scaled(ci=8, full=40)):
        content_type = SIMPLE_TYPES[i % len(SIMPLE_TYPES)]
        address = f"victim-{uuid.uuid4().hex[:8]}@example.org"
        f.tried += 1
        answer = _call(json.dumps({"channel": "email", "address": address, "locale": "en"}), content_type)
        if answer["statusCode"] >= 500:
            f.crash(content_type)
        elif answer["statusCode"] != 400 or _pending(embedded, address):
            f.wrong(f"{content_type}: {answer['statusCode']}")
        elif "application/json" not in answer["body"]:
            f.wrong(f"{content_type}: the refusal does not name what to send")
    assert f.clean, f.failure_message()


def test_form_posts_get_a_page_whose_link_stays_on_the_site(embedded: dict[str, str], figures: Any) -> None:  # noqa: F811
    f = figures("subscribe")
    for referer in REFERERS:
        address = f"reader-{uuid.uuid4().hex[:8]}@example.org"
        body = urlencode({"channel": "email", "address": address, "locale": "pt-BR"})
        f.tried += 1
        answer = _call(body, "application/x-www-form-urlencoded", referer)
        page = answer["body"]
        if answer["statusCode"] >= 500:
            f.crash(referer)
            continue
        ok = (
            answer["statusCode"] == 202
            and _type(answer).startswith("text/html")
            and "<script" not in page
            and 'href="//' not in page
            and "javascript:" not in page
            and "evil.example" not in page
            and "Back to the status page" in page
            and _pending(embedded, address)
        )
        if not ok:
            f.wrong(f"{referer!r}: {answer['statusCode']} {page[:200]}")
    # a bad address from the form: a 400 page naming the problem, still HTML, never a 5xx
    f.tried += 1
    bad = _call(
        urlencode({"channel": "email", "address": "not-an-address"}), "application/x-www-form-urlencoded"
    )
    if bad["statusCode"] != 400 or not _type(bad).startswith("text/html"):
        f.wrong(f"bad address: {bad['statusCode']} {bad['body'][:200]}")
    assert f.clean, f.failure_message()
