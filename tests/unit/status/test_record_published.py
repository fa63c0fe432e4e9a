"""``Record published words``: the workflow step that stores what was approved and sent, per locale."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from outage_comms.incident import Incident, IncidentSource, TimelineEntry
from outage_comms.plan import Plan
from outage_comms.ports import ConcurrentUpdateError
from outage_comms.status import build_site
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.steps import Services, record_postmortem
from outage_comms.workflow.store import InMemoryWorkflowStore
from tests.status_site_fixtures import example_plan

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
INCIDENT = "inc-20261127-1400-abc123"
NOTE = {"en": "RAW-NOTE as typed by the incident manager", "pt-BR": "NOTA-CRUA como foi digitada"}


class FakeRepository:
    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self.conflicts = 0

    def get(self, incident_id: str) -> Incident:
        assert incident_id == self.incident.id
        return self.incident

    def replace_head(self, incident: Incident, previous_version: int) -> None:
        if self.conflicts:
            self.conflicts -= 1
            self.incident = self.incident.evolve()  # someone else wrote first
            raise ConcurrentUpdateError("lost the race")
        assert previous_version == self.incident.version
        self.incident = incident


def open_incident() -> Incident:
    source = IncidentSource(
        type="human", reference="arn:aws:iam::111122223333:role/OutageCommsIncidentManager"
    )
    return Incident(
        id=INCIDENT,
        internal_title="sync queue backlog on prod-sync-1",
        public_title={"en": "Sync", "pt-BR": "Sincronização"},
        components=("sync",),
        severity="sev2",
        status="identified",
        scenario=Scenario.PARTIAL_OUTAGE,
        audiences=("all-customers",),
        started_at=NOW - timedelta(minutes=20),
        updated_at=NOW - timedelta(minutes=5),
        source=source,
        public_note=NOTE,
        timeline=(
            TimelineEntry(
                at=NOW - timedelta(minutes=20),
                kind="opened",
                text="x",
                source=source,
                event_id="e1",
                public_note=NOTE,
            ),
        ),
    )


def message(title: str, body: str) -> dict[str, Any]:
    return {"fields": {"title": title, "body": body}}


def update_record(scenario: str = "partial_outage", **extra: Any) -> dict[str, Any]:
    return {
        "update_id": f"001-{scenario}",
        "incident_id": INCIDENT,
        "scenario": scenario,
        "severity": "sev2",
        "incident_started_at": (NOW - timedelta(minutes=20)).isoformat(),
        "messages": {
            "status_page": {
                "en": message("Sync is partly down", "RENDERED-EN " + NOTE["en"]),
                "pt-BR": message("Sincronização com falhas", "RENDERED-PT " + NOTE["pt-BR"]),
            },
            "in_app": {"en": message("Sync trouble", "IN-APP-EN"), "pt-BR": message("Falha", "IN-APP-PT")},
            "email": {"en": {"fields": {"subject": "s", "body": "EMAIL-ONLY"}}},
        },
        "blocked": [],
        **extra,
    }


@pytest.fixture
def plan() -> Plan:
    return example_plan()


def services(plan: Plan, repository: FakeRepository) -> Services:
    return Services(
        plan=plan,
        repository=repository,  # type: ignore[arg-type]
        store=InMemoryWorkflowStore(),
        notifier=None,  # type: ignore[arg-type]
        channel=lambda channel: None,
        signer=lambda: None,  # type: ignore[arg-type,return-value]
        send_task_success=lambda token, output: None,
        execution_running=lambda arn: True,
        now=lambda: NOW,
    )


def record(s: Services, update: dict[str, Any]) -> dict[str, Any]:
    s.store.put_update(INCIDENT, update["update_id"], update)
    # exactly the payload of the synthesized "Record published words" state
    return record_postmortem(
        {"incident_id": INCIDENT, "update_id": update["update_id"], "record": "published"}, s
    )


def test_sent_without_approval_stores_the_rendered_words_per_locale(plan: Plan) -> None:
    repository = FakeRepository(open_incident())
    result = record(services(plan, repository), update_record())
    assert result == {"channel": "status_page", "status": "published", "locales": ["en", "pt-BR"]}
    (published,) = repository.incident.published
    assert (published.update_id, published.status, published.scenario) == (
        "001-partial_outage",
        "identified",
        Scenario.PARTIAL_OUTAGE,
    )
    assert published.text["pt-BR"].title == "Sincronização com falhas"
    assert published.in_app["en"].body == "IN-APP-EN"
    assert published.at == NOW


def test_the_approvers_edits_are_what_is_stored_and_shown(plan: Plan) -> None:
    repository = FakeRepository(open_incident())
    edited = update_record()
    final = json.loads(json.dumps(edited["messages"]))
    final["status_page"]["en"] = message("Sync is partly down", "EDITED-BY-APPROVER we are on it")
    edited["approval"] = {"decision": "approved", "approvers": ["x"], "final_messages": final}
    record(services(plan, repository), edited)
    assert repository.incident.published[0].text["en"].body == "EDITED-BY-APPROVER we are on it"
    site = build_site(plan, [repository.incident], now=NOW + timedelta(minutes=1))
    text = "".join(a.body.decode() for a in site.values())
    assert "EDITED-BY-APPROVER we are on it" in text
    assert "RAW-NOTE" not in text and "RENDERED-EN" not in text  # neither the raw note nor the draft
    assert "RENDERED-PT" in site["pt-br/index.html"].body.decode()  # pt-BR was approved as rendered


def test_a_locale_the_guard_blocked_is_shown_in_generic_words(plan: Plan) -> None:
    repository = FakeRepository(open_incident())
    update = update_record()
    del update["messages"]["status_page"]["pt-BR"]  # blocked by the guard: never sent
    record(services(plan, repository), update)
    assert set(repository.incident.published[0].text) == {"en"}
    site = build_site(plan, [repository.incident], now=NOW + timedelta(minutes=1))
    pt = site[f"pt-br/incidents/{INCIDENT}.html"].body.decode()
    assert "NOTA-CRUA" not in pt and "Sincronização" in pt


def test_a_retried_invocation_and_a_lost_race_record_the_update_once(plan: Plan) -> None:
    repository = FakeRepository(open_incident())
    repository.conflicts = 1
    s = services(plan, repository)
    record(s, update_record())
    record(s, update_record())
    assert [p.update_id for p in repository.incident.published] == ["001-partial_outage"]


def test_the_post_incident_summary_is_left_to_record_postmortem(plan: Plan) -> None:
    repository = FakeRepository(open_incident())
    result = record(services(plan, repository), update_record("post_incident_summary"))
    assert result["status"] == "skipped"
    assert repository.incident.published == ()
