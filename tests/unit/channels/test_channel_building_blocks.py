"""Pure pieces of the channels: token bucket, personalisation, signed tokens, SMS sizing, URL policy."""

from __future__ import annotations

import pytest

from outage_comms.channels.base import ChannelPermanentError, ChannelRetryableError
from outage_comms.channels.batch import RecipientSkipped, send_each
from outage_comms.channels.bluesky import link_facets
from outage_comms.channels.http import check_url
from outage_comms.channels.personalise import UNSUBSCRIBE, compile_slots
from outage_comms.channels.rate import TokenBucket
from outage_comms.channels.sms import fit_segments
from outage_comms.channels.teams import teams_markdown
from outage_comms.channels.webhook import sign, verify_signature
from outage_comms.guard import sms_size
from outage_comms.subscribers.phone import InvalidPhoneNumberError, e164
from outage_comms.subscribers.tokens import InvalidTokenError, TokenSigner

pytestmark = pytest.mark.unit


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_token_bucket_holds_the_average_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(10, clock=time.clock, sleep=time.sleep)
    for _ in range(110):
        bucket.acquire()
    # 10 tokens of burst, then 100 more at 10/s: 10 seconds, not less.
    assert time.now == pytest.approx(10.0)


def test_token_bucket_charges_multi_part_sms_by_parts() -> None:
    time = FakeTime()
    bucket = TokenBucket(3, clock=time.clock, sleep=time.sleep)
    for _ in range(4):
        bucket.acquire(6)  # a 6-part message on a 3 MPS number
    # 24 parts at 3 MPS with 3 of burst: at least (24 - 3) / 3 = 7 seconds.
    assert time.now >= 7.0 - 1e-9


def test_personalisation_fills_every_slot_and_nothing_else() -> None:
    text = (
        "Fixed. Unsubscribe: https://s.example/unsubscribe\n-- \nUnsubscribe: https://s.example/unsubscribe"
    )
    template = compile_slots(text, {UNSUBSCRIBE: "https://s.example/unsubscribe"})
    filled = template.fill(("U?token=1",))
    assert filled == "Fixed. Unsubscribe: U?token=1\n-- \nUnsubscribe: U?token=1"


def test_tokens_refuse_forgery_other_purposes_and_expiry() -> None:
    signer = TokenSigner(b"s" * 32)
    token = signer.sign("confirm", "email-abc", ttl_seconds=60, now=1000)
    assert signer.verify(token, "confirm", now=1059).subscriber_id == "email-abc"
    with pytest.raises(InvalidTokenError, match="expired"):
        signer.verify(token, "confirm", now=1061)
    with pytest.raises(InvalidTokenError, match="not 'unsubscribe'"):
        signer.verify(token, "unsubscribe", now=1000)
    with pytest.raises(InvalidTokenError, match="signature"):
        TokenSigner(b"x" * 32).verify(token, "confirm", now=1000)
    payload, mac = token.split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    with pytest.raises(InvalidTokenError):
        signer.verify(f"{tampered}.{mac}", "confirm", now=1000)
    assert signer.verify(signer.sign("unsubscribe", "email-abc"), "unsubscribe", now=10**12)  # never expires


@pytest.mark.parametrize(
    ("raw", "expected"), [("+1 (415) 555-0100", "+14155550100"), ("+55 11 95555-0123", "+5511955550123")]
)
def test_e164_normalises_valid_numbers(raw: str, expected: str) -> None:
    assert e164(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "+1555", "call me", ""])
def test_e164_refuses_what_is_not_a_phone_number(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumberError):
        e164(raw)


def test_fit_segments_keeps_the_link_and_the_part_budget() -> None:
    text = "Nimbus Notes: a sincronização parou para muitos clientes. " * 6 + "https://s.example/i/1"
    assert sms_size(text).segments > 3
    fitted = fit_segments(text, 3)
    assert sms_size(fitted).segments <= 3 and fitted.endswith("… https://s.example/i/1")


def test_send_each_retries_then_records_and_never_drops() -> None:
    calls: dict[str, int] = {}

    def send(recipient: str) -> str:
        calls[recipient] = calls.get(recipient, 0) + 1
        if recipient == "flaky" and calls[recipient] < 2:
            raise ChannelRetryableError("throttled: x")
        if recipient == "bad":
            raise ChannelPermanentError("rejected: bad address")
        if recipient == "stopped":
            raise RecipientSkipped("opted_out")
        if recipient == "down":
            raise ChannelRetryableError("unavailable: x")
        return f"id-{recipient}"

    outcome = send_each(
        ["ok", "flaky", "bad", "stopped", "down"], send, recipient_id=str, sleep=lambda _: None
    )
    assert outcome.sent == ["ok", "flaky"]
    assert [(f["id"], f["retryable"]) for f in outcome.failed] == [("bad", "false"), ("down", "true")]
    assert outcome.skipped == [{"id": "stopped", "reason": "opted_out"}]
    assert calls["down"] == 3 and calls["bad"] == 1


def test_only_https_or_loopback_http_is_allowed() -> None:
    check_url("https://hooks.slack.com/services/x")
    check_url("http://127.0.0.1:8080/x")
    for url in ("http://hooks.slack.com/x", "ftp://x", "file:///etc/passwd", "http://10.0.0.1/x"):
        with pytest.raises(ChannelPermanentError, match="rejected"):
            check_url(url)


def test_bluesky_facets_use_utf8_byte_offsets() -> None:
    text = "Sincronização parada: https://s.example/i/1."
    (facet,) = link_facets(text)
    raw = text.encode("utf-8")
    assert raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]] == b"https://s.example/i/1"


def test_teams_markdown_turns_slack_bold_into_teams_bold_only() -> None:
    assert teams_markdown("*Status:* down, 2 * 3") == "**Status:** down, 2 * 3"


def test_webhook_signature_round_trip_and_replay_window() -> None:
    body = b'{"incident":{}}'
    header = sign(b"key", body, 1_000)
    assert verify_signature(b"key", body, header, now=1_000 + 300)
    assert not verify_signature(b"key", body, header, now=1_000 + 301)
    assert not verify_signature(b"key", body, "t=abc,v1=00", now=1_000)
    assert verify_signature(b"key", body, f"{header},v1=deadbeef", now=1_000)  # rotation: any v1 may match
