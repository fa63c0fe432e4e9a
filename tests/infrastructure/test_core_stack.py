"""The core stack on the example plan: encryption, tables, bus, archive, DLQ, IAM scope, outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from template_reading import (
    REASONED_WILDCARD_ACTIONS,
    as_list,
    identity_statements,
    join_to_text,
    wildcard_resource,
)

from app import CORE_STACK_NAME

pytestmark = pytest.mark.infrastructure


@pytest.fixture(scope="module")
def template(core: Any) -> Template:
    return core.templates[CORE_STACK_NAME]


@pytest.fixture(scope="module")
def raw(core: Any) -> dict[str, Any]:
    return core.raw[CORE_STACK_NAME]


def resources_of(raw: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in raw["Resources"].items() if r["Type"] == kind}


def only_logical_id(raw: dict[str, Any], kind: str) -> str:
    (logical_id,) = resources_of(raw, kind)
    return logical_id


def test_the_key_rotates_and_is_kept(template: Template) -> None:
    template.resource_count_is("AWS::KMS::Key", 1)
    template.has_resource(
        "AWS::KMS::Key",
        {"Properties": {"EnableKeyRotation": True}, "DeletionPolicy": "Retain"},
    )
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/outage-comms"})


def test_key_policy_lets_cloudwatch_logs_use_it_only_for_outage_comms_log_groups(raw: dict[str, Any]) -> None:
    key = next(iter(resources_of(raw, "AWS::KMS::Key").values()))
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    logs = [s for s in statements if "logs." in str(s["Principal"].get("Service", ""))]
    assert len(logs) == 1
    condition = logs[0]["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert (
        join_to_text(condition)
        == "arn:{AWS::Partition}:logs:{AWS::Region}:{AWS::AccountId}:log-group:/outage-comms/*"
    )


def test_key_policy_service_statements_are_scoped(raw: dict[str, Any]) -> None:
    key = next(iter(resources_of(raw, "AWS::KMS::Key").values()))
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        service = statement["Principal"].get("Service")
        if service is None:
            continue  # the account root: delegation to IAM policies
        actions = set(as_list(statement["Action"]))
        assert "kms:*" not in actions, statement
        assert not any(
            a.startswith(("kms:Create", "kms:Put", "kms:Schedule", "kms:Disable")) for a in actions
        )
        if service in ("sns.amazonaws.com", "events.amazonaws.com") and "kms:DescribeKey" not in actions:
            assert "Condition" in statement, f"{service} may only use the key with a condition: {statement}"


def test_three_tables_all_on_demand_pitr_cmk_and_deletion_protected(raw: dict[str, Any]) -> None:
    key_id = only_logical_id(raw, "AWS::KMS::Key")
    tables = resources_of(raw, "AWS::DynamoDB::Table")
    assert len(tables) == 3
    for logical_id, table in tables.items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, logical_id
        assert props["SSESpecification"] == {
            "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
            "SSEEnabled": True,
            "SSEType": "KMS",
        }, logical_id
        assert props["DeletionProtectionEnabled"] is True, logical_id
        assert table["DeletionPolicy"] == "Retain", logical_id


def _key_schema(*names: str) -> list[dict[str, str]]:
    return [{"AttributeName": n, "KeyType": k} for n, k in zip(names, ("HASH", "RANGE"), strict=False)]


def test_incidents_and_subscribers_tables_have_their_indexes(template: Template) -> None:
    for index_name in ("open-by-component", "by-component-locale"):
        index = Match.object_like({"IndexName": index_name, "KeySchema": _key_schema("gsi1pk", "gsi1sk")})
        template.has_resource_properties(
            "AWS::DynamoDB::Table",
            {
                "KeySchema": _key_schema("pk", "sk"),
                # array_with: the incidents table also has recent-by-year (test_data_store_indexes.py)
                "GlobalSecondaryIndexes": Match.array_with([index]),
            },
        )


def test_idempotency_table_matches_powertools_layout(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": _key_schema("id"),
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        },
    )


def test_bus_and_an_encrypted_archive_of_every_event(raw: dict[str, Any], template: Template) -> None:
    bus_id = only_logical_id(raw, "AWS::Events::EventBus")
    key_id = only_logical_id(raw, "AWS::KMS::Key")
    template.has_resource_properties("AWS::Events::EventBus", {"Name": "outage-comms"})
    template.has_resource_properties(
        "AWS::Events::Archive",
        {
            "SourceArn": {"Fn::GetAtt": [bus_id, "Arn"]},
            "EventPattern": {"source": [{"prefix": ""}]},
            "RetentionDays": 365,
            "KmsKeyIdentifier": {"Fn::GetAtt": [key_id, "Arn"]},
        },
    )


def test_dead_letter_queue_is_encrypted_kept_14_days_and_ssl_only(
    raw: dict[str, Any], template: Template
) -> None:
    queue_id = only_logical_id(raw, "AWS::SQS::Queue")
    key_id = only_logical_id(raw, "AWS::KMS::Key")
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}, "MessageRetentionPeriod": 14 * 24 * 3600},
    )
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "sqs:*",
                                "Principal": {"AWS": "*"},
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_no_identity_policy_grants_on_every_resource_without_a_reason(raw: dict[str, Any]) -> None:
    for logical_id, statement in identity_statements(raw):
        if statement["Effect"] == "Allow" and wildcard_resource(statement):
            unexplained = set(as_list(statement["Action"])) - set(REASONED_WILDCARD_ACTIONS)
            assert not unexplained, f"{logical_id}: {unexplained} on Resource '*'"


def test_outputs_name_the_tables_and_the_bus(raw: dict[str, Any]) -> None:
    outputs = raw["Outputs"]
    for name in ("IncidentsTableName", "SubscribersTableName", "IdempotencyTableName", "EventBusName"):
        assert name in outputs, sorted(outputs)
    assert outputs["EventBusName"]["Value"] == {"Ref": only_logical_id(raw, "AWS::Events::EventBus")}


def test_every_taggable_resource_is_tagged_with_the_project(raw: dict[str, Any]) -> None:
    for kind in ("AWS::KMS::Key", "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Events::EventBus"):
        for logical_id, resource in resources_of(raw, kind).items():
            assert {"Key": "project", "Value": "outage-comms"} in resource["Properties"]["Tags"], logical_id


def test_core_stack_has_termination_protection(core: Any) -> None:
    manifest = json.loads((core.outdir / "manifest.json").read_text())
    properties = manifest["artifacts"][CORE_STACK_NAME]["properties"]
    assert properties["terminationProtection"] is True


def test_acknowledgments_are_recorded_in_the_template_with_reasons(raw: dict[str, Any]) -> None:
    queue = next(iter(resources_of(raw, "AWS::SQS::Queue").values()))
    rules = queue["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert {r["id"] for r in rules} == {"AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"}
    assert all(len(r["reason"]) > 40 for r in rules)
