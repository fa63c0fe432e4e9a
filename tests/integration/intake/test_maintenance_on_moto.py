"""Scheduled maintenance through the real handlers on moto: the API schedules a window with EventBridge
Scheduler (requests as the service model defines them), the tick handler moves it, cancel deletes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from handlers.incident_api import handler as api_handler
from handlers.maintenance_tick import handler as tick_handler
from intake_harness import ACCOUNT, REGION, FakeContext, IntakeWorld, load_event

from outage_comms.intake.normalise import to_signal
from outage_comms.intake.runtime import IntakeDependencies
from outage_comms.maintenance import SCHEDULE_GROUP, Tick
from outage_comms.maintenance_schedules import (
    SchedulerMaintenanceSchedules,
    SchedulerSettings,
    create_schedule_request,
)

pytestmark = pytest.mark.integration

CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/OutageCommsCommunicationsManager/marina"
TICK_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:outage-comms-maintenance-tick"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/outage-comms-maintenance-scheduler"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:outage-comms-maintenance-dlq"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"


def api_event(path: str, body: dict[str, Any], resource: str) -> dict[str, Any]:
    parts = path.strip("/").split("/")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"incident_id": parts[1]} if len(parts) > 1 else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": "POST",
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": f"req-{path}",
            "accountId": ACCOUNT,
            "apiId": "abc123",
            "identity": {"userArn": CALLER, "caller": "AROAEXAMPLE:marina", "sourceIp": "203.0.113.9"},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


@pytest.fixture
def schedules(world: IntakeWorld) -> SchedulerMaintenanceSchedules:
    client = boto3.client("scheduler", region_name=REGION)
    client.create_schedule_group(Name=SCHEDULE_GROUP)
    settings = SchedulerSettings(
        MAINTENANCE_TICK_FUNCTION_ARN=TICK_ARN,
        MAINTENANCE_SCHEDULER_ROLE_ARN=ROLE_ARN,
        MAINTENANCE_DEAD_LETTER_ARN=DLQ_ARN,
        MAINTENANCE_KMS_KEY_ARN=KEY_ARN,
    )
    return SchedulerMaintenanceSchedules(settings, scheduler=client)


def call(
    dependencies: IntakeDependencies,
    schedules: SchedulerMaintenanceSchedules,
    path: str,
    body: dict[str, Any],
    resource: str,
) -> tuple[int, dict[str, Any]]:
    response = api_handler(
        api_event(path, body, resource),
        FakeContext(function_name="outage-comms-incident-api"),
        dependencies=dependencies,
        schedules=schedules,
    )
    return response["statusCode"], json.loads(response["body"])


def stored_schedules() -> dict[str, dict[str, Any]]:
    client = boto3.client("scheduler", region_name=REGION)
    names = [s["Name"] for s in client.list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"]]
    return {name: client.get_schedule(Name=name, GroupName=SCHEDULE_GROUP) for name in names}


def test_the_create_schedule_request_matches_the_service_model() -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    settings = SchedulerSettings(
        MAINTENANCE_TICK_FUNCTION_ARN=TICK_ARN,
        MAINTENANCE_SCHEDULER_ROLE_ARN=ROLE_ARN,
        MAINTENANCE_DEAD_LETTER_ARN=DLQ_ARN,
        MAINTENANCE_KMS_KEY_ARN=KEY_ARN,
    )
    tick = Tick(
        incident_id="inc-20261127-1430-abcdef",
        kind="reminder",
        at=datetime(2026, 11, 29, 14, 30, tzinfo=UTC),
        hours_before=24,
    )
    request = create_schedule_request(settings, tick)
    shape = (
        botocore.session.get_session()
        .get_service_model("scheduler")
        .operation_model("CreateSchedule")
        .input_shape
    )
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    assert request["ScheduleExpression"] == "at(2026-11-29T14:30:00)"
    assert (request["ScheduleExpressionTimezone"], request["ActionAfterCompletion"]) == ("UTC", "DELETE")
    assert request["FlexibleTimeWindow"] == {"Mode": "OFF"}


def test_scheduling_then_cancelling_a_window_through_the_api(
    world: IntakeWorld, dependencies: IntakeDependencies, schedules: SchedulerMaintenanceSchedules
) -> None:
    # Given a window three days from now
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    end = start + timedelta(hours=2)
    body = {
        "components": ["sync"],
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "request_id": "m-1",
    }

    # When a person schedules it
    status, result = call(dependencies, schedules, "/maintenances", body, "/maintenances")

    # Then the record exists, its workflow started (the declaration) and every later moment is scheduled
    assert status == 201, result
    window_id = result["incident_id"]
    assert [e["name"] for e in world.executions()] == [window_id]
    stored = stored_schedules()
    assert sorted(stored) == sorted(
        f"{window_id}-{label}" for label in ("reminder-24h", "reminder-1h", "start", "end", "complete")
    )
    start_schedule = stored[f"{window_id}-start"]
    assert start_schedule["ScheduleExpression"] == f"at({start.strftime('%Y-%m-%dT%H:%M:%S')})"
    assert start_schedule["ScheduleExpressionTimezone"] == "UTC"
    assert start_schedule["ActionAfterCompletion"] == "DELETE"
    assert start_schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert start_schedule["KmsKeyArn"] == KEY_ARN
    target = start_schedule["Target"]
    assert (target["Arn"], target["RoleArn"], target["DeadLetterConfig"]["Arn"]) == (
        TICK_ARN,
        ROLE_ARN,
        DLQ_ARN,
    )
    assert (
        json.loads(target["Input"])["kind"] == "start"
        and json.loads(target["Input"])["incident_id"] == window_id
    )

    # When the same request is sent again (a retry), nothing is duplicated
    again_status, again = call(dependencies, schedules, "/maintenances", body, "/maintenances")
    assert again_status in (200, 201) and again["incident_id"] == window_id
    assert len(stored_schedules()) == 5

    # When it is cancelled, the remaining schedules are deleted and the window is closed
    status, result = call(
        dependencies,
        schedules,
        f"/maintenances/{window_id}/cancel",
        {"request_id": "m-2"},
        "/maintenances/{incident_id}/cancel",
    )
    assert status == 200, result
    assert result["maintenance_phase"] == "cancelled" and len(result["schedules_deleted"]) == 5
    assert stored_schedules() == {}
    assert dependencies.incidents.get(window_id).status == "resolved"


def test_a_window_in_the_past_is_refused_with_the_fix(
    dependencies: IntakeDependencies, schedules: SchedulerMaintenanceSchedules
) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    body = {
        "components": ["sync"],
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
    }
    status, result = call(dependencies, schedules, "/maintenances", body, "/maintenances")
    assert (status, result["error"]) == (400, "window_in_past")
    assert stored_schedules() == {}


def test_completing_an_incident_that_is_not_a_window_is_refused(
    dependencies: IntakeDependencies, schedules: SchedulerMaintenanceSchedules
) -> None:
    alarm = load_event("alarm_metric_alarm")
    incident_id = dependencies.apply(signal=to_signal(alarm, dependencies.plan))["incident_id"]
    status, result = call(
        dependencies,
        schedules,
        f"/maintenances/{incident_id}/complete",
        {},
        "/maintenances/{incident_id}/complete",
    )
    assert (status, result["error"]) == (409, "not_a_maintenance")


def test_the_tick_handler_moves_the_stored_window(
    dependencies: IntakeDependencies, schedules: SchedulerMaintenanceSchedules
) -> None:
    start = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0)
    body = {
        "components": ["search"],
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
    }
    status, result = call(dependencies, schedules, "/maintenances", body, "/maintenances")
    assert status == 201, result
    window_id = result["incident_id"]
    assert [s["kind"] for s in result["schedules"]] == ["start", "end", "complete"]  # no reminder in the past
    start_input = json.loads(stored_schedules()[f"{window_id}-start"]["Target"]["Input"])

    context = FakeContext(function_name="outage-comms-maintenance-tick")
    outcome = tick_handler(start_input, context, dependencies=dependencies)
    assert (outcome["kind"], outcome["phase"]) == ("update", "in_progress")
    assert dependencies.incidents.get(window_id).maintenance_phase == "in_progress"
    repeat = tick_handler(start_input, context, dependencies=dependencies)
    assert repeat["kind"] == "ignore"
    assert tick_handler({"nonsense": True}, context, dependencies=dependencies)["kind"] == "rejected"


def test_a_window_and_a_real_incident_share_a_component_in_the_store(
    world: IntakeWorld, dependencies: IntakeDependencies
) -> None:
    # Given a window on sync, declared through intake
    now = datetime.now(UTC)
    window_request = {
        "action": "schedule_maintenance",
        "request_id": "w-1",
        "principal": CALLER,
        "components": ["sync"],
        "starts_at": (now + timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=1, hours=1)).isoformat(),
    }
    window_id = dependencies.apply(signal=to_signal(window_request, dependencies.plan))["incident_id"]
    # When an alarm of sync fires before the window, a real incident opens beside it (no lock taken)
    alarm = dependencies.apply(signal=to_signal(load_event("alarm_metric_alarm"), dependencies.plan))
    assert alarm["kind"] == "open" and alarm["incident_id"] != window_id
    found = dependencies.incidents.open_by_component(["sync"])
    assert found["sync"].id == alarm["incident_id"]
    assert found[f"maintenance:{window_id}"].maintenance_phase == "scheduled"
    # When the window is cancelled, it leaves the component
    cancel = {
        "action": "cancel_maintenance",
        "request_id": "w-2",
        "principal": CALLER,
        "incident_id": window_id,
    }
    assert dependencies.apply(signal=to_signal(cancel, dependencies.plan))["kind"] == "resolve"
    assert set(dependencies.incidents.open_by_component(["sync"])) == {"sync"}
