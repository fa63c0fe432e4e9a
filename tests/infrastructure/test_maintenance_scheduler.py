"""The maintenance scheduler in the intake stack: group, scheduler role, tick function, least privilege."""

from __future__ import annotations

import json
from typing import Any

import pytest
from template_reading import as_list, identity_statements

from app import INTAKE_STACK_NAME
from outage_comms.maintenance import SCHEDULE_GROUP

pytestmark = pytest.mark.infrastructure


@pytest.fixture(scope="module")
def raw(core: Any) -> dict[str, Any]:
    return core.raw[INTAKE_STACK_NAME]


def of_type(raw: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in raw["Resources"].items() if r["Type"] == kind}


def function_with_handler(raw: dict[str, Any], handler: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, r)
        for lid, r in of_type(raw, "AWS::Lambda::Function").items()
        if r["Properties"]["Handler"] == handler
    ]
    return found


def role_of(function: dict[str, Any]) -> str:
    return str(function["Properties"]["Role"]["Fn::GetAtt"][0])


def statements_of_role(raw: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    policies = {
        lid
        for lid, r in of_type(raw, "AWS::IAM::Policy").items()
        if {"Ref": role_id} in r["Properties"].get("Roles", [])
    }
    return [s for lid, s in identity_statements(raw) if lid in policies or lid == role_id]


def test_the_schedule_group_is_named_for_the_api(raw: dict[str, Any]) -> None:
    (group,) = of_type(raw, "AWS::Scheduler::ScheduleGroup").values()
    assert group["Properties"]["Name"] == SCHEDULE_GROUP


def test_the_scheduler_role_is_trusted_only_by_scheduler_for_this_account_and_group(
    raw: dict[str, Any],
) -> None:
    roles = {
        lid: r
        for lid, r in of_type(raw, "AWS::IAM::Role").items()
        if any(
            s["Principal"].get("Service") == "scheduler.amazonaws.com"
            for s in r["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        )
    }
    assert len(roles) == 1
    (role,) = roles.values()
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    (group_id,) = of_type(raw, "AWS::Scheduler::ScheduleGroup")
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::GetAtt": [group_id, "Arn"]}


def test_the_scheduler_role_may_invoke_exactly_the_tick_function(raw: dict[str, Any]) -> None:
    tick_id, _ = function_with_handler(raw, "handlers.maintenance_tick.handler")
    (role_id,) = [
        lid
        for lid, r in of_type(raw, "AWS::IAM::Role").items()
        if "scheduler.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    statements = statements_of_role(raw, role_id)
    invoke = [s for s in statements if "lambda:InvokeFunction" in as_list(s["Action"])]
    assert [as_list(s["Resource"]) for s in invoke] == [[{"Fn::GetAtt": [tick_id, "Arn"]}]]
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert actions == {"lambda:InvokeFunction", "sqs:SendMessage", "kms:Decrypt", "kms:GenerateDataKey"}
    assert all("*" not in json.dumps(s["Resource"]) for s in statements)


def test_the_api_function_may_create_and_delete_only_the_groups_schedules_and_pass_only_that_role(
    raw: dict[str, Any],
) -> None:
    _, api = function_with_handler(raw, "handlers.incident_api.handler")
    statements = statements_of_role(raw, role_of(api))
    scheduling = [s for s in statements if any(a.startswith("scheduler:") for a in as_list(s["Action"]))]
    assert len(scheduling) == 1
    assert sorted(as_list(scheduling[0]["Action"])) == [
        "scheduler:CreateSchedule",
        "scheduler:DeleteSchedule",
    ]
    resource = json.dumps(scheduling[0]["Resource"])
    assert f":schedule/{SCHEDULE_GROUP}/*" in resource
    (pass_role,) = [s for s in statements if "iam:PassRole" in as_list(s["Action"])]
    (scheduler_role,) = [
        lid
        for lid, r in of_type(raw, "AWS::IAM::Role").items()
        if "scheduler.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    assert as_list(pass_role["Resource"]) == [{"Fn::GetAtt": [scheduler_role, "Arn"]}]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    variables = api["Properties"]["Environment"]["Variables"]
    assert variables["MAINTENANCE_SCHEDULE_GROUP"] == SCHEDULE_GROUP
    for name in (
        "MAINTENANCE_TICK_FUNCTION_ARN",
        "MAINTENANCE_SCHEDULER_ROLE_ARN",
        "MAINTENANCE_DEAD_LETTER_ARN",
        "MAINTENANCE_KMS_KEY_ARN",
    ):
        assert name in variables


def test_the_dead_letter_queue_is_encrypted_and_tls_only_and_catches_failed_ticks(
    raw: dict[str, Any],
) -> None:
    _, tick = function_with_handler(raw, "handlers.maintenance_tick.handler")
    target = tick["Properties"]["DeadLetterConfig"]["TargetArn"]
    queue_id = target["Fn::GetAtt"][0]
    queue = raw["Resources"][queue_id]
    assert "KmsMasterKeyId" in queue["Properties"]
    policies = [
        r
        for r in of_type(raw, "AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in r["Properties"]["Queues"]
    ]
    denies = [
        s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
    ]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_the_api_has_the_maintenance_routes(raw: dict[str, Any]) -> None:
    resources = of_type(raw, "AWS::ApiGateway::Resource")
    parts = {r["Properties"]["PathPart"] for r in resources.values()}
    assert {"maintenances", "complete", "cancel"} <= parts
    methods = of_type(raw, "AWS::ApiGateway::Method")
    maintenance_ids = {
        lid
        for lid, r in resources.items()
        if r["Properties"]["PathPart"] in ("maintenances", "complete", "cancel")
    }
    posts = [
        m for m in methods.values() if m["Properties"].get("ResourceId", {}).get("Ref") in maintenance_ids
    ]
    assert len(posts) == 3
    assert all(m["Properties"]["AuthorizationType"] == "AWS_IAM" for m in posts)
