"""The incidents table's indexes on moto, through the real repository: no read scans the history.

``list_recent(since)`` reads the years of its window from ``recent-by-year``; ``list_open`` and
``list_needing_slo_check`` read the sparse open index, which a resolve leaves; a status publish and
an SLO watchdog tick, run with their real code, send DynamoDB no ``Scan`` at all.
"""

from __future__ import annotations

import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
from intake_harness import REGION, FakeContext, IntakeWorld

from outage_comms.aws_clients import reset_clients
from outage_comms.incident import Incident, IncidentSource
from outage_comms.intake.store import (
    OPEN_PK,
    OPEN_SK,
    RECENT_BUCKET,
    DynamoIncidentRepository,
    incident_pk,
    year_of,
)
from outage_comms.plan import Plan

pytestmark = pytest.mark.integration

LAMBDAS = str(Path(__file__).resolve().parents[3] / "lambdas")
if LAMBDAS not in sys.path:
    sys.path.insert(0, LAMBDAS)
PLAN_PATH = Path(__file__).resolve().parents[3] / "plans" / "example.yaml"


def make(
    store: DynamoIncidentRepository,
    *,
    started: datetime,
    component: str = "search",
    resolved_after: timedelta | None = timedelta(hours=1),
    **changes: Any,
) -> Incident:
    """One incident saved as intake saves it: opened, then (unless ``resolved_after`` is None) resolved."""
    incident = Incident.model_validate(
        {
            "id": f"inc-{started:%Y%m%d-%H%M}-{uuid.uuid4().hex[:6]}",
            "internal_title": f"{component} down",
            "public_title": {"en": "Something is slow", "pt-BR": "Algo está lento"},
            "components": (component,),
            "severity": "sev2",
            "status": "investigating",
            "scenario": "partial_outage",
            "audiences": ("all-customers",),
            "started_at": started,
            "updated_at": started,
            "source": IncidentSource(type="human", reference="arn:aws:iam::111122223333:role/Oncall"),
            **changes,
        }
    )
    store.save(incident, None)
    if resolved_after is None:
        return incident
    at = started + resolved_after
    done = incident.evolve(status="resolved", resolved_at=at, updated_at=at, version=incident.version + 1)
    store.save(done, incident.version)
    return done


class Calls:
    """Every AWS API call made in this process, by (service, operation): botocore's own entry point."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: Counter[tuple[str, str]] = Counter()
        original = botocore.client.BaseClient._make_api_call
        calls = self

        def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
            calls.seen[(client.meta.service_model.service_name, operation)] += 1
            return original(client, operation, params)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counted)

    def dynamodb(self) -> Counter[str]:
        return Counter({op: n for (service, op), n in self.seen.items() if service == "dynamodb"})

    def clear(self) -> None:
        self.seen.clear()


@pytest.fixture
def store(world: IntakeWorld) -> DynamoIncidentRepository:
    return DynamoIncidentRepository(world.incidents_table)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    yield Calls(monkeypatch)


def test_list_recent_since_reads_the_window_newest_first_whatever_the_history(
    store: DynamoIncidentRepository, calls: Calls
) -> None:
    now = datetime.now(UTC)
    # Given one incident a month for the last 20 months (two or three year partitions)
    monthly = [make(store, started=now - timedelta(days=30 * m, hours=2)) for m in range(20)]
    since = now - timedelta(days=400)  # a window across a year boundary
    newest_first = sorted(monthly, key=lambda i: i.updated_at, reverse=True)
    expected = [i.id for i in newest_first if i.updated_at >= since]
    calls.clear()
    recent = store.list_recent(since=since)
    first = calls.dynamodb()
    assert [i.id for i in recent] == expected and len(expected) >= 13
    assert store.list_recent(since=since, limit=2) == recent[:2]
    # When forty more incidents lie years back in the history
    for n in range(40):
        make(store, started=now - timedelta(days=800 + 10 * n))
    calls.clear()
    # Then the same window reads the same requests and finds the same incidents
    assert [i.id for i in store.list_recent(since=since)] == expected
    assert calls.dynamodb() == first
    assert set(first) == {"Query", "BatchGetItem"} and first["BatchGetItem"] == 1


def test_list_recent_with_a_limit_only_still_answers_newest_first(store: DynamoIncidentRepository) -> None:
    now = datetime.now(UTC)
    made = [make(store, started=now - timedelta(days=d * 150)) for d in range(5)]  # across three years
    newest = sorted(made, key=lambda i: i.updated_at, reverse=True)
    assert [i.id for i in store.list_recent(3)] == [i.id for i in newest[:3]]  # the former signature
    assert [i.id for i in store.list_recent(limit=10)] == [i.id for i in newest]
    assert [i.id for i in store.list_recent()] == [i.id for i in newest]


def test_open_index_holds_open_incidents_only_and_a_resolve_leaves_it(
    store: DynamoIncidentRepository, world: IntakeWorld
) -> None:
    now = datetime.now(UTC)
    real = make(store, started=now - timedelta(days=400), resolved_after=None)  # open for over a year
    window = make(store, started=now, component="sync", resolved_after=None, maintenance_phase="in_progress")
    drill = make(store, started=now, component="web-app", resolved_after=None, drill=True)
    make(store, started=now - timedelta(hours=3), component="sign-in")  # resolved
    assert [i.id for i in store.list_open()] == [real.id, window.id]
    assert [i.id for i in store.list_open(drill=True)] == [drill.id]
    assert [i.id for i in store.list_needing_slo_check()] == [real.id]

    later = now + timedelta(minutes=5)
    resolved = real.evolve(status="resolved", resolved_at=later, updated_at=later, version=real.version + 1)
    store.save(resolved, real.version)

    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=world.incidents_table, Key={"pk": {"S": incident_pk(real.id)}, "sk": {"S": "INCIDENT"}}
    )["Item"]
    assert OPEN_PK not in item and OPEN_SK not in item  # sparse: gone from the open index
    assert item[RECENT_BUCKET]["S"] == year_of(later)  # in the year it last changed
    assert [i.id for i in store.list_open()] == [window.id]
    assert store.list_needing_slo_check() == []
    assert store.list_recent(since=now)[0].id == real.id


def test_a_status_publish_and_an_slo_tick_send_dynamodb_no_scan(
    store: DynamoIncidentRepository,
    world: IntakeWorld,
    plan: Plan,
    calls: Calls,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from handlers.slo_watchdog import handler as watchdog

    from outage_comms.status.publisher import Boto3StatusSink, StatusPublisher
    from outage_comms.workflow import settings

    now = datetime.now(UTC)
    for day in range(30):
        make(store, started=now - timedelta(days=day * 9 + 1), component=("search", "sync")[day % 2])
    changed = make(store, started=now - timedelta(minutes=30), component="sign-in", resolved_after=None)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="status")
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="workflow",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
    )
    environment = {
        "INCIDENTS_TABLE_NAME": world.incidents_table,
        "WORKFLOW_TABLE": "workflow",
        "PLAN_PATH": str(PLAN_PATH),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings.settings.cache_clear()
    reset_clients()
    sink = Boto3StatusSink(
        s3=s3,
        cloudwatch=boto3.client("cloudwatch", region_name=REGION),
        cloudfront=None,
        bucket="status",
        dashboard_name="status",
        distribution_id=None,
    )
    publisher = StatusPublisher(plan=plan, incidents=store, sink=sink)
    calls.clear()

    publisher.publish(changed.id)
    published = calls.dynamodb()
    calls.clear()
    overdue = watchdog({"source": "aws.events"}, FakeContext())  # type: ignore[arg-type]
    ticked = calls.dynamodb()

    assert published and ticked  # the counter saw the real reads, so zero scans means something
    assert published["Scan"] == 0 and ticked["Scan"] == 0
    assert set(published) <= {"GetItem", "BatchGetItem", "Query"}, published
    assert set(ticked) <= {"GetItem", "BatchGetItem", "Query"}, ticked
    assert overdue == {"overdue": [changed.id]}  # 30 minutes without a first message (due at 16.5)
    settings.settings.cache_clear()
