"""Deliveries are never silently lost: the synthesized workflow on moto, the real handlers and adapters,
channels failing at the local HTTP sink (503), and ``outage-comms redrive`` against the deployed
redrive function."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner
from workflow_helpers import OpenIncident, deliveries, start

from outage_comms_cli.main import app
from outage_comms_embedded import EmbeddedAws

pytestmark = pytest.mark.integration


class FailFirst(dict[str, int]):
    """``sink.failing`` that answers 503 to the first ``times`` requests of a channel, then recovers."""

    def __init__(self, **times: int) -> None:
        super().__init__({channel: 503 for channel in times})
        self.left = dict(times)

    def __contains__(self, channel: object) -> bool:
        if self.left.get(str(channel), 0) > 0:
            self.left[str(channel)] -= 1
            return True
        return False


@pytest.fixture
def sink_failing(aws: EmbeddedAws) -> Iterator[Any]:
    """Set what the local sink refuses; always restored afterwards."""
    saved = aws.sink.failing

    def fail(failing: dict[str, int]) -> None:
        aws.sink.failing = failing

    yield fail
    aws.sink.failing = saved


def queue_urls(aws: EmbeddedAws) -> dict[str, str]:
    function = aws.output("RedriveFunctionName")
    variables = aws.client("lambda").get_function_configuration(FunctionName=function)["Environment"]
    return dict(json.loads(variables["Variables"]["DEAD_LETTER_QUEUES"]))


def dead_letters(aws: EmbeddedAws, channel: str, incident_id: str) -> list[dict[str, Any]]:
    """The channel queue's messages for this incident, read without hiding or deleting them."""
    sqs, url = aws.client("sqs"), queue_urls(aws)[channel]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages", []
    )
    bodies = [json.loads(m["Body"]) for m in messages]
    return [b for b in bodies if b.get("incident_id") == incident_id]


def accepted(aws: EmbeddedAws, channel: str, incident_id: str) -> int:
    """Requests of this incident the sink received for the channel (refused ones included)."""
    return sum(incident_id.encode() in r.body for r in aws.sink.by_channel().get(channel, []))


def redrive(*args: str) -> Any:
    return CliRunner().invoke(app, ["redrive", *args], catch_exceptions=False)


def test_a_channel_down_for_good_is_dead_lettered_then_redriven_exactly_once(
    aws: EmbeddedAws, open_incident: OpenIncident, sink_failing: Any
) -> None:
    # Given the outbound webhook answers 503 to everything (sev4: no approval)
    incident = open_incident("sign-in", "sev4")
    sink_failing({"webhook": 503})
    arn = start(aws, incident, 1.0)
    aws.wait_for_state(arn, "Wait for next update", timeout=90)
    # Then it was retried, recorded as failed, and left in the webhook's dead-letter queue
    recorded = deliveries(aws, incident.id)
    update = next(k.split("#")[0] for k in recorded)
    assert recorded[f"{update}#webhook"]["status"] == "failed"
    (letter,) = dead_letters(aws, "webhook", incident.id)
    assert (letter["update_id"], letter["channel"], letter["error"]) == (
        update,
        "webhook",
        "ChannelRetryableError",
    )
    assert letter["attempts"] == 4  # the first try and three retries, counted by the delivery ledger
    assert "503" in letter["detail"]
    assert accepted(aws, "webhook", incident.id) == 4
    # and every other channel delivered, unaffected
    for channel in ("sns", "mastodon", "bluesky", "support"):
        assert recorded[f"{update}#{channel}"]["status"] == "delivered", channel
    assert "Dead-letter webhook" in aws.states_entered(arn)
    # When the webhook is back and a person redrives (dry run first: nothing sent, nothing deleted)
    sink_failing({})
    dry = redrive("--incident", incident.id, "--channel", "webhook", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would resend" in dry.output and accepted(aws, "webhook", incident.id) == 4
    result = redrive("--incident", incident.id)
    # Then it is sent exactly once, the incident shows it delivered, and the queue is empty
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.output.splitlines() if incident.id in x]
    assert line.split()[:4] == ["delivered", "webhook", incident.id, update]
    assert accepted(aws, "webhook", incident.id) == 5
    assert deliveries(aws, incident.id)[f"{update}#webhook"]["status"] == "delivered"
    assert dead_letters(aws, "webhook", incident.id) == []
    # and a second redrive sends nothing
    again = redrive("--incident", incident.id)
    assert again.exit_code == 0 and "0 item(s)" in again.output, again.output
    # and a duplicate of the dead letter (SQS delivers at least once) is reported, not sent again
    aws.client("sqs").send_message(QueueUrl=queue_urls(aws)["webhook"], MessageBody=json.dumps(letter))
    duplicate = redrive("--incident", incident.id, "--channel", "webhook")
    assert duplicate.exit_code == 0, duplicate.output
    assert "already delivered" in duplicate.output
    assert accepted(aws, "webhook", incident.id) == 5
    aws.client("stepfunctions").stop_execution(executionArn=arn)


def test_a_transient_503_is_retried_and_delivered_with_no_dead_letter(
    aws: EmbeddedAws, open_incident: OpenIncident, sink_failing: Any
) -> None:
    incident = open_incident("search", "sev4")
    sink_failing(FailFirst(webhook=1))
    arn = start(aws, incident, 1.0)
    aws.wait_for_state(arn, "Wait for next update", timeout=90)
    recorded = deliveries(aws, incident.id)
    update = next(k.split("#")[0] for k in recorded)
    assert recorded[f"{update}#webhook"]["status"] == "delivered"
    assert accepted(aws, "webhook", incident.id) == 2  # one 503, one accepted
    assert dead_letters(aws, "webhook", incident.id) == []
    assert "Record webhook failure" not in aws.states_entered(arn)
    aws.client("stepfunctions").stop_execution(executionArn=arn)


def test_one_503_from_team_chat_and_the_team_hears_with_the_customers(
    aws: EmbeddedAws, open_incident: OpenIncident, sink_failing: Any
) -> None:
    # Given Slack answers 503 once
    incident = open_incident("mobile-apps", "sev4")
    sink_failing(FailFirst(slack=1))
    arn = start(aws, incident, 1.0)
    aws.wait_for_state(arn, "Wait for next update", timeout=90)
    # Then Slack was retried and heard, once; Teams was not held back; nothing was dead-lettered
    assert accepted(aws, "slack", incident.id) == 2
    assert accepted(aws, "teams", incident.id) == 1
    assert dead_letters(aws, "slack", incident.id) == []
    states = aws.states_entered(arn)
    assert "Record team Slack failure with the customers" not in states
    # no approval needed: the team heard in the fan-out, with the customers (issue 13), not before it
    assert "Notify team first" not in states
    assert states.index("Fan out to channels") < states.index("Notify team Slack with the customers")
    aws.client("stepfunctions").stop_execution(executionArn=arn)


def test_team_chat_down_for_good_is_dead_lettered_and_customers_still_hear(
    aws: EmbeddedAws, open_incident: OpenIncident, sink_failing: Any
) -> None:
    incident = open_incident("web-app", "sev4")
    sink_failing({"teams": 503})
    arn = start(aws, incident, 1.0)
    aws.wait_for_state(arn, "Wait for next update", timeout=90)
    (letter,) = dead_letters(aws, "teams", incident.id)
    assert letter["attempts"] == 4 and letter["channel"] == "teams"
    assert accepted(aws, "slack", incident.id) == 1
    recorded = deliveries(aws, incident.id)
    assert recorded[f"{letter['update_id']}#sns"]["status"] == "delivered"
    sink_failing({})
    result = redrive("--incident", incident.id, "--channel", "teams")
    assert result.exit_code == 0, result.output
    assert accepted(aws, "teams", incident.id) == 5
    assert dead_letters(aws, "teams", incident.id) == []
    aws.client("stepfunctions").stop_execution(executionArn=arn)
