"""The feedback API on a short custom domain: served at the root, TLS 1.2, nag-clean; bad input named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from synthesized_apps import REPO_ROOT, Synthesized, new_app, synthesize

from outage_comms.plan import Plan

pytestmark = pytest.mark.infrastructure

CERTIFICATE = "arn:aws:acm:us-east-1:111122223333:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
STACK = "FeedbackDomainTest"


@pytest.fixture(scope="module")
def synthesized(
    tmp_path_factory: pytest.TempPathFactory, example_plan: Plan, powertools_layer_version: int
) -> tuple[Synthesized, str]:
    from outage_comms_cdk.constructs.encryption import EncryptionKey
    from outage_comms_cdk.constructs.feedback_api import FeedbackApi, FeedbackDomain
    from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime
    from outage_comms_cdk.constructs.workflow_state import WorkflowStateTable
    from outage_comms_cdk.quality_gates import apply_quality_gates

    app = new_app(tmp_path_factory.mktemp("feedback-domain-cdk.out"))
    stack = Stack(app, STACK)
    key = EncryptionKey(stack, "Encryption", alias="alias/outage-comms-feedback-domain-test").key
    runtime = LambdaRuntime(
        stack, "LambdaRuntime", plan=example_plan, key=key, powertools_layer_version=powertools_layer_version
    )
    feedback = FeedbackApi(
        stack,
        "Feedback",
        key=key,
        lambda_runtime=runtime,
        workflow_table=WorkflowStateTable(stack, "State", key=key).table,
        domain=FeedbackDomain.for_base_url("https://fb.nimbusnotes.example", CERTIFICATE),
    )
    url = feedback.url
    apply_quality_gates(app)  # synthesis fails on any unacknowledged cdk-nag finding
    return synthesize(app), url


def _of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def test_the_custom_domain_is_regional_tls_1_2_with_the_given_certificate(
    synthesized: tuple[Synthesized, str],
) -> None:
    template = synthesized[0].raw[STACK]
    (domain,) = _of_type(template, "AWS::ApiGateway::DomainName")
    assert domain["DomainName"] == "fb.nimbusnotes.example"
    assert domain["RegionalCertificateArn"] == CERTIFICATE
    assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert domain["SecurityPolicy"] == "TLS_1_2"


def test_the_api_is_mapped_at_the_domains_root_so_links_carry_no_stage_name(
    synthesized: tuple[Synthesized, str],
) -> None:
    template = synthesized[0].raw[STACK]
    (mapping,) = _of_type(template, "AWS::ApiGateway::BasePathMapping")
    assert "BasePath" not in mapping or mapping["BasePath"] in ("", "(none)")
    (api_id,) = [lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::ApiGateway::RestApi"]
    assert mapping["RestApiId"] == {"Ref": api_id}
    assert "Stage" in json.dumps(mapping["Stage"])
    assert synthesized[1] == "https://fb.nimbusnotes.example/"  # the render step's FEEDBACK_BASE_URL


@pytest.mark.parametrize(
    ("base_url", "certificate", "named"),
    [
        ("https://fb.example.com/v1", CERTIFICATE, "no path"),
        ("http://fb.example.com", CERTIFICATE, "https://"),
        ("https://fb.example.com", "arn:aws:iam::111122223333:role/x", "ACM certificate ARN"),
    ],
)
def test_a_base_url_or_certificate_that_cannot_be_served_is_refused_with_the_fix(
    base_url: str, certificate: str, named: str
) -> None:
    from outage_comms_cdk.constructs.feedback_api import FeedbackDomain

    with pytest.raises(ValueError, match=named):
        FeedbackDomain.for_base_url(base_url, certificate)


def test_cfn_lint_passes_on_the_custom_domain_template(synthesized: tuple[Synthesized, str]) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *map(str, synthesized[0].template_files())],
        cwd=REPO_ROOT,  # picks up .cfnlintrc.yaml
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
