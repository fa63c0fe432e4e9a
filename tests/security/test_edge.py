"""Edge (issue 11, finding 13): every public entry point has WAF, reserved concurrency and TLS >= 1.2.

The real app (``app.py``'s ``build_app``) is synthesized with the plan's ``edge.waf`` on and a status
domain, and every API Gateway stage, every function behind one and every CloudFront distribution of
the templates is audited. The status stacks are synthesized on their own too, in us-east-1 and in
another region (where the CloudFront web ACL comes from the us-east-1 edge stack).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.security.figures import Figures

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "infrastructure"))
from synthesized_apps import EXAMPLE_PLAN, new_app, synthesize  # noqa: E402

CERTIFICATE = "arn:aws:acm:us-east-1:222222222222:certificate/0f0e0d0c-1111-2222-3333-444455556666"
EXISTING_CLOUDFRONT_ACL = (
    "arn:aws:wafv2:us-east-1:222222222222:global/webacl/outage-edge/0aa1bb2c-3333-4444-5555-666677778888"
)
#: API name -> why it has no web ACL (every other stage must have one).
WAF_EXEMPT = {
    "outage-comms-incidents": "SigV4 on every method; the managed rules would refuse operators' notes "
    "(pasted log lines) with a bare 403 in the middle of an incident",
}
TLS_1_2 = {"TLSv1.2_2021"}
EDGE_ON = {
    "waf": {"enabled": True},
    "status_site": {"domain": "status.nimbusnotes.example", "certificate_arn": CERTIFICATE},
}

Templates = dict[str, dict[str, Any]]


def plan_with(directory: Path, edge: dict[str, Any]) -> Path:
    plan = yaml.safe_load(EXAMPLE_PLAN.read_text(encoding="utf-8"))
    plan["edge"] = edge
    plan["templates"] = str(EXAMPLE_PLAN.parent.parent / "templates")  # the copy is not beside ../templates
    path = directory / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def _integrated_functions(template: dict[str, Any], api_id: str) -> set[str]:
    found = set()
    for method in _of(template, "AWS::ApiGateway::Method").values():
        if method["RestApiId"] != {"Ref": api_id}:
            continue
        for part in method.get("Integration", {}).get("Uri", {}).get("Fn::Join", [None, []])[1]:
            if isinstance(part, dict) and "Fn::GetAtt" in part:
                found.add(part["Fn::GetAtt"][0])
    return found


def audit_apis(templates: Templates, f: Figures) -> None:
    """Each stage: a web ACL association (unless exempt, with its reason); each function: reserved."""
    for stack, template in templates.items():
        apis = _of(template, "AWS::ApiGateway::RestApi")
        associations = repr(list(_of(template, "AWS::WAFv2::WebACLAssociation").values()))
        for stage_id, stage in _of(template, "AWS::ApiGateway::Stage").items():
            api_id = stage["RestApiId"]["Ref"]
            name = apis[api_id]["Name"]
            f.tried += 1
            if name not in WAF_EXEMPT and f"'Ref': '{stage_id}'" not in associations:
                f.wrong(f"{stack}: API {name} has no web ACL")
            if apis[api_id].get("EndpointConfiguration", {}).get("IpAddressType") != "ipv4":
                f.wrong(f"{stack}: API {name} answers on IPv6 (per-address limits escapable by a /64)")
            for function_id in _integrated_functions(template, api_id):
                f.tried += 1
                function = template["Resources"][function_id]["Properties"]
                if not function.get("ReservedConcurrentExecutions"):
                    f.wrong(f"{stack}: {function_id} behind {name} has no reserved concurrency")


def audit_distributions(templates: Templates, f: Figures) -> None:
    """Each distribution: a web ACL; with a domain, TLSv1.2_2021 as the minimum."""
    for stack, template in templates.items():
        for logical_id, distribution in _of(template, "AWS::CloudFront::Distribution").items():
            config = distribution["DistributionConfig"]
            f.tried += 1
            if not config.get("WebACLId"):
                f.wrong(f"{stack}: distribution {logical_id} has no web ACL")
            minimum = config.get("ViewerCertificate", {}).get("MinimumProtocolVersion")
            if config.get("Aliases") and minimum not in TLS_1_2:
                f.wrong(f"{stack}: distribution {logical_id} serves its domain with {minimum}")


def status_templates(directory: Path, edge: dict[str, Any], region: str) -> Templates:
    from aws_cdk import Environment

    from outage_comms.plan import load_plan
    from outage_comms_cdk.quality_gates import apply_quality_gates
    from outage_comms_cdk.status_stack import add_status_stacks

    app = new_app(directory / f"cdk.out-{region}")
    add_status_stacks(
        app,
        "Status",
        plan=load_plan(plan_with(directory, edge)),
        status_env=Environment(account="222222222222", region=region),
        workload_account="111111111111",
        workload_region="us-east-1",
    )
    apply_quality_gates(app)
    return synthesize(app).raw


def test_every_public_entry_point_is_behind_waf_with_reserved_concurrency_and_tls_1_2(
    figures: Any, tmp_path: Path
) -> None:
    from app import build_app

    f = figures("edge")
    # Given the whole app with the plan's edge section on (environment-agnostic, as `make synth` runs)
    app = build_app(
        new_app(
            tmp_path / "cdk.out",
            plan=str(plan_with(tmp_path, EDGE_ON)),
            status_web_acl_id=EXISTING_CLOUDFRONT_ACL,
        )
    )
    # When every stage, function behind it and distribution is audited
    templates = synthesize(app).raw
    audit_apis(templates, f)
    audit_distributions(templates, f)
    # ... and the status stacks with the plan's own CloudFront web ACL, in us-east-1 and elsewhere
    for region in ("us-east-1", "sa-east-1"):
        audit_distributions(status_templates(tmp_path / region, EDGE_ON, region), f)
    # Then none lacks WAF, reserved concurrency, an IPv4-only endpoint or TLS 1.2
    assert f.tried >= 3 + 4 + 3, f"only {f.tried} entry points found: the audit lost track of the app"
    assert f.clean, f.failure_message()


@pytest.mark.parametrize(
    ("edge", "expected"),
    [
        ({}, "has no web ACL"),
        (
            {"waf": {"enabled": True}, "status_site": {"domain": "status.example.com"}},
            None,  # refused by the plan: a domain needs its certificate
        ),
    ],
)
def test_the_audit_sees_a_missing_web_acl(tmp_path: Path, edge: dict[str, Any], expected: str | None) -> None:
    """The audit is not blind: the status site without WAF is found (and a domain alone never validates)."""
    from outage_comms.plan import PlanError

    f = Figures(area="edge", test="audit self-check")
    if expected is None:
        with pytest.raises(PlanError, match="certificate_arn"):
            status_templates(tmp_path, edge, "us-east-1")
        return
    audit_distributions(status_templates(tmp_path, edge, "us-east-1"), f)
    assert f.accepted_wrongly == 1 and expected in f.examples[0]
