"""Communication SLOs in the synthesized app on moto: the deployed workflow marks what reached customers,
and the deployed watchdog (its own function, its own environment) finds an incident whose execution died."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from workflow_helpers import OpenIncident, deliveries, start

from outage_comms.incident import Incident, IncidentSource
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.workflow.store import DynamoWorkflowStore
from outage_comms_embedded import EmbeddedAws

pytestmark = pytest.mark.integration


def test_the_deployed_workflow_and_watchdog_track_customer_updates(
    aws: EmbeddedAws, open_incident: OpenIncident, repository: DynamoIncidentRepository
) -> None:
    store = DynamoWorkflowStore(table_name=aws.output("WorkflowTableName"), client=aws.client("dynamodb"))
    watchdog = aws.function_name("slo_watchdog")
    # Given a sev4 incident (no approval) run by the workflow, and one whose execution died two hours
    # ago without ever telling customers
    live = open_incident("search", "sev4")
    arn = start(aws, live, 0.1)
    started = datetime.now(UTC) - timedelta(hours=2)
    dead = Incident(
        id=f"inc-20261127-1100-{uuid.uuid4().hex[:6]}",
        internal_title="sync down, execution lost",
        public_title={"en": "Sync is slow", "pt-BR": "A sincronização está lenta"},
        components=("sync",),
        severity="sev2",
        status="investigating",
        scenario="partial_outage",
        audiences=("all-customers",),
        started_at=started,
        updated_at=started,
        source=IncidentSource(type="human", reference="arn:aws:iam::111122223333:role/Oncall"),
    )
    repository.save(dead, None)

    # When the live incident's first update has gone out
    aws.wait_for_state(arn, "Wait for next update")

    # Then the fan-out marked update 001 as the first to reach customers
    assert any(r["status"] == "delivered" for r in deliveries(aws, live.id).values())
    mark = store.last_customer_update(live.id)
    assert mark is not None and mark.number == 1 and mark.update_id.startswith("001-")
    assert mark.severity == "sev4"
    # and the deployed watchdog counts the dead one only
    overdue = aws.invoke(watchdog, {"source": "aws.events", "detail-type": "Scheduled Event"})["overdue"]
    assert dead.id in overdue and live.id not in overdue
    closed = repository.get(dead.id)
    repository.save(closed.evolve(status="resolved", resolved_at=datetime.now(UTC)), closed.version)
    assert dead.id not in aws.invoke(watchdog, {})["overdue"]
