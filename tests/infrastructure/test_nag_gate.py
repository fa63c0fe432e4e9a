"""The cdk-nag gate: unacknowledged findings fail synthesis; acknowledgments need a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from synthesized_apps import new_app

from outage_comms_cdk.quality_gates import acknowledge, apply_quality_gates

pytestmark = pytest.mark.infrastructure


def _app_with_a_plain_bucket(outdir: Path) -> tuple[Stack, s3.Bucket]:
    app = new_app(outdir)
    stack = Stack(app, "NagGateProbe")
    bucket = s3.Bucket(
        stack,
        "Bucket",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=False,
        removal_policy=RemovalPolicy.DESTROY,
    )
    apply_quality_gates(app)
    return stack, bucket


def test_an_unacknowledged_finding_fails_synthesis_and_names_the_rule(tmp_path: Path) -> None:
    # Given a bucket that allows plain HTTP and has no access logs
    stack, _ = _app_with_a_plain_bucket(tmp_path)
    # When the app is synthesized, then the gate stops it and says which rules and where
    with pytest.raises(Exception, match="AwsSolutions-S10") as failure:
        stack.node.root.synth()
    assert "NagGateProbe/Bucket/Resource" in str(failure.value)
    assert "AwsSolutions-S1" in str(failure.value)


def test_acknowledged_findings_let_synthesis_pass(tmp_path: Path) -> None:
    stack, bucket = _app_with_a_plain_bucket(tmp_path)
    acknowledge(bucket, "AwsSolutions-S10", "test bucket: proves an acknowledgment with a reason is honoured")
    acknowledge(bucket, "AwsSolutions-S1", "test bucket: access logs are out of scope for this probe")
    assembly = stack.node.root.synth()
    assert assembly.get_stack_by_name("NagGateProbe").template["Resources"]


def test_an_acknowledgment_needs_a_reason(tmp_path: Path) -> None:
    _, bucket = _app_with_a_plain_bucket(tmp_path)
    with pytest.raises(ValueError, match="needs a real reason"):
        acknowledge(bucket, "AwsSolutions-S10", "ok")
