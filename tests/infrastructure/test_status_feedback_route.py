"""The status site's ``/f/*`` behaviour: short feedback links on the status domain reach the feedback API.

Links read ``https://status.example.com/f/AbC12xYz/y`` (issue 14, item 4), never the raw execute-api URL:
the distribution sends ``/f/*`` to the workflow stack's feedback API (a cross-stack reference in one
account and region, ``-c status_feedback_url=`` otherwise), the stage as origin path, GET and POST,
nothing cached (every answer counts), the viewer's address and User-Agent forwarded, never Host; the
render step's links use the status domain and may write the short codes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from synthesized_apps import EXAMPLE_PLAN, Synthesized, new_app, synthesize
from template_reading import as_list

pytestmark = pytest.mark.infrastructure

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS managed policy "CachingDisabled"


def _template_with(synthesized: Synthesized, kind: str) -> dict[str, Any]:
    for raw in synthesized.raw.values():
        if any(r["Type"] == kind for r in raw["Resources"].values()):
            return raw
    raise AssertionError(f"no stack holds a {kind}")


def _feedback_route(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    (distribution,) = [
        r["Properties"] for r in raw["Resources"].values() if r["Type"] == "AWS::CloudFront::Distribution"
    ]
    config = distribution["DistributionConfig"]
    behaviours = [b for b in config.get("CacheBehaviors", []) if b["PathPattern"] == "/f/*"]
    assert len(behaviours) == 1, "no /f/* behaviour: short feedback links on the status domain lead nowhere"
    behaviour = behaviours[0]
    origin = next(o for o in config["Origins"] if o["Id"] == behaviour["TargetOriginId"])
    assert {"GET", "HEAD", "POST"} <= set(behaviour["AllowedMethods"])
    assert behaviour["CachePolicyId"] == CACHING_DISABLED
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert "FunctionAssociations" not in behaviour  # the API serves /f/... as is: no rewrite
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["OriginPath"] == "/v1"
    (policy_id,) = [
        lid
        for lid, r in raw["Resources"].items()
        if r["Type"] == "AWS::CloudFront::OriginRequestPolicy" and "FeedbackApiRequests" in lid
    ]
    assert behaviour["OriginRequestPolicyId"] == {"Ref": policy_id}
    headers = raw["Resources"][policy_id]["Properties"]["OriginRequestPolicyConfig"]["HeadersConfig"]
    forwarded = {h.lower() for h in headers["Headers"]}
    assert {
        "cloudfront-viewer-address",
        "user-agent",
        "content-type",
    } <= forwarded and "host" not in forwarded
    return behaviour, origin


def test_same_account_status_site_routes_short_links_to_the_feedback_api(core: Synthesized) -> None:
    _, origin = _feedback_route(_template_with(core, "AWS::CloudFront::Distribution"))
    domain = json.dumps(origin["DomainName"])
    assert "execute-api" in domain and "Feedback" in domain, domain  # the workflow stack's feedback API


def test_the_render_step_links_to_the_status_domain_and_may_store_short_codes(core: Synthesized) -> None:
    from outage_comms.plan import load_plan

    raw = next(t for t in core.raw.values() if "handlers.feedback_api.handler" in json.dumps(t))
    functions = {
        lid: r["Properties"] for lid, r in raw["Resources"].items() if r["Type"] == "AWS::Lambda::Function"
    }
    (_, render), *_ = [
        (lid, f) for lid, f in functions.items() if f.get("Handler") == "handlers.workflow_render.handler"
    ]
    variables = render["Environment"]["Variables"]
    assert variables["FEEDBACK_BASE_URL"] == load_plan(EXAMPLE_PLAN).organization.status_page_url
    assert "execute-api" not in json.dumps(variables["FEEDBACK_BASE_URL"])
    table = json.dumps(variables["FEEDBACK_TABLE"])
    role = render["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for r in raw["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    on_feedback = [
        s for s in statements if "FeedbackTable" in json.dumps(s["Resource"]) and "dynamodb:" in json.dumps(s)
    ]
    # on the feedback table it writes short links' codes and nothing else (no reads, no counting)
    assert on_feedback and all(as_list(s["Action"]) == ["dynamodb:PutItem"] for s in on_feedback), on_feedback
    assert "FeedbackTable" in table


def test_status_stack_elsewhere_takes_the_feedback_api_url_from_context(tmp_path: Path) -> None:
    from aws_cdk import Environment

    from outage_comms.plan import load_plan
    from outage_comms_cdk.status_stack import OutageCommsStatusStack

    app = new_app(
        tmp_path / "cdk.out", status_feedback_url="https://fb123.execute-api.us-east-1.amazonaws.com/v1"
    )
    OutageCommsStatusStack(
        app,
        "Status",
        plan=load_plan(EXAMPLE_PLAN),
        workload_account="111111111111",
        workload_region="us-east-1",
        env=Environment(account="222222222222", region="sa-east-1"),
    )
    _, origin = _feedback_route(_template_with(synthesize(app), "AWS::CloudFront::Distribution"))
    assert origin["DomainName"] == "fb123.execute-api.us-east-1.amazonaws.com"


def test_no_feedback_api_no_route(tmp_path: Path) -> None:
    from outage_comms.plan import load_plan
    from outage_comms_cdk.settings import SettingsError
    from outage_comms_cdk.status_stack import OutageCommsStatusStack

    app = new_app(tmp_path / "cdk.out")
    OutageCommsStatusStack(app, "Status", plan=load_plan(EXAMPLE_PLAN))
    raw = _template_with(synthesize(app), "AWS::CloudFront::Distribution")
    assert "/f/*" not in json.dumps(raw)
    bad = new_app(tmp_path / "bad.out", status_feedback_url="status.example.com/f")
    with pytest.raises(SettingsError, match=r"status_feedback_url.*https://"):
        OutageCommsStatusStack(bad, "Status", plan=load_plan(EXAMPLE_PLAN))
