"""The edge (issue 11, finding 13): WAF, the status site's TLS policy and reserved concurrency.

Each case synthesizes the real app (``app.py``'s ``build_app``) with the cdk-nag gate on, so every
synthesis below is also the proof that the gate is clean with WAF on and with WAF off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from synthesized_apps import EXAMPLE_PLAN, Synthesized, new_app, synthesize

from outage_comms.plan import PlanError, load_plan

pytestmark = pytest.mark.infrastructure

WORKLOAD_ACCOUNT, STATUS_ACCOUNT = "111111111111", "222222222222"
CERTIFICATE = "arn:aws:acm:us-east-1:222222222222:certificate/0f0e0d0c-1111-2222-3333-444455556666"
MANAGED_GROUPS = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}
#: API name -> the plan's edge.reserved_concurrency field for its function.
PUBLIC_FUNCTIONS = {
    "outage-comms-subscribe": "subscribe_api",
    "outage-comms-feedback": "feedback_api",
    "outage-comms-review": "review_page",
    "outage-comms-compose": "review_page",  # the compose page shares the review page's budget
    "outage-comms-incidents": "incident_api",
}


def plan_with_edge(directory: Path, edge: dict[str, Any]) -> Path:
    """The example plan plus an ``edge`` section."""
    plan = yaml.safe_load(EXAMPLE_PLAN.read_text(encoding="utf-8"))
    plan["edge"] = edge
    plan["templates"] = str(EXAMPLE_PLAN.parent.parent / "templates")  # the copy is not beside ../templates
    path = directory / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


EXISTING_CLOUDFRONT_ACL = (
    "arn:aws:wafv2:us-east-1:222222222222:global/webacl/outage-edge/0aa1bb2c-3333-4444-5555-666677778888"
)
CONCURRENCY = {"subscribe_api": 7, "feedback_api": 8, "review_page": 3, "incident_api": 4}


def build(outdir: Path, plan: Path, **context: Any) -> Synthesized:
    from app import build_app

    return synthesize(build_app(new_app(outdir, plan=str(plan), **context)))


@pytest.fixture(scope="module")
def with_waf(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The whole app, WAF on, a status domain; the CloudFront web ACL given (``-c status_web_acl_id``).

    Environment-agnostic, as ``make synth`` runs: the status region is unknown, so the plan's own
    CloudFront web ACL cannot be placed and an existing one is passed (the us-east-1 stack is below).
    """
    directory = tmp_path_factory.mktemp("edge-on")
    plan = plan_with_edge(
        directory,
        {
            "waf": {"enabled": True, "rate_limit_per_5_min": 200},
            "status_site": {"domain": "status.nimbusnotes.example", "certificate_arn": CERTIFICATE},
            "reserved_concurrency": CONCURRENCY,
        },
    )
    return build(directory / "cdk.out", plan, status_web_acl_id=EXISTING_CLOUDFRONT_ACL)


@pytest.fixture(scope="module")
def with_credentials(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The whole app as ``cdk deploy`` synthesizes it with credentials for us-east-1, WAF on.

    The status stack shares the workload's environment, so its CloudFront web ACL is its own.
    """
    directory = tmp_path_factory.mktemp("edge-deploy")
    plan = plan_with_edge(directory, {"waf": {"enabled": True}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CDK_DEFAULT_ACCOUNT", WORKLOAD_ACCOUNT)
        patch.setenv("CDK_DEFAULT_REGION", "us-east-1")
        return build(directory / "cdk.out", plan)


def status_stacks(outdir: Path, plan_path: Path, region: str) -> Synthesized:
    """Only the status stack(s), as ``app.py`` adds them, in the status account and ``region``."""
    from aws_cdk import Environment

    from outage_comms_cdk.quality_gates import apply_quality_gates
    from outage_comms_cdk.status_stack import add_status_stacks

    app = new_app(outdir)
    add_status_stacks(
        app,
        "Status",
        plan=load_plan(plan_path),
        status_env=Environment(account=STATUS_ACCOUNT, region=region),
        workload_account=WORKLOAD_ACCOUNT,
        workload_region="us-east-1",
    )
    apply_quality_gates(app)  # the nag gate: CFR2 is met by the web ACL, not acknowledged
    return synthesize(app)


@pytest.fixture(scope="module")
def status_elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    directory = tmp_path_factory.mktemp("edge-sa")
    plan = plan_with_edge(directory, {"waf": {"enabled": True}})
    return status_stacks(directory / "cdk.out", plan, "sa-east-1")


def resources(synthesized: Synthesized, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(stack, logical id, properties) of every resource of ``kind`` in the app."""
    return [
        (stack, logical_id, resource.get("Properties", {}))
        for stack, template in synthesized.raw.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind
    ]


def api_stages(synthesized: Synthesized) -> dict[str, tuple[str, str]]:
    """API name -> (stack, stage logical id)."""
    names = {
        (stack, logical_id): props["Name"]
        for stack, logical_id, props in resources(synthesized, "AWS::ApiGateway::RestApi")
    }
    return {
        names[(stack, props["RestApiId"]["Ref"])]: (stack, logical_id)
        for stack, logical_id, props in resources(synthesized, "AWS::ApiGateway::Stage")
    }


def associated_stages(synthesized: Synthesized) -> set[tuple[str, str]]:
    """(stack, stage logical id) of every stage a web ACL association names."""
    found = set()
    for stack, _, props in resources(synthesized, "AWS::WAFv2::WebACLAssociation"):
        text = repr(props["ResourceArn"])
        for other_stack, stage_id, _ in resources(synthesized, "AWS::ApiGateway::Stage"):
            if other_stack == stack and f"'Ref': '{stage_id}'" in text:
                found.add((stack, stage_id))
    return found


def function_of(synthesized: Synthesized, api_name: str) -> dict[str, Any]:
    """The one Lambda function the API's methods integrate with."""
    stack, stage_id = api_stages(synthesized)[api_name]
    template = synthesized.raw[stack]["Resources"]
    api_id = template[stage_id]["Properties"]["RestApiId"]["Ref"]
    targets = {
        part["Fn::GetAtt"][0]
        for resource in template.values()
        if resource["Type"] == "AWS::ApiGateway::Method"
        and resource["Properties"]["RestApiId"] == {"Ref": api_id}
        for part in resource["Properties"]
        .get("Integration", {})
        .get("Uri", {})
        .get("Fn::Join", [None, []])[1]
        if isinstance(part, dict) and "Fn::GetAtt" in part
    }
    assert len(targets) == 1, f"{api_name}: {targets}"
    return template[targets.pop()]["Properties"]


def test_waf_protects_every_public_api_and_the_status_site(with_waf: Synthesized) -> None:
    stages = api_stages(with_waf)
    protected = associated_stages(with_waf)
    for name in (
        "outage-comms-subscribe",
        "outage-comms-feedback",
        "outage-comms-review",
        "outage-comms-compose",
    ):
        assert stages[name] in protected, f"{name} has no web ACL"
    ((_, _, distribution),) = resources(with_waf, "AWS::CloudFront::Distribution")
    assert distribution["DistributionConfig"]["WebACLId"] == EXISTING_CLOUDFRONT_ACL


def test_the_web_acls_hold_the_managed_groups_and_a_per_address_rate_rule(
    with_waf: Synthesized, status_elsewhere: Synthesized
) -> None:
    acls = resources(with_waf, "AWS::WAFv2::WebACL") + resources(status_elsewhere, "AWS::WAFv2::WebACL")
    assert sorted(props["Scope"] for _, _, props in acls) == ["CLOUDFRONT", "REGIONAL"]
    for stack, _, props in acls:
        groups = {
            rule["Statement"]["ManagedRuleGroupStatement"]["Name"]
            for rule in props["Rules"]
            if "ManagedRuleGroupStatement" in rule["Statement"]
        }
        assert groups == MANAGED_GROUPS, stack
        rates = [rule for rule in props["Rules"] if rule["Name"] == "RatePerAddress"]
        assert len(rates) == 1
        statement = rates[0]["Statement"]["RateBasedStatement"]
        assert statement["AggregateKeyType"] == "IP"
        expected = 200 if props["Scope"] == "REGIONAL" else 3000  # the plan's / the status site's default
        assert statement["Limit"] == expected
        assert statement["EvaluationWindowSec"] == 300
        assert rates[0]["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    # One regional web ACL, shared by the channels' and the workflow's APIs.
    assert [stack for stack, _, props in acls if props["Scope"] == "REGIONAL"] == ["OutageCommsChannels"]


def test_ipv6_cannot_escape_the_rate_limit(with_waf: Synthesized, status_elsewhere: Synthesized) -> None:
    # The APIs answer on IPv4 only: a client cannot rotate through the 2^64 addresses of its /64.
    for _, _, props in resources(with_waf, "AWS::ApiGateway::RestApi"):
        assert props["EndpointConfiguration"]["IpAddressType"] == "ipv4", props["Name"]
    # The status site keeps IPv6; its IPv6 requests also share a per-network (ASN) budget.
    ((_, _, acl),) = resources(status_elsewhere, "AWS::WAFv2::WebACL")
    (rule,) = [rule for rule in acl["Rules"] if rule["Name"] == "RatePerIpv6Network"]
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["CustomKeys"] == [{"ASN": {}}]
    assert "IPSetReferenceStatement" in statement["ScopeDownStatement"]
    ((_, _, ipv6),) = resources(status_elsewhere, "AWS::WAFv2::IPSet")
    assert ipv6["IPAddressVersion"] == "IPV6" and ipv6["Addresses"] == ["::/0"]


def test_the_cloudfront_web_acl_lives_in_us_east_1_when_the_status_stack_does_not(
    status_elsewhere: Synthesized,
) -> None:
    from outage_comms_cdk.status_stack import STATUS_EDGE_STACK_NAME

    acl_stacks = {stack for stack, _, _ in resources(status_elsewhere, "AWS::WAFv2::WebACL")}
    assert acl_stacks == {STATUS_EDGE_STACK_NAME}
    manifest = (status_elsewhere.outdir / "manifest.json").read_text(encoding="utf-8")
    assert f"aws://{STATUS_ACCOUNT}/us-east-1" in manifest and f"aws://{STATUS_ACCOUNT}/sa-east-1" in manifest
    # The status stack (sa-east-1) reads the ARN through CDK's cross-region reference (an output read
    # across regions by CloudFormation itself: no custom resource).
    ((stack, _, distribution),) = resources(status_elsewhere, "AWS::CloudFront::Distribution")
    assert stack == "Status"
    assert distribution["DistributionConfig"]["WebACLId"]["Fn::GetStackOutput"] == {
        "StackName": STATUS_EDGE_STACK_NAME,
        "Region": "us-east-1",
        "OutputName": distribution["DistributionConfig"]["WebACLId"]["Fn::GetStackOutput"]["OutputName"],
    }


def test_a_status_domain_gets_its_certificate_and_tls_1_2_2021(with_waf: Synthesized) -> None:
    ((_, _, distribution),) = resources(with_waf, "AWS::CloudFront::Distribution")
    config = distribution["DistributionConfig"]
    assert config["Aliases"] == ["status.nimbusnotes.example"]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": CERTIFICATE,
        "MinimumProtocolVersion": "TLSv1.2_2021",
        "SslSupportMethod": "sni-only",
    }


def test_each_public_function_has_the_plans_reserved_concurrency(with_waf: Synthesized) -> None:
    wanted = CONCURRENCY
    for api_name, field in PUBLIC_FUNCTIONS.items():
        function = function_of(with_waf, api_name)
        assert function.get("ReservedConcurrentExecutions") == wanted[field], api_name


def test_without_waf_there_is_no_web_acl_and_the_defaults_hold(core: Synthesized) -> None:
    # The example plan leaves edge.waf off (the `core` fixture synthesizes it with the nag gate on).
    assert resources(core, "AWS::WAFv2::WebACL") == []
    assert resources(core, "AWS::WAFv2::WebACLAssociation") == []
    ((_, _, distribution),) = resources(core, "AWS::CloudFront::Distribution")
    assert "WebACLId" not in distribution["DistributionConfig"]
    defaults = load_plan(EXAMPLE_PLAN).edge.reserved_concurrency
    for api_name, field in PUBLIC_FUNCTIONS.items():
        assert function_of(core, api_name).get("ReservedConcurrentExecutions") == getattr(defaults, field)


def test_waf_in_us_east_1_keeps_everything_in_the_status_stack(tmp_path: Path) -> None:
    plan = plan_with_edge(tmp_path, {"waf": {"enabled": True}})
    synthesized = status_stacks(tmp_path / "cdk.out", plan, "us-east-1")
    assert list(synthesized.raw) == ["Status"]
    ((_, acl_id, acl),) = resources(synthesized, "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "CLOUDFRONT"
    ((_, _, distribution),) = resources(synthesized, "AWS::CloudFront::Distribution")
    assert distribution["DistributionConfig"]["WebACLId"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    # No domain: the *.cloudfront.net certificate (CloudFront fixes its policy; checkov's skip says so).
    assert "Aliases" not in distribution["DistributionConfig"]


def test_waf_with_an_unknown_status_region_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import build_app
    from outage_comms_cdk.settings import SettingsError

    plan = plan_with_edge(tmp_path, {"waf": {"enabled": True}})
    for name in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError, match=r"us-east-1.*status_web_acl_id"):
        build_app(new_app(tmp_path / "cdk.out", plan=str(plan)))


@pytest.mark.parametrize(
    ("edge", "message"),
    [
        ({"status_site": {"domain": "status.example.com"}}, "both domain and certificate_arn"),
        (
            {
                "status_site": {
                    "domain": "status.example.com",
                    "certificate_arn": CERTIFICATE.replace("us-east-1", "eu-west-1"),
                }
            },
            "certificate_arn",
        ),
        ({"waf": {"enabled": True, "rate_limit_per_5_min": 5}}, "rate_limit_per_5_min"),
        ({"reserved_concurrency": {"subscribe_api": 0}}, "subscribe_api"),
        ({"waf": {"enabeld": True}}, "enabeld"),
    ],
)
def test_a_bad_edge_section_names_the_field(tmp_path: Path, edge: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        load_plan(plan_with_edge(tmp_path, edge))


def test_a_synth_with_credentials_passes_the_nag_gate_with_waf(with_credentials: Synthesized) -> None:
    # The fixture's synthesis is the nag gate: acknowledgments written with <AWS::Region> also hold
    # when the ARNs carry the real region and account.
    acls = resources(with_credentials, "AWS::WAFv2::WebACL")
    assert sorted((stack, props["Scope"]) for stack, _, props in acls) == [
        ("OutageCommsChannels", "REGIONAL"),
        ("OutageCommsStatus", "CLOUDFRONT"),
    ]
    stages = api_stages(with_credentials)
    protected = associated_stages(with_credentials)
    assert {name for name, stage in stages.items() if stage in protected} == {
        "outage-comms-subscribe",
        "outage-comms-feedback",
        "outage-comms-review",
        "outage-comms-compose",
    }
    ((_, _, distribution),) = resources(with_credentials, "AWS::CloudFront::Distribution")
    assert distribution["DistributionConfig"]["WebACLId"]["Fn::GetAtt"][1] == "Arn"
