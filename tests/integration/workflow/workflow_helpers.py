"""Helpers shared by the workflow integration tests (imported by name; conftest holds only fixtures)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from outage_comms.incident import Incident
from outage_comms_embedded import EmbeddedAws

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_PLAN = ROOT / "plans" / "example.yaml"
COMMS_MANAGER_ROLE = "arn:aws:iam::111122223333:role/OutageCommsCommunicationsManager"
COMMS_DEPUTY_ROLE = "arn:aws:iam::111122223333:role/OutageCommsCommunicationsDeputy"
INCIDENT_MANAGER_ROLE = "arn:aws:iam::111122223333:role/OutageCommsIncidentManager"

OpenIncident = Callable[..., Incident]


def human_declare(component: str, severity: str, scenario: str | None = None) -> dict[str, Any]:
    return {
        "action": "declare",
        "request_id": uuid.uuid4().hex,
        "principal": "arn:aws:sts::111122223333:assumed-role/OutageCommsIncidentManager/priya",
        "components": [component],
        "severity": severity,
        **({"scenario": scenario} if scenario else {}),
        "title": f"test incident on {component}",
        "note": {"en": "Some customers cannot open notes", "pt-BR": "Alguns clientes não abrem as notas"},
    }


def start(aws: EmbeddedAws, incident: Incident, seconds_per_minute: float) -> str:
    return aws.start_execution(
        {"incident_id": incident.id, "clock": {"seconds_per_minute": seconds_per_minute}}, name=incident.id
    )


def deliveries(aws: EmbeddedAws, incident_id: str) -> dict[str, dict[str, Any]]:
    """``{"<update>#<channel>": result}`` recorded on the incident by the fan-out."""
    table = aws.physical_id("AWS::DynamoDB::Table", contains="Incidents")
    items = aws.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
        ExpressionAttributeValues={":pk": {"S": f"INCIDENT#{incident_id}"}, ":d": {"S": "DELIVERY#"}},
    )["Items"]
    return {i["sk"]["S"].removeprefix("DELIVERY#"): json.loads(i["result"]["S"]) for i in items}


def subscriber_messages(aws: EmbeddedAws, incident_id: str) -> list[dict[str, Any]]:
    topic = aws.output("SubscribersTopicArn")
    return [m for m in aws.published(topic) if incident_id in json.dumps(m["attributes"])]
