"""Attacks on the public feedback and subscribe APIs, through the real handlers on embedded AWS (moto).

Areas (rows of the README's security table):

- **feedback**: vote stuffing. User-Agent rotation, IPv6 /64 rotation, replays of one
  per-recipient link from many networks, forged and tampered tokens. Every vote counted beyond
  one per voter is "accepted wrongly".
- **subscribe**: IPv6 rotation, plus-addressing and Gmail dots, header injection, enumeration by
  the answer's body and by its time, push subscriptions without the code the device received.
- **public endpoints**: Hypothesis fuzz of every route of both APIs; a 5xx or an unhandled
  exception is a crash, a 4xx without a reason is "accepted wrongly".
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import statistics
import string
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.channels_fixtures import create_limits_table, create_subscribers_table
from tests.security.figures import scaled

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lambdas"))  # handlers.* as in the Lambda asset

from outage_comms.aws_clients import reset_clients  # noqa: E402
from outage_comms.channels import settings as channel_settings_module  # noqa: E402
from outage_comms.channels import subscribe_runtime  # noqa: E402
from outage_comms.feedback import runtime as feedback_runtime  # noqa: E402
from outage_comms.feedback.links import LinkClaims, LinkSigner  # noqa: E402
from outage_comms.feedback.store import DynamoFeedbackStore  # noqa: E402
from outage_comms.subscribers.store import SubscriberStore, subscriber_id  # noqa: E402
from outage_comms.vocabulary import Channel, Scenario  # noqa: E402

INCIDENT = "inc-20261127-1405-3fa2c1"
UPDATE = "002-identified"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
PLAN = str(ROOT / "plans" / "example.yaml")


class Context(LambdaContext):
    function_name = "public-api"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:public-api"
    aws_request_id = "req-1"


def api_event(
    method: str,
    path: str,
    *,
    body: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    ip: str = "198.51.100.7",
    base64: bool = False,
) -> dict[str, Any]:
    headers = headers if headers is not None else {"User-Agent": BROWSER, "Content-Type": "application/json"}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": None,
        "stageVariables": None,
        "isBase64Encoded": base64,
        "body": body,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "stage": "v1",
            "requestId": "r-1",
            "identity": {"sourceIp": ip, "userAgent": headers.get("User-Agent", "")},
        },
    }


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Both APIs' tables and secrets on moto, and the environment their runtimes read."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "OutageCommsSecurity",
        "POWERTOOLS_SERVICE_NAME": "public-apis",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    }.items():
        monkeypatch.setenv(name, value)
    uid = uuid.uuid4().hex[:8]
    with mock_aws():
        reset_clients()
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        for table in (f"feedback-{uid}", f"workflow-{uid}"):
            dynamodb.create_table(
                TableName=table,
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
        dynamodb.put_item(
            TableName=f"workflow-{uid}",
            Item={"pk": {"S": f"INCIDENT#{INCIDENT}"}, "sk": {"S": f"UPDATE#{UPDATE}"}},
        )
        create_subscribers_table(dynamodb, f"subscribers-{uid}")
        create_limits_table(dynamodb, f"limits-{uid}")
        ses = boto3.client("sesv2", region_name="us-east-1")
        ses.create_email_identity(EmailIdentity="nimbusnotes.example")
        environment = {
            "PLAN_PATH": PLAN,
            "FEEDBACK_TABLE": f"feedback-{uid}",
            "WORKFLOW_TABLE": f"workflow-{uid}",
            "FEEDBACK_BASE_URL": "https://fb.example/v1/",
            "FEEDBACK_SECRET_ARN": secrets.create_secret(Name=f"fb-{uid}", SecretString="f" * 64)["ARN"],
            "SUBSCRIBERS_TABLE": f"subscribers-{uid}",
            "SUBSCRIBE_LIMITS_TABLE": f"limits-{uid}",
            "SUBSCRIBER_TOKEN_SECRET_NAME": secrets.create_secret(Name=f"sub-{uid}", SecretString="s" * 48)[
                "ARN"
            ],
            "SUBSCRIBE_API_URL": "https://sub.example/v1",
            "PUSH_APPLICATION_ID": "push-app-1",
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        _clear_runtimes()
        try:
            yield environment
        finally:
            _clear_runtimes()
            reset_clients()


def _clear_runtimes() -> None:
    channel_settings_module.channel_settings.cache_clear()
    subscribe_runtime.subscription_runtime.cache_clear()
    for cached in (
        feedback_runtime.feedback_service,
        feedback_runtime.feedback_linker,
        feedback_runtime.signing_secret,
    ):
        cached.cache_clear()


# -- feedback --------------------------------------------------------------------------------------


def feedback_call(path: str, *, ip: str = "198.51.100.7", agent: str = BROWSER, method: str = "GET") -> int:
    import handlers.feedback_api as feedback_api

    event = api_event(method, path, ip=ip, headers={"User-Agent": agent, "Accept": "text/html"})
    return int(feedback_api.handler(event, Context())["statusCode"])


def shared_token(channel: Channel = Channel.STATUS_PAGE) -> str:
    linker = feedback_runtime.feedback_linker()
    assert linker is not None
    url = linker.urls(
        incident_id=INCIDENT,
        update_id=UPDATE,
        channel=channel,
        locale="en",
        scenario=Scenario.IDENTIFIED,
        now=datetime.now(UTC),
    ).page
    return url.rsplit("/", 1)[-1]


def votes_counted() -> int:
    counts = DynamoFeedbackStore.named(os.environ["FEEDBACK_TABLE"]).counts(INCIDENT)
    return int(counts["yes"]) + int(counts["no"])


def test_vote_stuffing_counts_nothing_extra(embedded: dict[str, str], figures: Any) -> None:
    f = figures("feedback")
    n = scaled(ci=40, full=400)
    signer = LinkSigner(b"f" * 64)
    attacks: list[tuple[str, list[tuple[str, str, str]], int]] = []
    # User-Agent rotation from one address, on a shared (status page) link: one vote.
    public = shared_token(Channel.STATUS_PAGE)
    attacks.append(("ua rotation", [(public, "198.51.100.7", f"{BROWSER} r{i}") for i in range(n)], 1))
    # Addresses of one IPv6 /64, on a social link: one vote.
    social = shared_token(Channel.MASTODON)
    attacks.append(
        ("/64 rotation", [(social, f"2001:db8:1:2:{i:x}::{i + 1:x}", BROWSER) for i in range(n)], 1)
    )
    # One email recipient's link replayed from n networks and n browsers: one vote.
    mine = signer.for_recipient(shared_token(Channel.EMAIL), "email-ana")
    attacks.append(
        ("recipient replay", [(mine, f"203.0.{i // 250}.{i % 250}", f"UA {i}") for i in range(n)], 1)
    )
    # Forged and tampered tokens: no vote at all.
    rng = random.Random(11)
    alphabet = string.ascii_letters + string.digits + "-_"
    forged = ["".join(rng.choice(alphabet) for _ in range(rng.choice((28, 36)))) for _ in range(n)]
    other = LinkSigner(b"x" * 64)  # a key that is not the deployment's
    claims = LinkClaims(INCIDENT, UPDATE, Channel.EMAIL, "en", Scenario.IDENTIFIED, int(time.time()) + 86400)
    forged += [other.sign(claims), other.for_recipient(other.sign(claims), "email-eve")]
    forged += [_flip(mine, i) for i in range(min(n, 36))]
    attacks.append(("forged", [(token, "192.0.2.1", BROWSER) for token in forged], 0))
    before = 0
    for name, requests, allowed in attacks:
        for token, ip, agent in requests:
            f.tried += 1
            status = feedback_call(f"/f/{token}/y", ip=ip, agent=agent)
            if status >= 500:
                f.crash(f"{name}: {status}")
        extra = votes_counted() - before - allowed
        for _ in range(max(0, extra)):
            f.wrong(f"{name}: {extra} extra votes")
        before = votes_counted()
    f.extra["votes_counted"] = before
    assert before == 3 and f.clean, f.failure_message()


def _flip(token: str, index: int) -> str:
    replacement = "A" if token[index] != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


# -- subscribe -------------------------------------------------------------------------------------


@dataclass
class Sent:
    emails: list[dict[str, Any]]
    texts: list[dict[str, Any]]
    pushes: list[dict[str, Any]]


class FakeSms:
    """End User Messaging SMS is not in moto: requests are validated against botocore's model."""

    def __init__(self, sent: list[dict[str, Any]]) -> None:
        self.sent = sent
        self._model = boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1").meta.service_model

    def send_text_message(self, **request: Any) -> dict[str, str]:
        from botocore.validate import validate_parameters

        validate_parameters(request, self._model.operation_model("SendTextMessage").input_shape)
        self.sent.append(request)
        return {"MessageId": uuid.uuid4().hex}


class FakePinpoint:
    def __init__(self, sent: list[dict[str, Any]]) -> None:
        self.sent = sent
        self._model = boto3.client("pinpoint", region_name="us-east-1").meta.service_model

    def send_messages(self, **request: Any) -> dict[str, Any]:
        from botocore.validate import validate_parameters

        validate_parameters(request, self._model.operation_model("SendMessages").input_shape)
        self.sent.append(request)
        addresses = request["MessageRequest"]["Addresses"]
        return {"MessageResponse": {"Result": {a: {"DeliveryStatus": "SUCCESSFUL"} for a in addresses}}}


@pytest.fixture
def subscribe_api(embedded: dict[str, str]) -> Iterator[tuple[Any, Sent]]:
    """The real handler over the real runtime on moto (SES v2 in moto; SMS and push faked at the adapter)."""
    import handlers.subscribe_api as module

    service = subscribe_runtime.subscription_runtime().service
    sent = Sent(emails=[], texts=[], pushes=[])
    sender = service.sender
    ses = sender._ses  # type: ignore[attr-defined]
    ses.meta.events.register(
        "provide-client-params.sesv2.SendEmail", lambda params, **_: sent.emails.append(params)
    )
    sender._sms = FakeSms(sent.texts)  # type: ignore[attr-defined]
    sender._push = FakePinpoint(sent.pushes)  # type: ignore[attr-defined]
    service.min_answer_seconds = 0  # the timing test sets its own floor
    yield module, sent


def subscribe_call(module: Any, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    response = module.handler(api_event(method, path, body=text, **kwargs), Context())
    content = response["body"]
    with contextlib.suppress(ValueError):
        content = json.loads(content)
    return int(response["statusCode"]), content


def test_subscribe_abuse_is_refused(subscribe_api: tuple[Any, Sent], figures: Any) -> None:
    module, sent = subscribe_api
    f = figures("subscribe")
    n = scaled(ci=30, full=300)
    # IPv6 rotation inside one /64: 10 an hour, whatever the address.
    accepted = 0
    for i in range(n):
        f.tried += 1
        body = {"channel": "email", "address": f"rot{i}@example.com", "locale": "en"}
        status, _ = subscribe_call(
            module, "POST", "/subscriptions", body, ip=f"2001:db8:9:9:{i:x}::{i + 1:x}"
        )
        accepted += status == 202
    for _ in range(max(0, accepted - 10)):
        f.wrong("ipv6 rotation: accepted past the /64's limit")
    # Plus-addressing and Gmail dots: 3 confirmations a day per mailbox.
    before = len(sent.emails)
    for i in range(n):
        f.tried += 1
        address = f"vi.c.tim+{i}@gmail.com" if i % 2 else f"victim+{i}@googlemail.com"
        subscribe_call(
            module,
            "POST",
            "/subscriptions",
            {"channel": "email", "address": address, "locale": "en"},
            ip=f"198.18.{i}.1",
        )
    for _ in range(max(0, len(sent.emails) - before - 3)):
        f.wrong("plus-addressing: a confirmation past the mailbox limit")
    # Header injection: never reaches SES, always a 400 with a reason.
    before = len(sent.emails)
    for i, address in enumerate(INJECTIONS):
        f.tried += 1
        status, body = subscribe_call(
            module,
            "POST",
            "/subscriptions",
            {"channel": "email", "address": address, "locale": "en"},
            ip=f"192.0.2.{i % 200}",
        )
        if status != 400 or "email address" not in str(body):
            f.wrong(f"injection {address!r}: {status}")
    for _ in range(len(sent.emails) - before):
        f.wrong("injection reached SES")
    assert f.clean, f.failure_message()


INJECTIONS = [
    "a@example.com,b@example.com",
    "a@example.com;b@example.com",
    "a@example.com\x00",
    "a@example.com%0d%0aBcc:all@example.com",
    "a@example.com%0D%0ABcc:all@example.com",
    "a@example.com%0aX-Injected:1",
    "a@example.com\r\nBcc:all@example.com",
    "a@example.com\nBcc:all@example.com",
    "Ana <a@example.com>",
    "<a@example.com>",
    '"a,b"@example.com',
    '"a\\"b"@example.com',
    "a@[127.0.0.1]",
    "a@example.com\x1b[31m",
    "a\u202e@example.com",
    "a@exa\u200bmple.com",
    "a@example.com%00",
    "a@example.com\t",
    "ánä@example.com",
]


def test_no_enumeration_by_answer_or_time(subscribe_api: tuple[Any, Sent], figures: Any) -> None:
    module, sent = subscribe_api
    f = figures("subscribe")
    service = subscribe_runtime.subscription_runtime().service
    # A pending and an active subscriber.
    subscribe_call(
        module, "POST", "/subscriptions", {"channel": "email", "address": "known@example.com", "locale": "en"}
    )
    token = sent.emails[-1]["Content"]["Simple"]["Body"]["Text"]["Data"].split("token=")[1].split()[0]
    assert subscribe_call(module, "POST", "/subscriptions/confirm", {"token": token})[0] == 200
    subscribe_call(
        module,
        "POST",
        "/subscriptions",
        {"channel": "email", "address": "pending@example.com", "locale": "en"},
    )
    # SES's latency, as in a real account (moto answers in microseconds).
    ses = service.sender._ses  # type: ignore[attr-defined]
    ses.meta.events.register("before-send.sesv2.SendEmail", lambda **_: time.sleep(0.03))
    unpadded_rounds, padded_rounds = scaled(ci=8, full=40), scaled(ci=12, full=60)
    unpadded, answers = _time_answers(module, service, floor=0.0, rounds=unpadded_rounds, tag=0)
    padded, more = _time_answers(module, service, floor=TIMING_FLOOR, rounds=padded_rounds, tag=1)
    f.tried += 3 * (unpadded_rounds + padded_rounds)  # known, pending and new in every round
    if len({*answers["known"], *answers["pending"], *answers["new"], *more["known"], *more["new"]}) != 1:
        f.wrong(f"answers differ: {answers} {more}")
    leak = max(abs(padded["known"]), abs(padded["pending"]))
    f.extra.update(
        {
            "timing_floor_ms": TIMING_FLOOR * 1000,
            "unpadded_ms": {k: round(v, 1) for k, v in unpadded.items()},
            "padded_ms": {k: round(v, 1) for k, v in padded.items()},
        }
    )
    if leak > TIMING_TOLERANCE_MS:  # SES's 30 ms (and moto's work) must not show through the floor
        f.wrong(f"timing: known/pending answer {padded} ms slower than a new address")
    # Push without proof: never active until the code the device received comes back.
    for i in range(scaled(ci=10, full=200)):
        f.tried += 1
        device = f"{i:04x}" * 16
        subscribe_call(
            module,
            "POST",
            "/subscriptions",
            {"channel": "push", "address": device, "locale": "en", "platform": "GCM"},
            ip=f"192.0.2.{i}",
        )
        subscribe_call(
            module, "POST", "/subscriptions/confirm", {"channel": "push", "address": device, "code": "123456"}
        )
        subscriber = SubscriberStore.named(embedded_table()).get(subscriber_id("push", device))
        if subscriber is not None and subscriber.status == "active":
            f.wrong(f"push device {device[:8]}… active without its code")
    assert f.clean, f.failure_message()


#: The floor the timing test pads to (the service default is 0.6 s; moto on a shared CI machine
#: needs ~0.25 s for the slowest path) and the median difference that counts as a leak: without the
#: floor a known address answers 60-90 ms sooner here; a loaded machine's noise stays under ~15 ms.
TIMING_FLOOR = 0.4
TIMING_TOLERANCE_MS = 25.0


def _time_answers(
    module: Any, service: Any, *, floor: float, rounds: int, tag: int
) -> tuple[dict[str, float], dict[str, set[str]]]:
    """How much slower than a new address each kind answers (median of per-round differences, ms).

    The three kinds are asked back to back in each round, so a busy machine slows all three alike
    and the paired difference keeps only what the address itself changes.
    """
    service.min_answer_seconds = floor
    times: dict[str, list[float]] = {"known": [], "pending": [], "new": []}
    answers: dict[str, set[str]] = {name: set() for name in times}
    for i in range(rounds):
        for name in times:
            address = {"known": "known@example.com", "pending": "pending@example.com"}.get(
                name, f"new{tag}x{i}@example.com"
            )
            started = time.perf_counter()
            status, body = subscribe_call(
                module,
                "POST",
                "/subscriptions",
                {"channel": "email", "address": address, "locale": "en"},
                ip=f"2001:db8:{tag:x}{i:02x}:{len(name):x}::1",
            )
            times[name].append(time.perf_counter() - started)
            answers[name].add(json.dumps([status, body], sort_keys=True))
    differences = {
        name: statistics.median(a - b for a, b in zip(times[name], times["new"], strict=True)) * 1000
        for name in ("known", "pending")
    }
    differences["new_median"] = statistics.median(times["new"]) * 1000
    return differences, answers


def embedded_table() -> str:
    return os.environ["SUBSCRIBERS_TABLE"]


# -- public endpoints ------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=60)
_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_subscribe_fields = st.fixed_dictionaries(
    {},
    optional={
        "channel": st.sampled_from(["email", "sms", "push", "", "fax"]) | _json_value,
        "address": st.sampled_from(["a@example.com", "+14155550100", "f" * 64, "a@b,c@d"]) | _json_value,
        "locale": st.sampled_from(["en", "pt-BR", "xx"]) | _json_value,
        "components": st.sampled_from([["sync"], [], 5, "sync", [5]]) | _json_value,
        "platform": st.sampled_from(["APNS", "GCM"]) | _json_value,
        "token": _text | _json_value,
        "code": _text | _json_value,
    },
)
_bodies = st.one_of(
    st.none(),
    _text,
    _subscribe_fields.map(json.dumps),
    _json_value.map(json.dumps),
    st.integers(100, 3000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(100, 3000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    st.dictionaries(_text, _text, max_size=4).map(urlencode),
)
_headers = st.sampled_from(
    [
        {"User-Agent": BROWSER, "Content-Type": "application/json"},
        {"User-Agent": BROWSER, "Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "text/plain"},
        {},
        {"User-Agent": "curl/8", "Sec-Purpose": "prefetch"},
    ]
)
_queries = st.one_of(
    st.none(), st.dictionaries(st.sampled_from(["token", "x", "components"]), _text, max_size=2)
)
_ips = st.sampled_from(["198.51.100.7", "2001:db8::1", "unknown", "", "::ffff:10.0.0.1"])


def _check(f: Any, response: dict[str, Any], what: str) -> None:
    f.tried += 1
    status = int(response["statusCode"])
    if status >= 500:
        f.crash(f"{status}: {what}")
    elif status >= 400 and len(str(response.get("body") or "")) < 10:
        f.wrong(f"{status} without a reason: {what}")


def test_every_public_route_answers_2xx_or_4xx_with_a_reason(
    subscribe_api: tuple[Any, Sent], figures: Any
) -> None:
    import handlers.feedback_api as feedback_api

    module, _ = subscribe_api
    f = figures("public endpoints")
    token = shared_token(Channel.STATUS_PAGE)
    subscribe_routes = [
        ("POST", "/subscriptions"),
        ("GET", "/subscriptions/confirm"),
        ("POST", "/subscriptions/confirm"),
        ("PUT", "/subscriptions/preferences"),
        ("GET", "/unsubscribe"),
        ("POST", "/unsubscribe"),
        ("DELETE", "/subscriptions"),
        ("GET", "/nope"),
    ]
    feedback_paths = st.one_of(
        st.sampled_from([f"/f/{token}", f"/f/{token}/y", f"/f/{token}/no", f"/f/{token}/comment"]),
        _text.map(lambda t: f"/f/{t}"),
        st.tuples(_text, st.sampled_from(["y", "n", "comment", "maybe", ""])).map(
            lambda p: f"/f/{p[0]}/{p[1]}"
        ),
        _text.map(lambda t: "/" + t),
    )

    @settings(
        max_examples=scaled(ci=150, full=2000),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        route=st.sampled_from(subscribe_routes),
        body=_bodies,
        query=_queries,
        headers=_headers,
        ip=_ips,
        base64=st.booleans(),
    )
    def fuzz_subscribe(
        route: tuple[str, str],
        body: str | None,
        query: dict[str, str] | None,
        headers: dict[str, str],
        ip: str,
        base64: bool,
    ) -> None:
        method, path = route
        event = api_event(
            method, path, body=body, query=query, headers=headers, ip=ip, base64=base64 and body is not None
        )
        try:
            _check(f, module.handler(event, Context()), f"{method} {path} {body!r:.120} {query!r:.60}")
        except Exception as error:  # an unhandled exception is what API Gateway turns into a 502
            f.tried += 1
            f.crash(f"{type(error).__name__}: {method} {path} {body!r:.120}")

    @settings(
        max_examples=scaled(ci=150, full=2000),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        method=st.sampled_from(["GET", "POST", "PUT", "HEAD", "DELETE"]),
        path=feedback_paths,
        body=_bodies,
        headers=_headers,
        ip=_ips,
        base64=st.booleans(),
    )
    def fuzz_feedback(
        method: str, path: str, body: str | None, headers: dict[str, str], ip: str, base64: bool
    ) -> None:
        event = api_event(method, path, body=body, headers=headers, ip=ip, base64=base64 and body is not None)
        try:
            _check(f, feedback_api.handler(event, Context()), f"{method} {path!r:.80} {body!r:.80}")
        except Exception as error:
            f.tried += 1
            f.crash(f"{type(error).__name__}: {method} {path!r:.80} {body!r:.80}")

    fuzz_subscribe()
    fuzz_feedback()
    assert f.clean, f.failure_message()
