"""Finding 12: every intake failure is archived with a reason; nothing dead-letters without one.

The shapes found by fuzzing 10,000 events (``tests/security/test_intake.py``): bodies nested too
deeply to parse, rejected events that no longer fit one SQS message with their reason, lone
surrogates DynamoDB cannot store, and errors that would repeat on every receive.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from handlers.intake import handler
from intake_harness import FakeContext, IntakeWorld, load_event, sqs_batch

from outage_comms.intake.runtime import IntakeDependencies
from outage_comms.plan import Plan

pytestmark = pytest.mark.integration


def archived(world: IntakeWorld) -> list[dict[str, Any]]:
    return world.drain(world.rejected_queue_url)


def nested(depth: int) -> str:
    return "[" * depth + '"deep"' + "]" * depth


def with_receive_count(batch: dict[str, Any], count: int) -> dict[str, Any]:
    for record in batch["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = str(count)
    return batch


@pytest.mark.parametrize("depth", [1_000, 5_000, 50_000])
def test_a_body_nested_too_deeply_to_parse_is_archived_with_a_reason(
    world: IntakeWorld, dependencies: IntakeDependencies, depth: int
) -> None:
    event = load_event("human_declare")
    body = json.dumps(event).replace('"partial_outage"', nested(depth))
    response = handler(sqs_batch([body, nested(depth)]), FakeContext(), dependencies=dependencies)
    assert response == {"batchItemFailures": []}
    codes = [m["MessageAttributes"]["rejection_code"]["StringValue"] for m in archived(world)]
    assert codes == ["invalid_json", "invalid_json"]


def test_a_rejected_event_as_big_as_a_message_is_archived_whole_with_its_reason(
    world: IntakeWorld, dependencies: IntakeDependencies
) -> None:
    # Given an event that fills an SQS message (256 KiB) and is rejected with a long reason
    event = load_event("unknown_event")
    event["detail"] = {"filler": "x" * (256 * 1024 - len(json.dumps(event)) - 100)}
    event["source"] = "s" * 1_500
    body = json.dumps(event)
    response = handler(sqs_batch([body]), FakeContext(), dependencies=dependencies)
    # Then it is archived (body and reason no longer fit one message raw; compressed they do)
    assert response == {"batchItemFailures": []}
    (message,) = archived(world)
    attributes = message["MessageAttributes"]
    assert attributes["rejection_code"]["StringValue"] == "unknown_source"
    assert attributes["body_encoding"]["StringValue"] == "zlib+base64"
    assert zlib.decompress(base64.b64decode(message["Body"])).decode() == body


@pytest.mark.parametrize("where", ["alarm reason", "human title"])
def test_a_lone_surrogate_in_accepted_text_never_fails_the_record(
    world: IntakeWorld, dependencies: IntakeDependencies, where: str
) -> None:
    if where == "alarm reason":
        event = load_event("alarm_metric_alarm")
        event["detail"]["state"]["reason"] = "threshold \ud800 crossed"
    else:
        event = load_event("human_declare")
        event["title"] = "SSO \udfff down"
    response = handler(sqs_batch([json.dumps(event)]), FakeContext(), dependencies=dependencies)
    assert response == {"batchItemFailures": []}
    for message in archived(world):  # refused with its reason, or applied (the character dropped)
        assert message["MessageAttributes"]["rejection_reason"]["StringValue"]
    for incident in dependencies.incidents.list_recent():
        assert "\ud800" not in incident.model_dump_json() and "\udfff" not in incident.model_dump_json()


class BrokenWorkflow:
    """A gateway failing like a bug (``ValueError``) or like AWS (``ThrottlingException``)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def start(self, incident: Any) -> str:
        raise self.error

    def deliver_update(self, token: str, update: Any) -> None:
        raise self.error


def throttled() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StartExecution"
    )


def test_an_error_that_would_repeat_on_every_receive_is_archived_at_once_with_a_reason(
    world: IntakeWorld, plan: Plan
) -> None:
    dependencies = world.dependencies(plan, workflow=BrokenWorkflow(ValueError("a bug")))
    response = handler(
        sqs_batch([load_event("alarm_metric_alarm")]), FakeContext(), dependencies=dependencies
    )
    assert response == {"batchItemFailures": []}
    (message,) = archived(world)
    assert message["MessageAttributes"]["rejection_code"]["StringValue"] == "intake_error"
    assert "ValueError" in message["MessageAttributes"]["rejection_reason"]["StringValue"]


def test_an_aws_failure_is_retried_and_archived_with_a_reason_on_the_last_receive(
    world: IntakeWorld, plan: Plan
) -> None:
    dependencies = world.dependencies(plan, workflow=BrokenWorkflow(throttled()))
    event = load_event("alarm_metric_alarm")
    # When AWS throttles intake on the first receives: the record fails (here, the whole one-record
    # batch), so SQS retries it
    with pytest.raises(BatchProcessingError):
        handler(sqs_batch([event]), FakeContext(), dependencies=dependencies)
    assert archived(world) == []
    # And on the last receive before the redrive policy would move it: archived with its reason
    last = with_receive_count(sqs_batch([event]), dependencies.max_receive_count)
    assert handler(last, FakeContext(), dependencies=dependencies) == {"batchItemFailures": []}
    (message,) = archived(world)
    assert message["MessageAttributes"]["rejection_code"]["StringValue"] == "intake_kept_failing"
    assert "ThrottlingException" in message["MessageAttributes"]["rejection_reason"]["StringValue"]
