"""Subscriber addresses, mailbox keys, the answer floor and the one wrong-code message (no AWS)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from outage_comms.plan import Plan, load_plan
from outage_comms.subscribers.addresses import (
    SubscriptionError,
    mailbox_key,
    valid_email,
    valid_phone,
    valid_push_token,
)
from outage_comms.subscribers.service import WRONG_CODE, SubscribeRequest, SubscriptionService
from outage_comms.subscribers.store import Subscriber
from outage_comms.subscribers.tokens import InvalidTokenError, TokenSigner

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Ana@Example.COM", "ana@example.com"),
        ("  ana.souza+status@example.com ", "ana.souza+status@example.com"),
        ("ana@bücher.example", "ana@xn--bcher-kva.example"),
    ],
)
def test_valid_addresses_are_normalised(given: str, stored: str) -> None:
    assert valid_email(given) == stored


@pytest.mark.parametrize(
    "address",
    [
        "not-an-email",
        "a@b",
        "a@example.com,b@example.com",
        "a@example.com;b@example.com",
        "a@example.com\x00",
        "a@example.com%0d%0aBcc:x@example.com",
        "a@example.com%0A",
        "a@example.com\r\n",
        "Ana <a@example.com>",
        '"a b"@example.com',
        "a@[192.0.2.1]",
        "ánä@example.com",
        "a\u200b@example.com",
        "a" * 250 + "@example.com",
        "",
    ],
)
def test_invalid_or_injecting_addresses_are_refused_with_a_reason(address: str) -> None:
    with pytest.raises(SubscriptionError, match="email address"):
        valid_email(address)


def test_email_validation_never_loads_dns() -> None:
    valid_email("someone@example.com")
    assert "dns.resolver" not in sys.modules  # check_deliverability=False: no DNS in the request path


@pytest.mark.parametrize(
    ("addresses", "same"),
    [
        (["ana@example.com", "ana+1@example.com", "Ana+news+x@Example.com"], True),
        (["a.n.a@gmail.com", "ana+z@googlemail.com", "an.a@gmail.com"], True),
        (["a.na@example.com", "ana@example.com"], False),  # dots matter outside Gmail
        (["ana@example.com", "bob@example.com"], False),
    ],
)
def test_the_mailbox_key_folds_plus_tags_and_gmail_dots(addresses: list[str], same: bool) -> None:
    assert (len({mailbox_key(a) for a in addresses}) == 1) is same


def test_phone_numbers_and_push_tokens() -> None:
    assert valid_phone("+1 (415) 555-0100") == "+14155550100"
    for bad in ("12345", "+1 415\x00", "+" + "1" * 80):
        with pytest.raises(SubscriptionError, match="international form"):
            valid_phone(bad)
    assert valid_push_token("a" * 64, "APNS") == "a" * 64
    for token, platform in (("a" * 64, "WNS"), ("short", "GCM"), ("a" * 30 + "\n", "GCM"), ("ä" * 40, "GCM")):
        with pytest.raises(SubscriptionError, match="APNS or GCM"):
            valid_push_token(token, platform)


# -- the service, over in-memory fakes ----------------------------------------------------------


class Store:
    def __init__(self) -> None:
        self.items: dict[str, Subscriber] = {}

    def get(self, sid: str) -> Subscriber | None:
        return self.items.get(sid)

    def put(self, subscriber: Subscriber) -> None:
        self.items[subscriber.id] = subscriber

    def activate(self, subscriber: Subscriber, *, now: int) -> Subscriber:
        from dataclasses import replace

        self.items[subscriber.id] = replace(subscriber, status="active")
        return self.items[subscriber.id]


class Limiter:
    def allow(self, scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
        return True


@dataclass
class Sender:
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def confirm_email(self, **kwargs: Any) -> None:
        self.sent.append(("email", kwargs))

    def confirm_sms(self, **kwargs: Any) -> None:
        self.sent.append(("sms", kwargs))

    def confirm_push(self, **kwargs: Any) -> None:
        self.sent.append(("push", kwargs))


class VirtualTime:
    """A monotonic clock the service's work advances; ``sleep`` is how much padding it added."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def timer(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(ROOT / "plans" / "example.yaml")


def service_with(plan: Plan, virtual: VirtualTime, sender: Sender, store: Store) -> SubscriptionService:
    return SubscriptionService(
        plan=plan,
        store=store,  # type: ignore[arg-type]
        limiter=Limiter(),  # type: ignore[arg-type]
        signer=TokenSigner(b"k" * 32),
        code_key=b"k" * 32,
        sender=sender,
        confirm_url_base="https://api.example/v1/subscriptions/confirm",
        clock=lambda: 1_800_000_000.0,
        min_answer_seconds=0.6,
        timer=virtual.timer,
        sleep=virtual.sleep,
    )


def test_every_answer_is_padded_to_the_same_floor(plan: Plan) -> None:
    virtual, sender, store = VirtualTime(), Sender(), Store()

    def slow_send(**kwargs: Any) -> None:  # SES takes 0.2 s
        virtual.now += 0.2
        sender.sent.append(("email", kwargs))

    sender.confirm_email = slow_send  # type: ignore[method-assign]
    service = service_with(plan, virtual, sender, store)
    request = SubscribeRequest(channel="email", address="ana@example.com", locale="en")
    service.subscribe(request, source_ip="198.51.100.7")  # new: sends (0.2 s of work)
    store.items[next(iter(store.items))] = Subscriber(
        id=next(iter(store.items)), channel="email", address="ana@example.com", locale="en", status="active"
    )
    service.subscribe(request, source_ip="198.51.100.7")  # known: sends nothing
    assert [round(s, 3) for s in virtual.slept] == [0.4, 0.6]  # both leave at 0.6 s
    assert len(sender.sent) == 1


def test_a_wrong_code_is_one_message_for_every_reason(plan: Plan) -> None:
    virtual, sender, store = VirtualTime(), Sender(), Store()
    service = service_with(plan, virtual, sender, store)
    service.subscribe(SubscribeRequest(channel="sms", address="+14155550101", locale="en"), source_ip="x")
    messages = set()
    for channel, address, code in (
        ("sms", "+14155550100", "123456"),  # unknown number
        ("sms", "+14155550101", "000000"),  # pending, wrong code
        ("sms", "not a number", "1"),
        ("push", "f" * 64, "code"),  # unknown device
        ("fax", "+14155550101", "1"),
    ):
        with pytest.raises(InvalidTokenError) as caught:
            service.confirm_code(channel, address, code)
        messages.add(str(caught.value))
    assert messages == {WRONG_CODE}
    assert all(abs(s - 0.6) < 1e-9 for s in virtual.slept[1:])  # every refusal left at the floor
