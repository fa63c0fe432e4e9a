"""The incident API handler on moto: IAM identity is the principal, same path as every door, clear errors."""

from __future__ import annotations

import json
import random
import string
from typing import Any

import pytest
from handlers.incident_api import handler
from handlers.intake import handler as intake_handler
from intake_harness import ACCOUNT, FakeContext, IntakeWorld, load_event, sqs_batch

from outage_comms.intake.runtime import IntakeDependencies
from outage_comms.plan import Plan

pytestmark = pytest.mark.integration


@pytest.fixture
def dependencies(world: IntakeWorld, plan: Plan) -> IntakeDependencies:
    """As deployed: the API hands workflow work to intake through the intake queue."""
    return world.api_dependencies(plan)


@pytest.fixture
def intake(world: IntakeWorld, plan: Plan) -> IntakeDependencies:
    """The intake function's own dependencies (it alone starts and resumes executions)."""
    return world.dependencies(plan)


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
    world: IntakeWorld, dependencies: IntakeDependencies, intake: IntakeDependencies
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
    # And the API started nothing itself: intake starts the execution from the hand-off
    assert world.executions() == []
    world.run_intake(intake)
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


# ---------------------------------------------------------------------------------------------
# Finding 2 (door half) and 11: human text is validated at the door; resolving always works
# ---------------------------------------------------------------------------------------------

UNSAFE_NOTES = {
    "ansi escape": "Back up \x1b[31mnow\x1b[0m",
    "nul": "Back\x00up",
    "noncharacter": "Back up\ufffe",
    "bidi override": "Back up \u202eetadpu",
    "lone surrogate": "Back up \ud800",
}


@pytest.mark.parametrize("note", UNSAFE_NOTES.values(), ids=UNSAFE_NOTES.keys())
def test_a_note_with_a_control_character_is_refused_naming_the_field(
    world: IntakeWorld, dependencies: IntakeDependencies, note: str
) -> None:
    body = {**declare_body(), "note": {"en": "Fine", "pt-BR": note}}
    status, answer = call(dependencies, api_event("POST", "/incidents", body))
    assert (status, answer["error"]) == (400, "invalid_text"), answer
    assert answer["message"].startswith("'note.pt-BR' contains U+") or "escape" in answer["message"]
    assert dependencies.incidents.list_recent() == []


def test_an_oversized_note_or_title_is_refused_naming_the_limit(dependencies: IntakeDependencies) -> None:
    status, answer = call(
        dependencies, api_event("POST", "/incidents", {**declare_body(), "note": {"en": "x" * 2001}})
    )
    assert (status, answer["error"]) == (400, "invalid_text")
    assert "'note.en' is 2,001 characters long, over the limit of 2,000" in answer["message"]
    status, answer = call(
        dependencies, api_event("POST", "/incidents", {**declare_body(), "title": "t" * 301})
    )
    assert (status, answer["error"]) == (400, "invalid_text")
    assert "'title'" in answer["message"] and "300" in answer["message"]


def test_text_is_stored_in_nfc(dependencies: IntakeDependencies) -> None:
    body = {**declare_body(), "note": {"en": "Cafe\u0301 menu is slow\r\n"}}
    status, answer = call(dependencies, api_event("POST", "/incidents", body))
    assert status == 201, answer
    assert dependencies.incidents.get(answer["incident_id"]).public_note["en"] == "Café menu is slow"


def test_a_body_nested_too_deeply_is_a_400(dependencies: IntakeDependencies) -> None:
    body = '{"components": ' + "[" * 100_000 + "]" * 100_000 + "}"
    status, answer = call(dependencies, api_event("POST", "/incidents", body))
    assert (status, answer["error"]) == (400, "invalid_json")


def test_an_incident_holding_huge_notes_from_before_the_rule_can_still_be_resolved(
    dependencies: IntakeDependencies,
) -> None:
    # Given an open incident whose stored notes were posted before notes were capped (random text,
    # which does not compress: together they nearly fill the item)
    rng = random.Random(7)
    status, opened = call(dependencies, api_event("POST", "/incidents", declare_body()))
    incident_id = opened["incident_id"]
    stored = dependencies.incidents.get(incident_id)
    huge = {
        locale: "".join(rng.choice(string.ascii_letters) for _ in range(100_000))
        for locale in ("en", "pt-BR")
    }
    bloated = stored.model_copy(
        update={
            "public_note": huge,
            "timeline": tuple(e.model_copy(update={"public_note": huge}) for e in stored.timeline),
            "version": stored.version + 1,
        }
    )
    dependencies.incidents.save(bloated, stored.version)
    # When someone posts an update and then resolves it
    status, updated = call(
        dependencies,
        api_event(
            "POST", f"/incidents/{incident_id}/updates", {"request_id": "u1", "note": {"en": "Fixing"}}
        ),
    )
    assert status == 200, updated
    status, resolved = call(
        dependencies, api_event("POST", f"/incidents/{incident_id}/resolve", {"request_id": "r1"})
    )
    # Then it is resolved, with the newest note intact
    assert (status, resolved["kind"]) == (200, "resolve"), resolved
    final = dependencies.incidents.get(incident_id)
    assert final.status == "resolved" and final.public_note["en"] == "Fixing"


# ---------------------------------------------------------------------------------------------
# Finding 8 (incident API half): the API never resumes a task; intake does, once per version
# ---------------------------------------------------------------------------------------------


class RecordingGateway:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.delivered: list[tuple[str, dict[str, Any]]] = []

    def start(self, incident: Any) -> str:
        self.started.append(incident.id)
        return incident.id

    def deliver_update(self, token: str, update: Any) -> None:
        self.delivered.append((token, dict(update)))


def test_an_update_is_relayed_to_intake_which_resumes_the_waiting_execution_once(
    world: IntakeWorld, plan: Plan, dependencies: IntakeDependencies
) -> None:
    gateway = RecordingGateway()
    intake = world.dependencies(plan, workflow=gateway)
    _, opened = call(dependencies, api_event("POST", "/incidents", declare_body()))
    incident_id = opened["incident_id"]
    world.run_intake(intake)
    assert gateway.started == [incident_id]
    # Given the execution waits for the next update
    dependencies.incidents.set_update_token(incident_id, "task-token-1")
    # When a person posts an update through the API
    status, updated = call(
        dependencies,
        api_event("POST", f"/incidents/{incident_id}/updates", {"request_id": "u1", "status": "identified"}),
    )
    # Then the API relayed it without touching the token
    assert (status, updated["workflow"]) == (200, "update_relayed")
    assert gateway.delivered == []
    (handoff,) = world.drain(world.intake_queue_url)
    assert "token" not in handoff["Body"]
    # And intake hands it over once, even when SQS delivers the hand-off twice
    intake_handler(sqs_batch([handoff["Body"], handoff["Body"]]), FakeContext(), dependencies=intake)
    (token, update) = gateway.delivered[0]
    assert len(gateway.delivered) == 1 and token == "task-token-1"
    assert update["incident_id"] == incident_id and update["status"] == "identified"


def test_a_forged_handoff_is_archived_with_its_reason(world: IntakeWorld, plan: Plan) -> None:
    gateway = RecordingGateway()
    intake = world.dependencies(plan, workflow=gateway)
    forged = {"outage_comms_handoff": "update", "incident_id": "inc-20261127-1405-abcdef", "token": "stolen"}
    assert intake_handler(sqs_batch([forged]), FakeContext(), dependencies=intake) == {
        "batchItemFailures": []
    }
    (message,) = world.drain(world.rejected_queue_url)
    assert message["MessageAttributes"]["rejection_code"]["StringValue"] == "invalid_handoff"
    assert gateway.delivered == [] and gateway.started == []
