"""Communication SLO metrics from the real handlers, on moto DynamoDB with the real stores.

Each test reads the EMF documents the handlers print (what CloudWatch would turn into metrics) and
checks the metric names, values and exact dimension sets the alarms in comms_slo.py read.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from outage_comms import slo
from outage_comms.channels.base import Delivery, DeliveryResult
from outage_comms.drill_mode import DRILL_TARGETS
from outage_comms.incident import Incident, IncidentSource
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan, load_plan
from outage_comms.vocabulary import Channel
from outage_comms.workflow.approval import Reference, ReviewSigner, content_hash
from outage_comms.workflow.steps import Services, render
from outage_comms.workflow.store import DynamoWorkflowStore

pytestmark = pytest.mark.integration

LAMBDAS = str(Path(__file__).resolve().parents[3] / "lambdas")  # the asset's root: ``handlers`` lives here
if LAMBDAS not in sys.path:
    sys.path.insert(0, LAMBDAS)

REGION = "us-east-1"
COMMS = "arn:aws:sts::111122223333:assumed-role/OutageCommsCommunicationsManager/marina"


@pytest.fixture(autouse=True)
def _no_faults() -> None:
    """These tests build their own tables on moto: not the embedded app the package's conftest deploys."""


@pytest.fixture(scope="module")
def plan() -> Plan:
    from workflow_helpers import EXAMPLE_PLAN

    return load_plan(EXAMPLE_PLAN)


class Context:
    function_name = "slo-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:slo-test"
    memory_limit_in_mb = 256
    aws_request_id = "req"
    log_group_name = "/aws/lambda/slo-test"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class FakeChannel:
    channel: Channel
    sent: list[Delivery] = field(default_factory=list)

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        self.sent.append(delivery)
        return DeliveryResult(channel=self.channel.value, status="delivered", locales=list(delivery.messages))


@dataclass
class Notes:
    emails: list[tuple[str, str]] = field(default_factory=list)

    def chat(self, document: dict[str, Any]) -> str | None:
        return None

    def email(self, to: str, subject: str, text: str) -> str | None:
        self.emails.append((to, subject))
        return None


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.at


def _table(client: Any, name: str) -> str:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@dataclass
class World:
    services: Services
    clock: Clock
    channels: dict[Channel, FakeChannel]
    notes: Notes
    signer: ReviewSigner
    sent_tokens: list[tuple[str, dict[str, Any]]]

    def open(self, *, severity: str = "sev2", minutes_ago: float = 12, drill: bool = False) -> Incident:
        started = self.clock() - timedelta(minutes=minutes_ago)
        incident = Incident(
            id=f"inc-20261127-1300-{uuid.uuid4().hex[:6]}",
            internal_title="search down",
            public_title={"en": "Search is slow", "pt-BR": "A busca está lenta"},
            components=("search",),
            severity=severity,
            status="investigating",
            scenario="partial_outage",
            audiences=("all-customers",),
            started_at=started,
            updated_at=started,
            source=IncidentSource(type="human", reference="arn:aws:iam::111122223333:role/Oncall"),
            drill=drill,
        )
        self.services.repository.save(incident, None)
        return incident

    def render(self, incident: Incident, **clock: float) -> str:
        event = {"incident_id": incident.id, "update": {"change": "opened"}, "clock": clock or None}
        return str(render(event, self.services)["update_id"])


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, plan: Plan) -> Iterator[World]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        clock = Clock()
        channels = {c: FakeChannel(c) for c in (Channel.EMAIL, Channel.SMS, Channel.SUPPORT)}
        notes = Notes()
        signer = ReviewSigner(b"s" * 48)
        sent: list[tuple[str, dict[str, Any]]] = []
        services = Services(
            plan=plan,
            repository=DynamoIncidentRepository(_table(client, "incidents"), dynamodb=client),
            store=DynamoWorkflowStore(table_name=_table(client, "workflow"), client=client),
            notifier=notes,
            channel=lambda channel: channels.get(channel),
            targets={kind: channels.get for kind in DRILL_TARGETS},  # a drill's test targets
            signer=lambda: signer,
            send_task_success=lambda token, output: sent.append((token, output)),
            execution_running=lambda _: False,
            now=clock,
        )
        yield World(services, clock, channels, notes, signer, sent)


def emf(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF documents printed so far: ``{"name", "value", "dimensions" (set), "values" (dict)}``."""
    found = []
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        (dimensions,) = directive["Dimensions"]
        for metric in directive["Metrics"]:
            value = document[metric["Name"]]
            found.append(
                {
                    "name": metric["Name"],
                    "value": value[0] if isinstance(value, list) else value,
                    "dimensions": set(dimensions),
                    "values": {d: document[d] for d in dimensions},
                }
            )
    return found


def named(documents: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["name"] == name]


def deliver(world: World, incident: Incident, update_id: str, channel: Channel) -> dict[str, Any]:
    from handlers.workflow_deliver_channel import handler

    event = {"incident_id": incident.id, "update_id": update_id, "channel": channel.value}
    return handler(event, Context(), services=world.services)  # type: ignore[arg-type]


def test_first_customer_delivery_emits_time_to_first_message_once_per_incident_by_severity(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = world.open(severity="sev1", minutes_ago=12)  # sev1 targets 10 minutes
    update_id = world.render(incident)
    capsys.readouterr()

    # When the support macro goes first, then email and SMS deliver the same update
    for channel in (Channel.SUPPORT, Channel.EMAIL, Channel.SMS):
        assert deliver(world, incident, update_id, channel)["status"] == "delivered"

    documents = emf(capsys)
    (first,) = named(documents, slo.TIME_TO_FIRST_EXTERNAL_MESSAGE)
    (missed,) = named(documents, slo.FIRST_MESSAGE_TARGET_MISSED)
    assert first["value"] == 12 * 60
    assert missed["value"] == 1
    for document in (first, missed):  # no channel leaks in from the handler's per-invocation dimension
        assert document["dimensions"] == {"service", "severity"}
        assert document["values"] == {"service": slo.SLO_SERVICE, "severity": "sev1"}
    # the support desk is not a customer: no SLO datapoint for it
    successes = named(documents, slo.CHANNEL_DELIVERY_SUCCESS)
    assert sorted(d["values"]["channel"] for d in successes) == ["email", "sms"]
    assert all(d["dimensions"] == {"service", "channel"} for d in successes)
    # the handler's own delivery counts keep their channel dimension
    assert sorted(d["values"]["channel"] for d in named(documents, "Deliveries")) == [
        "email",
        "sms",
        "support",
    ]


def test_the_next_update_reports_its_gap_against_the_cadence(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = world.open(severity="sev2")  # 60-minute cadence
    deliver(world, incident, world.render(incident), Channel.EMAIL)
    world.clock.at += timedelta(minutes=72)
    second = world.render(incident)
    capsys.readouterr()

    deliver(world, incident, second, Channel.SMS)
    deliver(world, incident, second, Channel.EMAIL)

    documents = emf(capsys)
    assert named(documents, slo.TIME_TO_FIRST_EXTERNAL_MESSAGE) == []
    (gap,) = named(documents, slo.UPDATE_GAP)
    (ratio,) = named(documents, slo.UPDATE_GAP_RATIO)
    assert gap["value"] == 72 * 60
    assert ratio["value"] == pytest.approx(120.0)
    assert ratio["values"] == {"service": slo.SLO_SERVICE, "severity": "sev2"}
    last = world.services.store.last_customer_update(incident.id)
    assert last is not None and last.update_id == second


def test_drill_incidents_are_emitted_under_mode_drill_only(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = world.open(drill=True)
    update_id = world.render(incident)
    capsys.readouterr()

    deliver(world, incident, update_id, Channel.EMAIL)

    slo_documents = [d for d in emf(capsys) if d["values"].get("service") == slo.SLO_SERVICE]
    assert {d["name"] for d in slo_documents} == {
        slo.TIME_TO_FIRST_EXTERNAL_MESSAGE,
        slo.FIRST_MESSAGE_TARGET_MISSED,
        slo.CHANNEL_DELIVERY_SUCCESS,
    }
    assert all(d["values"]["mode"] == "drill" for d in slo_documents)


def test_a_compressed_clock_run_counts_as_a_drill(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    incident = world.open()
    update_id = world.render(incident, seconds_per_minute=0.5)
    capsys.readouterr()

    deliver(world, incident, update_id, Channel.EMAIL)

    assert {
        d["values"].get("mode") for d in emf(capsys) if d["values"].get("service") == slo.SLO_SERVICE
    } == {"drill"}


def test_a_branch_that_failed_after_retries_counts_a_delivery_failure(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.workflow_record_failure import handler

    incident = world.open()
    update_id = world.render(incident)
    capsys.readouterr()
    event = {
        "incident_id": incident.id,
        "update_id": update_id,
        "channel": "sms",
        "error": {"Error": "ChannelUnavailableError", "Cause": "throttled"},
    }

    result = handler(event, Context(), services=world.services)  # type: ignore[arg-type]
    assert (result["channel"], result["status"]) == ("sms", "failed")  # and what the dead letter carries

    (failure,) = named(emf(capsys), slo.CHANNEL_DELIVERY_FAILURE)
    assert failure["values"] == {"service": slo.SLO_SERVICE, "channel": "sms"}
    assert failure["value"] == 1


def test_an_escalated_missed_cadence_counts_update_overdue(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.workflow_notice import handler

    incident = world.open(severity="sev3")
    world.render(incident)
    capsys.readouterr()

    handler({"incident_id": incident.id, "kind": "reminder"}, Context(), services=world.services)  # type: ignore[arg-type]
    result = handler({"incident_id": incident.id, "kind": "escalation"}, Context(), services=world.services)  # type: ignore[arg-type]

    assert result == {"holding_reason": "missed_cadence"}
    (overdue,) = named(emf(capsys), slo.UPDATE_OVERDUE)
    assert overdue["values"] == {"service": slo.SLO_SERVICE, "severity": "sev3"}


def test_an_approval_on_the_review_page_reports_its_latency_by_severity(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.workflow_review_page import handler

    incident = world.open(severity="sev2")
    update_id = world.render(incident)
    requested = datetime.now(UTC) - timedelta(minutes=4)
    expires = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())
    update = world.services.store.get_update(incident.id, update_id)
    shown = {c: {loc: m["fields"] for loc, m in by.items()} for c, by in update["messages"].items()}
    world.services.approvals.put(
        {
            "request_id": "req-slo",
            "incident_id": incident.id,
            "update_id": update_id,
            "role": "communications_manager",
            "task_token": "token",
            "expires_at": expires,
            "allowed_principals": ["arn:aws:iam::111122223333:role/OutageCommsCommunicationsManager"],
            "dual": False,
            "requested_at": requested.isoformat(),
            "content_hash": content_hash(shown),
        },
    )
    reference = world.signer.sign(Reference("req-slo", incident.id, expires))
    csrf = world.signer.csrf_token(
        "req-slo", "arn:aws:iam::111122223333:role/OutageCommsCommunicationsManager", content_hash(shown)
    )
    capsys.readouterr()
    event = {
        "httpMethod": "POST",
        "pathParameters": {"incident_id": incident.id, "reference": reference},
        "requestContext": {"identity": {"userArn": COMMS}},
        "body": f"csrf={csrf}&decision=approve",
    }

    response = handler(event, Context(), services=world.services)  # type: ignore[arg-type]

    assert response["statusCode"] == 200 and world.sent_tokens[0][0] == "token"
    (latency,) = named(emf(capsys), slo.APPROVAL_LATENCY)
    assert latency["values"] == {"service": slo.SLO_SERVICE, "severity": "sev2"}
    assert 4 * 60 <= latency["value"] < 5 * 60
