"""Feedback links: compact, signed per update x channel x locale, refused when forged, tampered or expired."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from outage_comms.feedback.links import (
    MAC_BYTES,
    ExpiredLinkError,
    FeedbackLinker,
    FeedbackLinkError,
    ForgedLinkError,
    LinkClaims,
    LinkSigner,
    MalformedLinkError,
)
from outage_comms.vocabulary import Channel, Scenario

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
OPENED = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)  # the incident id's minute
SIGNER = LinkSigner(b"a test secret of enough length for hmac")


def claims(**changes: object) -> LinkClaims:
    values: dict[str, object] = {
        "incident_id": "inc-20261127-1405-3fa2c1",
        "update_id": "002-identified",
        "channel": Channel.SMS,
        "locale": "pt-BR",
        "scenario": Scenario.IDENTIFIED,
        "expires_at": int((OPENED + timedelta(days=30)).timestamp()),  # whole hours after opening
    }
    values.update(changes)
    return LinkClaims(**values)  # type: ignore[arg-type]


def _raw(token: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_a_signed_link_verifies_to_exactly_what_was_signed() -> None:
    for channel in (Channel.EMAIL, Channel.SMS, Channel.BLUESKY, Channel.STATUS_PAGE):
        for locale in ("en", "pt-BR"):
            original = claims(channel=channel, locale=locale)
            assert SIGNER.verify(SIGNER.sign(original), now=NOW) == original


def test_tokens_are_short_and_url_safe() -> None:
    for locale in ("en", "pt-BR"):
        token = SIGNER.sign(claims(locale=locale))
        assert len(token) == 28  # was 42-46 with layout version 1
        assert all(ch.isalnum() or ch in "-_" for ch in token)


def test_a_locale_without_a_code_is_spelled_out_and_signed() -> None:
    original = claims(locale="nb-NO")
    token = SIGNER.sign(original)
    assert 28 < len(token) <= 36
    assert SIGNER.verify(token, now=NOW) == original
    with pytest.raises(ForgedLinkError):
        SIGNER.verify(_swap_payload(token, SIGNER.sign(claims(locale="sv-SE")), 13, 18), now=NOW)


def test_the_expiry_is_rounded_down_to_a_whole_hour_after_the_incident_opened() -> None:
    asked = OPENED + timedelta(days=30, minutes=59)
    verified = SIGNER.verify(SIGNER.sign(claims(expires_at=int(asked.timestamp()))), now=NOW)
    assert verified.expires_at == int((OPENED + timedelta(days=30)).timestamp())  # early, never late


def test_a_locale_cannot_be_swapped_for_another() -> None:
    english = SIGNER.sign(claims(locale="en"))
    portuguese = SIGNER.sign(claims(locale="pt-BR"))
    with pytest.raises(ForgedLinkError):
        SIGNER.verify(_swap_payload(english, portuguese, 1, 2), now=NOW)


def test_a_token_signed_with_another_key_is_refused_as_forged() -> None:
    forged = LinkSigner(b"somebody else's secret, also long").sign(claims())
    with pytest.raises(ForgedLinkError):
        SIGNER.verify(forged, now=NOW)


def test_a_made_up_token_of_the_right_shape_is_refused_as_forged() -> None:
    genuine = _raw(SIGNER.sign(claims()))
    made_up = genuine[:-MAC_BYTES] + bytes(MAC_BYTES)
    with pytest.raises(ForgedLinkError):
        SIGNER.verify(_token(made_up), now=NOW)


def test_changing_any_byte_of_a_token_is_refused() -> None:
    genuine = _raw(SIGNER.sign(claims()))
    for position in range(len(genuine)):
        tampered = bytearray(genuine)
        tampered[position] ^= 0x01
        with pytest.raises(FeedbackLinkError):
            SIGNER.verify(_token(tampered), now=NOW)


def _swap_payload(token: str, other: str, start: int, end: int) -> str:
    """``token`` with bytes [start, end) of its payload taken from ``other`` (its MAC kept)."""
    raw, donor = _raw(token), _raw(other)
    raw[start:end] = donor[start:end]
    return _token(raw)


def test_a_link_for_one_update_cannot_be_turned_into_a_link_for_another() -> None:
    first = SIGNER.sign(claims(update_id="002-identified"))
    second = SIGNER.sign(claims(update_id="003-identified"))
    cross = _swap_payload(first, second, 2, 4)  # the update number
    assert cross != first
    with pytest.raises(ForgedLinkError):
        SIGNER.verify(cross, now=NOW)


def test_a_link_for_one_channel_cannot_be_turned_into_a_link_for_another() -> None:
    sms = SIGNER.sign(claims(channel=Channel.SMS))
    email = SIGNER.sign(claims(channel=Channel.EMAIL))
    with pytest.raises(ForgedLinkError):
        SIGNER.verify(_swap_payload(sms, email, 0, 1), now=NOW)  # version | channel


def test_a_link_for_one_incident_cannot_be_turned_into_a_link_for_another() -> None:
    mine = SIGNER.sign(claims(incident_id="inc-20261127-1405-3fa2c1"))
    theirs = SIGNER.sign(claims(incident_id="inc-20261128-0900-0000ff"))
    with pytest.raises(ForgedLinkError):
        SIGNER.verify(_swap_payload(mine, theirs, 4, 10), now=NOW)  # opened minute, suffix


def test_an_expired_link_is_refused_and_says_so() -> None:
    token = SIGNER.sign(claims(expires_at=int((NOW - timedelta(seconds=1)).timestamp())))
    with pytest.raises(ExpiredLinkError) as raised:
        SIGNER.verify(token, now=NOW)
    assert raised.value.reason == "expired"


def test_extending_the_expiry_breaks_the_signature() -> None:
    old = SIGNER.sign(claims(expires_at=int((NOW - timedelta(days=1)).timestamp())))
    fresh = SIGNER.sign(claims(expires_at=int((NOW + timedelta(days=1)).timestamp())))
    with pytest.raises(ForgedLinkError):
        SIGNER.verify(_swap_payload(old, fresh, 10, 12), now=NOW)  # expiry hours


@pytest.mark.parametrize("token", ["", "abc", "not a token!", "A" * 200, "AQ"])
def test_garbage_is_refused_as_malformed(token: str) -> None:
    with pytest.raises(MalformedLinkError):
        SIGNER.verify(token, now=NOW)


def test_a_token_cut_short_by_a_mail_client_is_refused() -> None:
    token = SIGNER.sign(claims())
    for length in range(1, len(token)):
        with pytest.raises(FeedbackLinkError):
            SIGNER.verify(token[:length], now=NOW)


@pytest.mark.parametrize(
    "change",
    [
        {"incident_id": "INC-0000"},
        {"update_id": "update-7"},
        {"update_id": "002-resolved"},  # the update id names another scenario
        {"locale": "pt BR<script>"},
        {"incident_id": "inc-20241231-2359-3fa2c1"},  # before the token epoch
    ],
)
def test_ids_of_another_shape_are_not_signed(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SIGNER.sign(claims(**change))


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        LinkSigner(b"short")


def test_the_linker_makes_a_yes_and_a_no_url_sharing_one_token_that_expires_with_the_plan() -> None:
    linker = FeedbackLinker(
        signer=SIGNER, base_url="https://feedback.example/v1/", lifetime=timedelta(days=3)
    )
    urls = linker.urls(
        incident_id="inc-20261127-1405-3fa2c1",
        update_id="001-investigating",
        channel=Channel.EMAIL,
        locale="en",
        scenario=Scenario.INVESTIGATING,
        now=NOW,
    )
    assert urls.yes.startswith("https://feedback.example/v1/f/") and urls.yes.endswith("/y")
    assert urls.no == urls.yes[:-1] + "n"
    assert urls.page == urls.yes[:-2]  # the compact form's answer page: <base>/f/<token>
    token = urls.yes.split("/")[-2]
    assert SIGNER.verify(token, now=NOW + timedelta(days=2, hours=23)).channel is Channel.EMAIL
    with pytest.raises(ExpiredLinkError):
        SIGNER.verify(token, now=NOW + timedelta(days=3, seconds=1))
