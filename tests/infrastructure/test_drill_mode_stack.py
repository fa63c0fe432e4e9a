"""Drill mode as synthesized by app.py: a separate, encrypted drill topic; the drill targets' secrets readable
by name, only by the functions that deliver."""

from __future__ import annotations

from typing import Any

import pytest
from template_reading import as_list, identity_statements, join_to_text

from outage_comms.plan import Plan

pytestmark = pytest.mark.infrastructure

WORKFLOW_STACK = "OutageCommsWorkflow"


@pytest.fixture(scope="module")
def template(core: Any) -> dict[str, Any]:
    return dict(core.raw[WORKFLOW_STACK])


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_the_drill_topic_is_its_own_encrypted_topic(template: dict[str, Any], example_plan: Plan) -> None:
    assert example_plan.channels.sns is not None
    topics = {v["Properties"]["TopicName"]: k for k, v in resources(template, "AWS::SNS::Topic").items()}
    customers = example_plan.channels.sns.topic_name
    assert f"{customers}-drill" in topics and customers in topics
    drill = template["Resources"][topics[f"{customers}-drill"]]["Properties"]
    assert "KmsMasterKeyId" in drill
    assert "DrillTopicArn" in template["Outputs"]


def test_only_the_delivery_function_learns_and_may_publish_to_the_drill_topic(
    template: dict[str, Any], example_plan: Plan
) -> None:
    assert example_plan.channels.sns is not None
    drill_id = next(
        k
        for k, v in resources(template, "AWS::SNS::Topic").items()
        if v["Properties"]["TopicName"] == f"{example_plan.channels.sns.topic_name}-drill"
    )
    functions = resources(template, "AWS::Lambda::Function")
    with_topic = [
        v["Properties"]["Handler"]
        for v in functions.values()
        if v["Properties"].get("Environment", {}).get("Variables", {}).get("DRILL_TOPIC_ARN")
        == {"Ref": drill_id}
    ]
    assert "handlers.workflow_deliver_channel.handler" in with_topic
    publishers = {
        logical_id
        for logical_id, statement in identity_statements(template)
        if "sns:Publish" in as_list(statement["Action"])
        and {"Ref": drill_id} in as_list(statement["Resource"])
    }
    assert len(publishers) == 1  # the delivery function's policy, nobody else's


def test_the_drill_secrets_are_readable_by_name_by_the_delivering_functions(
    core: Any, example_plan: Plan
) -> None:
    drill_names = set(example_plan.drill.webhook_secrets.values())
    readable: dict[str, set[str]] = {}
    for stack, template in core.raw.items():
        for logical_id, statement in identity_statements(template):
            if "secretsmanager:GetSecretValue" not in as_list(statement["Action"]):
                continue
            for resource in as_list(statement["Resource"]):
                text = join_to_text(resource)
                for name in drill_names:
                    if text.endswith(f":secret:{name}-??????"):
                        readable.setdefault(name, set()).add(f"{stack}/{logical_id}")
    assert set(readable) == drill_names  # each drill secret, by its name, never '*'
    team_chat = {
        example_plan.drill.webhook_secrets[c]
        for c in example_plan.drill.webhook_secrets
        if c.value in ("slack", "teams")
    }
    # the team's chat drill targets are readable by the notify-team function as well as by delivery
    assert all(len(readable[name]) >= 2 for name in team_chat)
