"""``GET /incidents/{id}/activity``: an IAM-authorized read route whose function may only Query two tables."""

from __future__ import annotations

import json
from typing import Any

import pytest
from template_reading import as_list, identity_statements

from app import INTAKE_STACK_NAME, WORKFLOW_STACK_NAME

pytestmark = pytest.mark.infrastructure


def resources_of(raw: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in raw["Resources"].items() if r["Type"] == kind}


def test_the_activity_route_is_a_get_with_iam_auth_under_one_incident(core: Any) -> None:
    raw = core.raw[INTAKE_STACK_NAME]
    resources = resources_of(raw, "AWS::ApiGateway::Resource")
    (activity,) = [lid for lid, r in resources.items() if r["Properties"]["PathPart"] == "activity"]
    parent = resources[activity]["Properties"]["ParentId"]["Ref"]
    assert resources[parent]["Properties"]["PathPart"] == "{incident_id}"
    (method,) = [
        m["Properties"]
        for m in resources_of(raw, "AWS::ApiGateway::Method").values()
        if m["Properties"]["ResourceId"] == {"Ref": activity}
    ]
    assert method["HttpMethod"] == "GET" and method["AuthorizationType"] == "AWS_IAM"
    assert method["RequestParameters"] == {"method.request.path.incident_id": True}


def test_the_api_function_reads_the_workflow_table_and_may_only_query_it(core: Any) -> None:
    raw = core.raw[INTAKE_STACK_NAME]
    (function_id, function) = next(
        (lid, r)
        for lid, r in resources_of(raw, "AWS::Lambda::Function").items()
        if r["Properties"]["Handler"] == "handlers.incident_api.handler"
    )
    variables = function["Properties"]["Environment"]["Variables"]
    # The workflow table lives in the workflow stack: its name crosses as an export
    assert WORKFLOW_STACK_NAME in json.dumps(variables["WORKFLOW_TABLE"])
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    queries = [
        statement
        for logical_id, statement in identity_statements(raw)
        if "dynamodb:Query" in as_list(statement["Action"])
        and role in json.dumps(raw["Resources"][logical_id]["Properties"].get("Roles", []))
    ]
    # GET /incidents (the list) may also Query the incidents table's recent index, and only that index
    on_index = [q for q in queries if "/index/" in json.dumps(q["Resource"])]
    assert all(json.dumps(q["Resource"]).count("/index/recent-by-year") == 1 for q in on_index), on_index
    (statement,) = [q for q in queries if q not in on_index]
    assert as_list(statement["Action"]) == ["dynamodb:Query"], function_id
    resources = [json.dumps(r) for r in as_list(statement["Resource"])]
    assert len(resources) == 2  # the incidents table and the workflow table, no index, no wildcard
    assert any(WORKFLOW_STACK_NAME in r for r in resources)
    assert not any("index" in r or '"*"' in r for r in resources)
