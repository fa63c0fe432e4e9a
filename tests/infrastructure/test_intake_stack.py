"""The intake stack as synthesized by app.py: rules that match the documented events, IAM-only API,
encrypted intake queue, least-privilege roles, and an asset holding the handlers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from template_reading import REASONED_WILDCARD_ACTIONS, as_list, identity_statements, wildcard_resource

from app import INTAKE_STACK_NAME
from outage_comms.intake.triage import triage
from outage_comms.plan import Plan
from outage_comms_cdk.constructs.data_store import INCIDENTS_RECENT_INDEX

pytestmark = pytest.mark.infrastructure

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"
#: Which door each EventBridge fixture must come through; None: no rule may let it in.
DOOR = {
    "alarm_metric_alarm": "aws.cloudwatch",
    "alarm_metric_ok": "aws.cloudwatch",
    "alarm_metric_insufficient_data": "aws.cloudwatch",
    "alarm_composite_alarm": "aws.cloudwatch",
    "alarm_tagged_severity": "aws.cloudwatch",
    "alarm_unmapped": None,
    "health_issue_open": "aws.health",
    "health_issue_closed": "aws.health",
    "health_scheduled_change": "aws.health",
    "health_account_notification": None,
    "im_start_incident": "aws.ssm-incidents",
    "im_update_impact": "aws.ssm-incidents",
    "im_update_resolved": "aws.ssm-incidents",
    "im_create_timeline_event": "aws.ssm-incidents",
    "opsitem_create": "aws.ssm",
    "opsitem_update_resolved": "aws.ssm",
    "unknown_event": None,
}


@pytest.fixture(scope="module")
def raw(core: Any) -> dict[str, Any]:
    return core.raw[INTAKE_STACK_NAME]


def resources_of(raw: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in raw["Resources"].items() if r["Type"] == kind}


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


def test_every_eventbridge_fixture_is_listed() -> None:
    eventbridge = {p.stem for p in EVENTS.glob("*.json") if "detail-type" in load(p.stem)}
    assert eventbridge - {"wrong_type_event"} == set(DOOR)


class DefaultBus:
    """The synthesized rules installed on moto's default bus, each with an SQS observer target.

    moto 5.2.5 answers TestEventPattern with an empty stub, so matching goes through PutEvents and
    moto's real pattern matcher (as aws-facts.md records).
    """

    def __init__(self, rules: dict[str, dict[str, Any]]) -> None:
        self.events = boto3.client("events", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.queues: dict[str, str] = {}
        for n, (logical_id, rule) in enumerate(sorted(rules.items())):
            url = self.sqs.create_queue(QueueName=f"observer-{n}")["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.events.put_rule(Name=f"rule-{n}", EventPattern=json.dumps(rule["EventPattern"]))
            self.events.put_targets(Rule=f"rule-{n}", Targets=[{"Id": "observer", "Arn": arn}])
            self.queues[logical_id] = url

    def matching(self, event: dict[str, Any]) -> list[str]:
        response = self.events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": event.get("resources", []),
                }
            ]
        )
        assert response["FailedEntryCount"] == 0
        matched = []
        for logical_id, url in self.queues.items():
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if messages:
                matched.append(logical_id)
        return matched


@pytest.fixture
def default_bus(raw: dict[str, Any]) -> Any:
    rules = {lid: r["Properties"] for lid, r in resources_of(raw, "AWS::Events::Rule").items()}
    assert len(rules) == 4
    with mock_aws():
        yield DefaultBus(rules)


def test_rules_let_in_exactly_the_events_their_door_maps(
    raw: dict[str, Any], default_bus: DefaultBus
) -> None:
    rules = {lid: r["Properties"] for lid, r in resources_of(raw, "AWS::Events::Rule").items()}
    for name, door in DOOR.items():
        matching = default_bus.matching(load(name))
        if door is None:
            assert matching == [], f"{name} must not reach intake, but {matching} match it"
            continue
        assert len(matching) == 1, f"{name} must match exactly one rule, matched {matching}"
        assert rules[matching[0]]["EventPattern"]["source"] == [door], name


def test_the_alarm_rule_lets_in_every_alarm_name_the_plan_maps(
    default_bus: DefaultBus, example_plan: Plan
) -> None:
    for pattern in (p for c in example_plan.components for p in c.signals.alarm_name_patterns):
        event = load("alarm_metric_alarm")
        name = pattern.replace("*", "x-errors")
        event["detail"]["alarmName"] = name
        event["resources"] = [f"arn:aws:cloudwatch:us-east-1:111122223333:alarm:{name}"]
        assert "incident" in triage(event, example_plan), name
        assert default_bus.matching(event), f"alarm {name} (pattern {pattern}) is filtered out by the rule"
    event = load("alarm_metric_alarm")
    event["detail"]["alarmName"] = "payroll-batch-late"
    assert triage(event, example_plan)["rejected"]["code"] == "no_matching_component"
    assert default_bus.matching(event) == []


def intake_queue(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The intake queue (the one redriving to the core dead-letter queue; the maintenance DLQ does not)."""
    ((queue_id, queue),) = [
        (lid, q)
        for lid, q in resources_of(raw, "AWS::SQS::Queue").items()
        if "RedrivePolicy" in q["Properties"]
    ]
    return queue_id, queue


def test_rules_deliver_to_the_intake_queue_with_a_dead_letter_queue(raw: dict[str, Any]) -> None:
    queue_id, _ = intake_queue(raw)
    for logical_id, rule in resources_of(raw, "AWS::Events::Rule").items():
        assert "EventBusName" not in rule["Properties"], f"{logical_id}: AWS events arrive on the default bus"
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 86400


def test_intake_queue_is_encrypted_ssl_only_and_redrives_to_the_dead_letter_queue(
    raw: dict[str, Any],
) -> None:
    queue_id, queue = intake_queue(raw)
    props = queue["Properties"]
    assert "KmsMasterKeyId" in props
    assert props["RedrivePolicy"]["maxReceiveCount"] == 5
    assert "deadLetterTargetArn" in props["RedrivePolicy"]
    policies = [p["Properties"] for p in resources_of(raw, "AWS::SQS::QueuePolicy").values()]
    (policy,) = [p for p in policies if {"Ref": queue_id} in p["Queues"]]
    statements = policy["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    (mapping,) = resources_of(raw, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_every_api_method_requires_iam_auth(raw: dict[str, Any]) -> None:
    methods = resources_of(raw, "AWS::ApiGateway::Method")
    assert {m["Properties"]["HttpMethod"] for m in methods.values()} == {"GET", "POST"}
    assert len(methods) >= 5  # declare, read, update, resolve, activity (and any later routes)
    for logical_id, method in methods.items():
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM", logical_id
        assert "RequestValidatorId" in method["Properties"], logical_id


def test_api_stage_logs_throttles_and_traces(raw: dict[str, Any]) -> None:
    stages = resources_of(raw, "AWS::ApiGateway::Stage").values()
    assert len(stages) == 2  # the incident API and the compose page
    for stage in stages:
        props = stage["Properties"]
        assert props["TracingEnabled"] is True
        assert "DestinationArn" in props["AccessLogSetting"]
        assert json.loads(props["AccessLogSetting"]["Format"])["caller"] == "$context.identity.caller"
        (settings,) = props["MethodSettings"]
        assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0


def test_roles_grant_nothing_on_every_resource_but_xray(raw: dict[str, Any]) -> None:
    for logical_id, statement in identity_statements(raw):
        if statement["Effect"] == "Allow" and wildcard_resource(statement):
            unexplained = set(as_list(statement["Action"])) - set(REASONED_WILDCARD_ACTIONS)
            assert not unexplained, f"{logical_id}: {unexplained} on Resource '*'"
        for resource in as_list(statement.get("Resource", [])):
            assert not (isinstance(resource, str) and resource.endswith("/*")), f"{logical_id}: {resource}"


def role_of(raw: dict[str, Any], handler: str) -> str:
    (role,) = [
        r["Properties"]["Role"]["Fn::GetAtt"][0]
        for r in resources_of(raw, "AWS::Lambda::Function").values()
        if r["Properties"]["Handler"] == handler
    ]
    return str(role)


def statements_of_role(raw: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every identity statement attached to ``role`` (inline and attached policies)."""
    found = []
    for logical_id, statement in identity_statements(raw):
        resource = raw["Resources"][logical_id]
        attached = resource["Properties"].get("Roles", [])
        if logical_id == role or {"Ref": role} in attached:
            found.append(statement)
    return found


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])}


def approval_table_exports(core: Any) -> set[str]:
    """Export names (and logical ids) by which the workflow stack could hand over the approvals table."""
    from app import WORKFLOW_STACK_NAME

    workflow = core.raw[WORKFLOW_STACK_NAME]
    tables = {
        lid
        for lid, r in resources_of(workflow, "AWS::DynamoDB::Table").items()
        if [k["AttributeName"] for k in r["Properties"]["KeySchema"]] == ["request_id"]
    }
    names = set(tables)
    for output in workflow.get("Outputs", {}).values():
        if any(lid in json.dumps(output["Value"]) for lid in tables) and "Export" in output:
            names.add(json.dumps(output["Export"]["Name"]).strip('"'))
    return names


INTAKE_HANDLER, API_HANDLER, TICK_HANDLER = (
    "handlers.intake.handler",
    "handlers.incident_api.handler",
    "handlers.maintenance_tick.handler",
)


def test_the_incident_api_role_cannot_resume_or_start_any_execution(raw: dict[str, Any]) -> None:
    statements = statements_of_role(raw, role_of(raw, API_HANDLER))
    assert statements, "the API role has policies"
    assert not [a for a in actions_of(statements) if a.startswith("states:") or a == "*"]


def test_the_incident_api_role_reads_only_incident_partitions_and_hands_work_to_the_intake_queue(
    raw: dict[str, Any],
) -> None:
    statements = statements_of_role(raw, role_of(raw, API_HANDLER))
    queries = [s for s in statements if "dynamodb:Query" in as_list(s["Action"])]
    # On the tables: only an incident's own partition (GET /incidents/{id}/activity) ...
    on_tables = [s for s in queries if "Condition" in s]
    assert on_tables and all(
        s["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["INCIDENT#*"]}}
        for s in on_tables
    )
    # ... and, for GET /incidents (outage-comms list), the keys-only recent index and nothing else.
    (on_index,) = [s for s in queries if "Condition" not in s]
    assert as_list(on_index["Action"]) == ["dynamodb:Query"]
    index_arns = json.dumps(as_list(on_index["Resource"]))
    assert f"/index/{INCIDENTS_RECENT_INDEX}" in index_arns and index_arns.count("/index/") == len(
        as_list(on_index["Resource"])
    )
    (function,) = [
        r
        for r in resources_of(raw, "AWS::Lambda::Function").values()
        if r["Properties"]["Handler"] == API_HANDLER
    ]
    queue = function["Properties"]["Environment"]["Variables"]["WORKFLOW_HANDOFF_QUEUE_URL"]["Ref"]
    # ... the queue the intake function reads
    intake_role = role_of(raw, INTAKE_HANDLER)
    (mapping,) = resources_of(raw, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert intake_role in json.dumps(raw["Resources"][mapping["Properties"]["FunctionName"]["Ref"]])
    sends = [s for s in statements if "sqs:SendMessage" in as_list(s["Action"])]
    assert sends and all(as_list(s["Resource"]) == [{"Fn::GetAtt": [queue, "Arn"]}] for s in sends)
    dynamodb = {a for a in actions_of(statements) if a.startswith("dynamodb:")}
    assert dynamodb <= {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
    }


def test_only_the_intake_and_maintenance_tick_roles_start_and_resume_executions(raw: dict[str, Any]) -> None:
    functions = resources_of(raw, "AWS::Lambda::Function").values()
    machines = {
        json.dumps(f["Properties"]["Environment"]["Variables"]["STATE_MACHINE_ARN"]) for f in functions
    }
    assert len(machines) == 1
    for handler in (INTAKE_HANDLER, TICK_HANDLER):
        states = [
            s
            for s in statements_of_role(raw, role_of(raw, handler))
            if any(a.startswith("states:") for a in as_list(s["Action"]))
        ]
        assert actions_of(states) == {"states:StartExecution", "states:SendTaskSuccess"}, handler
        for statement in states:
            (resource,) = as_list(statement["Resource"])
            assert {json.dumps(resource)} == machines, f"{handler}: only the incident state machine"


@pytest.mark.parametrize("handler", [INTAKE_HANDLER, API_HANDLER, TICK_HANDLER])
def test_no_intake_side_role_can_reach_the_approval_requests(
    core: Any, raw: dict[str, Any], handler: str
) -> None:
    exports = approval_table_exports(core)
    assert exports, "the workflow stack has an approval requests table"
    text = json.dumps(statements_of_role(raw, role_of(raw, handler)))
    assert not [name for name in exports if name in text], handler
    assert not [name for name in exports if name in json.dumps(raw)]  # the stack imports nothing of it


def test_the_asset_holds_both_handlers(core: Any, raw: dict[str, Any]) -> None:
    functions = {lid: r["Properties"] for lid, r in resources_of(raw, "AWS::Lambda::Function").items()}
    assert {p["Handler"] for p in functions.values()} == {
        "handlers.intake.handler",
        "handlers.incident_api.handler",
        "handlers.maintenance_tick.handler",
        "handlers.compose_page.handler",
    }
    manifest = json.loads((core.outdir / f"{INTAKE_STACK_NAME}.assets.json").read_text())
    for props in functions.values():
        key = props["Code"]["S3Key"].removesuffix(".zip")
        asset = core.outdir / manifest["files"][key]["source"]["path"]
        module, _ = props["Handler"].rsplit(".", 1)
        assert (asset / (module.replace(".", "/") + ".py")).is_file(), props["Handler"]
        assert any((asset / "outage_comms" / "intake" / name).is_file() for name in ("store.py", "store.pyc"))
