"""The overdue-update watchdog on moto DynamoDB, through its real handler path (env, stores, plan)."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from outage_comms import slo
from outage_comms.aws_clients import reset_clients
from outage_comms.incident import Incident, IncidentSource
from outage_comms.intake.store import DynamoIncidentRepository, incidents_table_schema
from outage_comms.workflow import settings
from outage_comms.workflow.store import CustomerUpdate, DynamoWorkflowStore

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
LAMBDAS = str(ROOT / "lambdas")  # the asset's root: ``handlers`` lives here
if LAMBDAS not in sys.path:
    sys.path.insert(0, LAMBDAS)
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _no_faults() -> None:
    """These tests build their own tables on moto: not the embedded app the package's conftest deploys."""


class Context:
    function_name = "slo-watchdog"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:slo-watchdog"
    memory_limit_in_mb = 256
    aws_request_id = "req"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DynamoIncidentRepository, DynamoWorkflowStore]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("INCIDENTS_TABLE_NAME", "incidents")
    monkeypatch.setenv("WORKFLOW_TABLE", "workflow")
    monkeypatch.setenv("PLAN_PATH", str(ROOT / "plans" / "example.yaml"))
    with mock_aws():
        reset_clients()
        settings.settings.cache_clear()
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(**incidents_table_schema("incidents"))  # with its indexes, as deployed
        _table(client, "workflow")
        yield (
            DynamoIncidentRepository("incidents", dynamodb=client),
            DynamoWorkflowStore(table_name="workflow", client=client),
        )
    reset_clients()
    settings.settings.cache_clear()


def opened(
    repository: DynamoIncidentRepository, component: str, *, minutes_ago: float, **changes: Any
) -> Incident:
    started = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    fields: dict[str, Any] = {
        "id": f"inc-20261127-1300-{uuid.uuid4().hex[:6]}",
        "internal_title": f"{component} down",
        "public_title": {"en": "Something is slow", "pt-BR": "Algo está lento"},
        "components": (component,),
        "severity": "sev2",  # cadence 60 minutes, first message 15 minutes, tolerance 10 %
        "status": "investigating",
        "scenario": "partial_outage",
        "audiences": ("all-customers",),
        "started_at": started,
        "updated_at": started,
        "source": IncidentSource(type="human", reference="arn:aws:iam::111122223333:role/Oncall"),
    }
    incident = Incident.model_validate({**fields, **changes})
    repository.save(incident, None)
    return incident


def told(store: DynamoWorkflowStore, incident: Incident, *, minutes_ago: float, number: int = 1) -> None:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    advanced, _ = store.advance_customer_update(
        incident.id, CustomerUpdate(number, f"{number:03d}-partial_outage", incident.severity, at)
    )
    assert advanced


def overdue_metric(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    return [d for d in documents if slo.OVERDUE_UPDATES in d]


def test_counts_open_incidents_whose_customer_update_is_overdue(
    tables: tuple[DynamoIncidentRepository, DynamoWorkflowStore], capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.slo_watchdog import handler

    repository, store = tables
    # Given: a dead execution (last told customers 90 minutes ago), one on time, one never told anyone
    dead = opened(repository, "search", minutes_ago=120)
    told(store, dead, minutes_ago=90)
    fine = opened(repository, "sync", minutes_ago=120)
    told(store, fine, minutes_ago=20, number=3)
    silent = opened(repository, "sign-in", minutes_ago=30)
    # and what must never count: a drill, a resolved incident, a maintenance window
    opened(repository, "web-app", minutes_ago=600, drill=True)
    opened(
        repository,
        "public-api",
        minutes_ago=600,
        status="resolved",
        resolved_at=datetime.now(UTC) - timedelta(minutes=500),
    )
    opened(repository, "attachments", minutes_ago=600, maintenance_phase="in_progress")
    capsys.readouterr()

    result = handler({"source": "aws.events"}, Context())  # type: ignore[arg-type]

    assert sorted(result["overdue"]) == sorted([dead.id, silent.id])
    (metric,) = overdue_metric(capsys)
    assert metric[slo.OVERDUE_UPDATES] in (2, [2], 2.0, [2.0])
    assert metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert metric["service"] == slo.SLO_SERVICE


def test_reports_zero_when_nothing_is_overdue_so_silence_means_the_watchdog_is_down(
    tables: tuple[DynamoIncidentRepository, DynamoWorkflowStore], capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.slo_watchdog import handler

    repository, store = tables
    young = opened(repository, "search", minutes_ago=5)  # first message due after 16.5 minutes
    assert store.last_customer_update(young.id) is None
    capsys.readouterr()

    assert handler({}, Context()) == {"overdue": []}  # type: ignore[arg-type]

    (metric,) = overdue_metric(capsys)
    assert metric[slo.OVERDUE_UPDATES] in (0, [0], 0.0, [0.0])
