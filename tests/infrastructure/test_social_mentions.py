"""Perception on the example plan: a 5-minute schedule invokes the listener, which may read one secret."""

from __future__ import annotations

from typing import Any

import pytest
from template_reading import as_list, join_to_text

from app import CHANNELS_STACK_NAME
from outage_comms.plan import Plan
from outage_comms_cdk.constructs.social_mentions import listens

pytestmark = pytest.mark.infrastructure


@pytest.fixture(scope="module")
def raw(core: Any) -> dict[str, Any]:
    return dict(core.raw[CHANNELS_STACK_NAME])


def resource(raw: dict[str, Any], kind: str, prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in raw["Resources"].items() if v["Type"] == kind and k.startswith(prefix)]
    return found


def test_the_schedule_invokes_the_listener_every_five_minutes(raw: dict[str, Any]) -> None:
    function_id, function = resource(raw, "AWS::Lambda::Function", "SocialMentionsListener")
    _, rule = resource(raw, "AWS::Events::Rule", "SocialMentionsSchedule")
    _, permission = resource(raw, "AWS::Lambda::Permission", "SocialMentionsSchedule")

    assert rule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0  # the next sample supersedes a lost one
    assert "DeadLetterConfig" in target
    assert permission["Properties"]["Principal"] == "events.amazonaws.com"
    assert permission["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}

    props = function["Properties"]
    assert props["Handler"] == "handlers.social_mentions.handler"
    env = props["Environment"]["Variables"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "OutageComms"
    assert env["PERCEPTION_WINDOW_SECONDS"] == "300"  # window = schedule period: the 5-minute Sum is exact
    assert env["PERCEPTION_KEYWORDS"] == '["Nimbus Notes"]'
    assert env["PERCEPTION_HASHTAGS"] == '["nimbusnotesstatus"]'


def test_the_listener_reads_only_the_bluesky_app_password(raw: dict[str, Any]) -> None:
    _, policy = resource(raw, "AWS::IAM::Policy", "SocialMentionsListenerRoleDefaultPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    secrets = [s for s in statements if "secretsmanager:GetSecretValue" in as_list(s["Action"])]
    (statement,) = secrets
    assert as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"]
    (arn,) = [join_to_text(r) for r in as_list(statement["Resource"])]
    assert arn.endswith(":secret:outage-comms/bluesky-app-password-??????")
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not {a for a in actions if a.startswith(("dynamodb:", "ses:", "sms-voice:", "s3:", "states:"))}


def test_the_listener_is_built_only_when_the_plan_enables_bluesky_or_mastodon(example_plan: Plan) -> None:
    assert listens(example_plan)
    channels = example_plan.channels
    assert channels.bluesky is not None and channels.mastodon is not None
    off = example_plan.model_copy(
        update={
            "channels": channels.model_copy(
                update={
                    "bluesky": channels.bluesky.model_copy(update={"enabled": False}),
                    "mastodon": None,
                }
            )
        }
    )
    assert not listens(off)
