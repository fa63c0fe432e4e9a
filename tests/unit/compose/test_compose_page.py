"""The compose page on the incident API's real intake path (moto): what it shows, previews and posts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from outage_comms.workflow.steps import Services
from outage_comms.workflow.store import InMemoryWorkflowStore
from tests.unit.compose.compose_kit import COMMS, ComposeWorld, compose_world


@pytest.fixture
def world() -> Iterator[ComposeWorld]:
    with compose_world() as made:
        yield made


def test_the_page_offers_the_holding_update_prefilled_with_what_customers_were_told(
    world: ComposeWorld,
) -> None:
    page = world.call("GET")
    assert page.status == 200
    incident = world.incident()
    assert 'value="holding_update" checked' in page.body
    assert f">{incident.public_note['en']}</textarea>" in page.body
    # the previews of that holding update, as customers would see it, are on the page already
    assert 'class="bubble"' in page.body and "srcdoc=" in page.body
    assert "still working on it" in page.body


def test_a_preview_posts_nothing_and_shows_the_words(world: ComposeWorld) -> None:
    before = world.incident()
    form = world.form(
        "preview", status="identified", scenario="identified", **{"note:en": "We found a bad config."}
    )
    page = world.call("POST", COMMS, form)
    assert page.status == 200 and "We found a bad config" in page.body
    assert world.incident().version == before.version
    assert world.handoffs() == []


def test_a_post_goes_through_intake_once_then_follows_the_plan(world: ComposeWorld) -> None:
    before = world.incident()
    form = world.form(
        "post", status="identified", scenario="identified", **{"note:en": "We found a bad config."}
    )
    page = world.call("POST", COMMS, form)
    assert page.status == 200, page.body
    assert "waits for approval" in page.body  # sev2 of the example plan needs approval
    after = world.incident()
    assert (after.version, after.status, after.scenario.value) == (
        before.version + 1,
        "identified",
        "identified",
    )
    assert after.public_note["en"] == "We found a bad config."
    assert after.source.reference == before.source.reference  # still the declaring source
    assert "human:compose-" in " ".join(sorted(after.event_ids))
    # the workflow is fed the way the incident API feeds it: one hand-off on the intake queue
    assert [(h["outage_comms_handoff"], h["version"]) for h in world.handoffs()] == [
        ("update", after.version)
    ]
    # the same link cannot post a second update, even from a freshly loaded page
    again = world.call("POST", COMMS, world.form("post", **{"note:en": "Something else."}))
    assert again.status == 409 and world.incident().version == after.version
    assert world.handoffs() == []


def test_a_form_shown_before_someone_else_changed_the_incident_is_refused(world: ComposeWorld) -> None:
    stale = world.form("post", **{"note:en": "Old words."})
    other = world.new_reference()
    fresh = world.form("post", status="monitoring", scenario="monitoring")
    assert world.call("POST", COMMS, fresh, reference=world.reference).status == 200
    world.handoffs()
    answer = world.call("POST", COMMS, stale, reference=world.reference)
    assert answer.status == 409 and world.incident().status == "monitoring"
    assert other  # a second link (another reminder) still opens the page
    assert world.call("GET", reference=other).status == 200


def test_the_resolve_form_stores_cause_fix_and_impact(world: ComposeWorld) -> None:
    csrf = world.form()["csrf"]
    form = {
        "csrf": csrf,
        "action": "resolve",
        "cause": "A configuration change broke single sign-on.",
        "fix": "We rolled the change back.",
        "impact": "Some customers could not sign in for 40 minutes.",
    }
    page = world.call("POST", COMMS, form)
    assert page.status == 200, page.body
    incident = world.incident()
    assert incident.status == "resolved"
    details = incident.model_dump(mode="json")["resolution_details"]
    assert "configuration change" in str(details["cause"]) and "rolled" in str(details["fix"])
    assert "40 minutes" in str(details["impact"])
    assert world.call("GET").status == 410  # resolved: the page posts nothing more


def test_a_reminder_carries_a_compose_link_that_opens_the_page(
    world: ComposeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.workflow_notice import handler

    from tests.security.test_approval import _Context

    monkeypatch.setenv("COMPOSE_BASE_URL", "https://compose.example/compose/")
    notifier = _Notifier()
    services = Services(
        plan=world.plan,
        repository=world.dependencies.incidents,
        store=InMemoryWorkflowStore(),
        notifier=notifier,
        channel=lambda _c: None,
        signer=lambda: world.signer,
        send_task_success=lambda _t, _o: None,
        execution_running=lambda _a: False,
    )
    handler({"incident_id": world.incident_id, "kind": "reminder"}, _Context(), services=services)
    (email,) = notifier.emails
    (chat,) = notifier.chats
    pattern = rf"https://compose\.example/compose/incidents/{world.incident_id}/compose/([A-Za-z0-9_.-]+)"
    link = re.search(pattern, email[2])
    assert link is not None, email[2]
    assert link.group(0) in chat["content"]["description"]
    assert world.call("GET", reference=link.group(1)).status == 200
    monkeypatch.delenv("COMPOSE_BASE_URL")
    notifier.emails.clear()
    handler({"incident_id": world.incident_id, "kind": "reminder"}, _Context(), services=services)
    assert "/compose/" not in notifier.emails[0][2]  # no compose page deployed: the reminder as before


class _Notifier:
    def __init__(self) -> None:
        self.emails: list[tuple[str, str, str]] = []
        self.chats: list[dict[str, Any]] = []

    def chat(self, document: dict[str, Any]) -> str | None:
        self.chats.append(document)
        return "chat"

    def email(self, to: str, subject: str, text: str) -> str | None:
        self.emails.append((to, subject, text))
        return "mail"
