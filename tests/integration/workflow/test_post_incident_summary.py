"""After resolution: the post-incident summary is drafted, approved on the review page, sent and published.

The synthesized state machine on moto with the real handlers, as in ``test_incident_workflow.py``.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from workflow_helpers import COMMS_MANAGER_ROLE, OpenIncident, deliveries, start, subscriber_messages

from outage_comms.incident import Incident
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan
from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway
from outage_comms_embedded import EmbeddedAws, review, session_arn
from tests.embedded_helpers import wait_for_end

pytestmark = pytest.mark.integration

COMMS = "comms@nimbusnotes.example"
SUMMARY_SUBJECT = "Approve the post-incident summary for"
RESOLVE_NOTE = {"en": "Search works again for everyone", "pt-BR": "A busca voltou a funcionar para todos"}
LINK = re.compile(r"https?://\S+/incidents/(?P<incident>inc-[\w-]+)/review/(?P<reference>[\w.-]+)")
CHANGE_EN = "We now test every search settings change on a small group of servers before everyone gets it."


def resolve(aws: EmbeddedAws, repository: DynamoIncidentRepository, plan: Plan, incident: Incident) -> None:
    """A person resolves the incident through intake's domain; the waiting execution gets the update."""
    aws.wait_until(lambda: _has_token(aws, incident.id), what="the execution waiting for an update")
    token = repository.take_update_token(incident.id)
    assert token
    current = repository.get(incident.id)
    request = {
        "action": "resolve",
        "request_id": uuid.uuid4().hex,
        "principal": "arn:aws:sts::111122223333:assumed-role/OutageCommsIncidentManager/priya",
        "incident_id": incident.id,
        "note": RESOLVE_NOTE,
        # what customers noticed, typed by the person resolving (the summary never takes it from a note)
        "impact": {
            "en": "Some customers could not open notes.",
            "pt-BR": "Alguns clientes não conseguiam abrir notas.",
        },
        "fix": {"en": "Search works again for everyone.", "pt-BR": "A busca voltou a funcionar para todos."},
    }
    signal = to_signal(request, plan, received_at=datetime.now(UTC))
    assert isinstance(signal, Signal), signal
    decision = decide(signal, dict.fromkeys(current.components, current), plan, datetime.now(UTC))
    assert decision.kind == "resolve" and decision.incident is not None
    repository.save(decision.incident, decision.previous_version)
    StepFunctionsWorkflowGateway(aws.state_machine_arn).deliver_update(token, {"incident_id": incident.id})


def _has_token(aws: EmbeddedAws, incident_id: str) -> bool:
    item = (
        aws.client("dynamodb")
        .get_item(
            TableName=aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"),
            Key={"pk": {"S": f"INCIDENT#{incident_id}"}, "sk": {"S": "INCIDENT"}},
        )
        .get("Item")
    )
    return bool(item and "update_token" in item)


def summary_links(aws: EmbeddedAws, incident_id: str) -> list[str]:
    """References of the summary's review links (the email subject says which update it is)."""
    found = []
    for message in aws.sent_emails():
        if SUMMARY_SUBJECT in message.subject and incident_id in message.subject:
            found += [ref for inc, ref in _links_in(message.body) if inc == incident_id]
    return found


def _links_in(body: str) -> list[tuple[str, str]]:
    return [(m["incident"], m["reference"]) for m in LINK.finditer(body)]


def owner_state(aws: EmbeddedAws, incident_id: str) -> str:
    item = aws.client("dynamodb").get_item(
        TableName=aws.output("WorkflowTableName"),
        Key={"pk": {"S": f"INCIDENT#{incident_id}"}, "sk": {"S": "OWNER"}},
        ConsistentRead=True,
    )["Item"]
    return str(item["state"]["S"])


def summary_update(aws: EmbeddedAws, incident_id: str) -> dict[str, Any]:
    items = aws.client("dynamodb").query(
        TableName=aws.output("WorkflowTableName"),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :u)",
        ExpressionAttributeValues={":pk": {"S": f"INCIDENT#{incident_id}"}, ":u": {"S": "UPDATE#"}},
    )["Items"]
    (item,) = [i for i in items if i["sk"]["S"].endswith("-post_incident_summary")]
    document: dict[str, Any] = json.loads(item["document"]["S"])
    return document


def open_and_resolve(
    aws: EmbeddedAws, open_incident: OpenIncident, repository: DynamoIncidentRepository, plan: Plan
) -> tuple[Incident, str]:
    incident = open_incident("search", "sev4")  # no approval for its updates: straight to the summary
    arn = start(aws, incident, 1.0)
    aws.wait_for_state(arn, "Wait for next update")
    resolve(aws, repository, plan, incident)
    aws.wait_until(lambda: bool(summary_links(aws, incident.id)), what="the summary's review email")
    return incident, arn


def test_resolution_drafts_the_summary_which_is_edited_approved_sent_and_published(
    aws: EmbeddedAws, open_incident: OpenIncident, repository: DynamoIncidentRepository, plan: Plan
) -> None:
    # Given a resolved incident: the resolved message went out and the summary waits for approval
    incident, arn = open_and_resolve(aws, open_incident, repository, plan)
    aws.wait_for_state(arn, "Wait for approval")
    states = aws.states_entered(arn)
    assert states.index("Draft post-incident summary") > states.index("Resolved?")
    assert "Release incident" not in states
    assert owner_state(aws, incident.id) == "active"  # the execution still speaks for the incident
    drafted = summary_update(aws, incident.id)
    status_en = drafted["messages"]["status_page"]["en"]["fields"]["body"]
    assert "What you noticed: Some customers could not open notes." in status_en
    assert "How we fixed it: Search works again for everyone." in status_en
    assert "arn:aws" not in json.dumps(drafted["messages"])
    # When the communications manager replaces the general sentence and approves on the review page
    (reference,) = summary_links(aws, incident.id)
    prevention_en = "We are reviewing what happened so that it does not happen again."
    assert prevention_en in status_en
    edits = {
        "text:status_page:en:body": status_en.replace(prevention_en, CHANGE_EN),
        "text:sns:en:body": drafted["messages"]["sns"]["en"]["fields"]["body"].replace(
            prevention_en, CHANGE_EN
        ),
    }
    outcome = review(
        aws,
        incident.id,
        reference,
        caller_arn=session_arn(COMMS_MANAGER_ROLE, "marina"),
        decision="edit",
        edits=edits,
    )
    assert (outcome.get_status, outcome.post_status) == (200, 200), outcome.body
    # Then the summary goes out through its channels, becomes the postmortem, and the execution ends
    final = wait_for_end(aws, arn)
    assert final["status"] == "SUCCEEDED"
    states = aws.states_entered(arn)
    assert states[-2:] == ["Release incident", "Incident closed"]
    assert states.index("Record postmortem") < states.index(
        "Fan out to channels", states.index("Record postmortem")
    )
    update_id = summary_update(aws, incident.id)["update_id"]
    recorded = deliveries(aws, incident.id)
    assert recorded[f"{update_id}#sns"]["status"] == "delivered"
    sent = [
        m["message"]
        for m in subscriber_messages(aws, incident.id)
        if m["attributes"]["scenario"]["Value"] == "post_incident_summary"
        and m["attributes"]["locale"]["Value"] == "en"
    ]
    assert sent and all(CHANGE_EN in text for text in sent)
    published = repository.get(incident.id)
    assert published.postmortem["en"] == edits["text:status_page:en:body"]
    assert "O que vamos mudar:" in published.postmortem["pt-BR"]
    assert published.postmortem_published_at is not None
    assert published.timeline[-1].kind == "postmortem"
    assert owner_state(aws, incident.id) == "closed"
    told = [m for m in aws.sent_emails() if incident.id in m.subject and "closed" in m.subject]
    assert told and "published" in told[-1].subject


def test_a_rejected_summary_closes_the_incident_without_a_postmortem(
    aws: EmbeddedAws, open_incident: OpenIncident, repository: DynamoIncidentRepository, plan: Plan
) -> None:
    incident, arn = open_and_resolve(aws, open_incident, repository, plan)
    (reference,) = summary_links(aws, incident.id)
    outcome = review(
        aws, incident.id, reference, caller_arn=session_arn(COMMS_MANAGER_ROLE), decision="reject"
    )
    assert outcome.post_status == 200, outcome.body
    assert wait_for_end(aws, arn)["status"] == "SUCCEEDED"
    states = aws.states_entered(arn)
    assert "Post-incident summary not published" in states
    assert "Record postmortem" not in states
    assert states[-2:] == ["Release incident", "Incident closed"]
    assert not any(k.endswith("post_incident_summary#sns") for k in deliveries(aws, incident.id))
    assert all(
        m["attributes"]["scenario"]["Value"] != "post_incident_summary"
        for m in subscriber_messages(aws, incident.id)
    )
    closed = repository.get(incident.id)
    assert closed.postmortem == {} and closed.postmortem_published_at is None
    told = [m for m in aws.sent_emails() if incident.id in m.subject and "closed" in m.subject]
    assert told and "rejected" in told[-1].subject
    assert owner_state(aws, incident.id) == "closed"


def test_an_unedited_summary_is_true_as_drafted_and_can_be_approved(
    aws: EmbeddedAws, open_incident: OpenIncident, repository: DynamoIncidentRepository, plan: Plan
) -> None:
    """What a drill does: approve without edits. The draft holds no placeholder to leak."""
    incident, arn = open_and_resolve(aws, open_incident, repository, plan)
    (reference,) = summary_links(aws, incident.id)
    outcome = review(
        aws, incident.id, reference, caller_arn=session_arn(COMMS_MANAGER_ROLE), decision="approve"
    )
    assert outcome.post_status == 200, outcome.body
    assert wait_for_end(aws, arn)["status"] == "SUCCEEDED"
    published = repository.get(incident.id).postmortem
    assert set(published) == {"en", "pt-BR"}
    for text in published.values():
        assert "[" not in text and "TODO" not in text and "arn:" not in text


def test_a_summary_nobody_approves_in_time_closes_without_a_postmortem(
    aws: EmbeddedAws, open_incident: OpenIncident, repository: DynamoIncidentRepository, plan: Plan
) -> None:
    # Given a compressed clock: 0.005 s a plan minute, so the plan's 5 days of review last 36 s here
    # (and sev4's 240-minute cadence 2 s, time enough to hand the resolution to the waiting task)
    incident = open_incident("search", "sev4")
    arn = start(aws, incident, 0.005)
    aws.wait_for_state(arn, "Wait for next update")
    resolve(aws, repository, plan, incident)
    aws.wait_until(lambda: bool(summary_links(aws, incident.id)), what="the summary's review email")
    # When nobody decides, the wait times out: no escalation, no postmortem, the team is told
    assert wait_for_end(aws, arn, timeout=60)["status"] == "SUCCEEDED"
    states = aws.states_entered(arn)
    after_draft = states[states.index("Draft post-incident summary") :]
    assert after_draft[-4:] == [
        "Approval timed out: what does the plan say?",
        "Post-incident summary not published",
        "Release incident",
        "Incident closed",
    ]
    assert "Escalate approval to incident manager" not in after_draft
    assert repository.get(incident.id).postmortem_published_at is None
    told = [m for m in aws.sent_emails() if incident.id in m.subject and "closed" in m.subject]
    assert told and "not approved in time" in told[-1].subject
