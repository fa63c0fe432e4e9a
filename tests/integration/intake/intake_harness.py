"""The AWS the intake runs against, on moto: tables, queues, bus, state machine; plus events to feed it.

Shared by the integration tests (``conftest.py``) and ``bench/intake.py``. Call inside ``mock_aws``.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import yaml

from outage_comms.aws_clients import reset_clients
from outage_comms.intake.runtime import IntakeDependencies, build_dependencies
from outage_comms.intake.settings import IntakeSettings
from outage_comms.intake.store import incidents_table_schema
from outage_comms.plan import Plan, load_plan, parse_plan

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "tests" / "fixtures" / "events"
EXAMPLE_PLAN = ROOT / "plans" / "example.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"
STATE_MACHINE_NAME = "outage-comms-incident"
BUS_NAME = "outage-comms"

ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_SERVICE_NAME": "intake",
    "POWERTOOLS_METRICS_NAMESPACE": "OutageComms",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


def set_environment() -> None:
    os.environ.update(ENVIRONMENT)


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


@dataclass
class FakeContext:
    """The LambdaContext fields Powertools reads."""

    function_name: str = "outage-comms-intake"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:outage-comms-intake"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class IntakeWorld:
    """Names and clients of the mocked resources."""

    incidents_table: str
    idempotency_table: str
    rejected_queue_url: str
    changes_queue_url: str
    state_machine_arn: str
    plan_path: Path
    #: Where the rules (and the incident API's workflow hand-offs) put events for the intake function.
    intake_queue_url: str = ""

    @property
    def api_settings(self) -> IntakeSettings:
        """The incident API function's environment: no rejected queue; hand-offs onto the intake queue."""
        return self.settings.model_copy(
            update={"rejected_queue_url": None, "handoff_queue_url": self.intake_queue_url}
        )

    def api_dependencies(self, plan: Plan, **overrides: Any) -> IntakeDependencies:
        return build_dependencies(self.api_settings, plan=plan, **overrides)

    def run_intake(self, dependencies: IntakeDependencies) -> list[dict[str, Any]]:
        """Drain the intake queue through the real intake handler (as its event source mapping would)."""
        from handlers.intake import handler

        bodies = [m["Body"] for m in self.drain(self.intake_queue_url)]
        for batch in batches(bodies):
            response = handler(sqs_batch(batch), FakeContext(), dependencies=dependencies)
            assert response == {"batchItemFailures": []}, response
        return [json.loads(b) for b in bodies]

    @property
    def settings(self) -> IntakeSettings:
        return IntakeSettings(
            PLAN_PATH=str(self.plan_path),
            INCIDENTS_TABLE_NAME=self.incidents_table,
            IDEMPOTENCY_TABLE_NAME=self.idempotency_table,
            EVENT_BUS_NAME=BUS_NAME,
            STATE_MACHINE_ARN=self.state_machine_arn,
            REJECTED_QUEUE_URL=self.rejected_queue_url,
        )

    def dependencies(self, plan: Plan, **overrides: Any) -> IntakeDependencies:
        return build_dependencies(self.settings, plan=plan, **overrides)

    def executions(self) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=self.state_machine_arn)
        return [e for page in pages for e in page["executions"]]

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=REGION)
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )


def create_world(plan_path: Path = EXAMPLE_PLAN) -> IntakeWorld:
    """Create the resources intake uses, shaped like the core stack's (keys, index, TTL)."""
    set_environment()
    reset_clients()
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    string = "S"
    dynamodb.create_table(**incidents_table_schema("incidents"))
    dynamodb.create_table(
        TableName="idempotency",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": string}],
    )
    dynamodb.update_time_to_live(
        TableName="idempotency", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )
    sqs = boto3.client("sqs", region_name=REGION)
    rejected = sqs.create_queue(QueueName="outage-comms-dead-letters")["QueueUrl"]
    changes = sqs.create_queue(QueueName="incident-changes-observer")["QueueUrl"]
    intake = sqs.create_queue(QueueName="outage-comms-intake")["QueueUrl"]
    changes_arn = sqs.get_queue_attributes(QueueUrl=changes, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = boto3.client("events", region_name=REGION)
    events.create_event_bus(Name=BUS_NAME)
    events.put_rule(
        Name="observe-incident-changes",
        EventBusName=BUS_NAME,
        EventPattern=json.dumps({"source": ["outage-comms.intake"], "detail-type": ["Incident Changed"]}),
    )
    events.put_targets(
        Rule="observe-incident-changes",
        EventBusName=BUS_NAME,
        Targets=[{"Id": "observer", "Arn": changes_arn}],
    )
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(
        RoleName="outage-comms-incident-sfn",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "states.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name=STATE_MACHINE_NAME,
        roleArn=role,
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    return IntakeWorld(
        incidents_table="incidents",
        idempotency_table="idempotency",
        rejected_queue_url=rejected,
        changes_queue_url=changes,
        state_machine_arn=machine,
        plan_path=plan_path,
        intake_queue_url=intake,
    )


def sqs_batch(bodies: Iterable[dict[str, Any] | str]) -> dict[str, Any]:
    """An SQS event as Lambda's event source mapping delivers it, one record per body."""
    records = []
    for body in bodies:
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "handle",
                "body": body if isinstance(body, str) else json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764252300000",
                    "SenderId": "AIDAEVENTBRIDGE",
                    "ApproximateFirstReceiveTimestamp": "1764252300001",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:outage-comms-intake",
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


# ---------------------------------------------------------------------------------------------
# The alarm storm: N components, each with many alarms, all firing within one minute
# ---------------------------------------------------------------------------------------------

STORM_COMPONENTS = 20


def storm_plan(components: int = STORM_COMPONENTS) -> Plan:
    """The example plan grown to ``components`` components (``svc-NN``, alarms ``svc-NN-*``)."""
    data = yaml.safe_load(EXAMPLE_PLAN.read_text(encoding="utf-8"))
    template = copy.deepcopy(data["components"][0])
    extra = []
    for n in range(components - len(data["components"])):
        component = copy.deepcopy(template)
        component["id"] = f"svc-{n:02d}"
        component["name"] = {code: f"Service {n:02d}" for code in component["name"]}
        component["signals"] = {"alarm_name_patterns": [f"svc-{n:02d}-*"]}
        extra.append(component)
    data["components"].extend(extra)
    return parse_plan(data, "storm-plan")


def storm_alarm_names(plan: Plan) -> list[str]:
    """One alarm-name stem per component, built from the component's first pattern."""
    names = []
    for component in plan.components:
        pattern = component.signals.alarm_name_patterns[0]
        names.append(pattern.replace("*", ""))
    return names


def storm_events(plan: Plan, count: int, *, start: datetime | None = None) -> Iterator[dict[str, Any]]:
    """``count`` ALARM events spread over the plan's components within one minute.

    Each component has 50 alarms that each fire once, then fire again (a new state timestamp) —
    the pattern of a real storm: many alarms, repeated evaluations.
    """
    start = start or datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    stems = storm_alarm_names(plan)
    template = load_event("alarm_metric_alarm")
    for n in range(count):
        stem = stems[n % len(stems)]
        alarm = f"{stem}alarm-{(n // len(stems)) % 50:02d}"
        at = start + timedelta(milliseconds=n * 60_000 // max(count, 1))
        event = copy.deepcopy(template)
        event["id"] = str(uuid.UUID(int=n + 1))
        event["time"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        event["resources"] = [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}"]
        event["detail"]["alarmName"] = alarm
        event["detail"]["state"]["timestamp"] = at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
        yield event


def batches(items: Sequence[Any] | Iterable[Any], size: int = 10) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def example_plan() -> Plan:
    return load_plan(EXAMPLE_PLAN)
