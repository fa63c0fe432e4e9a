"""The status stack (in a dedicated status account and region) and the workload's status publisher."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Environment
from aws_cdk.assertions import Match, Template
from synthesized_apps import EXAMPLE_PLAN, REPO_ROOT, Synthesized, new_app, synthesize
from template_reading import as_list, identity_statements, join_to_text, wildcard_resource

from outage_comms.plan import load_plan

pytestmark = pytest.mark.infrastructure

WORKLOAD = Environment(account="111111111111", region="us-east-1")
STATUS = Environment(account="222222222222", region="sa-east-1")
PUBLISHER_FUNCTION_ROLE = (
    "arn:{AWS::Partition}:iam::111111111111:role/outage-comms-status-publisher-us-east-1"
)
STATUS_ACCESS_ROLE = "arn:{AWS::Partition}:iam::222222222222:role/OutageCommsStatusPublisherAccess"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Core + status publisher in the workload account, status stack in another account and region."""
    from outage_comms_cdk.core_stack import OutageCommsCoreStack
    from outage_comms_cdk.quality_gates import apply_quality_gates
    from outage_comms_cdk.settings import DeploymentSettings, cdk_json_context
    from outage_comms_cdk.status_publisher_stack import OutageCommsStatusPublisherStack
    from outage_comms_cdk.status_stack import OutageCommsStatusStack

    app = new_app(tmp_path_factory.mktemp("status-cdk.out"))
    plan = load_plan(EXAMPLE_PLAN)
    settings = DeploymentSettings(
        plan=plan,
        plan_path=EXAMPLE_PLAN,
        powertools_layer_version=int(cdk_json_context()["powertools_layer_version"]),
    )
    core = OutageCommsCoreStack(app, "Core", settings=settings, env=WORKLOAD)
    OutageCommsStatusPublisherStack(
        app, "Publisher", core=core, status_account=STATUS.account, status_region=STATUS.region, env=WORKLOAD
    )
    OutageCommsStatusStack(
        app,
        "Status",
        plan=plan,
        workload_account=WORKLOAD.account,
        workload_region=WORKLOAD.region,
        env=STATUS,
    )
    apply_quality_gates(app)  # the synth below fails on any unacknowledged cdk-nag finding
    return synthesize(app)


@pytest.fixture(scope="module")
def status(synthesized: Synthesized) -> Template:
    return synthesized.templates["Status"]


@pytest.fixture(scope="module")
def status_raw(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.raw["Status"]


def _one(raw: dict[str, Any], kind: str, where: Any = None) -> tuple[str, dict[str, Any]]:
    found = [
        (lid, r["Properties"])
        for lid, r in raw["Resources"].items()
        if r["Type"] == kind and (where is None or where(r["Properties"]))
    ]
    assert len(found) == 1, f"{kind}: {len(found)}"
    return found[0]


def _site_bucket(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return _one(raw, "AWS::S3::Bucket", lambda p: "LoggingConfiguration" in p)


def test_site_bucket_is_private_encrypted_versioned_and_logged(status_raw: dict[str, Any]) -> None:
    _, bucket = _site_bucket(status_raw)
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "AccessControl" not in bucket


def test_only_cloudfront_of_this_distribution_reads_the_bucket_over_tls(status_raw: dict[str, Any]) -> None:
    bucket_id, _ = _site_bucket(status_raw)
    _, policy = _one(status_raw, "AWS::S3::BucketPolicy", lambda p: p["Bucket"] == {"Ref": bucket_id})
    statements = policy["PolicyDocument"]["Statement"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows, "CloudFront needs an allow statement"
    for statement in allows:
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert as_list(statement["Action"]) == ["s3:GetObject"]
        assert "AWS:SourceArn" in json.dumps(statement["Condition"])


def test_distribution_uses_origin_access_control_and_https(
    status: Template, status_raw: dict[str, Any]
) -> None:
    oac_id, oac = _one(status_raw, "AWS::CloudFront::OriginAccessControl")
    assert oac["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    assert oac["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"
    _, distribution = _one(status_raw, "AWS::CloudFront::Distribution")
    config = distribution["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultRootObject"] == "index.html"
    assert config["Logging"]["Bucket"]


def test_security_headers_policy_with_hsts_and_strict_csp_is_attached(status_raw: dict[str, Any]) -> None:
    policy_id, policy = _one(status_raw, "AWS::CloudFront::ResponseHeadersPolicy")
    headers = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    hsts = headers["StrictTransportSecurity"]
    assert hsts["AccessControlMaxAgeSec"] >= 31536000 and hsts["IncludeSubdomains"] and hsts["Override"]
    csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "form-action 'self';" in csp  # the form posts to /api/subscriptions on the site itself
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    _, distribution = _one(status_raw, "AWS::CloudFront::Distribution")
    behavior = distribution["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": policy_id}


def test_cache_policy_shows_an_update_within_a_minute(status_raw: dict[str, Any]) -> None:
    policy_id, policy = _one(status_raw, "AWS::CloudFront::CachePolicy")
    config = policy["CachePolicyConfig"]
    assert config["MaxTTL"] <= 60 and config["DefaultTTL"] <= 60 and config["MinTTL"] == 0
    _, distribution = _one(status_raw, "AWS::CloudFront::Distribution")
    assert distribution["DistributionConfig"]["DefaultCacheBehavior"]["CachePolicyId"] == {"Ref": policy_id}


def test_publisher_role_trusts_only_the_workload_publisher_role(status_raw: dict[str, Any]) -> None:
    _, role = _one(
        status_raw, "AWS::IAM::Role", lambda p: p.get("RoleName") == "OutageCommsStatusPublisherAccess"
    )
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert json.dumps(statement["Principal"]).count("111111111111") == 1
    assert list(statement["Condition"]) == ["ArnEquals"]
    assert join_to_text(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == PUBLISHER_FUNCTION_ROLE
    assert role["MaxSessionDuration"] == 3600


def test_publisher_role_actions_and_resources_are_narrow(status_raw: dict[str, Any]) -> None:
    actions: dict[str, dict[str, Any]] = {}
    for _, statement in identity_statements(status_raw):
        for action in as_list(statement["Action"]):
            actions[action] = statement
    assert set(actions) == {
        "s3:PutObject",
        "s3:ListBucket",
        "s3:GetObject",  # only the publisher's state under _publisher/
        "cloudwatch:PutDashboard",
        "cloudwatch:PutMetricData",
        "cloudfront:CreateInvalidation",
    }
    metric = actions["cloudwatch:PutMetricData"]
    assert metric["Condition"] == {"StringEquals": {"cloudwatch:namespace": "OutageComms/Status"}}
    for action, statement in actions.items():
        if action != "cloudwatch:PutMetricData":
            assert not wildcard_resource(statement), action
    dashboard = json.dumps(actions["cloudwatch:PutDashboard"]["Resource"])
    assert "dashboard/nimbus-notes-public-status" in dashboard
    assert "distribution/" in json.dumps(actions["cloudfront:CreateInvalidation"]["Resource"])
    bucket_id, _ = _site_bucket(status_raw)
    assert bucket_id in json.dumps(actions["s3:PutObject"]["Resource"])
    assert "/_publisher/*" in json.dumps(actions["s3:GetObject"]["Resource"])


def test_public_dashboard_holds_the_status_metric(status_raw: dict[str, Any]) -> None:
    _, dashboard = _one(status_raw, "AWS::CloudWatch::Dashboard")
    assert dashboard["DashboardName"] == "nimbus-notes-public-status"
    assert "OutageComms/Status" in json.dumps(dashboard["DashboardBody"])


def test_publisher_function_reads_incidents_and_assumes_only_the_status_role(
    synthesized: Synthesized,
) -> None:
    raw = synthesized.raw["Publisher"]
    _, function = _one(raw, "AWS::Lambda::Function")
    variables = function["Environment"]["Variables"]
    assert join_to_text(variables["STATUS_PUBLISHER_ROLE_ARN"]) == STATUS_ACCESS_ROLE
    assert variables["STATUS_BUCKET"] == "outage-comms-status-222222222222-sa-east-1"
    assert variables["STATUS_REGION"] == "sa-east-1"
    assert function["Handler"] == "handlers.publish_status.handler"
    _, role = _one(raw, "AWS::IAM::Role")
    assert role["RoleName"] == "outage-comms-status-publisher-us-east-1"
    granted = {a: s for _, s in identity_statements(raw) for a in as_list(s["Action"])}
    assert granted["sts:AssumeRole"]["Resource"] == variables["STATUS_PUBLISHER_ROLE_ARN"]
    reads = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
    assert set(reads) <= set(granted)
    assert not {a for a in granted if a.startswith("dynamodb:") and a not in reads}
    assert "/index/" not in json.dumps(granted["dynamodb:GetItem"]["Resource"])
    assert json.dumps(granted["dynamodb:Query"]["Resource"]).count("/index/") == 2  # recent + open only


def test_internal_dashboard_shows_the_communication_metrics(synthesized: Synthesized) -> None:
    _, dashboard = _one(synthesized.raw["Publisher"], "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["DashboardBody"])
    for metric in (
        "TimeToFirstExternalMessage",
        "UpdateGap",
        "UpdateCadence",
        "ApprovalLatency",
        "Deliveries",
        "DeliveryFailures",
        "SocialMentions",
    ):
        assert metric in body, metric


def test_status_templates_pass_cfn_lint(synthesized: Synthesized) -> None:
    files = [synthesized.outdir / "Status.template.json", synthesized.outdir / "Publisher.template.json"]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *map(str, files)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_url_rewrite_function_runs_on_viewer_request(status: Template) -> None:
    status.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": {
                "DefaultCacheBehavior": {
                    "FunctionAssociations": [Match.object_like({"EventType": "viewer-request"})]
                }
            }
        },
    )


def test_a_part_of_the_site_not_published_raises_an_alarm_on_the_metric_the_handler_writes(
    synthesized: Synthesized,
) -> None:
    from outage_comms.status.publisher import FAILURE_METRIC  # what handlers/publish_status.py counts

    raw = synthesized.raw["Publisher"]
    _, function = _one(raw, "AWS::Lambda::Function")
    variables = function["Environment"]["Variables"]
    _, alarm = _one(raw, "AWS::CloudWatch::Alarm")
    # the metric Powertools writes: the function's namespace, service dimension, the handler's name
    assert alarm["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["MetricName"] == FAILURE_METRIC == "StatusSurfaceFailures"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum",
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert alarm["TreatMissingData"] == "notBreaching"
    assert "incident id" in alarm["AlarmDescription"]
