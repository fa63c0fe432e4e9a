"""The public subscribe API end to end on moto: double opt-in, SMS codes, abuse limits, unsubscribe."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from outage_comms.channels.confirmations import ConfirmationMessages
from outage_comms.plan import Plan
from outage_comms.subscribers.audiences import AudienceResolver
from outage_comms.subscribers.limits import RateLimiter
from outage_comms.subscribers.service import SubscriptionService
from outage_comms.subscribers.store import SubscriberStore, subscriber_id
from outage_comms.subscribers.tokens import TokenSigner

pytestmark = pytest.mark.integration

KEY = b"k" * 48
CONFIRM = "https://api.example/v1/subscriptions/confirm"


@dataclass
class Outbox:
    emails: list[dict[str, str]] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[dict[str, str]] = field(default_factory=list)

    def confirm_email(self, *, to: str, locale: str, confirm_url: str) -> None:
        self.emails.append({"to": to, "locale": locale, "url": confirm_url})

    def confirm_sms(self, *, to: str, locale: str, code: str, minutes: int) -> None:
        self.texts.append({"to": to, "code": code, "minutes": minutes})

    def confirm_push(self, *, to: str, platform: str, code: str) -> None:
        self.pushes.append({"to": to, "platform": platform, "code": code})


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def api(
    plan: Plan,
    store: SubscriberStore,
    limits_table: Any,
    outbox: Outbox,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    import handlers.subscribe_api as module

    service = SubscriptionService(
        plan=plan,
        store=store,
        limiter=RateLimiter(limits_table, clock=clock),
        signer=TokenSigner(KEY),
        code_key=KEY,
        sender=outbox,
        confirm_url_base=CONFIRM,
        clock=clock,
        min_answer_seconds=0,  # the padding has its own test (and its figures in tests/security)
    )
    monkeypatch.setattr(module, "_service", service)
    return module


def call(
    api: Any,
    method: str,
    path: str,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    ip: str = "198.51.100.7",
    form: bool = False,
) -> tuple[int, Any]:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    headers = {"Content-Type": "application/x-www-form-urlencoded" if form else "application/json"}
    event = {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()},
        "pathParameters": None,
        "stageVariables": None,
        "isBase64Encoded": False,
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "stage": "v1",
            "requestId": "r",
            "identity": {"sourceIp": ip},
        },
    }

    class Context(LambdaContext):
        function_name = "subscribe-api"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:subscribe-api"
        aws_request_id = "req-1"

    response = api.handler(event, Context())
    content = response["body"]
    headers_out = {k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()}
    headers_out.update(response.get("headers") or {})
    assert headers_out["Cache-Control"] == "no-store"
    if headers_out.get("Content-Type", "").startswith("application/json"):
        content = json.loads(content)
    return response["statusCode"], content


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_email_double_opt_in_then_only_confirmed_subscribers_are_in_the_audience(
    api: Any, store: SubscriberStore, outbox: Outbox
) -> None:
    status, body = call(
        api,
        "POST",
        "/subscriptions",
        {"channel": "email", "address": "Ana@Example.com", "locale": "pt-BR", "components": ["sync"]},
    )
    assert status == 202 and body["status"] == "accepted"
    (sent,) = outbox.emails
    assert sent["to"] == "ana@example.com" and sent["locale"] == "pt-BR"
    assert list(AudienceResolver(store).members(["sync"], ["pt-BR"], "email")) == []  # pending: not yet

    # A link scanner's GET only shows a page; the subscriber's POST confirms.
    status, page = call(api, "GET", "/subscriptions/confirm", query={"token": token_of(sent["url"])})
    assert status == 200 and 'method="post"' in page
    assert list(AudienceResolver(store).members(["sync"], ["pt-BR"], "email")) == []
    status, body = call(api, "POST", "/subscriptions/confirm", {"token": token_of(sent["url"])})
    assert (status, body["status"]) == (200, "confirmed")
    (member,) = AudienceResolver(store).members(["sync", "search"], ["pt-BR"], "email")
    assert member.address == "ana@example.com"


def test_an_expired_or_forged_confirmation_token_is_refused(
    api: Any, outbox: Outbox, clock: Clock, store: SubscriberStore
) -> None:
    call(api, "POST", "/subscriptions", {"channel": "email", "address": "bob@example.com", "locale": "en"})
    token = token_of(outbox.emails[0]["url"])
    payload, mac = token.split(".")
    forged = f"{payload}.{'A' * len(mac)}"

    status, body = call(api, "POST", "/subscriptions/confirm", {"token": forged})
    assert status == 400 and "signature" in body["message"]
    other = TokenSigner(b"z" * 48).sign(
        "confirm", subscriber_id("email", "bob@example.com"), ttl_seconds=3600
    )
    assert call(api, "POST", "/subscriptions/confirm", {"token": other})[0] == 400

    clock.now += 48 * 3600 + 1
    status, body = call(api, "POST", "/subscriptions/confirm", {"token": token})
    assert status == 400 and "expired" in body["message"]
    assert store.get(subscriber_id("email", "bob@example.com")).status == "pending"  # type: ignore[union-attr]


def test_sms_confirms_with_a_code_and_locks_after_five_wrong_tries(
    api: Any, outbox: Outbox, store: SubscriberStore
) -> None:
    status, _ = call(
        api, "POST", "/subscriptions", {"channel": "sms", "address": "+1 415 555 0100", "locale": "en"}
    )
    assert status == 202
    (text,) = outbox.texts
    assert text["to"] == "+14155550100" and len(text["code"]) == 6 and text["minutes"] == 15
    wrong = f"{(int(text['code']) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert (
            call(api, "POST", "/subscriptions/confirm", {"address": "+14155550100", "code": wrong})[0] == 400
        )
    status, body = call(
        api, "POST", "/subscriptions/confirm", {"address": "+14155550100", "code": text["code"]}
    )
    assert status == 400 and "expired" in body["message"]  # locked: the right code no longer works

    # A new request (new code) works.
    call(api, "POST", "/subscriptions", {"channel": "sms", "address": "+14155550100", "locale": "en"})
    code = outbox.texts[-1]["code"]
    assert call(api, "POST", "/subscriptions/confirm", {"address": "+14155550100", "code": code})[0] == 200
    assert store.get(subscriber_id("sms", "+14155550100")).status == "active"  # type: ignore[union-attr]


def test_the_endpoint_cannot_mail_bomb_an_address(api: Any, outbox: Outbox, clock: Clock) -> None:
    # Ten requests for one victim from ten different IPs: still only 3 emails a day, same answer each time.
    answers = {
        call(
            api,
            "POST",
            "/subscriptions",
            {"channel": "email", "address": "victim@example.com", "locale": "en"},
            ip=f"203.0.113.{i}",
        )[0]
        for i in range(10)
    }
    assert answers == {202}
    assert len(outbox.emails) == 3
    clock.now += 24 * 3600
    call(api, "POST", "/subscriptions", {"channel": "email", "address": "victim@example.com", "locale": "en"})
    assert len(outbox.emails) == 4


def test_one_source_ip_is_limited_to_ten_requests_an_hour(api: Any, outbox: Outbox) -> None:
    statuses = [
        call(
            api,
            "POST",
            "/subscriptions",
            {"channel": "email", "address": f"u{i}@example.com", "locale": "en"},
        )[0]
        for i in range(11)
    ]
    assert statuses == [202] * 10 + [429]
    assert len(outbox.emails) == 10


def test_invalid_requests_name_the_problem(api: Any) -> None:
    cases = [
        ({"channel": "email", "address": "not-an-email", "locale": "en"}, "email address"),
        ({"channel": "sms", "address": "12345", "locale": "en"}, "international form"),
        ({"channel": "email", "address": "a@example.com", "locale": "fr"}, "locale"),
        ({"channel": "email", "address": "a@example.com", "locale": "en", "components": ["nope"]}, "nope"),
    ]
    for body, words in cases:
        status, answer = call(api, "POST", "/subscriptions", body)
        assert status == 400 and words in answer["message"], (body, answer)


def test_one_click_unsubscribe_is_a_post_and_a_get_only_shows_a_page(
    api: Any, outbox: Outbox, store: SubscriberStore
) -> None:
    call(api, "POST", "/subscriptions", {"channel": "email", "address": "c@example.com", "locale": "en"})
    call(api, "POST", "/subscriptions/confirm", {"token": token_of(outbox.emails[0]["url"])})
    sid = subscriber_id("email", "c@example.com")
    unsubscribe = TokenSigner(KEY).sign("unsubscribe", sid)

    status, page = call(api, "GET", "/unsubscribe", query={"token": unsubscribe})
    assert status == 200 and store.get(sid).status == "active"  # type: ignore[union-attr]
    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" to the URL from the header.
    status, page = call(
        api, "POST", "/unsubscribe", "List-Unsubscribe=One-Click", query={"token": unsubscribe}, form=True
    )
    assert status == 200 and "unsubscribed" in page
    assert store.get(sid).status == "unsubscribed"  # type: ignore[union-attr]
    assert list(AudienceResolver(store).members(["sync"], ["en"], "email")) == []
    forged = TokenSigner(b"z" * 48).sign("unsubscribe", subscriber_id("email", "someone@example.com"))
    assert (
        call(api, "POST", "/unsubscribe", "List-Unsubscribe=One-Click", query={"token": forged}, form=True)[0]
        == 400
    )


def test_preferences_change_only_with_the_manage_token(
    api: Any, outbox: Outbox, store: SubscriberStore
) -> None:
    call(api, "POST", "/subscriptions", {"channel": "email", "address": "d@example.com", "locale": "en"})
    call(api, "POST", "/subscriptions/confirm", {"token": token_of(outbox.emails[0]["url"])})
    sid = subscriber_id("email", "d@example.com")
    unsubscribe_token = TokenSigner(KEY).sign("unsubscribe", sid)
    body = {"token": unsubscribe_token, "components": ["search"], "locale": "pt-BR"}
    assert call(api, "PUT", "/subscriptions/preferences", body)[0] == 400  # wrong purpose
    body["token"] = TokenSigner(KEY).sign("manage", sid)
    status, answer = call(api, "PUT", "/subscriptions/preferences", body)
    assert (status, answer["components"], answer["locale"]) == (200, ["search"], "pt-BR")
    assert [m.id for m in AudienceResolver(store).members(["search"], ["pt-BR"], "email")] == [sid]
    assert list(AudienceResolver(store).members(["sync"], ["en", "pt-BR"], "email")) == []


def test_confirmation_email_goes_through_ses_in_the_subscriber_language(plan: Plan, ses: Any) -> None:
    ConfirmationMessages(plan=plan, ses=ses).confirm_email(
        to="ana@example.com", locale="pt-BR", confirm_url=f"{CONFIRM}?token=abc"
    )
    (request,) = ses.sent
    assert request["FromEmailAddress"] == "status@nimbusnotes.example"
    assert request["Content"]["Simple"]["Subject"]["Data"].startswith("Confirme")
    assert f"{CONFIRM}?token=abc" in request["Content"]["Simple"]["Body"]["Text"]["Data"]


# -- issue 11, finding 10: subscribe API abuse ------------------------------------------------------


def subscribe(
    api: Any, address: str, *, ip: str = "198.51.100.7", channel: str = "email", **extra: Any
) -> Any:
    return call(
        api,
        "POST",
        "/subscriptions",
        {"channel": channel, "address": address, "locale": "en", **extra},
        ip=ip,
    )


def test_rotating_ipv6_addresses_inside_one_64_does_not_reset_the_limit(api: Any, outbox: Outbox) -> None:
    statuses = [
        subscribe(api, f"u{n}@example.com", ip=f"2001:db8:5:6:{n:x}::{n + 1:x}")[0] for n in range(30)
    ]
    assert statuses == [202] * 10 + [429] * 20
    assert len(outbox.emails) == 10


def test_rotating_64s_inside_one_48_is_capped_too(api: Any, outbox: Outbox) -> None:
    statuses = [subscribe(api, f"w{n}@example.com", ip=f"2001:db8:5:{n:x}::1")[0] for n in range(60)]
    assert statuses.count(202) == 50 and statuses.count(429) == 10


def test_plus_addressing_and_gmail_dots_do_not_multiply_confirmations(api: Any, outbox: Outbox) -> None:
    for n in range(30):
        subscribe(api, f"victim+{n}@example.com", ip=f"203.0.{n}.1")
    assert {e["to"].split("+")[0] for e in outbox.emails} == {"victim"} and len(outbox.emails) == 3
    for n in range(10):
        dotted = "v.ic.tim" if n % 2 else "vic.t.i.m"
        subscribe(api, f"{dotted}+{n}@{'gmail' if n % 3 else 'googlemail'}.com", ip=f"198.18.{n}.1")
    assert len(outbox.emails) == 6  # 3 more for the one Gmail mailbox


@pytest.mark.parametrize(
    "address",
    [
        "a@example.com,b@example.com",
        "a@example.com;b@example.com",
        "a@example.com\x00",
        "a@example.com%0d%0aBcc:everyone@example.com",
        "a@example.com\r\nBcc: everyone@example.com",
        "Ana <a@example.com>",
        '"a,b"@example.com',
    ],
)
def test_header_injection_characters_are_refused_before_ses(api: Any, outbox: Outbox, address: str) -> None:
    status, body = subscribe(api, address)
    assert status == 400 and body["status"] == "invalid", body
    assert "email address" in body["message"]
    assert outbox.emails == []


def test_an_address_ses_refuses_stores_nothing_and_answers_400(
    api: Any, plan: Plan, ses: Any, store: SubscriberStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.stub import Stubber

    service = api._service
    monkeypatch.setattr(service, "sender", ConfirmationMessages(plan=plan, ses=ses))
    with Stubber(ses) as stub:
        stub.add_client_error("send_email", "MessageRejected", "Email address is not verified.", 400)
        stub.add_client_error("send_email", "TooManyRequestsException", "Maximum sending rate exceeded.", 429)
        refused = subscribe(api, "bounce@example.com")
        throttled = subscribe(api, "later@example.com", ip="198.51.100.8")
    assert refused[0] == 400 and "could not send a confirmation" in refused[1]["message"]
    assert throttled[0] == 503 and throttled[1]["status"] == "unavailable"
    for address in ("bounce@example.com", "later@example.com"):
        assert store.get(subscriber_id("email", address)) is None


def test_new_pending_and_subscribed_addresses_get_the_same_answer(api: Any, outbox: Outbox) -> None:
    subscribe(api, "known@example.com")
    call(api, "POST", "/subscriptions/confirm", {"token": token_of(outbox.emails[0]["url"])})
    subscribe(api, "pending@example.com")
    answers = {
        name: subscribe(api, address, ip="203.0.113.50")
        for name, address in (
            ("known", "known@example.com"),
            ("pending", "pending@example.com"),
            ("new", "new@example.com"),
        )
    }
    assert answers["known"] == answers["pending"] == answers["new"] == (202, ACCEPTED_BODY)


ACCEPTED_BODY = {
    "status": "accepted",
    "message": "If the address can receive our updates, a confirmation is on its way.",
}


def test_a_wrong_sms_code_says_the_same_whether_the_number_is_pending_or_not(
    api: Any, outbox: Outbox, clock: Clock
) -> None:
    subscribe(api, "+14155550101", channel="sms")
    subscribe(api, "+14155550102", channel="sms")
    code = outbox.texts[-1]["code"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):  # lock the second number
        call(api, "POST", "/subscriptions/confirm", {"address": "+14155550102", "code": wrong})
    answers = [
        call(api, "POST", "/subscriptions/confirm", {"address": number, "code": "000000"})
        for number in ("+14155550100", "+14155550101", "+14155550102", "+1 415", "")
    ]
    clock.now += 16 * 60  # and one whose code expired
    answers.append(call(api, "POST", "/subscriptions/confirm", {"address": "+14155550101", "code": "000000"}))
    assert len({json.dumps(a, sort_keys=True) for a in answers}) == 1, answers
    assert answers[0][0] == 400


def test_a_push_subscription_needs_the_code_the_app_receives(
    api: Any, outbox: Outbox, store: SubscriberStore
) -> None:
    device = "f" * 64
    status, body = subscribe(api, device, channel="push", platform="APNS")
    assert (status, body) == (202, ACCEPTED_BODY)
    sid = subscriber_id("push", device)
    assert store.get(sid).status == "pending"  # type: ignore[union-attr]
    assert list(AudienceResolver(store).members(["sync"], ["en"], "push")) == []
    (push,) = outbox.pushes
    assert push["to"] == device and push["platform"] == "APNS" and len(push["code"]) >= 20
    confirm = {"channel": "push", "address": device}
    assert call(api, "POST", "/subscriptions/confirm", {**confirm, "code": "guess"})[0] == 400
    assert (
        call(api, "POST", "/subscriptions/confirm", {**confirm, "address": "e" * 64, "code": push["code"]})[0]
        == 400
    )
    assert call(api, "POST", "/subscriptions/confirm", {**confirm, "code": push["code"]})[0] == 200
    assert store.get(sid).status == "active"  # type: ignore[union-attr]


def test_the_push_confirmation_is_a_silent_push_to_that_device(plan: Plan) -> None:
    sent: list[dict[str, Any]] = []

    class Pinpoint:
        def send_messages(self, **request: Any) -> dict[str, Any]:
            sent.append(request)
            (token,) = request["MessageRequest"]["Addresses"]
            return {"MessageResponse": {"Result": {token: {"DeliveryStatus": "SUCCESSFUL"}}}}

    ConfirmationMessages(plan=plan, push=Pinpoint(), push_application_id="app-1").confirm_push(
        to="f" * 64, platform="GCM", code="c0de"
    )
    (request,) = sent
    gcm = request["MessageRequest"]["MessageConfiguration"]["GCMMessage"]
    assert request["ApplicationId"] == "app-1" and gcm["SilentPush"] is True
    assert gcm["Data"] == {"type": "outage-comms.subscription", "code": "c0de"}
    assert request["MessageRequest"]["Addresses"] == {"f" * 64: {"ChannelType": "GCM"}}


@pytest.mark.parametrize(
    ("method", "path", "body", "query"),
    [
        ("POST", "/subscriptions/confirm", {"token": "tökén.ünïcode"}, None),
        ("POST", "/subscriptions/confirm", None, {"token": "été.😀"}),
        ("GET", "/subscriptions/confirm", None, {"token": 'été.😀"><script>'}),
        ("POST", "/unsubscribe", "List-Unsubscribe=One-Click", {"token": "ä.ö"}),
        ("GET", "/unsubscribe", None, {"token": "ä.ö"}),
        (
            "POST",
            "/subscriptions",
            {"channel": "email", "address": "a@example.com", "locale": "en", "components": 5},
            None,
        ),
        ("PUT", "/subscriptions/preferences", {"token": "a.b", "components": 5, "locale": "en"}, None),
        ("POST", "/subscriptions", "[" * 5000 + "]" * 5000, None),
        ("POST", "/subscriptions", '{"a":' * 3000 + "1" + "}" * 3000, None),
        ("POST", "/subscriptions/confirm", {"address": {"nested": [1]}, "code": 5}, None),
        ("POST", "/subscriptions", "not json", None),
    ],
)
def test_bad_input_that_crashed_now_gets_a_4xx_with_a_reason(
    api: Any, method: str, path: str, body: Any, query: dict[str, str] | None
) -> None:
    status, answer = call(
        api, method, path, body, query=query, form=path == "/unsubscribe" and body is not None
    )
    assert 400 <= status < 500 or (method == "GET" and status == 200), (status, answer)
    if status >= 400:
        assert ("message" in answer) if isinstance(answer, dict) else ("does not work" in answer)
    if method == "GET":
        assert "<script>" not in answer
