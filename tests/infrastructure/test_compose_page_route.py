"""The compose page's route: IAM-authorized GET/POST, the incident API's grants and nothing more.

Its function applies a person's request like the incident API (tables, bus, hand-offs on the intake
queue) and reads the review links' key to verify its links; it holds no ``states:`` action and never
reaches the approval requests (task tokens). The reminder function reads the page's URL from SSM.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from template_reading import as_list, identity_statements

from app import INTAKE_STACK_NAME, WORKFLOW_STACK_NAME

pytestmark = pytest.mark.infrastructure


def _resources(raw: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in raw["Resources"].items() if r["Type"] == kind}


def _function(raw: dict[str, Any], handler: str) -> dict[str, Any]:
    (function,) = [
        r for r in _resources(raw, "AWS::Lambda::Function").values() if r["Properties"]["Handler"] == handler
    ]
    return function


def _role_actions(raw: dict[str, Any], function: dict[str, Any]) -> list[tuple[str, str]]:
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    found = []
    for logical_id, statement in identity_statements(raw):
        if (
            role in json.dumps(raw["Resources"][logical_id]["Properties"].get("Roles", []))
            or logical_id == role
        ):
            found += [
                (action, json.dumps(statement.get("Resource"))) for action in as_list(statement["Action"])
            ]
    return found


def test_the_compose_route_is_get_and_post_with_iam_auth(core: Any) -> None:
    raw = core.raw[INTAKE_STACK_NAME]
    resources = _resources(raw, "AWS::ApiGateway::Resource")
    (compose,) = [lid for lid, r in resources.items() if r["Properties"]["PathPart"] == "compose"]
    (reference,) = [lid for lid, r in resources.items() if r["Properties"]["ParentId"] == {"Ref": compose}]
    assert resources[reference]["Properties"]["PathPart"] == "{reference}"
    methods = [
        m["Properties"]
        for m in _resources(raw, "AWS::ApiGateway::Method").values()
        if m["Properties"]["ResourceId"] == {"Ref": reference}
    ]
    assert sorted(m["HttpMethod"] for m in methods) == ["GET", "POST"]
    assert {m["AuthorizationType"] for m in methods} == {"AWS_IAM"}


def test_the_compose_function_has_the_incident_apis_grants_and_reads_only_the_review_key(core: Any) -> None:
    raw = core.raw[INTAKE_STACK_NAME]
    function = _function(raw, "handlers.compose_page.handler")
    actions = _role_actions(raw, function)
    names = {action for action, _ in actions}
    assert not any(a.startswith("states:") for a in names), names  # hand-offs go through intake
    assert "sqs:SendMessage" in names and "events:PutEvents" in names
    secrets = [resource for action, resource in actions if action == "secretsmanager:GetSecretValue"]
    assert len(secrets) == 1 and WORKFLOW_STACK_NAME in secrets[0]  # the review links' key, no other
    assert not any(r == '"*"' for a, r in actions if a.startswith(("dynamodb:", "secretsmanager:")))
    variables = function["Properties"]["Environment"]["Variables"]
    assert "WORKFLOW_HANDOFF_QUEUE_URL" in variables and "REVIEW_SECRET_ARN" in variables
    assert "APPROVAL_TABLE" not in variables


def test_reminders_read_the_compose_url_from_its_parameter(core: Any) -> None:
    (parameter,) = _resources(core.raw[INTAKE_STACK_NAME], "AWS::SSM::Parameter").values()
    name = parameter["Properties"]["Name"]
    raw = core.raw[WORKFLOW_STACK_NAME]
    remind = _function(raw, "handlers.workflow_notice.handler")
    assert remind["Properties"]["Environment"]["Variables"]["COMPOSE_URL_PARAMETER"] == name
    reads = [resource for action, resource in _role_actions(raw, remind) if action == "ssm:GetParameter"]
    assert len(reads) == 1 and f"parameter{name}" in reads[0].replace('"', "")
