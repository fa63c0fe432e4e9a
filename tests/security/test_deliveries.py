"""Area "deliveries": no delivery is silently lost, none is sent twice.

The synthesized app runs on moto with the real handlers; team chats and customer channels reach a
real HTTP server on 127.0.0.1 that answers 503 — for good (a channel down) or once (a blip). Per
incident, every (update, channel) the workflow tried is checked:

* **lost**: neither delivered (the delivery ledger says so) nor in its channel's dead-letter queue;
* **accepted wrongly**: a channel's provider accepted the same update more than once (a duplicate),
  or a delivered item also sits in a dead-letter queue;

then ``outage-comms redrive`` runs twice: each dead-lettered item must be accepted exactly once.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan, load_plan
from outage_comms.workflow.channels_plan import fanout_channels, team_channels
from outage_comms_cli.main import app
from outage_comms_embedded import EmbeddedAws, synthesize_app
from tests.security.figures import scaled

pytestmark = pytest.mark.integration

PLAN = Path(__file__).resolve().parents[2] / "plans" / "example.yaml"
#: Channels answered by the local HTTP server, and the request that is the send itself.
SENDS = {
    "webhook": "",
    "support": "",
    "slack": "",
    "teams": "",
    "mastodon": "/api/v1/statuses",
    "bluesky": "createRecord",
}
#: (channel down for good, channel that fails once) per incident, in turn: customer and team chats.
OUTAGES = [("webhook", "slack"), ("teams", "support"), ("support", "teams"), ("slack", "webhook")]
COMPONENTS = ["sign-in", "search", "web-app", "mobile-apps", "sync", "attachments"]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(PLAN)


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedAws]:
    reuse = os.environ.get("OUTAGE_COMMS_EMBEDDED_CDK_OUT")
    cdk_out = Path(reuse) if reuse else synthesize_app(tmp_path_factory.mktemp("deliveries-cdk.out"), PLAN)
    with EmbeddedAws(cdk_out) as embedded:
        yield embedded


class Provider:
    """What the local server received per channel: sends accepted and refused (wraps its answer)."""

    def __init__(self, aws: EmbeddedAws) -> None:
        self.down: set[str] = set()
        self.blips: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        sink, original = aws.sink, aws.sink._answer
        provider = self

        class Outages(dict[str, int]):
            def __contains__(self, channel: object) -> bool:
                name = str(channel)
                if name in provider.down:
                    return True
                if provider.blips[name] > 0:
                    provider.blips[name] -= 1
                    return True
                return False

            def __getitem__(self, channel: str) -> int:
                return 503

        def answer(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
            status, reply = original(method, path, body, headers)
            channel = sink._channel_of(path)
            if channel in SENDS and SENDS[channel] in path:
                (self.accepted if status < 300 else self.refused)[channel] += 1
            return status, reply

        sink.failing = Outages()
        sink._answer = answer  # type: ignore[method-assign]
        self._restore = lambda: (setattr(sink, "_answer", original), setattr(sink, "failing", {}))

    def reset(self) -> None:
        self.down.clear()
        self.blips.clear()
        self.accepted.clear()
        self.refused.clear()

    def close(self) -> None:
        self._restore()


def open_incident(aws: EmbeddedAws, plan: Plan, n: int) -> str:
    repository = DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"))
    declare = {
        "action": "declare",
        "request_id": f"deliveries-{n}-{datetime.now(UTC).timestamp()}",
        "principal": "arn:aws:sts::111122223333:assumed-role/OutageCommsIncidentManager/priya",
        "components": [COMPONENTS[n % len(COMPONENTS)]],
        "severity": "sev4",  # no approval: the fan-out follows the team at once
        "title": f"deliveries proof {n}",
        "note": {"en": "Some customers cannot sign in", "pt-BR": "Alguns clientes não conseguem entrar"},
    }
    signal = to_signal(declare, plan, received_at=datetime.now(UTC))
    assert isinstance(signal, Signal), signal
    decision = decide(signal, {}, plan, datetime.now(UTC))
    assert decision.incident is not None
    repository.save(decision.incident, None)
    return decision.incident.id


def close(aws: EmbeddedAws, incident_id: str, arn: str) -> None:
    """Stop the execution and resolve the incident, so its component is free for the next one."""
    aws.client("stepfunctions").stop_execution(executionArn=arn)
    repository = DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"))
    incident = repository.get(incident_id)
    repository.save(incident.evolve(status="resolved", resolved_at=datetime.now(UTC)), incident.version)


def ledger(aws: EmbeddedAws, incident_id: str) -> dict[str, str]:
    """``{channel: status}`` from the delivery ledger (every attempt of every channel claims it)."""
    table = aws.output("WorkflowTableName")
    items = aws.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :s)",
        ExpressionAttributeValues={":pk": {"S": f"INCIDENT#{incident_id}"}, ":s": {"S": "SENT#"}},
        ConsistentRead=True,
    )["Items"]
    return {i["sk"]["S"].rsplit("#", 1)[1]: i["status"]["S"] for i in items}


def dead_letters(aws: EmbeddedAws, incident_id: str) -> Counter[str]:
    function = aws.output("RedriveFunctionName")
    config = aws.client("lambda").get_function_configuration(FunctionName=function)
    urls = json.loads(config["Environment"]["Variables"]["DEAD_LETTER_QUEUES"])
    found: Counter[str] = Counter()
    for channel, url in urls.items():
        messages = aws.client("sqs").receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        for message in messages.get("Messages", []):
            if json.loads(message["Body"]).get("incident_id") == incident_id:
                found[channel] += 1
    return found


def run_incident(aws: EmbeddedAws, plan: Plan, n: int) -> tuple[str, str]:
    incident_id = open_incident(aws, plan, n)
    clock = {"seconds_per_minute": 1.0}
    arn = aws.start_execution({"incident_id": incident_id, "clock": clock}, name=incident_id)
    aws.wait_for_state(arn, "Wait for next update", timeout=150)
    return incident_id, arn


def test_failed_deliveries_are_dead_lettered_and_redriven_exactly_once(
    aws: EmbeddedAws, plan: Plan, figures: Any
) -> None:
    f = figures("deliveries")
    provider = Provider(aws)
    channels = [c.value for c in (*team_channels(plan), *fanout_channels(plan))]
    redrive_function = aws.output("RedriveFunctionName")
    try:
        # Baseline: with nothing failing, how many sends one delivery makes per channel (one per locale
        # for some channels, one for all locales for others).
        incident_id, arn = run_incident(aws, plan, 0)
        once = Counter(provider.accepted)
        close(aws, incident_id, arn)
        assert all(once[channel] >= 1 for channel in SENDS), once
        for n in range(1, 1 + scaled(ci=1, full=12)):
            provider.reset()
            down, blip = OUTAGES[(n - 1) % len(OUTAGES)]
            provider.down.add(down)
            provider.blips[blip] = 1
            incident_id, arn = run_incident(aws, plan, n)
            statuses, letters = ledger(aws, incident_id), dead_letters(aws, incident_id)
            case = f"incident {n}: {down} down, {blip} blips"
            for channel in channels:
                f.tried += 1
                done = statuses.get(channel) in ("delivered", "skipped")
                if not done and not letters[channel]:
                    f.loss(f"{case}: {channel} neither delivered nor dead-lettered ({statuses.get(channel)})")
                if done and letters[channel]:
                    f.wrong(f"{case}: {channel} delivered and dead-lettered")
                if provider.accepted[channel] > once[channel]:
                    f.wrong(
                        f"{case}: {channel} accepted {provider.accepted[channel]} sends, {once[channel]} due"
                    )
            if letters[down] != 1 or provider.accepted[down] != 0:
                f.loss(f"{case}: the channel that was down left {letters[down]} dead letters")
            if provider.accepted[blip] != once[blip] or letters[blip]:
                f.loss(f"{case}: the blip was not retried into one delivery")
            # The channel is back: a person redrives twice; the item goes out once, the queue empties.
            provider.down.clear()
            for _ in range(2):
                result = CliRunner().invoke(
                    app, ["redrive", "--function", redrive_function, "--incident", incident_id]
                )
                if result.exit_code != 0:
                    f.crash(f"{case}: redrive exited {result.exit_code}: {result.output[-300:]}")
            if provider.accepted[down] != once[down]:
                f.wrong(f"{case}: after two redrives {down} accepted {provider.accepted[down]} sends")
            if (
                sum(dead_letters(aws, incident_id).values())
                or ledger(aws, incident_id).get(down) != "delivered"
            ):
                f.loss(f"{case}: {down} still not delivered after redrive")
            close(aws, incident_id, arn)
    finally:
        provider.close()
    f.extra["redrives_per_incident"] = 2
    assert f.clean, f.failure_message()
