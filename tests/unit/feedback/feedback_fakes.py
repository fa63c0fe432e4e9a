"""Fakes and link helpers for the feedback unit tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from outage_comms.feedback.links import FeedbackLinker, LinkClaims, LinkSigner
from outage_comms.feedback.store import MAX_COMMENT_CHARS, AlreadyCountedError, NoAnswerYetError
from outage_comms.vocabulary import Channel, Scenario

SECRET = b"unit-test feedback secret, 64 characters would be the real length"
NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
INCIDENT = "inc-20261127-1405-3fa2c1"


class FakeFeedbackStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clicks: dict[tuple[str, str, str, str, str], dict[str, str]] = {}
        self.votes: list[tuple[LinkClaims, str]] = []
        self.comments: list[tuple[LinkClaims, str]] = []

    @staticmethod
    def _key(claims: LinkClaims, client: str) -> tuple[str, str, str, str, str]:
        return (claims.incident_id, claims.update_id, claims.channel.value, claims.locale, client)

    def record_vote(self, claims: LinkClaims, vote: str, client: str, now: datetime) -> None:
        with self._lock:
            if self._key(claims, client) in self.clicks:
                raise AlreadyCountedError("already")
            self.clicks[self._key(claims, client)] = {"vote": vote}
            self.votes.append((claims, vote))

    def add_comment(self, claims: LinkClaims, client: str, text: str, now: datetime) -> object:
        assert 0 < len(text) <= MAX_COMMENT_CHARS
        with self._lock:
            click = self.clicks.get(self._key(claims, client))
            if click is None:
                raise NoAnswerYetError("no answer")
            if "commented_at" in click:
                raise AlreadyCountedError("already")
            click["commented_at"] = now.isoformat()
            self.comments.append((claims, text))
        return None

    def has_answered(self, claims: LinkClaims, client: str) -> dict[str, str] | None:
        return self.clicks.get(self._key(claims, client))


def link_token(
    *,
    channel: Channel = Channel.EMAIL,
    locale: str = "en",
    update_id: str = "002-identified",
    scenario: Scenario = Scenario.IDENTIFIED,
    secret: bytes = SECRET,
    now: datetime = NOW,
) -> str:
    linker = FeedbackLinker(
        signer=LinkSigner(secret), base_url="https://fb.example/v1", lifetime=timedelta(days=30)
    )
    url = linker.urls(
        incident_id=INCIDENT, update_id=update_id, channel=channel, locale=locale, scenario=scenario, now=now
    ).yes
    return url.split("/")[-2]
