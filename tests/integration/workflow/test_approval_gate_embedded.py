"""The approval gate on the synthesized workflow (moto's Step Functions, real handlers): issue 11, 4 and 5.

* The review link expires no later than the ``Wait for approval`` task (its entry time + timeout).
* A decision after the task timed out is "too late, nothing was sent" (410): the request is not
  marked approved and nothing reaches customers. (moto 5.2.5 never reports a callback consumer's
  timeout, so its SendTaskSuccess accepts a timed-out token; the TaskTimedOut / TaskDoesNotExist /
  InvalidToken answers are proven against botocore's model with Stubber in
  ``tests/unit/workflow/test_approval_gate.py``.)
* Dual approval: an edit resets the approvals, a stale page gets 409, and customers receive the text
  both approvers approved.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from workflow_helpers import COMMS_DEPUTY_ROLE, COMMS_MANAGER_ROLE, OpenIncident, start, subscriber_messages

from outage_comms.workflow.approval import content_hash
from outage_comms_embedded import EmbeddedAws, api_event, review_links, session_arn

pytestmark = pytest.mark.integration

COMMS = "comms@nimbusnotes.example"
MARINA = session_arn(COMMS_MANAGER_ROLE, "marina")
JOAO = session_arn(COMMS_DEPUTY_ROLE, "joao")


def _review(aws: EmbeddedAws, method: str, incident_id: str, reference: str, caller: str,
            form: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    function = aws.function_name("workflow_review_page")
    return dict(aws.invoke(function, api_event(method, incident_id, reference, caller, form)))


def _csrf(page: dict[str, Any]) -> str:
    return str(page["body"]).split("name=csrf value='", 1)[1].split("'", 1)[0]


def _approval_items(aws: EmbeddedAws, incident_id: str) -> list[dict[str, Any]]:
    table = aws.physical_id("AWS::DynamoDB::Table", contains="Approvals")
    items = aws.client("dynamodb").scan(TableName=table)["Items"]
    return [i for i in items if json.loads(i["document"]["S"])["incident_id"] == incident_id]


def _wait_for_link(aws: EmbeddedAws, incident_id: str, count: int = 1) -> str:
    aws.wait_until(
        lambda: len(review_links(aws, incident_id, COMMS)) >= count, timeout=60, what="review email"
    )
    return review_links(aws, incident_id, COMMS)[-1][1]


def test_the_link_dies_with_the_task_and_a_late_decision_is_too_late(
    aws: EmbeddedAws, open_incident: OpenIncident
) -> None:
    # Given a sev3 update whose approval times out after 18 s (then the plan holds external messages)
    incident = open_incident("public-api", "sev3")
    arn = start(aws, incident, 0.6)
    reference = _wait_for_link(aws, incident.id)
    page = _review(aws, "GET", incident.id, reference, MARINA)
    assert page["statusCode"] == 200
    # Then the stored request expires no later than the task's deadline (entry time + its timeout)
    entered = next(
        e["timestamp"]
        for e in aws.history(arn)
        if e.get("stateEnteredEventDetails", {}).get("name") == "Wait for approval"
    )
    (item,) = _approval_items(aws, incident.id)
    expires = int(json.loads(item["document"]["S"])["expires_at"])
    assert isinstance(entered, datetime) and expires <= entered.timestamp() + 18
    # When the approver presses Approve after the task timed out
    aws.wait_for_state(arn, "Hold external messages", timeout=60)
    late = _review(aws, "POST", incident.id, reference, MARINA, {"csrf": _csrf(page), "decision": "approve"})
    # Then the page says it is too late, nothing is recorded as approved and no customer hears
    assert late["statusCode"] == 410 and "Too late" in late["body"], late
    (item,) = _approval_items(aws, incident.id)
    assert item["state"]["S"] == "open" and item["approvers"]["L"] == []
    aws.wait_for_state(arn, "Wait for next update", timeout=60)
    assert subscriber_messages(aws, incident.id) == []

    aws.client("stepfunctions").stop_execution(executionArn=arn)


def test_dual_approval_binds_to_the_text_both_approvers_saw(
    aws: EmbeddedAws, open_incident: OpenIncident
) -> None:
    # Given a sev1 update (two approvers) with 60 s to approve
    incident = open_incident("web-app", "sev1")
    arn = start(aws, incident, 6.0)
    reference = _wait_for_link(aws, incident.id)
    marina_page = _review(aws, "GET", incident.id, reference, MARINA)
    joao_page = _review(aws, "GET", incident.id, reference, JOAO)
    # When Marina approves, then João edits the English SNS text (his approval of the new text only)
    approve = {"csrf": _csrf(marina_page), "decision": "approve"}
    assert _review(aws, "POST", incident.id, reference, MARINA, approve)["statusCode"] == 202
    edited = "The web app is down for everyone. We are restoring it now."
    edit = {"csrf": _csrf(joao_page), "decision": "edit", "text:sns:en:body": edited}
    assert _review(aws, "POST", incident.id, reference, JOAO, edit)["statusCode"] == 202
    # Then Marina's page (of the old text) cannot approve the new one, and nothing was sent yet
    stale = _review(aws, "POST", incident.id, reference, MARINA, approve)
    assert stale["statusCode"] == 409 and "changed" in stale["body"].lower()
    assert "Fan out to channels" not in aws.states_entered(arn)
    # When Marina reloads, reads the new text and approves it
    fresh = _review(aws, "GET", incident.id, reference, MARINA)
    assert edited in fresh["body"]
    done = _review(aws, "POST", incident.id, reference, MARINA, {"csrf": _csrf(fresh), "decision": "approve"})
    assert done["statusCode"] == 200, done
    # Then customers get the text both approved, and the decision names both and the text's hash
    aws.wait_for_state(arn, "Wait for next update", timeout=120)
    english = [m for m in subscriber_messages(aws, incident.id) if m["attributes"]["locale"]["Value"] == "en"]
    assert [m["message"] for m in english] == [edited]
    (item,) = _approval_items(aws, incident.id)
    outcome = json.loads(item["outcome"]["S"])
    assert item["state"]["S"] == "decided"
    assert outcome["approvers"] == [
        "arn:aws:iam::111122223333:role/OutageCommsCommunicationsDeputy",
        "arn:aws:iam::111122223333:role/OutageCommsCommunicationsManager",
    ]
    shown = json.loads(item["messages"]["S"])
    assert outcome["content_hash"] == content_hash(shown) and shown["sns"]["en"]["body"] == edited
    aws.client("stepfunctions").stop_execution(executionArn=arn)
