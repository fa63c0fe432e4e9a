"""The synthesized app deployed into moto once per worker; each test opens its own incident."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from workflow_helpers import EXAMPLE_PLAN, OpenIncident, human_declare

from outage_comms.incident import Incident
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan, load_plan
from outage_comms_embedded import EmbeddedAws, synthesize_app


@pytest.fixture(scope="session")
def plan() -> Plan:
    return load_plan(EXAMPLE_PLAN)


@pytest.fixture(scope="session")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reuse = os.environ.get("OUTAGE_COMMS_EMBEDDED_CDK_OUT")  # a cdk.out synthesized by synthesize_app
    if reuse:
        return Path(reuse)
    return synthesize_app(tmp_path_factory.mktemp("workflow-cdk.out"), EXAMPLE_PLAN)


@pytest.fixture(scope="module")
def aws(cdk_out: Path) -> Iterator[EmbeddedAws]:
    """Module-scoped: the mock, the Lambda routing and the environment end with this module."""
    with EmbeddedAws(cdk_out) as embedded:
        yield embedded


@pytest.fixture(autouse=True)
def _no_faults(aws: EmbeddedAws) -> Iterator[None]:
    yield
    aws.faults.clear()


@pytest.fixture(scope="module")
def repository(aws: EmbeddedAws) -> DynamoIncidentRepository:
    return DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"))


@pytest.fixture
def open_incident(repository: DynamoIncidentRepository, plan: Plan) -> Iterator[OpenIncident]:
    """Open an incident through the intake domain and the real store; resolve it after the test."""
    opened: list[str] = []

    def _open(component: str = "search", severity: str = "sev2", scenario: str | None = None) -> Incident:
        signal = to_signal(human_declare(component, severity, scenario), plan, received_at=datetime.now(UTC))
        assert isinstance(signal, Signal), signal
        decision = decide(signal, {}, plan, datetime.now(UTC))
        assert decision.incident is not None
        repository.save(decision.incident, None)
        opened.append(decision.incident.id)
        return decision.incident

    yield _open
    for incident_id in opened:
        incident = repository.get(incident_id)
        if incident.is_open:
            closed = incident.evolve(status="resolved", resolved_at=datetime.now(UTC))
            repository.save(closed, incident.version)
