"""The synthesized incident-comms state machine, executing on moto with the real handlers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from workflow_helpers import (
    COMMS_DEPUTY_ROLE,
    COMMS_MANAGER_ROLE,
    INCIDENT_MANAGER_ROLE,
    OpenIncident,
    deliveries,
    start,
    subscriber_messages,
)

from outage_comms.channels.base import ChannelPermanentError
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan
from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway
from outage_comms_embedded import EmbeddedAws, review_links
from tests.embedded_helpers import approve_latest, synthesized_definition, wait_for_end

pytestmark = pytest.mark.integration

COMMS = "comms@nimbusnotes.example"
INCIDENT_MANAGER = "incident-manager@nimbusnotes.example"


def resolve_join(value: Any, physical: dict[str, str], arns: dict[str, str], outputs: Any = None) -> str:
    """The synthesized ``Fn::Join`` rendered with the deployed resources' ids, independently of moto."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(resolve_join(p, physical, arns, outputs) for p in parts)
    if "Fn::GetStackOutput" in value:  # another stack's output (e.g. the status publisher's ARN)
        spec = value["Fn::GetStackOutput"]
        return str(outputs[spec["StackName"]][spec["OutputName"]])
    if "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        assert attribute == "Arn"
        return arns[physical[logical_id]]
    if "Ref" in value:
        return {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}.get(
            value["Ref"], physical.get(value["Ref"], "")
        )
    raise AssertionError(f"unexpected intrinsic {value}")


def test_the_executed_definition_is_byte_identical_to_the_synthesized_one(aws: EmbeddedAws) -> None:
    stack = aws.workflow_stack  # the channels stack holds another (bulk delivery) state machine
    functions = aws.client("lambda").list_functions()["Functions"]
    arns = {f["FunctionName"]: f["FunctionArn"] for f in functions}
    expected = resolve_join(synthesized_definition(aws), aws.stacks[stack], arns, aws.outputs)
    executing = aws.client("stepfunctions").describe_state_machine(stateMachineArn=aws.state_machine_arn)
    assert executing["definition"] == expected
    assert "Fan out to channels" in json.loads(executing["definition"])["States"]


def test_a_whole_incident_approval_fanout_reminder_update_resolution_summary(
    aws: EmbeddedAws, open_incident: OpenIncident, repository: DynamoIncidentRepository
) -> None:
    # Given a major incident (approval required, cadence 60 plan minutes = 6 s here)
    incident = open_incident("sync", "sev2", "partial_outage")
    arn = start(aws, incident, 0.1)
    aws.wait_for_state(arn, "Wait for approval")
    aws.wait_until(lambda: bool(review_links(aws, incident.id, COMMS)), what="review email")
    # When the communications manager approves on the review page
    outcome = approve_latest(aws, incident.id, approver_role_arn=COMMS_MANAGER_ROLE, to=COMMS)
    assert (outcome.get_status, outcome.post_status) == (200, 200)
    # Then every channel branch ran and subscribers got each locale, filterable by component
    aws.wait_for_state(arn, "Wait for next update")
    published = subscriber_messages(aws, incident.id)
    assert {m["attributes"]["locale"]["Value"] for m in published} == {"en", "pt-BR"}
    assert all(json.loads(m["attributes"]["component"]["Value"]) == ["sync"] for m in published)
    recorded = deliveries(aws, incident.id)
    assert recorded["001-partial_outage#sns"]["status"] == "delivered"
    assert recorded["001-partial_outage#support"]["status"] == "delivered"
    # and every channel went through its real adapter: the web channels reached the local sink,
    # the subscriber channels with nobody subscribed say so rather than pretend
    for channel in ("mastodon", "bluesky", "webhook", "support"):
        assert recorded[f"001-partial_outage#{channel}"]["status"] == "delivered", channel
        assert aws.sink.by_channel().get(channel), channel
    assert all("no adapter" not in r.get("detail", "") for r in recorded.values())
    # When nobody posts an update in time, the communications manager is reminded
    aws.wait_for_state(arn, "Remind communications manager", timeout=15)
    aws.wait_for_state(arn, "Wait for update after reminder")
    # and an update posted through intake's gateway reaches the waiting execution
    aws.wait_until(lambda: repository.get(incident.id) is not None)
    current = repository.get(incident.id)
    resolved = current.evolve(status="resolved", resolved_at=datetime.now(UTC), updated_at=datetime.now(UTC))
    repository.save(resolved, current.version)
    token = _take_token(aws, repository, incident.id)
    StepFunctionsWorkflowGateway(aws.state_machine_arn).deliver_update(token, {"incident_id": incident.id})
    # Then the resolved messages need approval again and go out, then the post-incident summary is drafted
    # and waits for the same approval (test_post_incident_summary.py follows it further)
    aws.wait_for_state(arn, "Wait for approval", count=2)
    aws.wait_until(lambda: len(review_links(aws, incident.id, COMMS)) >= 2, what="second review email")
    approve_latest(aws, incident.id, approver_role_arn=COMMS_MANAGER_ROLE, to=COMMS)
    aws.wait_for_state(arn, "Wait for approval", count=3)
    assert deliveries(aws, incident.id)["002-resolved#sns"]["status"] == "delivered"
    aws.wait_until(lambda: len(review_links(aws, incident.id, COMMS)) >= 3, what="summary review email")
    assert any("post-incident summary" in m.subject for m in aws.sent_emails() if incident.id in m.subject)
    approve_latest(aws, incident.id, approver_role_arn=COMMS_MANAGER_ROLE, to=COMMS)
    final = wait_for_end(aws, arn)
    assert final["status"] == "SUCCEEDED"
    states = aws.states_entered(arn)
    assert states[-2:] == ["Release incident", "Incident closed"]
    assert deliveries(aws, incident.id)["003-post_incident_summary#sns"]["status"] == "delivered"


def _take_token(aws: EmbeddedAws, repository: DynamoIncidentRepository, incident_id: str) -> str:
    tokens: list[str] = []

    def taken() -> bool:
        token = repository.take_update_token(incident_id)
        if token:
            tokens.append(token)
        return bool(tokens)

    aws.wait_until(taken, what="update token")
    return tokens[0]


def test_rejected_update_is_held_and_never_reaches_customers(
    aws: EmbeddedAws, open_incident: OpenIncident
) -> None:
    incident = open_incident("search", "sev2")
    arn = start(aws, incident, 1.0)
    aws.wait_until(lambda: bool(review_links(aws, incident.id, COMMS)), what="review email")
    outcome = approve_latest(
        aws, incident.id, approver_role_arn=COMMS_DEPUTY_ROLE, to=COMMS, decision="reject"
    )
    assert outcome.post_status == 200
    aws.wait_for_state(arn, "Wait for next update")
    assert "Hold external messages" in aws.states_entered(arn)
    assert "Fan out to channels" not in aws.states_entered(arn)
    assert subscriber_messages(aws, incident.id) == []
    aws.client("stepfunctions").stop_execution(executionArn=arn)


def test_edited_text_is_what_customers_receive_and_is_recorded(
    aws: EmbeddedAws, open_incident: OpenIncident
) -> None:
    from outage_comms_embedded import review, session_arn

    incident = open_incident("attachments", "sev2")
    arn = start(aws, incident, 1.0)
    aws.wait_until(lambda: bool(review_links(aws, incident.id, COMMS)), what="review email")
    _, reference = review_links(aws, incident.id, COMMS)[-1]
    edited = "Files you add to notes may not open right now. We are fixing it. Next update within the hour."
    outcome = review(
        aws,
        incident.id,
        reference,
        caller_arn=session_arn(COMMS_MANAGER_ROLE, "marina"),
        decision="edit",
        edits={"text:sns:en:body": edited},
    )
    assert outcome.post_status == 200, outcome.body
    aws.wait_for_state(arn, "Wait for next update")
    english = [m for m in subscriber_messages(aws, incident.id) if m["attributes"]["locale"]["Value"] == "en"]
    assert [m["message"] for m in english] == [edited]
    aws.client("stepfunctions").stop_execution(executionArn=arn)


@pytest.mark.parametrize(
    ("severity", "component", "expected_state"),
    [
        ("sev1", "web-app", "Send holding statement instead"),
        ("sev2", "mobile-apps", "Escalate approval to incident manager"),
        ("sev3", "public-api", "Hold external messages"),
    ],
)
def test_approval_timeout_runs_the_plans_action(
    aws: EmbeddedAws, open_incident: OpenIncident, severity: str, component: str, expected_state: str
) -> None:
    incident = open_incident(component, severity)
    arn = start(aws, incident, 0.07)  # approval timeouts of 1-3 s
    aws.wait_for_state(arn, expected_state, timeout=15)
    if severity == "sev1":
        aws.wait_for_state(arn, "Wait for next update")
        published = subscriber_messages(aws, incident.id)
        assert published and all(m["attributes"]["scenario"]["Value"] == "holding_update" for m in published)
    elif severity == "sev2":
        aws.wait_until(
            lambda: bool(review_links(aws, incident.id, INCIDENT_MANAGER)), what="escalation email"
        )
        outcome = approve_latest(
            aws, incident.id, approver_role_arn=INCIDENT_MANAGER_ROLE, to=INCIDENT_MANAGER
        )
        assert outcome.post_status == 200
        aws.wait_for_state(arn, "Wait for next update")
        assert subscriber_messages(aws, incident.id)
    else:
        aws.wait_for_state(arn, "Wait for next update")
        assert subscriber_messages(aws, incident.id) == []
    aws.client("stepfunctions").stop_execution(executionArn=arn)


def test_a_failing_channel_is_recorded_and_never_blocks_the_others(
    aws: EmbeddedAws, open_incident: OpenIncident
) -> None:
    incident = open_incident("sign-in", "sev4")  # no approval needed
    aws.faults["handlers.workflow_deliver_channel.handler"] = lambda event: (
        ChannelPermanentError("subscribers topic rejected the message")
        if event.get("channel") == "sns"
        else None
    )
    arn = start(aws, incident, 1.0)
    aws.wait_for_state(arn, "Wait for next update")
    recorded = deliveries(aws, incident.id)
    update = next(k.split("#")[0] for k in recorded)
    assert recorded[f"{update}#sns"]["status"] == "failed"
    assert recorded[f"{update}#sns"]["error"] == "ChannelPermanentError"
    assert recorded[f"{update}#support"]["status"] == "delivered"
    assert "Record SNS subscribers failure" in aws.states_entered(arn)
    aws.client("stepfunctions").stop_execution(executionArn=arn)


def test_a_transient_channel_error_is_retried(aws: EmbeddedAws, open_incident: OpenIncident) -> None:
    from outage_comms.channels.base import ChannelRetryableError

    incident = open_incident("search", "sev4")
    attempts: list[str] = []

    def once(event: dict[str, Any]) -> Exception | None:
        if event.get("channel") != "sns":
            return None
        attempts.append("x")
        return ChannelRetryableError("throttled") if len(attempts) == 1 else None

    aws.faults["handlers.workflow_deliver_channel.handler"] = once
    arn = start(aws, incident, 1.0)
    aws.wait_for_state(arn, "Wait for next update", timeout=30)
    assert len(attempts) == 2
    assert (
        next(v for k, v in deliveries(aws, incident.id).items() if k.endswith("#sns"))["status"]
        == "delivered"
    )
    aws.client("stepfunctions").stop_execution(executionArn=arn)


def test_one_execution_per_incident(aws: EmbeddedAws, open_incident: OpenIncident) -> None:
    incident = open_incident("mobile-apps", "sev4")
    first = start(aws, incident, 1.0)
    aws.wait_for_state(first, "Wait for next update")
    # A second execution for the same incident (e.g. the runbook after intake started one) ends at once.
    second = aws.start_execution({"incident_id": incident.id}, name=f"{incident.id}-again")
    assert wait_for_end(aws, second)["status"] == "SUCCEEDED"
    assert aws.states_entered(second)[-1] == "Already handled by another execution"
    assert "Render update" not in aws.states_entered(second)
    aws.client("stepfunctions").stop_execution(executionArn=first)


def test_runbook_input_registers_the_incident_through_intake(
    aws: EmbeddedAws, repository: DynamoIncidentRepository, plan: Plan
) -> None:
    arn_record = (
        "arn:aws:ssm-incidents::111122223333:incident-record/nimbus/7b0c8f9e-1111-4b2d-9d1f-5e4b7c1e2f11"
    )
    runbook_input = {"IncidentRecordArn": arn_record, "Title": "Notes are not syncing", "Impact": "5",
                     "Components": "web-app"}  # fmt: skip
    arn = aws.start_execution(runbook_input)
    aws.wait_for_state(arn, "Wait for next update")  # impact 5 -> sev4: no approval
    incident = repository.find_by_reference(arn_record)
    assert incident is not None and incident.components == ("web-app",)
    assert incident.severity == "sev4"
    aws.client("stepfunctions").stop_execution(executionArn=arn)
    repository.save(incident.evolve(status="resolved", resolved_at=datetime.now(UTC)), incident.version)
