"""A deployment id lets two products (or stages) share an account and region.

The real app is synthesized once per id (one id from the plan's ``deployment.id``, one from
``-c deployment=``), with the cdk-nag gate on; every stack name and every physical name that must be
unique per account and region differs between the two, fits its AWS length limit, and without an id
the names are today's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from synthesized_apps import EXAMPLE_PLAN, REPO_ROOT, Synthesized, new_app, synthesize

from outage_comms.plan import PlanError, load_plan
from outage_comms_cdk.settings import SettingsError, deployment_id, name_for, stack_name

pytestmark = pytest.mark.infrastructure

FROM_PLAN = "acme-prod"
#: 20 characters, the longest id allowed: the length limits are checked with it.
FROM_CONTEXT = "globex-staging-euw-1"
#: Today's stack names (an existing deployment must keep them).
TODAY_STACKS = {
    "OutageCommsCore",
    "OutageCommsStatusPublisher",
    "OutageCommsChannels",
    "OutageCommsWorkflow",
    "OutageCommsIntake",
    "OutageCommsStatus",
}
#: Today's fixed physical names in the example plan's templates (a sample that must not move).
TODAY_NAMES = {
    ("StateMachineName", "outage-comms-incident"),
    ("StateMachineName", "outage-comms-bulk-delivery"),
    ("Name", "outage-comms"),
    ("TopicName", "outage-comms-subscribers"),
    ("TopicName", "outage-comms-internal-chat"),
    ("TopicName", "outage-comms-paging"),
    ("Name", "outage-comms-subscribe"),
    ("Name", "outage-comms-maintenance"),
    ("Name", "OutageComms-StartIncidentComms"),
    ("AlarmName", "OutageComms-StatusSurfaceFailures"),
    ("AlarmName", "OutageComms-SLO-WorkflowFailed"),
    ("DashboardName", "outage-comms-internal"),
    ("RoleName", "OutageCommsStatusPublisherAccess"),
    ("AliasName", "alias/outage-comms"),
    ("LogGroupName", "/outage-comms/states/outage-comms-incident"),
}
#: Names that are not unique per account and region (scoped to a role, a metric, an API, a table...).
NOT_ACCOUNT_WIDE = {"PolicyName", "MetricName", "DisplayName", "StageName", "TableName", "IndexName"}
#: Names the team chooses in the plan and the runtime reads from the plan, so they stay as written: give
#: each deployment's plan its own (today only the SES configuration set,
#: ``channels.email.configuration_set``).
PLAN_CHOSEN = {("AWS::SES::ConfigurationSet", "Name")}
#: The hash CDK appends to the names it generates from a construct path.
CDK_HASH = re.compile(r"[A-F0-9]{8}$")
#: AWS limits on the names this app sets (characters).
LIMITS = {
    "StateMachineName": 80,
    "FunctionName": 64,
    "TopicName": 256,
    "AlarmName": 255,
    "RoleName": 64,
    "BucketName": 63,
    "DashboardName": 255,
    "LogGroupName": 512,
    "AliasName": 256,
}
#: The longest values pseudo parameters take, for the length checks.
PSEUDO = {"AWS::AccountId": "123456789012", "AWS::Region": "ap-southeast-2", "AWS::Partition": "aws-us-gov"}


@pytest.fixture(scope="module")
def from_plan(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The example plan with ``deployment: {id: acme-prod}``."""
    folder = tmp_path_factory.mktemp("deployment-plan")
    data = yaml.safe_load(EXAMPLE_PLAN.read_text(encoding="utf-8"))
    data["deployment"] = {"id": FROM_PLAN}
    plan = folder / "plan.yaml"
    plan.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    from outage_comms_cdk.app import build_app

    app = new_app(folder / "cdk.out")
    return synthesize(build_app(app, plan_path=plan, templates_dir=REPO_ROOT / "templates"))


@pytest.fixture(scope="module")
def from_context(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The example plan with ``-c deployment=globex-staging-euw-1``."""
    from outage_comms_cdk.app import build_app

    out = tmp_path_factory.mktemp("deployment-context")
    return synthesize(build_app(new_app(out, plan=str(EXAMPLE_PLAN), deployment=FROM_CONTEXT)))


def _concrete(value: Any) -> Any:
    """A name as text where it is made of literals and pseudo parameters; None when it names a resource."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in PSEUDO:
        return PSEUDO[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        texts = [_concrete(part) for part in parts]
        return None if any(text is None for text in texts) else separator.join(texts)
    return None


def physical_names(synthesized: Synthesized) -> dict[tuple[str, str], str]:
    """(property, name) → stack, for every resource property ending in ``Name`` that is not a resource's
    reference (literals and names built from account, region and partition)."""
    found: dict[tuple[str, str], str] = {}
    for stack, template in synthesized.raw.items():
        for resource in template.get("Resources", {}).values():
            for key, value in (resource.get("Properties") or {}).items():
                if (
                    not key.endswith("Name")
                    or key in NOT_ACCOUNT_WIDE
                    or (resource["Type"], key) in PLAN_CHOSEN
                ):
                    continue
                text = _concrete(value)
                if text is not None:
                    found[(key, text)] = stack
    return found


def test_the_stack_names_carry_the_id_and_differ(from_plan: Synthesized, from_context: Synthesized) -> None:
    assert set(from_plan.raw) == {stack_name(name, FROM_PLAN) for name in TODAY_STACKS}
    assert "OutageComms-acme-prod-Core" in from_plan.raw
    assert set(from_context.raw) == {stack_name(name, FROM_CONTEXT) for name in TODAY_STACKS}
    assert not set(from_plan.raw) & set(from_context.raw)
    assert not set(from_plan.raw) & TODAY_STACKS


def test_no_physical_name_collides_between_two_deployments(
    from_plan: Synthesized, from_context: Synthesized, core: Synthesized
) -> None:
    first, second, today = physical_names(from_plan), physical_names(from_context), physical_names(core)
    # Each deployment has as many names as today's (nothing was lost), every one of them moved ...
    assert len(first) == len(second) == len(today)
    assert not set(first) & set(today), sorted(set(first) & set(today))
    # ... and none is shared with the other deployment.
    shared = sorted(set(first) & set(second))
    assert not shared, f"names both deployments would create: {shared}"
    # Names CDK makes unique (a hash of the construct path, which holds the stack name) may keep the id
    # without its hyphens or truncate it; every other name carries the id as written.
    missing = [
        n
        for _, n in second
        if FROM_CONTEXT not in n and FROM_CONTEXT.replace("-", "") not in n and not CDK_HASH.search(n)
    ]
    assert not missing


def test_the_names_fit_aws_limits_with_the_longest_id(from_context: Synthesized) -> None:
    too_long = [
        (key, name, len(name))
        for (key, name) in physical_names(from_context)
        if key in LIMITS and len(name) > LIMITS[key]
    ]
    assert not too_long
    buckets = [name for key, name in physical_names(from_context) if key == "BucketName"]
    assert buckets and all(name == name.lower() for name in buckets)


def test_runtime_references_follow_the_id(from_context: Synthesized) -> None:
    text = json.dumps(from_context.raw)
    # the workflow's own ARN grants, the runbook, the scheduler group env and the publisher's role/bucket
    assert f"outage-comms-{FROM_CONTEXT}-incident" in text
    assert f'"MAINTENANCE_SCHEDULE_GROUP": "outage-comms-{FROM_CONTEXT}-maintenance"' in text
    assert f"role/OutageComms-{FROM_CONTEXT}-StatusPublisherAccess" in text
    assert f"oc-{FROM_CONTEXT}-status-" in text
    assert f"outage-comms-{FROM_CONTEXT}-publisher-" in text  # the role the status stack trusts
    assert "OutageCommsStatusPublisherAccess" not in text
    assert '"outage-comms-incident"' not in text


def test_without_an_id_the_names_are_todays(core: Synthesized) -> None:
    assert set(core.raw) == TODAY_STACKS
    assert set(physical_names(core)) >= TODAY_NAMES


def test_a_bad_id_is_refused_with_the_fix(tmp_path: Path) -> None:
    data = yaml.safe_load(EXAMPLE_PLAN.read_text(encoding="utf-8"))
    for bad in ("Acme", "acme_prod", "-acme", "acme-", "a" * 21):
        data["deployment"] = {"id": bad}
        plan = tmp_path / "plan.yaml"
        plan.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        with pytest.raises(PlanError):
            load_plan(plan)
    app = new_app(tmp_path / "cdk.out", deployment="Acme Prod")
    with pytest.raises(SettingsError, match="-c deployment=acme-prod"):
        deployment_id(app, load_plan(EXAMPLE_PLAN))


def test_the_name_rule() -> None:
    assert stack_name("OutageCommsCore", None) == "OutageCommsCore"
    assert stack_name("OutageCommsStatusEdge", "x-1") == "OutageComms-x-1-StatusEdge"
    assert name_for("outage-comms-incident", "x") == "outage-comms-x-incident"
    assert name_for("outage-comms", "x") == "outage-comms-x"
    assert name_for("OutageComms-SLO-", "x") == "OutageComms-x-SLO-"
    assert name_for("OutageCommsStatusPublisherAccess", "x") == "OutageComms-x-StatusPublisherAccess"
    assert name_for("/outage-comms/api/review-page", "x") == "/outage-comms/x/api/review-page"
    assert name_for("alias/outage-comms-paging", "x") == "alias/outage-comms-x-paging"
    assert name_for("nimbus-public-status", "x") == "nimbus-public-status-x"
    assert name_for("anything", None) == "anything"


def test_init_writes_a_deployment_id_into_the_teams_plan(tmp_path: Path) -> None:
    from outage_comms_cli.init import scaffold

    scaffold(tmp_path / "derived", org="Acme Widgets, Inc.", locales=["en"], channels=["email"])
    assert load_plan(tmp_path / "derived" / "plan.yaml").deployment.id == "acme-widgets-inc"
    scaffold(tmp_path / "chosen", org="Acme", locales=["en"], channels=["email"], deployment="acme-prod")
    assert load_plan(tmp_path / "chosen" / "plan.yaml").deployment.id == "acme-prod"
    with pytest.raises(ValueError, match="--deployment 'Acme Prod'"):
        scaffold(tmp_path / "bad", org="Acme", locales=["en"], channels=["email"], deployment="Acme Prod")


def test_redrive_finds_the_workflow_stack_of_a_deployment() -> None:
    from outage_comms_cdk.app import WORKFLOW_STACK_NAME
    from outage_comms_cli.redrive import workflow_stack_name

    assert workflow_stack_name(None) == WORKFLOW_STACK_NAME
    assert workflow_stack_name("acme-prod") == stack_name(WORKFLOW_STACK_NAME, "acme-prod")
