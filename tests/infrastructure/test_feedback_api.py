"""The feedback API in the synthesized workflow stack: public but throttled, encrypted, least privilege."""

from __future__ import annotations

import json
from typing import Any

import pytest
from template_reading import as_list, identity_statements, wildcard_resource

pytestmark = pytest.mark.infrastructure

WORKFLOW_STACK = "OutageCommsWorkflow"


@pytest.fixture(scope="module")
def template(core: Any) -> dict[str, Any]:
    return dict(core.raw[WORKFLOW_STACK])


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def _feedback_api_id(template: dict[str, Any]) -> str:
    (api_id,) = [
        lid
        for lid, r in _resources(template, "AWS::ApiGateway::RestApi").items()
        if r["Properties"]["Name"] == "outage-comms-feedback"
    ]
    return api_id


def _function(template: dict[str, Any], handler: str) -> dict[str, Any]:
    (function,) = [
        r["Properties"]
        for r in _resources(template, "AWS::Lambda::Function").values()
        if r["Properties"].get("Handler") == handler
    ]
    return function


def _role_statements(template: dict[str, Any], function: dict[str, Any]) -> list[dict[str, Any]]:
    role = function["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for logical_id, statement in identity_statements(template)
        if logical_id == role
        or role in json.dumps(template["Resources"][logical_id]["Properties"].get("Roles", []))
    ]


def _core_key(template: dict[str, Any]) -> Any:
    """The core stack's customer-managed key, as the workflow table refers to it."""
    function = _function(template, "handlers.feedback_api.handler")
    workflow_table = template["Resources"][function["Environment"]["Variables"]["WORKFLOW_TABLE"]["Ref"]]
    key = workflow_table["Properties"]["SSESpecification"]["KMSMasterKeyId"]
    assert "OutageCommsCore" in json.dumps(key) and "EncryptionKey" in json.dumps(key)
    return key


def _feedback_table_id(template: dict[str, Any]) -> str:
    function = _function(template, "handlers.feedback_api.handler")
    return str(function["Environment"]["Variables"]["FEEDBACK_TABLE"]["Ref"])


def test_the_public_api_is_open_without_auth_but_throttled_and_logged(template: dict[str, Any]) -> None:
    api_id = _feedback_api_id(template)
    methods = [
        r["Properties"]
        for r in _resources(template, "AWS::ApiGateway::Method").values()
        if r["Properties"]["RestApiId"] == {"Ref": api_id}
    ]
    assert {m["HttpMethod"] for m in methods} == {"GET", "POST"}
    assert all(m["AuthorizationType"] == "NONE" for m in methods)
    validated = [m["RequestParameters"] for m in methods if m.get("RequestParameters")]
    vote = {"method.request.path.token": True, "method.request.path.action": True}
    page = {"method.request.path.token": True}  # /f/{token}: the compact form's answer page
    assert validated.count(vote) == 2 and validated.count(page) == 2  # GET and POST each
    assert len(validated) == 4
    (stage,) = [
        r["Properties"]
        for r in _resources(template, "AWS::ApiGateway::Stage").values()
        if r["Properties"]["RestApiId"] == {"Ref": api_id}
    ]
    (settings,) = stage["MethodSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (25, 50)
    assert stage["TracingEnabled"] is True and "DestinationArn" in stage["AccessLogSetting"]
    assert "caller" not in stage["AccessLogSetting"]["Format"]  # a public API logs no caller identity


def test_the_function_has_reserved_concurrency(template: dict[str, Any]) -> None:
    function = _function(template, "handlers.feedback_api.handler")
    assert function["ReservedConcurrentExecutions"] == 10


def test_the_table_is_encrypted_with_the_customer_managed_key_recoverable_and_expires_clicks(
    template: dict[str, Any],
) -> None:
    table = template["Resources"][_feedback_table_id(template)]
    properties = table["Properties"]
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["SSESpecification"]["SSEType"] == "KMS"
    assert properties["SSESpecification"]["KMSMasterKeyId"] == _core_key(template)
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["DeletionProtectionEnabled"] is True and table["DeletionPolicy"] == "Retain"


def test_the_signing_key_is_a_generated_secret_encrypted_with_the_core_key(template: dict[str, Any]) -> None:
    function = _function(template, "handlers.feedback_api.handler")
    secret_id = function["Environment"]["Variables"]["FEEDBACK_SECRET_ARN"]["Ref"]
    secret = template["Resources"][secret_id]["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] == 64
    assert secret["KmsKeyId"] == _core_key(template)


def test_the_render_step_gets_the_base_url_and_may_read_only_the_secret(template: dict[str, Any]) -> None:
    render = _function(template, "handlers.workflow_render.handler")
    feedback = _function(template, "handlers.feedback_api.handler")
    variables = render["Environment"]["Variables"]
    secret_ref = feedback["Environment"]["Variables"]["FEEDBACK_SECRET_ARN"]
    assert variables["FEEDBACK_SECRET_ARN"] == secret_ref
    # links go to the status site's /f/* route to this API (test_status_feedback_route.py)
    assert (
        variables["FEEDBACK_BASE_URL"].startswith("https://")
        and "execute-api" not in variables["FEEDBACK_BASE_URL"]
    )
    reads = [
        s
        for s in _role_statements(template, render)
        if "secretsmanager:GetSecretValue" in as_list(s["Action"])
    ]
    assert {json.dumps(s["Resource"]) for s in reads} >= {json.dumps(secret_ref)}
    # on the feedback table it may only write short links' codes (PutItem): never count, read or delete
    assert not any(
        feedback_action in as_list(s["Action"])
        for s in _role_statements(template, render)
        if _feedback_table_id(template) in json.dumps(s.get("Resource"))
        for feedback_action in (
            "dynamodb:UpdateItem",
            "dynamodb:GetItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
        )
    )


def test_the_feedback_function_may_touch_only_its_table_the_update_check_and_its_secret(
    template: dict[str, Any],
) -> None:
    function = _function(template, "handlers.feedback_api.handler")
    statements = [s for s in _role_statements(template, function) if s.get("Effect") == "Allow"]
    table_id = _feedback_table_id(template)
    workflow_table = function["Environment"]["Variables"]["WORKFLOW_TABLE"]["Ref"]
    for statement in statements:
        actions = set(as_list(statement["Action"]))
        resources = json.dumps(statement["Resource"])
        if wildcard_resource(statement):
            assert actions <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
        elif any(a.startswith("dynamodb:") for a in actions):
            if table_id in resources:
                assert actions == {
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                }
                assert workflow_table not in resources
            else:
                assert workflow_table in resources and actions == {"dynamodb:GetItem"}
        elif any(a.startswith("kms:") for a in actions):
            assert "kms:ViaService" in json.dumps(statement.get("Condition", {}))
        elif any(a.startswith("secretsmanager:") for a in actions):
            assert actions == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
            assert resources == json.dumps(function["Environment"]["Variables"]["FEEDBACK_SECRET_ARN"])
        else:
            assert actions <= {"logs:CreateLogStream", "logs:PutLogEvents"}, statement


def test_the_stack_outputs_the_feedback_api_url(template: dict[str, Any]) -> None:
    output = template["Outputs"]["FeedbackApiUrl"]["Value"]
    assert _feedback_api_id(template) in json.dumps(output)


def test_the_internal_dashboard_graphs_yes_and_no_per_channel(core: Any) -> None:
    bodies = [
        json.dumps(r["Properties"]["DashboardBody"])
        for template in core.raw.values()
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    (internal,) = [b for b in bodies if "TimeToFirstExternalMessage" in b]
    unescaped = internal.replace("\\", "")
    for vote in ("yes", "no"):
        search = f'{{OutageComms,channel,service,vote}} MetricName="FeedbackVotes" vote="{vote}"'
        assert search in unescaped, vote
