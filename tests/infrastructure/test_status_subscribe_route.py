"""The status site's ``/api/*`` behaviour: the subscribe form's POST reaches the subscribe API (issue 12, 7).

The form on the status page posts to ``/api/subscriptions`` on the status domain; the distribution sends
``/api/*`` to the channels stack's API (a cross-stack reference when both live in one account and region,
``-c status_subscribe_url=`` otherwise), stage as origin path, POST allowed, nothing cached, the viewer's
Host header not forwarded, and a viewer-request function that strips ``/api``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from synthesized_apps import EXAMPLE_PLAN, Synthesized, new_app, synthesize

pytestmark = pytest.mark.infrastructure

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS managed policy "CachingDisabled"


def _status_template(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    for name, raw in synthesized.raw.items():
        types = {r["Type"] for r in raw["Resources"].values()}
        if "AWS::CloudFront::Distribution" in types:
            return name, raw
    raise AssertionError("no stack holds the status distribution")


def _one(raw: dict[str, Any], kind: str, contains: str = "") -> tuple[str, dict[str, Any]]:
    found = [
        (lid, r["Properties"]) for lid, r in raw["Resources"].items() if r["Type"] == kind and contains in lid
    ]
    assert len(found) == 1, (kind, contains, [lid for lid, _ in found])
    return found[0]


def _api_behaviour(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    _, distribution = _one(raw, "AWS::CloudFront::Distribution")
    config = distribution["DistributionConfig"]
    behaviours = [b for b in config.get("CacheBehaviors", []) if b["PathPattern"] == "/api/*"]
    assert len(behaviours) == 1, "the distribution has no /api/* behaviour: the subscribe form cannot post"
    behaviour = behaviours[0]
    origin = next(o for o in config["Origins"] if o["Id"] == behaviour["TargetOriginId"])
    return behaviour, origin


def _assert_route(raw: dict[str, Any]) -> dict[str, Any]:
    behaviour, origin = _api_behaviour(raw)
    assert "POST" in behaviour["AllowedMethods"] and "OPTIONS" in behaviour["AllowedMethods"]
    assert behaviour["CachePolicyId"] == CACHING_DISABLED
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert "S3OriginConfig" not in origin
    # forwards what the API reads, never Host (API Gateway answers only for its own host name)
    _, policy = _one(raw, "AWS::CloudFront::OriginRequestPolicy", "SubscribeApiRequests")
    headers = policy["OriginRequestPolicyConfig"]["HeadersConfig"]
    assert headers["HeaderBehavior"] == "whitelist"
    forwarded = {h.lower() for h in headers["Headers"]}
    assert "content-type" in forwarded and "host" not in forwarded
    assert behaviour["OriginRequestPolicyId"] == {
        "Ref": _one(raw, "AWS::CloudFront::OriginRequestPolicy", "SubscribeApiRequests")[0]
    }
    # /api/subscriptions -> /subscriptions: the function runs on viewer request and strips /api
    (association,) = behaviour["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    function_id, function = _one(raw, "AWS::CloudFront::Function", "ApiRewrite")
    assert association["FunctionARN"] == {"Fn::GetAtt": [function_id, "FunctionARN"]}
    assert "/api" in function["FunctionCode"].replace("\\", "")
    # no CORS on the API route: the form and its script are same-origin
    _, headers_policy = _one(raw, "AWS::CloudFront::ResponseHeadersPolicy", "SubscribeApiHeaders")
    assert "CorsConfig" not in headers_policy["ResponseHeadersPolicyConfig"]
    return origin


def test_same_account_status_stack_routes_api_to_the_subscribe_api(core: Synthesized) -> None:
    name, raw = _status_template(core)
    origin = _assert_route(raw)
    # the host is the channels stack's REST API (a cross-stack import), the stage is the origin path
    domain = json.dumps(origin["DomainName"])
    assert ("Fn::ImportValue" in domain or "Fn::GetStackOutput" in domain) and "SubscribeApi" in domain, (
        domain
    )
    assert "execute-api" in domain
    assert origin["OriginPath"] == "/v1"
    csp = json.dumps(raw)
    assert "form-action 'self';" in csp and "connect-src 'self';" in csp, name


def test_status_stack_elsewhere_takes_the_api_url_from_context(tmp_path: Path) -> None:
    from aws_cdk import Environment

    from outage_comms.plan import load_plan
    from outage_comms_cdk.status_stack import OutageCommsStatusStack

    app = new_app(
        tmp_path / "cdk.out", status_subscribe_url="https://abc123.execute-api.us-east-1.amazonaws.com/v1"
    )
    OutageCommsStatusStack(
        app,
        "Status",
        plan=load_plan(EXAMPLE_PLAN),
        workload_account="111111111111",
        workload_region="us-east-1",
        env=Environment(account="222222222222", region="sa-east-1"),
    )
    _, raw = _status_template(synthesize(app))
    origin = _assert_route(raw)
    assert origin["DomainName"] == "abc123.execute-api.us-east-1.amazonaws.com"
    assert origin["OriginPath"] == "/v1"


def test_a_bad_status_subscribe_url_is_a_clear_settings_error(tmp_path: Path) -> None:
    from outage_comms.plan import load_plan
    from outage_comms_cdk.settings import SettingsError
    from outage_comms_cdk.status_stack import OutageCommsStatusStack

    app = new_app(tmp_path / "cdk.out", status_subscribe_url="status.example.com/api")
    with pytest.raises(SettingsError, match=r"status_subscribe_url.*https://"):
        OutageCommsStatusStack(app, "Status", plan=load_plan(EXAMPLE_PLAN))
