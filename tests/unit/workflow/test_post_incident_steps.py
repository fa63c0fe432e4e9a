"""The post-incident summary's workflow steps with fakes: draft, record the postmortem, release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outage_comms.incident import Incident, IncidentSource, TimelineEntry
from outage_comms.plan import Plan, load_plan
from outage_comms.ports import ConcurrentUpdateError
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.steps import (
    Services,
    draft_summary,
    record_postmortem,
    resolve,
)
from outage_comms.workflow.store import InMemoryWorkflowStore

pytestmark = pytest.mark.unit

PLAN = Path(__file__).resolve().parents[3] / "plans" / "example.yaml"
NOW = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
STARTED = NOW - timedelta(hours=2)
INCIDENT = "inc-20261127-1400-abc123"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:outage-comms-incident:" + INCIDENT
APPROVER = "arn:aws:iam::111122223333:role/OutageCommsCommunicationsManager"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(PLAN)


class FakeRepository:
    """Just what these steps use; ``conflicts`` makes the next replaces lose the optimistic lock."""

    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self.conflicts = 0
        self.replaced = 0

    def get(self, incident_id: str) -> Incident:
        assert incident_id == self.incident.id
        return self.incident

    def replace_head(self, incident: Incident, previous_version: int) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise ConcurrentUpdateError("someone else wrote first")
        assert previous_version == self.incident.version
        self.incident = incident
        self.replaced += 1


class Notifier:
    def __init__(self) -> None:
        self.emails: list[tuple[str, str, str]] = []
        self.chats: list[dict[str, Any]] = []

    def chat(self, document: dict[str, Any]) -> str | None:
        self.chats.append(document)
        return "chat-1"

    def email(self, to: str, subject: str, text: str) -> str | None:
        self.emails.append((to, subject, text))
        return "mail-1"


class Tally:
    def __init__(self, counts: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self._counts, self._error = counts, error

    def counts(self, incident_id: str) -> dict[str, Any]:
        if self._error:
            raise self._error
        return dict(self._counts or {})


def resolved(**changes: Any) -> Incident:
    source = IncidentSource(type="alarm", reference="arn:aws:cloudwatch:us-east-1:111122223333:alarm:x")
    incident = Incident(
        id=INCIDENT,
        internal_title="search p99 on es-prod",
        public_title={"en": "Search", "pt-BR": "Busca"},
        components=("search",),
        severity="sev3",
        status="resolved",
        scenario=Scenario.RESOLVED,
        audiences=("all-customers",),
        started_at=STARTED,
        updated_at=NOW,
        resolved_at=NOW - timedelta(minutes=30),
        source=source,
        timeline=(TimelineEntry(at=STARTED, kind="opened", text="x", source=source, event_id="e1"),),
    )
    return incident.evolve(**changes) if changes else incident


def services(plan: Plan, incident: Incident, tally: Tally | None = None) -> Services:
    return Services(
        plan=plan,
        repository=FakeRepository(incident),  # type: ignore[arg-type]
        store=InMemoryWorkflowStore(),
        notifier=Notifier(),
        channel=lambda channel: None,
        signer=lambda: None,  # type: ignore[arg-type,return-value]
        send_task_success=lambda token, output: None,
        execution_running=lambda arn: True,
        now=lambda: NOW,
        feedback_tally=tally,
    )


def kinds(s: Services) -> list[str]:
    return [e["kind"] for e in s.store.events(INCIDENT)]


def test_the_draft_step_hands_render_the_summary_with_the_feedback(plan: Plan) -> None:
    s = services(plan, resolved(), Tally({"yes": 4, "no": 1, "comments": 0}))
    update = draft_summary({"incident_id": INCIDENT}, s)
    assert update["post_incident_summary"] is True
    summary = update["summary"]
    assert set(summary["text"]) == {"en", "pt-BR"}
    assert "4" in summary["facts"]["feedback"]["en"] and "1" in summary["facts"]["feedback"]["en"]
    assert summary["resolved_at"] == (NOW - timedelta(minutes=30)).isoformat()
    assert "summary_drafted" in kinds(s)


def test_a_failing_tally_never_keeps_the_summary_from_being_drafted(plan: Plan) -> None:
    s = services(plan, resolved(), Tally(error=RuntimeError("table unreachable")))
    update = draft_summary({"incident_id": INCIDENT}, s)
    assert update["post_incident_summary"] is True
    assert update["summary"]["facts"]["feedback"] == {}
    assert "summary_feedback_unavailable" in kinds(s)


def test_maintenance_gets_no_summary(plan: Plan) -> None:
    done = resolved(scenario=Scenario.MAINTENANCE_COMPLETED, maintenance_phase="completed")
    s = services(plan, done)
    assert draft_summary({"incident_id": INCIDENT}, s) == {
        "post_incident_summary": False,
        "reason": "maintenance",
    }
    assert kinds(s) == ["summary_skipped"]


def summary_update(s: Services, *, status_page: bool = True) -> None:
    final: dict[str, Any] = {"sns": {"en": {"fields": {"subject": "s", "body": "sns words"}}}}
    if status_page:
        final["status_page"] = {
            "en": {"fields": {"title": "t", "body": "Approved English words"}},
            "pt-BR": {"fields": {"title": "t", "body": "Palavras aprovadas"}},
        }
    s.store.put_update(
        INCIDENT,
        "004-post_incident_summary",
        {
            "update_id": "004-post_incident_summary",
            "scenario": "post_incident_summary",
            "messages": final,
            "summary_text": {"en": "Draft in English", "pt-BR": "Rascunho"},
            "approval": {"decision": "approved", "approvers": [APPROVER], "final_messages": final},
        },
    )


def test_the_approved_status_page_words_become_the_postmortem_once(plan: Plan) -> None:
    s = services(plan, resolved())
    summary_update(s)
    repository: FakeRepository = s.repository  # type: ignore[assignment]
    repository.conflicts = 1  # intake wrote at the same moment: re-read and try again
    event = {"incident_id": INCIDENT, "update_id": "004-post_incident_summary"}
    assert record_postmortem(event, s) == {"postmortem_locales": ["en", "pt-BR"]}
    incident = repository.incident
    assert incident.postmortem == {"en": "Approved English words", "pt-BR": "Palavras aprovadas"}
    assert incident.postmortem_published_at == NOW
    entry = incident.timeline[-1]
    assert (entry.kind, entry.source.type, entry.source.reference) == ("postmortem", "human", APPROVER)
    # a retried invocation changes nothing
    record_postmortem(event, s)
    assert repository.replaced == 1 and len(incident.timeline) == 2


def test_without_status_page_words_the_draft_is_the_postmortem(plan: Plan) -> None:
    s = services(plan, resolved())
    summary_update(s, status_page=False)
    record_postmortem({"incident_id": INCIDENT, "update_id": "004-post_incident_summary"}, s)
    assert s.repository.get(INCIDENT).postmortem == {"en": "Draft in English", "pt-BR": "Rascunho"}


@pytest.mark.parametrize(
    ("decision", "published", "said"),
    [("approved", True, "published"), ("rejected", False, "rejected"), (None, False, "not approved in time")],
)
def test_release_tells_the_team_the_outcome_and_gives_up_the_claim(
    plan: Plan, decision: str | None, published: bool, said: str
) -> None:
    incident = resolved(postmortem={"en": "x"}, postmortem_published_at=NOW) if published else resolved()
    s = services(plan, incident)
    s.store.claim(INCIDENT, EXECUTION, lambda arn: True)
    record: dict[str, Any] = {"update_id": "004-post_incident_summary", "scenario": "post_incident_summary"}
    if decision:
        record["approval"] = {"decision": decision, "approvers": [APPROVER]}
    s.store.put_update(INCIDENT, "004-post_incident_summary", record)
    result = resolve({"incident_id": INCIDENT, "execution_arn": EXECUTION}, s)
    notifier: Notifier = s.notifier  # type: ignore[assignment]
    (email,) = notifier.emails
    assert email[0] == plan.roles.communications_manager.email
    assert email[1].endswith(f"post-incident summary {said}")
    assert result["summary"] == {"published": "published", "rejected": "rejected"}.get(said, "not_approved")
    store: InMemoryWorkflowStore = s.store  # type: ignore[assignment]
    assert store.owners[INCIDENT] == (EXECUTION, "closed")
    assert "summary_task" in kinds(s)
