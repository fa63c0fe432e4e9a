"""A maintenance window through the synthesized state machine on moto: declared, started, verifying,
completed by its ticks, each handed to the waiting execution as intake hands updates; no post-incident
summary at the end."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from workflow_helpers import deliveries, start

from outage_comms.incident import Incident
from outage_comms.intake.coalesce import Decision, decide
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.maintenance import Tick, apply_tick
from outage_comms.plan import Plan
from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway
from outage_comms_embedded import EmbeddedAws
from tests.embedded_helpers import wait_for_end

pytestmark = pytest.mark.integration


class NoBus:
    def publish(self, incident: Incident, decision: Decision) -> None:
        pass


def schedule_window(repository: DynamoIncidentRepository, plan: Plan) -> Incident:
    now = datetime.now(UTC)
    starts = now + timedelta(days=2)
    raw = {
        "action": "schedule_maintenance",
        "request_id": f"maintenance-{now.timestamp()}",
        "principal": "arn:aws:sts::111122223333:assumed-role/OutageCommsCommunicationsManager/marina",
        "components": ["attachments"],
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "note": {
            "en": "Uploads may pause for a few minutes",
            "pt-BR": "Os envios podem pausar por alguns minutos",
        },
    }
    signal = to_signal(raw, plan, received_at=now)
    assert isinstance(signal, Signal), signal
    decision = decide(signal, {}, plan, now)
    assert decision.incident is not None
    repository.save(decision.incident, None)
    return decision.incident


def waiting(aws: EmbeddedAws, table: str, incident_id: str) -> bool:
    item = aws.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": f"INCIDENT#{incident_id}"}, "sk": {"S": "INCIDENT"}}
    )["Item"]
    return "update_token" in item


def test_a_maintenance_window_runs_through_its_phases(
    aws: EmbeddedAws, repository: DynamoIncidentRepository, plan: Plan
) -> None:
    # Given a window declared two days ahead (sev4: no approval), its execution started
    window = schedule_window(repository, plan)
    arn = start(aws, window, 0.01)  # 1 plan minute = 0.01 s: sev4's 240-minute cadence would be 3 s
    gateway = StepFunctionsWorkflowGateway(aws.state_machine_arn)
    table = repository.table_name

    def tick(kind: str, at: datetime) -> dict[str, Any]:
        aws.wait_until(lambda: waiting(aws, table, window.id), what="the execution waiting for an update")
        return apply_tick(
            Tick(incident_id=window.id, kind=kind, at=at),  # type: ignore[arg-type]
            plan=plan,
            incidents=repository,
            workflow=gateway,
            changes=NoBus(),
        ).as_dict()

    aws.wait_for_state(arn, "Wait for next update")
    assert deliveries(aws, window.id)["001-maintenance_scheduled#sns"]["status"] == "delivered"
    # The wait reaches the next scheduled notification (the 24 h reminder, a day away: 14.7 s here) plus
    # a margin, not sev4's cadence: nobody is reminded while the window is merely scheduled.
    time.sleep(4)
    assert "Remind communications manager" not in aws.states_entered(arn)

    # When the start tick fires, the execution renders and sends "in progress"
    assert tick("start", window.scheduled_for)["workflow"] == "update_delivered"  # type: ignore[arg-type]
    aws.wait_for_state(arn, "Wait for next update", count=2)
    assert deliveries(aws, window.id)["002-maintenance_in_progress#sns"]["status"] == "delivered"

    # The end tick only moves the window to verifying (status site; no message to customers)
    verifying = tick("end", window.scheduled_until)  # type: ignore[arg-type]
    assert (verifying["phase"], verifying["workflow"]) == ("verifying", "none")

    # When the completion tick fires, "completed" goes out and the execution ends without a summary
    assert tick("complete", datetime.now(UTC))["workflow"] == "update_delivered"
    final = wait_for_end(aws, arn)
    assert final["status"] == "SUCCEEDED"
    sent = deliveries(aws, window.id)
    assert sent["003-maintenance_completed#sns"]["status"] == "delivered"
    assert not [key for key in sent if "post_incident_summary" in key]
    assert repository.get(window.id).maintenance_phase == "completed"
