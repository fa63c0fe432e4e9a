"""The channels stack on the example plan: bulk delivery definition, IAM scope, encryption, the API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from template_reading import as_list, identity_statements, join_to_text, wildcard_resource

from app import CHANNELS_STACK_NAME

pytestmark = pytest.mark.infrastructure


@pytest.fixture(scope="module")
def template(core: Any) -> Template:
    return core.templates[CHANNELS_STACK_NAME]


@pytest.fixture(scope="module")
def raw(core: Any) -> dict[str, Any]:
    return core.raw[CHANNELS_STACK_NAME]


def of_type(raw: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in raw["Resources"].values() if r["Type"] == kind]


@pytest.fixture(scope="module")
def definition(raw: dict[str, Any]) -> dict[str, Any]:
    (machine,) = of_type(raw, "AWS::StepFunctions::StateMachine")
    assert machine["Properties"]["StateMachineName"] == "outage-comms-bulk-delivery"
    return dict(json.loads(join_to_text(machine["Properties"]["DefinitionString"])))


def test_bulk_delivery_is_a_distributed_map_over_jsonl_with_results_written_to_s3(
    definition: dict[str, Any],
) -> None:
    send = definition["States"]["SendToRecipients"]
    assert send["Type"] == "Map"
    assert send["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert send["ItemReader"]["ReaderConfig"] == {"InputType": "JSONL"}
    assert send["ItemReader"]["Resource"].endswith(":states:::s3:getObject")
    assert send["ItemReader"]["Parameters"]["Key.$"] == "$.recipients.key"
    assert send["ResultWriter"]["Resource"].endswith(":states:::s3:putObject")
    assert send["ToleratedFailurePercentage"] == 100  # every batch's result is recorded, none stops the rest
    assert send["MaxConcurrencyPath"] == "$.batching.max_concurrency"
    batcher = send["ItemBatcher"]
    assert batcher["MaxItemsPerBatchPath"] == "$.batching.max_items"
    assert batcher["MaxInputBytesPerBatch"] <= 256 * 1024
    assert batcher["BatchInput"]["rate_per_second.$"] == "$.batching.rate_per_second"


def test_batches_are_sized_to_each_provider(definition: dict[str, Any]) -> None:
    email = definition["States"]["EmailBatching"]["Result"]
    sms = definition["States"]["SmsBatching"]["Result"]
    assert email["max_items"] == 50  # SES: at most 50 recipients per message
    assert email["rate_per_second"] * email["max_concurrency"] == pytest.approx(14)  # the SES account rate
    assert sms == {"max_items": 60, "max_concurrency": 1, "rate_per_second": 3}  # 20 s of a 3 MPS number


def test_failed_batches_are_retried_with_backoff_and_jitter(definition: dict[str, Any]) -> None:
    task = definition["States"]["SendToRecipients"]["ItemProcessor"]["States"]["SendBatch"]
    (retry,) = task["Retry"]
    assert "ChannelRetryableError" in retry["ErrorEquals"]
    assert retry["BackoffRate"] == 2 and retry["JitterStrategy"] == "FULL" and retry["MaxAttempts"] >= 3


def test_the_plan_secrets_are_readable_by_name_and_nothing_else(raw: dict[str, Any]) -> None:
    resources = [
        join_to_text(resource)
        for logical_id, statement in identity_statements(raw)
        # The social-mentions listener reads the Bluesky app password only: test_social_mentions.py.
        if "secretsmanager:GetSecretValue" in as_list(statement["Action"])
        and not logical_id.startswith("SocialMentions")
        for resource in as_list(statement["Resource"])
    ]
    named = sorted(r for r in resources if ":secret:outage-comms/" in r)
    assert (
        named
        == [
            f"arn:{{AWS::Partition}}:secretsmanager:{{AWS::Region}}:{{AWS::AccountId}}:secret:outage-comms/{name}-??????"
            for name in sorted(
                [
                    "bluesky-app-password",
                    "helpdesk-webhook",
                    "mastodon-token",
                    "slack-webhook",
                    "teams-webhook",
                    "webhook-signing-key",
                    # drill mode's test targets (plan.drill.webhook_secrets), by name as well
                    "drill/slack-webhook",
                    "drill/teams-webhook",
                    "drill/mastodon-token",
                    "drill/bluesky-app-password",
                    "drill/webhook-signing-key",
                    "drill/helpdesk-webhook",
                ]
            )
        ]
        * 1
    )
    assert all(":secret:" in r or r.startswith("{") for r in resources)


def test_email_and_sms_sends_are_scoped_to_the_plan_identities(raw: dict[str, Any]) -> None:
    email = [s for _, s in identity_statements(raw) if "ses:SendEmail" in as_list(s["Action"])]
    assert email
    for statement in email:
        assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": "status@nimbusnotes.example"}}
        targets = [join_to_text(r) for r in as_list(statement["Resource"])]
        assert any(t.endswith(":identity/nimbusnotes.example") for t in targets)
        assert any(t.endswith(":configuration-set/outage-comms") for t in targets)
    sms = [s for _, s in identity_statements(raw) if "sms-voice:SendTextMessage" in as_list(s["Action"])]
    assert sms
    for statement in sms:
        targets = [join_to_text(r) for r in as_list(statement["Resource"])]
        assert any(t.endswith(":configuration-set/outage-comms") for t in targets)
        assert not wildcard_resource(statement)


#: Actions without resource-level permissions: X-Ray, and the vended log delivery Step Functions logging uses.
NO_RESOURCE_LEVEL = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
}


def test_no_statement_allows_anything_on_every_resource_without_a_reason(raw: dict[str, Any]) -> None:
    for logical_id, statement in identity_statements(raw):
        if wildcard_resource(statement):
            assert set(as_list(statement["Action"])) <= NO_RESOURCE_LEVEL, (logical_id, statement)


def test_bounces_and_complaints_reach_the_suppression_function(template: Template) -> None:
    template.has_resource_properties("AWS::SES::ConfigurationSet", {"Name": "outage-comms"})
    template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {
            "EventDestination": Match.object_like(
                {"MatchingEventTypes": ["bounce", "complaint"], "SnsDestination": Match.any_value()}
            )
        },
    )
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "lambda", "RedrivePolicy": Match.any_value()}
    )


def test_data_at_rest_is_encrypted_with_the_outage_comms_key(raw: dict[str, Any]) -> None:
    (bucket,) = of_type(raw, "AWS::S3::Bucket")
    rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert bucket["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 7
    assert bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    (table,) = of_type(raw, "AWS::DynamoDB::Table")
    assert table["Properties"]["SSESpecification"]["SSEType"] == "KMS"
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    (secret,) = of_type(raw, "AWS::SecretsManager::Secret")
    assert "KmsKeyId" in secret["Properties"]
    (logs,) = [g for g in of_type(raw, "AWS::Logs::LogGroup") if "bulk-delivery" in str(g["Properties"])]
    assert "KmsKeyId" in logs["Properties"]


def test_the_subscribe_api_is_throttled_logged_and_validated(raw: dict[str, Any], template: Template) -> None:
    (stage,) = of_type(raw, "AWS::ApiGateway::Stage")
    settings = stage["Properties"]["MethodSettings"][0]
    assert settings["ThrottlingRateLimit"] == 5 and settings["ThrottlingBurstLimit"] == 10
    assert stage["Properties"]["TracingEnabled"] is True and "AccessLogSetting" in stage["Properties"]
    methods = {(m["Properties"]["HttpMethod"]) for m in of_type(raw, "AWS::ApiGateway::Method")}
    assert methods == {"GET", "POST", "PUT"}
    assert all("RequestValidatorId" in m["Properties"] for m in of_type(raw, "AWS::ApiGateway::Method"))
    template.has_resource_properties(
        "AWS::ApiGateway::Model",
        {"Schema": Match.object_like({"required": ["channel", "address", "locale"]})},
    )
