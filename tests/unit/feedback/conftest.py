"""Fixtures for the feedback unit tests: the service over an in-memory store."""

from __future__ import annotations

import pytest
from feedback_fakes import INCIDENT, NOW, SECRET, FakeFeedbackStore

from outage_comms.feedback.pages import Site
from outage_comms.feedback.service import FeedbackService


@pytest.fixture
def store() -> FakeFeedbackStore:
    return FakeFeedbackStore()


@pytest.fixture
def known_updates() -> set[tuple[str, str]]:
    return {(INCIDENT, "002-identified"), (INCIDENT, "003-resolved")}


@pytest.fixture
def service(store: FakeFeedbackStore, known_updates: set[tuple[str, str]]) -> FeedbackService:
    return FeedbackService(
        secret=SECRET,
        store=store,
        site=Site(org="Nimbus Notes", status_url="https://status.nimbusnotes.example"),
        update_exists=lambda incident, update: (incident, update) in known_updates,
        now=lambda: NOW,
    )
