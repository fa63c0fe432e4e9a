"""Deliveries are never silently lost: the synthesized team chat and fan-out branches, their
dead-letter queues and the redrive function's permissions (app.py's app, nag gate on)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from template_reading import as_list, identity_statements, join_to_text

from outage_comms.plan import Plan
from outage_comms.workflow.channels_plan import fanout_channels, team_channels
from outage_comms_cdk.constructs.channel_fanout import channel_label

pytestmark = pytest.mark.infrastructure

WORKFLOW_STACK = "OutageCommsWorkflow"
REDRIVE_HANDLER = "handlers.workflow_redrive.handler"


@pytest.fixture(scope="module")
def template(core: Any) -> dict[str, Any]:
    return dict(core.raw[WORKFLOW_STACK])


@pytest.fixture(scope="module")
def definition(template: dict[str, Any]) -> dict[str, Any]:
    (machine,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    return dict(json.loads(join_to_text(machine["DefinitionString"])))


def _queues(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}


def _branches(parallel: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The branches of a Parallel by their first state's name."""
    return {b["StartAt"]: b["States"] for b in parallel["Branches"]}


def _function(template: dict[str, Any], handler: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, r)
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == handler
    ]
    return found


def _statements(template: dict[str, Any], function: dict[str, Any]) -> list[dict[str, Any]]:
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = {
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
    }
    return [s for logical_id, s in identity_statements(template) if logical_id in policies]


def _retry_policy(task: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            tuple(r["ErrorEquals"]),
            r["IntervalSeconds"],
            r["MaxAttempts"],
            r["BackoffRate"],
            r["JitterStrategy"],
        )
        for r in task["Retry"]
    ]


def test_every_team_chat_is_its_own_branch_retried_exactly_like_a_customer_channel(
    definition: dict[str, Any], example_plan: Plan
) -> None:
    states = definition["States"]
    team = states["Notify team first"]
    assert team["Type"] == "Parallel"  # one team chat failing never keeps the others waiting
    assert team["Next"] == "Approval required?"  # the team hears before any customer
    branches = _branches(team)
    assert len(branches) == len(team_channels(example_plan)) == 3
    customer = _branches(states["Fan out to channels"])
    customer_retry = {tuple(_retry_policy(b[start])) for start, b in customer.items()}
    assert len(customer_retry) == 1
    for channel in team_channels(example_plan):
        start = f"Notify {channel_label(channel)}"
        task = branches[start][start]
        assert task["Parameters"]["channel"] == channel.value
        assert tuple(_retry_policy(task)) in customer_retry
        assert "ChannelRetryableError" in task["Retry"][0]["ErrorEquals"]
        assert task["Retry"][0]["JitterStrategy"] == "FULL"
        assert task["Catch"][0]["ErrorEquals"] == ["States.ALL"]
        assert task["Catch"][0]["Next"] == f"Record {channel_label(channel)} failure"


@pytest.mark.parametrize("parallel", ["Notify team first", "Fan out to channels"])
def test_a_failure_after_retries_is_recorded_then_dead_lettered_with_what_redrive_needs(
    definition: dict[str, Any], parallel: str
) -> None:
    for start, states in _branches(definition["States"][parallel]).items():
        caught = states[start]["Catch"][0]["Next"]
        record = states[caught]
        assert record["ResultPath"] == "$.failure"
        dead_letter = states[record["Next"]]
        assert dead_letter["Resource"].endswith(":states:::sqs:sendMessage"), start
        assert dead_letter["Next"] if "Next" in dead_letter else dead_letter["End"]
        body = dead_letter["Parameters"]["MessageBody"]
        for field in ("incident_id", "update_id", "error", "attempts"):
            assert f"{field}.$" in body, (start, field)
        assert body["channel"] == states[start]["Parameters"]["channel"]
        # recording failing still dead-letters; the queue failing ends the branch, never the execution
        not_recorded = states[record["Catch"][0]["Next"]]
        assert not_recorded["Type"] == "Pass" and not_recorded["Next"] == record["Next"]
        assert dead_letter["Retry"] and dead_letter["Catch"][0]["ErrorEquals"] == ["States.ALL"]


def test_one_kms_encrypted_tls_only_queue_per_channel(
    template: dict[str, Any], definition: dict[str, Any], example_plan: Plan
) -> None:
    queue_of_state: dict[str, str] = {}
    for parallel in ("Notify team first", "Fan out to channels"):
        for states in _branches(definition["States"][parallel]).values():
            for name, state in states.items():
                if str(state.get("Resource", "")).endswith(":states:::sqs:sendMessage"):
                    queue_of_state[name] = state["Parameters"]["QueueUrl"]
    channels = [*team_channels(example_plan), *fanout_channels(example_plan)]
    # a team chat has two branches (before an approval; with the customers), both to its one queue
    assert len(queue_of_state) == len(channels) + len(team_channels(example_plan))
    assert len(set(queue_of_state.values())) == len(channels)  # per channel, not one shared queue
    queues = _queues(template)
    for url in queue_of_state.values():
        logical_id = url.strip("{}")
        props = queues[logical_id]["Properties"]
        assert "KmsMasterKeyId" in props, logical_id
        assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
        policies = [
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::SQS::QueuePolicy" and {"Ref": logical_id} in r["Properties"]["Queues"]
        ]
        denies = [s for p in policies for s in p["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies), logical_id


def test_the_state_machine_may_send_to_the_dead_letter_queues_only(template: dict[str, Any]) -> None:
    queues = set(_queues(template))
    sends = [s for _, s in identity_statements(template) if "sqs:SendMessage" in as_list(s["Action"])]
    assert sends
    for statement in sends:
        for resource in as_list(statement["Resource"]):
            assert resource["Fn::GetAtt"][0] in queues and resource["Fn::GetAtt"][1] == "Arn"


def test_redrive_function_reads_the_queues_and_invokes_the_two_delivery_functions_only(
    template: dict[str, Any],
) -> None:
    _, redrive = _function(template, REDRIVE_HANDLER)
    deliver_id, _ = _function(template, "handlers.workflow_deliver_channel.handler")
    notify_id, _ = _function(template, "handlers.workflow_notify_team.handler")
    statements = _statements(template, redrive)
    by_action: dict[str, list[Any]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            by_action.setdefault(action, []).extend(as_list(statement["Resource"]))
    invoked = {r["Fn::GetAtt"][0] for r in by_action.pop("lambda:InvokeFunction")}
    assert invoked == {deliver_id, notify_id}
    queues = set(_queues(template))
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
        targets = {r["Fn::GetAtt"][0] for r in by_action.pop(action)}
        assert targets <= queues and len(targets) >= 3, action
    by_action.pop("sqs:GetQueueAttributes")
    assert set(by_action) <= {
        "kms:Decrypt",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }, sorted(by_action)  # no channel secret, no topic, no SES / SMS: it can send nothing itself
    environment = redrive["Properties"]["Environment"]["Variables"]
    assert {"DEAD_LETTER_QUEUES", "DELIVER_FUNCTION", "NOTIFY_FUNCTION"} <= set(environment)


def test_the_cli_finds_the_redrive_function_in_the_stack_outputs(template: dict[str, Any]) -> None:
    redrive_id, _ = _function(template, REDRIVE_HANDLER)
    assert template["Outputs"]["RedriveFunctionName"]["Value"] == {"Ref": redrive_id}


def test_retries_wait_at_most_fourteen_seconds_for_team_and_customer_channels(
    definition: dict[str, Any],
) -> None:
    for parallel in ("Notify team first", "Fan out to channels"):
        for start, states in _branches(definition["States"][parallel]).items():
            (retry,) = states[start]["Retry"]
            waits = [
                min(retry["IntervalSeconds"] * retry["BackoffRate"] ** n, retry.get("MaxDelaySeconds", 1e9))
                for n in range(retry["MaxAttempts"])
            ]
            assert sum(waits) == 14, start  # 2 + 4 + 8 s, each drawn at random below (full jitter)
