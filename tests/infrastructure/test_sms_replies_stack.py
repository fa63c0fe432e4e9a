"""SMS replies ("Helpful? Reply YES or NO") in the synthesized workflow stack: topic, role, grants."""

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


def _topic_id(template: dict[str, Any]) -> str:
    (topic_id,) = [
        lid
        for lid, r in _resources(template, "AWS::SNS::Topic").items()
        if r["Properties"].get("TopicName") == "outage-comms-sms-replies"
    ]
    return topic_id


def _function(template: dict[str, Any], handler: str) -> dict[str, Any]:
    (function,) = [
        r["Properties"]
        for r in _resources(template, "AWS::Lambda::Function").values()
        if r["Properties"].get("Handler") == handler
    ]
    return function


def _statements_of_role(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [
        statement
        for logical_id, statement in identity_statements(template)
        if logical_id == role
        or role in json.dumps(template["Resources"][logical_id]["Properties"].get("Roles", []))
    ]


def _actions(statement: dict[str, Any]) -> set[str]:
    return set(as_list(statement["Action"]))


def _feedback_table(template: dict[str, Any]) -> str:
    api = _function(template, "handlers.feedback_api.handler")
    return str(api["Environment"]["Variables"]["FEEDBACK_TABLE"]["Ref"])


def test_the_replies_topic_is_encrypted_with_the_core_key(template: dict[str, Any]) -> None:
    topic = template["Resources"][_topic_id(template)]["Properties"]
    assert "OutageCommsCore" in json.dumps(topic["KmsMasterKeyId"])


def test_end_user_messaging_may_only_publish_to_that_topic_through_its_role(template: dict[str, Any]) -> None:
    topic_id = _topic_id(template)
    (role_id,) = [
        lid
        for lid, r in _resources(template, "AWS::IAM::Role").items()
        if "sms-voice.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    trust = as_list(template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"])
    assert [s["Principal"] for s in trust] == [{"Service": "sms-voice.amazonaws.com"}]
    assert all("aws:SourceAccount" in s["Condition"]["StringEquals"] for s in trust)  # confused deputy
    statements = _statements_of_role(template, role_id)
    assert not any(wildcard_resource(s) for s in statements)
    publish = [s for s in statements if "sns:Publish" in _actions(s)]
    assert [s["Resource"] for s in publish] == [{"Ref": topic_id}]
    others = {action for s in statements for action in _actions(s)} - {"sns:Publish"}
    assert others == {"kms:GenerateDataKey", "kms:Decrypt"}


def test_the_reply_function_is_subscribed_with_a_dead_letter_queue(template: dict[str, Any]) -> None:
    topic_id = _topic_id(template)
    (subscription,) = [
        r["Properties"]
        for r in _resources(template, "AWS::SNS::Subscription").values()
        if r["Properties"]["TopicArn"] == {"Ref": topic_id}
    ]
    assert subscription["Protocol"] == "lambda"
    assert "RedrivePolicy" in subscription
    function = _function(template, "handlers.sms_replies.handler")
    assert "DeadLetterConfig" in function
    assert function["Environment"]["Variables"]["FEEDBACK_TABLE"] == {"Ref": _feedback_table(template)}


def test_the_reply_function_may_only_look_up_and_count_in_the_feedback_table(
    template: dict[str, Any],
) -> None:
    function = _function(template, "handlers.sms_replies.handler")
    statements = _statements_of_role(template, function["Role"]["Fn::GetAtt"][0])
    table = _feedback_table(template)
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert dynamo and all(json.dumps(s["Resource"]).count(table) == 1 for s in dynamo)
    assert {a for s in dynamo for a in _actions(s)} == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    assert any("secretsmanager:GetSecretValue" in _actions(s) for s in statements)


def test_the_deliver_step_may_write_reply_records_and_knows_the_table(template: dict[str, Any]) -> None:
    deliver = _function(template, "handlers.workflow_deliver_channel.handler")
    table = _feedback_table(template)
    assert deliver["Environment"]["Variables"]["FEEDBACK_TABLE"] == {"Ref": table}
    statements = _statements_of_role(template, deliver["Role"]["Fn::GetAtt"][0])
    on_table = [s for s in statements if table in json.dumps(s.get("Resource"))]
    assert on_table, "no statement on the feedback table"
    assert {a for s in on_table for a in _actions(s)} == {"dynamodb:BatchWriteItem", "dynamodb:PutItem"}


def test_the_stack_outputs_what_the_phone_number_needs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["SmsRepliesTopicArn"]["Value"] == {"Ref": _topic_id(template)}
    assert "SmsRepliesPublisherRoleArn" in outputs


def test_the_bulk_batches_may_write_reply_records_only(template: dict[str, Any]) -> None:
    # A policy in the workflow stack, attached to the channels stack's batch role (no reference cycle)
    table = _feedback_table(template)
    policies = [
        r["Properties"]
        for r in _resources(template, "AWS::IAM::Policy").values()
        if "SendBatch" in json.dumps(r["Properties"].get("Roles", []))
    ]
    assert len(policies) == 1
    statements = as_list(policies[0]["PolicyDocument"]["Statement"])
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert [s["Resource"] for s in dynamo] == [{"Fn::GetAtt": [table, "Arn"]}]
    assert {a for s in dynamo for a in _actions(s)} == {"dynamodb:BatchWriteItem", "dynamodb:PutItem"}
    assert not any(wildcard_resource(s) for s in statements)
