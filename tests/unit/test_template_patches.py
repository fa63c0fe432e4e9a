"""The embedded AWS's ``drop-unsupported`` patch: what moto cannot create goes, with every reference to it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from outage_comms_embedded.template_patches import NOT_CREATED, UNSUPPORTED_TYPES, patch_template

pytestmark = pytest.mark.unit


def status_like_template() -> dict[str, Any]:
    """The status stack's shape: a bucket, a CloudFront distribution, a role policy naming it, outputs."""
    distribution_arn = {
        "Fn::Join": [
            "",
            ["arn:aws:cloudfront::", {"Ref": "AWS::AccountId"}, ":distribution/", {"Ref": "Cdn"}],
        ]
    }
    return {
        "Resources": {
            "Site": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "site"}},
            "Cdn": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {}}},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "DependsOn": ["Cdn", "Site"],
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {"Action": "s3:PutObject", "Resource": {"Fn::GetAtt": ["Site", "Arn"]}},
                            {"Action": "cloudfront:CreateInvalidation", "Resource": distribution_arn},
                        ]
                    }
                },
            },
        },
        "Outputs": {
            "Bucket": {"Value": {"Ref": "Site"}},
            "Url": {"Value": {"Fn::Join": ["", ["https://", {"Fn::GetAtt": ["Cdn", "DomainName"]}, "/"]]}},
        },
    }


def no_secret(logical_id: str, props: Any) -> str:
    raise AssertionError(f"no secret in this template: {logical_id}")


def test_cloudfront_resources_are_dropped_and_references_name_what_was_not_created() -> None:
    # Given the status stack's shape; When patched
    patched, applied = patch_template(status_like_template(), lambda stack, output: "", no_secret)
    # Then the distribution is gone, recorded as a patch; the bucket and the policy stay
    assert "AWS::CloudFront::Distribution" in UNSUPPORTED_TYPES
    assert set(patched["Resources"]) == {"Site", "Policy"} and applied == ["drop-unsupported:Cdn"]
    policy = patched["Resources"]["Policy"]
    assert policy["DependsOn"] == ["Site"]
    # the IAM statement keeps its action and names the missing distribution; others are untouched
    write, invalidate = policy["Properties"]["PolicyDocument"]["Statement"]
    assert write == {"Action": "s3:PutObject", "Resource": {"Fn::GetAtt": ["Site", "Arn"]}}
    assert invalidate["Action"] == "cloudfront:CreateInvalidation"
    assert invalidate["Resource"]["Fn::Join"][1][-1] == f"{NOT_CREATED}Cdn"
    # outputs: the GetAtt that moto would fail the stack on is a plain string now
    assert patched["Outputs"]["Url"]["Value"]["Fn::Join"][1][1] == f"{NOT_CREATED}Cdn.DomainName"
    assert patched["Outputs"]["Bucket"] == {"Value": {"Ref": "Site"}}
    assert '"Cdn"' not in json.dumps(patched)


def test_a_template_without_unsupported_types_is_left_as_it_is() -> None:
    template = status_like_template()
    del template["Resources"]["Cdn"], template["Outputs"]["Url"]
    template["Resources"]["Policy"]["DependsOn"] = "Site"
    template["Resources"]["Policy"]["Properties"]["PolicyDocument"]["Statement"].pop()
    patched, applied = patch_template(template, lambda stack, output: "", no_secret)
    assert patched == template and applied == []
