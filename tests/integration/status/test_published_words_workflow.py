"""End to end on the synthesized app: a rejected update never reaches the status site; an approved,
edited one is shown exactly as the approver left it (issue 11, finding 1).

The app is synthesized from ``app.py``, deployed into moto with the status stack, and the exact
state machine runs the real handlers; the approver uses the review page as a person would.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from outage_comms.incident import Incident
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan, load_plan
from outage_comms_embedded import EmbeddedAws, review, review_links, session_arn, synthesize_app
from tests.embedded_helpers import approve_latest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_PLAN = ROOT / "plans" / "example.yaml"
COMMS = "comms@nimbusnotes.example"
COMMS_MANAGER_ROLE = "arn:aws:iam::111122223333:role/OutageCommsCommunicationsManager"
COMMS_DEPUTY_ROLE = "arn:aws:iam::111122223333:role/OutageCommsCommunicationsDeputy"
REJECTED = {"en": "REJECTED-WORDS the primary db failed over", "pt-BR": "PALAVRAS-REJEITADAS o banco caiu"}
DRAFTED = {"en": "DRAFT-WORDS some notes do not sync", "pt-BR": "RASCUNHO algumas notas não sincronizam"}
EDITED = "EDITED-BY-APPROVER Notes you change may take a few minutes to sync. We are fixing it."


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(EXAMPLE_PLAN)


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedAws]:
    reuse = os.environ.get("OUTAGE_COMMS_EMBEDDED_CDK_OUT")
    cdk_out = (
        Path(reuse) if reuse else synthesize_app(tmp_path_factory.mktemp("status-cdk.out"), EXAMPLE_PLAN)
    )
    with EmbeddedAws(cdk_out, with_status_site=True) as embedded:
        yield embedded


@pytest.fixture(scope="module")
def repository(aws: EmbeddedAws) -> DynamoIncidentRepository:
    return DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"))


def declare(
    plan: Plan, repository: DynamoIncidentRepository, component: str, note: dict[str, str]
) -> Incident:
    request = {
        "action": "declare",
        "request_id": uuid.uuid4().hex,
        "principal": "arn:aws:sts::111122223333:assumed-role/OutageCommsIncidentManager/priya",
        "components": [component],
        "severity": "sev2",
        "title": f"test incident on {component}",
        "note": note,
    }
    signal = to_signal(request, plan, received_at=datetime.now(UTC))
    assert isinstance(signal, Signal), signal
    decision = decide(signal, {}, plan, datetime.now(UTC))
    assert decision.incident is not None
    repository.save(decision.incident, None)
    return decision.incident


def start(aws: EmbeddedAws, incident: Incident) -> str:
    return aws.start_execution(
        {"incident_id": incident.id, "clock": {"seconds_per_minute": 1.0}}, name=incident.id
    )


def site_text(aws: EmbeddedAws) -> dict[str, str]:
    return {key: body.decode("utf-8", errors="replace") for key, body in aws.status_objects().items()}


def test_a_rejected_note_never_reaches_the_site_and_the_edited_words_are_shown_exactly(
    aws: EmbeddedAws, plan: Plan, repository: DynamoIncidentRepository
) -> None:
    # Given an update both approvers reject
    rejected = declare(plan, repository, "search", REJECTED)
    rejected_run = start(aws, rejected)
    aws.wait_until(lambda: bool(review_links(aws, rejected.id, COMMS)), what="review email", timeout=90)
    for role in (COMMS_DEPUTY_ROLE, COMMS_MANAGER_ROLE):
        outcome = approve_latest(aws, rejected.id, approver_role_arn=role, to=COMMS, decision="reject")
        if outcome.post_status != 200:
            break  # decided by the first rejection
    aws.wait_for_state(rejected_run, "Hold external messages", timeout=60)
    # When another incident's update is edited on the review page, approved and published
    other = declare(plan, repository, "sync", DRAFTED)
    other_run = start(aws, other)
    aws.wait_until(lambda: bool(review_links(aws, other.id, COMMS)), what="review email", timeout=90)
    _, reference = review_links(aws, other.id, COMMS)[-1]
    outcome = review(
        aws,
        other.id,
        reference,
        caller_arn=session_arn(COMMS_MANAGER_ROLE, "marina"),
        decision="edit",
        edits={"text:status_page:en:body": EDITED},
    )
    assert outcome.post_status == 200, outcome.body
    aws.wait_for_state(other_run, "Wait for next update", timeout=90)
    states = aws.states_entered(other_run)
    assert states.index("Record published words") < states.index("Publish status surfaces")
    assert "Record published words" not in aws.states_entered(rejected_run)
    # Then the site shows the approver's words exactly, and the rejected words nowhere
    site = site_text(aws)
    assert site, "the status publisher wrote nothing"
    leaks = [key for key, text in site.items() if any(words in text for words in REJECTED.values())]
    assert leaks == []
    summary: dict[str, Any] = json.loads(site["api/v2/summary.json"])
    shown = {i["id"]: i for i in summary["incidents"]}
    assert shown[other.id]["incident_updates"][0]["body"] == EDITED
    assert EDITED in site[f"incidents/{other.id}.html"] and EDITED in site["history.atom"]
    # the approver left the title (the drafted note) as it was, and replaced the body
    assert shown[other.id]["name"].startswith("DRAFT-WORDS")
    status_page = {k: v for k, v in site.items() if k != "api/v2/banner.json"}  # in-app: approved as drafted
    assert not any("DRAFT-WORDS some notes do not sync. " in text for text in status_page.values())
    assert "RASCUNHO" in site["pt-br/index.html"]  # pt-BR was approved as drafted
    # the rejected incident still shows its public status, in the plan's words
    assert [u["status"] for u in shown[rejected.id]["incident_updates"]] == ["investigating"]
    assert repository.get(rejected.id).published == ()
    (published,) = repository.get(other.id).published
    assert published.text["en"].body == EDITED
    for run in (rejected_run, other_run):
        aws.client("stepfunctions").stop_execution(executionArn=run)
