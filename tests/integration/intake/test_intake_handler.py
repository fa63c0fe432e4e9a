"""The intake handler on moto: SQS batches of EventBridge events -> incidents, once; rejects kept."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from handlers.intake import handler
from intake_harness import (
    REGION,
    FakeContext,
    IntakeWorld,
    batches,
    load_event,
    sqs_batch,
    storm_events,
    storm_plan,
)

from outage_comms.intake.runtime import IntakeDependencies
from outage_comms.plan import Plan
from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway

pytestmark = pytest.mark.integration

#: 10,000 events take about 170 s on moto (~60 events/s); bench/intake.py runs the full storm.
STORM_EVENTS = 2_000


def run(dependencies: IntakeDependencies, bodies: list[Any]) -> dict[str, Any]:
    return handler(sqs_batch(bodies), FakeContext(), dependencies=dependencies)


def incidents(dependencies: IntakeDependencies) -> list[Any]:
    return dependencies.incidents.list_recent(limit=10_000)


def test_the_same_event_twice_does_nothing_the_second_time(
    world: IntakeWorld, dependencies: IntakeDependencies
) -> None:
    event = load_event("alarm_metric_alarm")
    assert run(dependencies, [event]) == {"batchItemFailures": []}
    (incident,) = incidents(dependencies)
    # When EventBridge delivers the same event again, in the same batch and in a later one
    assert run(dependencies, [event, event]) == {"batchItemFailures": []}
    # Then nothing changed: same version, one execution, one change event
    (again,) = incidents(dependencies)
    assert again.version == incident.version
    assert [e["name"] for e in world.executions()] == [incident.id]
    assert len(world.drain(world.changes_queue_url)) == 1


def test_a_malformed_event_is_rejected_with_its_reason_and_the_rest_of_the_batch_succeeds(
    world: IntakeWorld, dependencies: IntakeDependencies
) -> None:
    bad = load_event("wrong_type_event")
    response = run(
        dependencies, [load_event("alarm_metric_alarm"), bad, "{not json", load_event("opsitem_create")]
    )
    assert response == {"batchItemFailures": []}
    assert sorted(i.components for i in incidents(dependencies)) == [("search",), ("sync",)]
    rejected = world.drain(world.rejected_queue_url)
    assert len(rejected) == 2
    by_code = {m["MessageAttributes"]["rejection_code"]["StringValue"]: m for m in rejected}
    assert set(by_code) == {"invalid_event", "invalid_json"}
    invalid = by_code["invalid_event"]
    assert json.loads(invalid["Body"]) == bad, "the original event travels unchanged, ready to replay"
    reason = invalid["MessageAttributes"]["rejection_reason"]["StringValue"]
    assert "'detail.alarmName'" in reason and "'detail.state.value'" in reason
    assert invalid["MessageAttributes"]["event_id"]["StringValue"] == bad["id"]
    assert by_code["invalid_json"]["Body"] == "{not json"


@pytest.mark.parametrize("name", ["unknown_event", "alarm_unmapped", "health_account_notification"])
def test_unusable_events_reach_the_rejected_queue(
    world: IntakeWorld, dependencies: IntakeDependencies, name: str
) -> None:
    assert run(dependencies, [load_event(name)]) == {"batchItemFailures": []}
    (message,) = world.drain(world.rejected_queue_url)
    assert message["MessageAttributes"]["rejection_reason"]["StringValue"]
    assert incidents(dependencies) == []


def test_a_failing_dependency_fails_only_its_record(world: IntakeWorld, plan: Plan) -> None:
    class BrokenBus:
        def publish(self, incident: Any, decision: Any) -> None:
            # AWS unavailable: worth retrying (a bug would be archived at once with its reason instead)
            raise ClientError(
                {"Error": {"Code": "ServiceUnavailable", "Message": "bus unavailable"}}, "PutEvents"
            )

    dependencies = world.dependencies(plan, changes=BrokenBus())
    batch = sqs_batch([load_event("alarm_metric_alarm"), load_event("alarm_unmapped")])
    response = handler(batch, FakeContext(), dependencies=dependencies)
    assert response == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    # When SQS redelivers it and the bus is back, the workflow is (idempotently) started and announced
    healthy = world.dependencies(plan)
    assert run(healthy, [load_event("alarm_metric_alarm")]) == {"batchItemFailures": []}
    (incident,) = incidents(healthy)
    assert [e["name"] for e in world.executions()] == [incident.id]
    assert len(world.drain(world.changes_queue_url)) == 1


def test_the_workflow_starts_once_per_incident_through_a_whole_incident(
    world: IntakeWorld, dependencies: IntakeDependencies
) -> None:
    names = [
        "alarm_metric_alarm",
        "im_start_incident",
        "health_issue_open",
        "alarm_metric_insufficient_data",
        "im_update_impact",
        "alarm_metric_ok",
        "opsitem_create",
        "opsitem_update_resolved",
        "im_update_resolved",
    ]
    for batch in batches([load_event(n) for n in names], size=3):
        assert run(dependencies, batch) == {"batchItemFailures": []}
    by_components = {i.components: i for i in incidents(dependencies)}
    assert set(by_components) == {("sync",), ("search",)}
    assert by_components[("sync",)].status == "resolved" and by_components[("sync",)].severity == "sev1"
    assert sorted(e["name"] for e in world.executions()) == sorted(i.id for i in by_components.values())
    changes = [json.loads(m["Body"]) for m in world.drain(world.changes_queue_url)]
    assert all(
        c["source"] == "outage-comms.intake" and c["detail-type"] == "Incident Changed" for c in changes
    )
    assert {c["detail"]["change"] for c in changes} >= {"open", "escalate", "resolve"}


def test_an_update_reaches_the_execution_waiting_on_its_token(world: IntakeWorld, plan: Plan) -> None:
    # Given an open incident whose execution waits for the next update on a task token
    sfn = boto3.client("stepfunctions", region_name=REGION)
    workflow = StepFunctionsWorkflowGateway(world.state_machine_arn, stepfunctions=sfn)
    dependencies = world.dependencies(plan, workflow=workflow)
    assert run(dependencies, [load_event("alarm_metric_alarm")]) == {"batchItemFailures": []}
    (incident,) = incidents(dependencies)
    dependencies.incidents.set_update_token(incident.id, "token-waiting-for-update")

    # When an escalation arrives, then SendTaskSuccess carries the change to that token, once
    with Stubber(sfn) as stub:
        stub.add_response(
            "send_task_success",
            {},
            {"taskToken": "token-waiting-for-update", "output": _Output(incident.id, "escalate", "sev2")},
        )
        assert run(dependencies, [load_event("im_start_incident")]) == {"batchItemFailures": []}
        stub.assert_no_pending_responses()
    assert dependencies.incidents.take_update_token(incident.id) is None


class _Output(str):
    """Matches the JSON output on the fields that matter (Stubber compares with ==)."""

    def __new__(cls, incident_id: str, change: str, severity: str) -> _Output:
        return super().__new__(cls, f"{incident_id}/{change}/{severity}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return False
        data = json.loads(other)
        return f"{data['incident_id']}/{data['change']}/{data['severity']}" == str.__str__(self)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__


def test_a_stale_token_is_logged_and_the_start_is_idempotent(world: IntakeWorld, plan: Plan) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    gateway = StepFunctionsWorkflowGateway(world.state_machine_arn, stepfunctions=sfn)
    with Stubber(sfn) as stub:
        stub.add_client_error("send_task_success", service_error_code="TaskTimedOut")
        stub.add_client_error("start_execution", service_error_code="ExecutionAlreadyExists")
        gateway.deliver_update("old-token", {"incident_id": "inc-20261127-1405-c40a8d"})
        stub.assert_no_pending_responses()


def test_an_alarm_storm_over_20_components_opens_at_most_20_incidents(world: IntakeWorld) -> None:
    # Given the plan with 20 components and a storm of alarm events within one minute
    plan = storm_plan()
    dependencies = world.dependencies(plan)
    events = list(storm_events(plan, STORM_EVENTS))
    # When the intake queue delivers them in batches of 10
    failures = []
    for batch in batches(events, 10):
        failures += run(dependencies, batch)["batchItemFailures"]
    # Then no record failed, at most one incident per component opened, each with one execution
    assert failures == []
    opened = incidents(dependencies)
    assert len(opened) <= 20
    assert len({c for i in opened for c in i.components}) == 20
    assert sorted(e["name"] for e in world.executions()) == sorted(i.id for i in opened)
    assert world.drain(world.rejected_queue_url) == []


def test_an_event_without_an_id_is_rejected_not_retried_forever(
    world: IntakeWorld, dependencies: IntakeDependencies
) -> None:
    # Found by the fuzz test: an empty id cannot key idempotency, so it must be a rejection, not a failure
    event = load_event("alarm_metric_alarm")
    event["id"] = ""
    assert run(dependencies, [event]) == {"batchItemFailures": []}
    (message,) = world.drain(world.rejected_queue_url)
    assert message["MessageAttributes"]["rejection_code"]["StringValue"] == "missing_event_id"
    assert incidents(dependencies) == []


def test_a_late_duplicate_of_the_change_that_opened_a_resolved_incident_is_ignored(
    world: IntakeWorld, dependencies: IntakeDependencies
) -> None:
    # Given an incident opened by one alarm state change and since resolved
    opening = load_event("alarm_metric_alarm")
    assert run(dependencies, [opening]) == {"batchItemFailures": []}
    (incident,) = incidents(dependencies)
    dependencies.incidents.save(incident.evolve(status="resolved"), incident.version)
    # When EventBridge delivers the same state change again under another event id
    duplicate = {**opening, "id": "another-delivery-of-the-same-change"}
    # Then nothing opens, nothing fails (the record would otherwise be retried forever)
    assert run(dependencies, [duplicate]) == {"batchItemFailures": []}
    (still,) = incidents(dependencies)
    assert (still.id, still.status) == (incident.id, "resolved")
    assert [e["name"] for e in world.executions()] == [incident.id]
