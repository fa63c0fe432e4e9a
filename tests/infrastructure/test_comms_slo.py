"""Communication SLO alarms, the watchdog and the paging path, as app.py synthesizes the workflow stack."""

from __future__ import annotations

from typing import Any

import pytest
from template_reading import as_list, identity_statements, join_to_text

from outage_comms import slo
from outage_comms.plan import Plan
from outage_comms.workflow.channels_plan import fanout_channels

pytestmark = pytest.mark.infrastructure

WORKFLOW_STACK = "OutageCommsWorkflow"
PREFIX = "OutageComms-SLO-"


@pytest.fixture(scope="module")
def template(core: Any) -> dict[str, Any]:
    return dict(core.raw[WORKFLOW_STACK])


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in of_type(template, "AWS::CloudWatch::Alarm").values()
    }
    return {name.removeprefix(PREFIX): props for name, props in found.items() if name.startswith(PREFIX)}


@pytest.fixture(scope="module")
def paging_topic(template: dict[str, Any]) -> str:
    (logical_id,) = [
        k
        for k, r in of_type(template, "AWS::SNS::Topic").items()
        if r["Properties"].get("TopicName") == "outage-comms-paging"
    ]
    return logical_id


def dimensions(props: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}


def expected_alarms(plan: Plan) -> dict[str, tuple[str, float, str]]:
    """Alarm name -> (comparison, threshold, missing data), from the plan alone."""
    tolerance = plan.slo.update_gap_tolerance_percent
    expected: dict[str, tuple[str, float, str]] = {}
    for severity in plan.severities:
        expected[f"FirstMessageLate-{severity.id}"] = ("GreaterThanOrEqualToThreshold", 1, "notBreaching")
        expected[f"UpdateGap-{severity.id}"] = ("GreaterThanThreshold", 100 + tolerance, "notBreaching")
        expected[f"UpdateOverdue-{severity.id}"] = ("GreaterThanOrEqualToThreshold", 1, "notBreaching")
        if severity.approval.required:
            expected[f"ApprovalLatency-{severity.id}"] = (
                "GreaterThanThreshold",
                slo.approval_target_seconds(plan),
                "notBreaching",
            )
    for channel in fanout_channels(plan):
        if slo.customer_facing(channel.value):
            expected[f"DeliverySuccess-{channel.value}"] = (
                "LessThanThreshold",
                plan.slo.delivery_success_percent,
                "notBreaching",
            )
    expected["OverdueUpdates"] = ("GreaterThanThreshold", 0, "breaching")
    expected["UndeliveredPages"] = ("GreaterThanThreshold", 0, "notBreaching")
    for outcome in ("Failed", "TimedOut", "Aborted"):
        expected[f"Workflow{outcome}"] = ("GreaterThanOrEqualToThreshold", 1, "notBreaching")
    return expected


def test_every_slo_alarm_exists_with_the_plans_threshold(
    alarms: dict[str, dict[str, Any]], example_plan: Plan
) -> None:
    expected = expected_alarms(example_plan)

    missing = sorted(set(expected) - set(alarms))
    assert missing == []
    for name, (comparison, threshold, treat_missing) in expected.items():
        props = alarms[name]
        assert (props["ComparisonOperator"], props["Threshold"], props["TreatMissingData"]) == (
            comparison,
            threshold,
            treat_missing,
        ), name
    # the example plan: sev1 approvals within 10 minutes (its shortest approval timeout), 110 % gap
    assert alarms["ApprovalLatency-sev3"]["Threshold"] == 600
    assert alarms["UpdateGap-sev2"]["Threshold"] == 110


def test_slo_alarms_read_the_production_dimension_set_only(alarms: dict[str, dict[str, Any]]) -> None:
    gap = alarms["UpdateGap-sev1"]
    assert (gap["Namespace"], gap["MetricName"], gap["Statistic"], gap["Period"]) == (
        "OutageComms",
        slo.UPDATE_GAP_RATIO,
        "Maximum",
        300,
    )
    assert dimensions(gap) == {"service": slo.SLO_SERVICE, "severity": "sev1"}  # never mode=drill
    first = alarms["FirstMessageLate-sev4"]
    assert (first["MetricName"], dimensions(first)) == (
        slo.FIRST_MESSAGE_TARGET_MISSED,
        {"service": slo.SLO_SERVICE, "severity": "sev4"},
    )
    approval = alarms["ApprovalLatency-sev1"]
    assert (approval["MetricName"], approval["ExtendedStatistic"]) == (slo.APPROVAL_LATENCY, "p90")
    overdue = alarms["OverdueUpdates"]
    assert dimensions(overdue) == {"service": slo.SLO_SERVICE}
    assert (overdue["Period"], overdue["EvaluationPeriods"], overdue["DatapointsToAlarm"]) == (300, 3, 2)


def test_delivery_success_is_metric_math_over_successes_and_failures(
    alarms: dict[str, dict[str, Any]],
) -> None:
    props = alarms["DeliverySuccess-email"]
    queries = {q["Id"]: q for q in props["Metrics"]}
    expression = next(q for q in queries.values() if "Expression" in q)
    assert "100 * FILL(ok, 0) / (FILL(ok, 0) + FILL(failed, 0))" in expression["Expression"]
    assert expression["ReturnData"] is True
    for query_id, metric_name in (
        ("ok", slo.CHANNEL_DELIVERY_SUCCESS),
        ("failed", slo.CHANNEL_DELIVERY_FAILURE),
    ):
        metric = queries[query_id]["MetricStat"]["Metric"]
        assert metric["MetricName"] == metric_name
        assert dimensions(metric) == {"service": slo.SLO_SERVICE, "channel": "email"}
    assert "DeliverySuccess-support" not in alarms  # agents, not customers


def test_the_pipeline_itself_is_alarmed(template: dict[str, Any], alarms: dict[str, dict[str, Any]]) -> None:
    (state_machine,) = of_type(template, "AWS::StepFunctions::StateMachine")
    for outcome in ("Failed", "TimedOut", "Aborted"):
        props = alarms[f"Workflow{outcome}"]
        assert props["MetricName"] == f"Executions{outcome}"
        assert dimensions(props) == {"StateMachineArn": {"Ref": state_machine}}
    functions = {
        k: r["Properties"]["Handler"]
        for k, r in of_type(template, "AWS::Lambda::Function").items()
        if r["Properties"].get("Handler", "").startswith("handlers.")
    }
    alarmed = {dimensions(p)["FunctionName"]["Ref"] for n, p in alarms.items() if n.startswith("Errors-")}
    # every workflow function, the review page and the watchdog, except the deliver step (whose errors
    # are its retry signal; its outcomes are the per-channel delivery success alarms)
    not_alarmed = {functions[k] for k in set(functions) - alarmed}
    assert "handlers.workflow_deliver_channel.handler" in not_alarmed
    for handler in (
        "handlers.workflow_render.handler",
        "handlers.workflow_review_page.handler",
        "handlers.workflow_notice.handler",
        "handlers.slo_watchdog.handler",
        "handlers.feedback_api.handler",
        "handlers.sms_replies.handler",
    ):
        assert handler in {functions[k] for k in alarmed}
    # the redrive function runs only when an operator calls `outage-comms redrive`, who reads its answer
    assert not_alarmed == {"handlers.workflow_deliver_channel.handler", "handlers.workflow_redrive.handler"}


def test_every_alarm_pages_through_the_topic_and_nothing_else(
    template: dict[str, Any], paging_topic: str
) -> None:
    slo_alarms = [
        r["Properties"]
        for r in of_type(template, "AWS::CloudWatch::Alarm").values()
        if r["Properties"]["AlarmName"].startswith(PREFIX)
    ]
    assert len(slo_alarms) >= 30
    for props in slo_alarms:
        assert props["AlarmActions"] == [{"Ref": paging_topic}], props["AlarmName"]
        assert props["OKActions"] == [{"Ref": paging_topic}], props["AlarmName"]
        assert props.get("ActionsEnabled", True) is True  # CloudFormation's default: actions on


def test_the_paging_topic_texts_and_emails_the_incident_manager_with_no_lambda_on_the_path(
    template: dict[str, Any], paging_topic: str, example_plan: Plan
) -> None:
    person = example_plan.roles.incident_manager
    subscriptions = [
        r["Properties"]
        for r in of_type(template, "AWS::SNS::Subscription").values()
        if r["Properties"]["TopicArn"] == {"Ref": paging_topic}
    ]
    assert sorted((s["Protocol"], s["Endpoint"]) for s in subscriptions) == sorted(
        [("sms", person.phone), ("email", person.email)]
    )
    (queue,) = {s["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] for s in subscriptions}
    assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue"
    # nothing on the path is a function: no Lambda subscription, no Lambda permission for SNS
    assert all(s["Protocol"] in ("sms", "email") for s in subscriptions)
    for permission in of_type(template, "AWS::Lambda::Permission").values():
        assert permission["Properties"].get("SourceArn") != {"Ref": paging_topic}


def test_the_paging_topic_has_its_own_rotating_key_usable_by_our_alarms_only(
    template: dict[str, Any], paging_topic: str
) -> None:
    props = template["Resources"][paging_topic]["Properties"]
    key_id = props["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = template["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    (cloudwatch,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert sorted(as_list(cloudwatch["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert ":alarm:OutageComms-SLO-*" in join_to_text(cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"])
    policies = [
        r["Properties"]
        for r in of_type(template, "AWS::SNS::TopicPolicy").values()
        if {"Ref": paging_topic} in r["Properties"]["Topics"]
    ]
    statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
    (publish,) = [s for s in statements if s["Effect"] == "Allow"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Action"] == "sns:Publish"
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_the_watchdog_runs_every_five_minutes_with_read_only_access(template: dict[str, Any]) -> None:
    (function_id,) = [
        k
        for k, r in of_type(template, "AWS::Lambda::Function").items()
        if r["Properties"].get("Handler") == "handlers.slo_watchdog.handler"
    ]
    rules = [
        r["Properties"]
        for r in of_type(template, "AWS::Events::Rule").values()
        if any(t["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]} for t in r["Properties"].get("Targets", []))
    ]
    assert [r["ScheduleExpression"] for r in rules] == ["rate(5 minutes)"]
    role = template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    table_actions = sorted(
        action
        for logical_id, statement in identity_statements(template)
        if role in str(template["Resources"][logical_id]["Properties"].get("Roles", []))
        for action in as_list(statement["Action"])
        if action.startswith("dynamodb:")
    )
    assert table_actions == ["dynamodb:GetItem", "dynamodb:Query"]  # Query: the open index only
    environment = template["Resources"][function_id]["Properties"]["Environment"]["Variables"]
    assert {"INCIDENTS_TABLE_NAME", "WORKFLOW_TABLE"} <= set(environment)


def test_the_internal_dashboard_searches_the_slo_metrics_by_their_exact_dimension_sets(core: Any) -> None:
    (dashboard,) = [
        r["Properties"]
        for r in core.raw["OutageCommsStatusPublisher"]["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    body = join_to_text(dashboard["DashboardBody"]).replace('\\"', '"')
    for schema, metric in (
        ("service,severity", slo.TIME_TO_FIRST_EXTERNAL_MESSAGE),
        ("service,severity", slo.UPDATE_GAP_RATIO),
        ("service,severity", slo.FIRST_MESSAGE_TARGET_MISSED),
        ("service,severity", slo.APPROVAL_LATENCY),
        ("service", slo.OVERDUE_UPDATES),
        ("channel,service", slo.CHANNEL_DELIVERY_SUCCESS),
        ("channel,service", slo.CHANNEL_DELIVERY_FAILURE),
    ):
        assert f'{{OutageComms,{schema}}} MetricName="{metric}"' in body, metric
