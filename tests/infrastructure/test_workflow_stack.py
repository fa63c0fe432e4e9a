"""The workflow stack as synthesized by app.py: the state machine's shape, its timeouts, IAM scope."""

from __future__ import annotations

import json
from typing import Any

import pytest
from template_reading import as_list, identity_statements, join_to_text, wildcard_resource

from outage_comms.plan import Plan
from outage_comms.workflow.channels_plan import fanout_channels, team_channels

pytestmark = pytest.mark.infrastructure

WORKFLOW_STACK = "OutageCommsWorkflow"
#: Actions with no resource-level permissions: X-Ray (tracing) and CloudWatch Logs vended delivery.
EVERY_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


@pytest.fixture(scope="module")
def template(core: Any) -> dict[str, Any]:
    return dict(core.raw[WORKFLOW_STACK])


@pytest.fixture(scope="module")
def state_machine(template: dict[str, Any]) -> dict[str, Any]:
    (resource,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    return dict(resource["Properties"])


@pytest.fixture(scope="module")
def definition(state_machine: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(join_to_text(state_machine["DefinitionString"])))


def all_states(states: dict[str, Any]) -> dict[str, Any]:
    found = dict(states)
    for state in states.values():
        for branch in state.get("Branches", []):
            found.update(all_states(branch["States"]))
    return found


def test_standard_jsonpath_named_traced_and_logged(
    state_machine: dict[str, Any], definition: dict[str, Any]
) -> None:
    assert state_machine["StateMachineName"] == "outage-comms-incident"
    assert state_machine["StateMachineType"] == "STANDARD"
    assert state_machine["TracingConfiguration"] == {"Enabled": True}
    assert state_machine["LoggingConfiguration"]["Level"] == "ALL"
    assert state_machine["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert definition.get("QueryLanguage", "JSONPath") == "JSONPath"


def test_states_read_like_the_plan(definition: dict[str, Any]) -> None:
    names = set(all_states(definition["States"]))
    assert definition["StartAt"] == "Resumed from another region?"
    assert definition["States"]["Resumed from another region?"]["Default"] == "Register incident"
    for expected in (
        "Register incident",
        "Render update",
        "Notify team first",
        "Approval required?",
        "Wait for approval",
        "Approval timed out: what does the plan say?",
        "Escalate approval to incident manager",
        "Send holding statement instead",
        "Hold external messages",
        "Fan out to channels",
        "Publish status surfaces",
        "Resolved?",
        "Wait for next update",
        "Remind communications manager",
        "Wait for update after reminder",
        "Escalate to incident manager",
        "Draft post-incident summary",
        "Post-incident summary drafted?",
        "Record postmortem",
        "Not approved: post-incident summary?",
        "Post-incident summary not published",
        "Release incident",
        "Incident closed",
    ):
        assert expected in names, expected


def test_a_resumed_execution_registers_then_enters_the_state_its_route_names(
    definition: dict[str, Any],
) -> None:
    states = definition["States"]
    start = states[definition["StartAt"]]
    assert start["Choices"] == [
        {"Variable": "$.resume", "IsPresent": True, "Next": "Register resumed incident"}
    ]
    register, normal = states["Register resumed incident"], states["Register incident"]
    # The same function claims the incident, but its answer is kept apart: $.render / $.resume stay.
    assert register["Resource"] == normal["Resource"] and register["ResultPath"] == "$.registered"
    assert register["Catch"] == normal["Catch"]
    owned = states[register["Next"]]
    assert owned["Choices"] == [
        {
            "Variable": "$.registered.duplicate",
            "BooleanEquals": True,
            "Next": "Already handled by another execution",
        }
    ]
    routes = {c["StringEquals"]: c["Next"] for c in states[owned["Default"]]["Choices"]}
    assert routes == {
        "wait": "Wait for next update",
        "approve": "Wait for approval",
        "deliver": "Fan out to channels",
    }
    assert all(c["Variable"] == "$.resume.route" for c in states[owned["Default"]]["Choices"])
    assert states[owned["Default"]]["Default"] == "Render update"


def _text_naming_functions(value: Any) -> str:
    """``join_to_text``, with ``Fn::GetAtt`` shown as ``{LogicalId}`` (a task's function ARN)."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "{" + value["Fn::GetAtt"][0] + "}"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_text_naming_functions(part) for part in parts)
    return join_to_text(value)


def test_register_incident_runs_in_the_render_function_one_cold_start_fewer(
    template: dict[str, Any], state_machine: dict[str, Any]
) -> None:
    # issue 13: the alarm's path to its first message starts no environment only to register the incident
    definition = json.loads(_text_naming_functions(state_machine["DefinitionString"]))
    states = all_states(definition["States"])
    render_id, render = _function_by_handler(template, "handlers.workflow_render.handler")
    handlers = {
        r["Properties"]["Handler"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    }
    assert "handlers.workflow_register_incident.handler" not in handlers
    for name in ("Register incident", "Register resumed incident", "Render update"):
        assert states[name]["Resource"] == "{" + render_id + "}", name
    for name in ("Register incident", "Register resumed incident"):
        assert states[name]["Parameters"]["step"] == "register_incident"
    assert "step" not in states["Render update"]["Parameters"]
    # the render function now holds what registering needs: the incident record and "is it running?"
    statements = _role_statements(template, render)
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"} <= actions
    (describe,) = [s for s in statements if "states:DescribeExecution" in as_list(s["Action"])]
    assert ":execution:" in json.dumps(describe["Resource"])


def test_without_approval_the_team_hears_in_the_fan_out_not_before_it(
    definition: dict[str, Any], example_plan: Plan
) -> None:
    # issue 13: the first customer message waits for no team chat when no approval is needed
    states = definition["States"]
    assert states["Render update"]["Next"] == "Fenced out?"
    assert states["Fenced out?"]["Default"] == "Team hears first?"
    first = states["Team hears first?"]
    assert first["Choices"] == [
        {"Variable": "$.render.needs_approval", "BooleanEquals": True, "Next": "Notify team first"}
    ]
    assert first["Default"] == "Team hears with the customers"
    flag = states["Team hears with the customers"]
    assert flag["Type"] == "Pass" and flag["Result"] is True
    assert flag["ResultPath"] == "$.render.team_with_customers"
    assert flag["Next"] == states["Notify team first"]["Next"] == "Approval required?"
    branches = {b["StartAt"]: b["States"] for b in states["Fan out to channels"]["Branches"]}
    for channel in team_channels(example_plan):
        (name,) = [
            n
            for n in branches
            if n.endswith(" with the customers") and branches[n][n]["Parameters"]["channel"] == channel.value
        ]
        task = branches[name][name]
        assert task["Parameters"]["render.$"] == "$.render"  # the handler reads team_with_customers
        assert task["Parameters"]["channel"] == channel.value
        assert task["Retry"] and task["Catch"][0]["ErrorEquals"] == ["States.ALL"], name
        # the same queue as the team chat's branch in Notify team first: one redrive per channel
        sends = [s for s in branches[name].values() if str(s.get("Resource")).endswith("sqs:sendMessage")]
        assert len(sends) == 1, name


def test_a_fenced_out_render_ends_the_execution_before_anything_is_sent(definition: dict[str, Any]) -> None:
    # issue 17: a stale execution whose render was fenced out by another region ends, it does not loop
    states = definition["States"]
    fenced = {
        "And": [
            {"Variable": "$.render.fenced", "IsPresent": True},
            {"Variable": "$.render.fenced", "BooleanEquals": True},
        ],
        "Next": "Another region drives this incident",
    }
    assert states["Fenced out?"]["Choices"] == [fenced]
    assert states["Send holding statement instead"]["Next"] == "Holding statement fenced out?"
    holding = states["Holding statement fenced out?"]
    assert holding["Choices"] == [fenced] and holding["Default"] == "Fan out to channels"
    assert states["Another region drives this incident"]["Type"] == "Succeed"


def test_one_parallel_branch_per_channel_each_task_retried_and_caught(
    definition: dict[str, Any], example_plan: Plan
) -> None:
    fanout = definition["States"]["Fan out to channels"]
    assert fanout["Type"] == "Parallel"
    # a branch per customer channel and per team chat (the team's send only when no approval was needed)
    assert len(fanout["Branches"]) == len(fanout_channels(example_plan)) + len(team_channels(example_plan))
    for branch in fanout["Branches"]:
        tasks = {n: s for n, s in branch["States"].items() if s["Type"] == "Task"}
        assert tasks, branch
        for name, task in tasks.items():
            assert task.get("Retry"), f"{name} has no Retry"
            assert task.get("Catch"), f"{name} has no Catch"
        deliver = branch["States"][branch["StartAt"]]
        (retry,) = deliver["Retry"]
        assert "ChannelRetryableError" in retry["ErrorEquals"]
        assert retry["JitterStrategy"] == "FULL" and retry["BackoffRate"] > 1
        assert deliver["Catch"][0]["ErrorEquals"] == ["States.ALL"]


def test_approval_and_updates_wait_on_task_tokens_with_plan_driven_timeouts(
    definition: dict[str, Any],
) -> None:
    states = definition["States"]
    for name, timeout in (
        ("Wait for approval", "$.render.timing.approval_timeout_seconds"),
        ("Escalate approval to incident manager", "$.render.timing.approval_timeout_seconds"),
        ("Wait for next update", "$.render.timing.cadence_seconds"),
        ("Wait for update after reminder", "$.render.timing.reminder_grace_seconds"),
    ):
        state = states[name]
        assert state["Resource"].endswith(":lambda:invoke.waitForTaskToken"), name
        assert state["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"
        assert state["TimeoutSecondsPath"] == timeout
        assert "TimeoutSeconds" not in state
    catches = {tuple(c["ErrorEquals"]): c["Next"] for c in states["Wait for approval"]["Catch"]}
    assert catches[("States.Timeout",)] == "Approval timed out: what does the plan say?"
    assert states["Wait for next update"]["Catch"][0] == {
        "ErrorEquals": ["States.Timeout"],
        "ResultPath": None,
        "Next": "Remind communications manager",
    }


def test_a_published_status_keeps_the_state_the_next_states_read(definition: dict[str, Any]) -> None:
    # Without a ResultPath the publisher's result would replace $.render, which "Wait for next update" reads
    publish = definition["States"]["Publish status surfaces"]
    assert publish["ResultPath"] == "$.status_publish"
    assert publish["Catch"][0]["ResultPath"] == "$.publish_error"


def test_no_identity_policy_allows_anything_on_every_resource_but_tracing_and_log_delivery(
    template: dict[str, Any],
) -> None:
    for logical_id, statement in identity_statements(template):
        if statement.get("Effect") == "Allow" and wildcard_resource(statement):
            assert set(as_list(statement["Action"])) <= EVERY_RESOURCE_ACTIONS, (logical_id, statement)


def test_only_the_review_page_and_the_update_wait_can_complete_tasks(template: dict[str, Any]) -> None:
    holders = []
    for logical_id, statement in identity_statements(template):
        if "states:SendTaskSuccess" in as_list(statement["Action"]):
            holders.append(logical_id)
            (resource,) = as_list(statement["Resource"])
            assert join_to_text(resource).endswith(":stateMachine:outage-comms-incident")
    assert len(holders) == 2
    assert sorted(h.split("Function")[0].split("Role")[0] for h in holders) == ["AwaitUpdate", "ReviewPage"]


def test_review_api_requires_iam_on_every_method(template: dict[str, Any]) -> None:
    (review_api,) = [
        logical_id
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::ApiGateway::RestApi" and r["Properties"]["Name"] == "outage-comms-review"
    ]  # the public feedback API beside it: tests/infrastructure/test_feedback_api.py
    methods = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::Method" and r["Properties"]["RestApiId"] == {"Ref": review_api}
    ]
    assert {m["HttpMethod"] for m in methods} == {"GET", "POST"}
    assert all(m["AuthorizationType"] == "AWS_IAM" for m in methods)


def test_runbook_starts_only_this_state_machine(template: dict[str, Any]) -> None:
    (document,) = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::SSM::Document"
    ]
    assert document["DocumentType"] == "Automation"
    (step,) = document["Content"]["mainSteps"]
    assert step["action"] == "aws:executeStateMachine"
    assert json.loads(step["inputs"]["input"])["IncidentRecordArn"] == "{{ IncidentRecordArn }}"
    starters = [
        (lid, s)
        for lid, s in identity_statements(template)
        if "states:StartExecution" in as_list(s["Action"])
    ]
    incident_machine = {
        "Ref": next(
            k for k, r in template["Resources"].items() if r["Type"] == "AWS::StepFunctions::StateMachine"
        )
    }
    runbook = [(lid, s) for lid, s in starters if incident_machine in as_list(s["Resource"])]
    assert len(runbook) == 1 and runbook[0][0].startswith("RunbookAutomationRole")
    assert list(as_list(runbook[0][1]["Resource"])) == [incident_machine]
    # The only other starter: channel delivery handing a large audience to the bulk state machine
    for _, statement in starters:
        if statement is not runbook[0][1]:
            assert statement.get("Sid") == "StartBulkDelivery"
            assert "stateMachine:outage-comms-bulk-delivery" in json.dumps(statement["Resource"])


def test_workflow_table_and_topics_use_the_customer_managed_key(template: dict[str, Any]) -> None:
    resources = template["Resources"].values()
    tables = [r["Properties"] for r in resources if r["Type"] == "AWS::DynamoDB::Table"]
    assert tables  # the workflow's state, the customer feedback table
    for table in tables:
        assert table["SSESpecification"]["SSEEnabled"] is True
        assert "KMSMasterKeyId" in table["SSESpecification"]
    assert all("KmsMasterKeyId" in r["Properties"] for r in resources if r["Type"] == "AWS::SNS::Topic")
    assert all("KmsKeyId" in r["Properties"] for r in resources if r["Type"] == "AWS::Logs::LogGroup")


def _function_by_handler(template: dict[str, Any], handler: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (logical_id, r["Properties"])
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == handler
    ]
    return found


def _role_statements(template: dict[str, Any], function: dict[str, Any]) -> list[dict[str, Any]]:
    role = function["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for logical_id, statement in identity_statements(template)
        if logical_id == role
        or role in json.dumps(template["Resources"][logical_id]["Properties"].get("Roles", []))
    ]


def test_delivery_reads_the_channel_catalog_configuration_and_gets_the_channels_grants(
    template: dict[str, Any], example_plan: Plan
) -> None:
    _, deliver = _function_by_handler(template, "handlers.workflow_deliver_channel.handler")
    variables = deliver["Environment"]["Variables"]
    for name in (
        "SUBSCRIBERS_TABLE",
        "SUBSCRIBER_TOKEN_SECRET_NAME",
        "BULK_BUCKET",
        "BULK_STATE_MACHINE_ARN",
    ):
        assert variables.get(name), name
    statements = _role_statements(template, deliver)
    sids = {s.get("Sid") for s in statements}
    assert {
        "ReadThePlanChannelSecrets",
        "SendEmailFromThePlanAddress",
        "SendTextThroughThePlanIdentity",
    } <= sids
    assert {"CallThroughThePlanIdentity", "SendPushThroughThePlanApplication", "StartBulkDelivery"} <= sids


def test_team_notification_reads_only_the_team_chat_webhook_secrets(template: dict[str, Any]) -> None:
    _, notify = _function_by_handler(template, "handlers.workflow_notify_team.handler")
    statements = _role_statements(template, notify)
    secrets = [s for s in statements if "secretsmanager:GetSecretValue" in as_list(s["Action"])]
    (statement,) = secrets
    text = json.dumps(statement["Resource"])
    assert "outage-comms/slack-webhook" in text and "outage-comms/teams-webhook" in text
    assert "mastodon" not in text and "helpdesk" not in text
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not actions & {"ses:SendEmail", "sms-voice:SendTextMessage", "mobiletargeting:SendMessages"}


def test_after_resolution_the_summary_goes_through_the_same_render_and_approval_gate(
    definition: dict[str, Any],
) -> None:
    states = definition["States"]
    summary = {"Variable": "$.render.scenario", "StringEquals": "post_incident_summary"}
    # Resolved? -> the summary went out: release; resolved: draft; else keep the cadence
    resolved = states["Resolved?"]
    assert [(c.get("Variable"), c["Next"]) for c in resolved["Choices"]] == [
        ("$.render.scenario", "Release incident"),
        ("$.render.resolved", "Draft post-incident summary"),
    ]
    assert resolved["Choices"][0]["StringEquals"] == "post_incident_summary"
    assert resolved["Default"] == "Wait for next update"
    draft = states["Draft post-incident summary"]
    assert draft["ResultPath"] == "$.update" and draft["Next"] == "Post-incident summary drafted?"
    drafted = states["Post-incident summary drafted?"]
    assert drafted["Choices"] == [
        {"Variable": "$.update.post_incident_summary", "BooleanEquals": True, "Next": "Render update"}
    ]
    assert drafted["Default"] == "Release incident"  # maintenance: no summary
    # Approved? -> an approved summary is recorded as the postmortem, then fanned out and published
    approved = states["Approved?"]
    first, second = approved["Choices"]
    assert first["Next"] == "Record postmortem" and summary in first["And"]
    assert second["Next"] == "Fan out to channels"
    assert states["Record postmortem"]["Next"] == "Fan out to channels"
    assert any("ConcurrentUpdateError" in r["ErrorEquals"] for r in states["Record postmortem"]["Retry"])
    # rejected, timed out or failed: the summary is not published and the incident is released
    assert approved["Default"] == "Not approved: post-incident summary?"
    not_approved = states["Not approved: post-incident summary?"]
    assert not_approved["Choices"] == [{**summary, "Next": "Post-incident summary not published"}]
    assert not_approved["Default"] == "Hold external messages"
    on_timeout = states["Approval timed out: what does the plan say?"]
    assert on_timeout["Choices"][0] == {**summary, "Next": "Post-incident summary not published"}
    catches = {tuple(c["ErrorEquals"]): c["Next"] for c in states["Wait for approval"]["Catch"]}
    assert catches[("States.ALL",)] == "Not approved: post-incident summary?"
    assert states["Post-incident summary not published"]["Next"] == "Release incident"
    assert states["Release incident"]["Next"] == "Incident closed"
    assert states["Incident closed"]["Type"] == "Succeed"


def test_recording_the_postmortem_may_only_read_and_update_incidents(template: dict[str, Any]) -> None:
    _, record = _function_by_handler(template, "handlers.workflow_record_postmortem.handler")
    statements = _role_statements(template, record)
    on_incidents = [
        s
        for s in statements
        if any(str(a).startswith("dynamodb:") for a in as_list(s["Action"]))
        and "Incidents" in json.dumps(s["Resource"])
    ]
    (statement,) = on_incidents
    assert sorted(as_list(statement["Action"])) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not actions & {"ses:SendEmail", "sns:Publish", "dynamodb:TransactWriteItems"}


# -- issue 11, finding 8: task tokens and approver allow-lists only for the approval functions --------

APPROVAL_ROLES = {"workflow_request_approval": {"dynamodb:PutItem"},
                  "workflow_review_page": {"dynamodb:GetItem", "dynamodb:UpdateItem"}}  # fmt: skip


def _approval_table(template: dict[str, Any]) -> str:
    (logical_id,) = [
        logical_id
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::DynamoDB::Table"
        and r["Properties"]["KeySchema"] == [{"AttributeName": "request_id", "KeyType": "HASH"}]
    ]
    return logical_id


def _mentions(value: Any, logical_id: str) -> bool:
    return f'"{logical_id}"' in json.dumps(value)


def _roles_of(template: dict[str, Any], policy_id: str) -> list[str]:
    resource = template["Resources"][policy_id]
    if resource["Type"] == "AWS::IAM::Role":
        return [policy_id]
    return [role["Ref"] for role in resource["Properties"].get("Roles", [])]


def _function_roles(template: dict[str, Any]) -> dict[str, str]:
    """``{role logical id: handler module}`` for every function of the stack."""
    return {
        r["Properties"]["Role"]["Fn::GetAtt"][0]: r["Properties"]["Handler"].split(".")[1]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "Fn::GetAtt" in r["Properties"].get("Role", {})
    }


def test_task_tokens_live_in_their_own_encrypted_table(template: dict[str, Any]) -> None:
    table = template["Resources"][_approval_table(template)]["Properties"]
    assert table["SSESpecification"]["SSEEnabled"] is True and table["SSESpecification"]["KMSMasterKeyId"]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_each_role_reaches_the_approval_table_only_if_it_is_an_approval_function(core: Any) -> None:
    """Per role of every stack: who may touch the table of task tokens, with which actions."""
    workflow = dict(core.raw[WORKFLOW_STACK])
    table = _approval_table(workflow)
    functions = _function_roles(workflow)
    granted: dict[str, set[str]] = {}
    for stack_name, stack_template in core.raw.items():
        for policy_id, statement in identity_statements(dict(stack_template)):
            if not _mentions(statement.get("Resource"), table):
                continue
            assert stack_name == WORKFLOW_STACK, (stack_name, policy_id)
            for role in _roles_of(dict(stack_template), policy_id):
                granted.setdefault(functions.get(role, role), set()).update(as_list(statement["Action"]))
    assert granted == APPROVAL_ROLES
    # and every other workflow function's role was looked at and has nothing on it
    others = {module for module in functions.values() if module not in APPROVAL_ROLES}
    assert len(others) >= 10 and not others & set(granted)


def test_only_the_approval_functions_are_told_where_the_approval_table_is(template: dict[str, Any]) -> None:
    told = sorted(
        r["Properties"]["Handler"].split(".")[1]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and "APPROVAL_TABLE" in r["Properties"].get("Environment", {}).get("Variables", {})
    )
    assert told == sorted(APPROVAL_ROLES)


def test_the_approval_steps_tell_the_function_when_their_timeout_began(
    definition: dict[str, Any],
) -> None:
    states = all_states(definition["States"])
    for name in ("Wait for approval", "Escalate approval to incident manager"):
        payload = states[name]["Parameters"]["Payload"]
        assert payload["entered_at.$"] == "$$.State.EnteredTime"
        assert payload["timeout_seconds.$"] == states[name]["TimeoutSecondsPath"]
