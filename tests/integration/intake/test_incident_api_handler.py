"""The incident API handler on moto: IAM identity is the principal, same path as every door, clear errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from handlers.incident_api import handler
from intake_harness import ACCOUNT, FakeContext, IntakeWorld, load_event

from outage_comms.intake.runtime import IntakeDependencies

pytestmark = pytest.mark.integration

CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/OutageCommsCommunicationsManager/marina"
FORGED = f"arn:aws:sts::{ACCOUNT}:assumed-role/Administrator/mallory"


def api_event(method: str, path: str, body: Any = None, *, user_arn: str | None = CALLER) -> dict[str, Any]:
    resource = "/incidents"
    parts = path.split("/")
    incident_id = parts[2] if len(parts) > 2 else None
    if incident_id:
        resource = "/incidents/{incident_id}" + ("/" + parts[3] if len(parts) > 3 else "")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"incident_id": incident_id} if incident_id else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": "req-0001",
            "accountId": ACCOUNT,
            "apiId": "abc123",
            "identity": {
                "userArn": user_arn,
                "caller": user_arn and "AROAEXAMPLE:marina",
                "sourceIp": "203.0.113.9",
            },
        },
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


def call(dependencies: IntakeDependencies, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = handler(
        event, FakeContext(function_name="outage-comms-incident-api"), dependencies=dependencies
    )
    return response["statusCode"], json.loads(response["body"])


def declare_body() -> dict[str, Any]:
    body = load_event("human_declare")
    for field in ("action", "at"):
        body.pop(field)
    return body


def test_a_forged_principal_in_the_body_is_replaced_by_the_callers_iam_identity(
    world: IntakeWorld, dependencies: IntakeDependencies
) -> None:
    # Given a declaration whose body claims to come from someone else
    body = {**declare_body(), "principal": FORGED}
    # When declared through the API
    status, outcome = call(dependencies, api_event("POST", "/incidents", body))
    # Then the incident exists and every record of who asked names the signed caller
    assert status == 201, outcome
    incident = dependencies.incidents.get(outcome["incident_id"])
    assert incident.source.reference == CALLER
    assert {e.source.reference for e in incident.timeline} == {CALLER}
    assert FORGED not in incident.model_dump_json()
    assert [e["name"] for e in world.executions()] == [incident.id]


def test_update_resolve_and_read_back(world: IntakeWorld, dependencies: IntakeDependencies) -> None:
    _, opened = call(dependencies, api_event("POST", "/incidents", declare_body()))
    incident_id = opened["incident_id"]
    status, updated = call(
        dependencies,
        api_event("POST", f"/incidents/{incident_id}/updates", {"request_id": "u1", "status": "identified"}),
    )
    assert (status, updated["kind"]) == (200, "update")
    status, resolved = call(
        dependencies, api_event("POST", f"/incidents/{incident_id}/resolve", {"request_id": "r1"})
    )
    assert (status, resolved["kind"]) == (200, "resolve")
    status, body = call(dependencies, api_event("GET", f"/incidents/{incident_id}"))
    assert (status, body["status"]) == (200, "resolved")
    status, again = call(
        dependencies, api_event("POST", f"/incidents/{incident_id}/updates", {"request_id": "u2"})
    )
    assert (status, again["error"]) == (409, "incident_resolved")


def test_the_same_request_id_twice_applies_once(dependencies: IntakeDependencies) -> None:
    first = call(dependencies, api_event("POST", "/incidents", declare_body()))
    second = call(dependencies, api_event("POST", "/incidents", declare_body()))
    assert first == second
    assert len(dependencies.incidents.list_recent()) == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error", "hint"),
    [
        ("POST", "/incidents", {"components": ["nope"]}, 400, "unknown_component", "use ids from"),
        ("POST", "/incidents", {"components": []}, 400, "missing_components", "'components' is empty"),
        ("POST", "/incidents", {"components": ["sync"], "colour": "red"}, 400, "invalid_event", "'colour'"),
        ("POST", "/incidents", {"components": ["sync"], "severity": "sev9"}, 400, "unknown_severity", "sev1"),
        ("POST", "/incidents", "{oops", 400, "invalid_json", "line 1"),
        ("POST", "/incidents", "[1]", 400, "invalid_body", "JSON object"),
        ("POST", "/incidents/not-an-id/updates", {}, 400, "missing_incident_id", "inc-YYYYMMDD"),
        ("POST", "/incidents/inc-20261127-1405-000000/updates", {}, 404, "incident_not_found", "No incident"),
        ("GET", "/incidents/inc-20261127-1405-000000", None, 404, "incident_not_found", "No incident"),
    ],
)
def test_clear_4xx_errors_name_the_field_and_the_fix(
    dependencies: IntakeDependencies, method: str, path: str, body: Any, status: int, error: str, hint: str
) -> None:
    got_status, got = call(dependencies, api_event(method, path, body))
    assert (got_status, got["error"]) == (status, error), got
    assert hint in got["message"]


def test_a_request_without_iam_identity_is_refused(dependencies: IntakeDependencies) -> None:
    status, body = call(dependencies, api_event("POST", "/incidents", declare_body(), user_arn=None))
    assert (status, body["error"]) == (403, "no_iam_identity")
