"""The function factory and the code asset, proven on a test-only stack (the core stack has no function)."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from synthesized_apps import FUNCTION_STACK
from template_reading import (
    REASONED_WILDCARD_ACTIONS,
    as_list,
    identity_statements,
    join_to_text,
    wildcard_resource,
)

from outage_comms.plan import Plan, parse_plan
from outage_comms_cdk.constructs.encryption import EncryptionKey
from outage_comms_cdk.constructs.lambda_runtime import (
    ARCHITECTURE,
    POWERTOOLS_LAYER_NAME,
    RUNTIME,
    LambdaRuntime,
)
from outage_comms_cdk.lambda_asset import (
    LAMBDA_PYTHON_VERSION,
    VENDORED_TRANSITIVE_PINS,
    WHEEL_PLATFORMS,
    asset_fingerprint,
    vendored_requirements,
)

pytestmark = pytest.mark.infrastructure


@pytest.fixture(scope="module")
def template(function_stack: Any) -> Template:
    return function_stack.templates[FUNCTION_STACK]


@pytest.fixture(scope="module")
def raw(function_stack: Any) -> dict[str, Any]:
    return function_stack.raw[FUNCTION_STACK]


@pytest.fixture(scope="module")
def functions(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {
        lid: r["Properties"] for lid, r in raw["Resources"].items() if r["Type"] == "AWS::Lambda::Function"
    }
    assert len(found) == 2
    return found


@pytest.fixture(scope="module")
def asset_dir(function_stack: Any, functions: dict[str, dict[str, Any]]) -> Path:
    """The directory CDK zips for the functions, found through the stack's asset manifest."""
    (s3_key,) = {props["Code"]["S3Key"] for props in functions.values()}  # one asset shared by all
    manifest = json.loads((function_stack.outdir / f"{FUNCTION_STACK}.assets.json").read_text())
    source = manifest["files"][s3_key.removesuffix(".zip")]["source"]
    assert source["packaging"] == "zip"
    return function_stack.outdir / source["path"]


def test_runtime_architecture_tracing_and_sizes(functions: dict[str, dict[str, Any]]) -> None:
    for props in functions.values():
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["MemorySize"] == 256
        assert props["Timeout"] == 30


def test_powertools_layer_is_the_pinned_python313_arm64_v3_layer(
    functions: dict[str, dict[str, Any]], powertools_layer_version: int
) -> None:
    for props in functions.values():
        (layer,) = props["Layers"]
        assert join_to_text(layer) == (
            "arn:{AWS::Partition}:lambda:{AWS::Region}:017000801446:layer:"
            f"AWSLambdaPowertoolsPythonV3-python313-arm64:{powertools_layer_version}"
        )


def test_environment_names_the_service_namespace_and_plan(functions: dict[str, dict[str, Any]]) -> None:
    services = set()
    for props in functions.values():
        variables = props["Environment"]["Variables"]
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "OutageComms"
        assert variables["PLAN_PATH"] == "/var/task/plan.json"
        assert variables["TEMPLATES_DIR"] == "/var/task/templates"
        services.add(variables["POWERTOOLS_SERVICE_NAME"])
    assert services == {"probe", "sync-probe"}


def test_json_logs_go_to_an_encrypted_log_group_with_retention(
    raw: dict[str, Any], template: Template
) -> None:
    key_id = next(lid for lid, r in raw["Resources"].items() if r["Type"] == "AWS::KMS::Key")
    groups = {lid: r for lid, r in raw["Resources"].items() if r["Type"] == "AWS::Logs::LogGroup"}
    assert len(groups) == 2
    for logical_id, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == 365
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert group["Properties"]["LogGroupName"].startswith("/outage-comms/"), (
            "the key policy allows only these"
        )
        template.has_resource_properties(
            "AWS::Lambda::Function",
            {"LoggingConfig": {"LogFormat": "JSON", "LogGroup": {"Ref": logical_id}, **_any_levels()}},
        )


def _any_levels() -> dict[str, Any]:
    return {"ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"}


def test_reserved_concurrency_and_on_failure_destination_when_asked(
    raw: dict[str, Any], template: Template
) -> None:
    queue_id = next(lid for lid, r in raw["Resources"].items() if r["Type"] == "AWS::SQS::Queue")
    template.has_resource_properties("AWS::Lambda::Function", {"ReservedConcurrentExecutions": 5})
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}}},
    )


def test_roles_only_write_their_own_logs_and_traces(raw: dict[str, Any]) -> None:
    template = Template.from_json(raw)
    template.resource_properties_count_is(
        "AWS::IAM::Role", {"ManagedPolicyArns": Match.absent()}, 2
    )  # no AWSLambdaBasicExecutionRole: it allows writing to every log group
    for logical_id, statement in identity_statements(raw):
        if statement["Effect"] == "Allow" and wildcard_resource(statement):
            unexplained = set(as_list(statement["Action"])) - set(REASONED_WILDCARD_ACTIONS)
            assert not unexplained, f"{logical_id}: {unexplained} on Resource '*'"


def test_asset_holds_the_handlers_closure_templates_plan_and_runtime_dependencies(asset_dir: Path) -> None:
    assert (asset_dir / "handlers" / "feedback_api.py").is_file()
    assert not (asset_dir / "handlers" / "intake.py").exists()  # only what this handler imports
    assert any((asset_dir / "outage_comms" / name).is_file() for name in ("plan.py", "plan.pyc"))
    assert (asset_dir / "plan.json").is_file()
    assert (asset_dir / "templates" / "status" / "strings" / "en.json").is_file()
    assert not list((asset_dir / "templates").rglob("*.yaml"))  # compiled at synth: no YAML at run time
    for package in ("jinja2", "markupsafe"):
        assert (asset_dir / package).is_dir(), package


def test_asset_wheels_are_for_lambda_arm64_python313(asset_dir: Path) -> None:
    extensions = [p.name for p in (asset_dir / "markupsafe").glob("*.so")]
    assert extensions and all("cpython-313-aarch64-linux-gnu" in name for name in extensions), extensions


def test_asset_never_ships_build_or_test_tooling_nor_what_the_runtime_has(asset_dir: Path) -> None:
    top_level = {p.name for p in asset_dir.iterdir()}
    for forbidden in ("aws_cdk", "cdk_nag", "jsii", "moto", "typer", "rich", "textstat", "pytest", "boto3"):
        assert forbidden not in top_level, forbidden
    for forbidden in ("yaml", "_yaml", "dateutil", "six.py", "lxml", "feedgen"):
        assert forbidden not in top_level, forbidden
    assert not (asset_dir / ".complete").exists()


def test_plan_json_is_the_validated_plan(asset_dir: Path, example_plan: Plan) -> None:
    shipped = parse_plan(json.loads((asset_dir / "plan.json").read_text(encoding="utf-8")), "plan.json")
    assert shipped == example_plan


def test_asset_hash_is_stable_and_follows_the_plan(example_plan: Plan) -> None:
    requirements = vendored_requirements()
    assert asset_fingerprint(example_plan, requirements) == asset_fingerprint(example_plan, requirements)
    changed = example_plan.model_copy(
        update={"organization": example_plan.organization.model_copy(update={"name": "Other Co"})}
    )
    assert asset_fingerprint(changed, requirements) != asset_fingerprint(example_plan, requirements)


def test_vendored_pins_match_the_versions_the_tests_run_with() -> None:
    for requirement in vendored_requirements():
        name, version = requirement.split("==")
        assert importlib.metadata.version(name) == version, requirement
    assert set(VENDORED_TRANSITIVE_PINS) <= {r.split("==")[0] for r in vendored_requirements()}


def test_factory_refuses_a_function_without_failure_handling(example_plan: Plan) -> None:
    stack = Stack(App(), "Refuse")
    key = EncryptionKey(stack, "Encryption", alias="alias/refuse").key
    runtime = LambdaRuntime(stack, "Runtime", plan=example_plan, key=key, powertools_layer_version=1)
    with pytest.raises(ValueError, match="synchronous_only_reason"):
        runtime.new_function(
            stack,
            "Orphan",
            handler="handlers.orphan.handler",
            description="no failure handling",
            service_name="orphan",
            timeout=Duration.seconds(5),
        )


def test_a_grant_on_every_resource_fails_synthesis(example_plan: Plan, tmp_path: Path) -> None:
    # Given a factory-built function whose role is then granted s3:GetObject on '*'
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "WildcardGrant")
    key = EncryptionKey(stack, "Encryption", alias="alias/wildcard").key
    runtime = LambdaRuntime(stack, "Runtime", plan=example_plan, key=key, powertools_layer_version=1)
    function = runtime.new_function(
        stack,
        "Greedy",
        handler="handlers.workflow_redrive.handler",
        description="asks for too much",
        service_name="greedy",
        synchronous_only_reason="test only",
    )
    function.role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    # When synthesized, then the role's validation rejects it, naming the action
    with pytest.raises(Exception, match=r"\['s3:GetObject'\] on Resource '\*'"):
        app.synth()


def test_runtime_layer_and_wheels_target_the_same_python_and_cpu() -> None:
    assert RUNTIME.name == f"python{LAMBDA_PYTHON_VERSION}"
    assert POWERTOOLS_LAYER_NAME.endswith(f"-python{LAMBDA_PYTHON_VERSION.replace('.', '')}-arm64")
    assert ARCHITECTURE.name == "arm64"
    assert all(platform.endswith("_aarch64") for platform in WHEEL_PLATFORMS)
