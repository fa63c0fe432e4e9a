"""What happened to one incident inside Outage Comms: the workflow's events and every delivery result.

Read-only. The incident API serves it as ``GET /incidents/{id}/activity``; drills (embedded and
deployed) build their report from it. Events come from the workflow table (``EVENT#`` items:
``registered``, ``rendered``, ``team_notified``, ``approval_requested``, ``approval``, ``reminder``,
``escalation``, ``held``, ``delivery_failed``, ``summary_task`` ...), deliveries from the incidents
table (``DELIVERY#<update>#<channel>`` items: one channel's result for one update).
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from outage_comms.aws_clients import client
from outage_comms.workflow.store import DynamoWorkflowStore


class ActivityReader(Protocol):
    def activity(self, incident_id: str) -> dict[str, Any]:
        """``{incident_id, events: [{at, kind, text}], deliveries: [{update_id, channel, status, at}]}``"""


class ActivitySettings(BaseModel):
    """The tables the incident API function reads (set by ``stacks/constructs/incident_api.py``)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore", populate_by_name=True)

    incidents_table: str = Field(alias="INCIDENTS_TABLE_NAME", min_length=1)
    workflow_table: str | None = Field(
        default=None, alias="WORKFLOW_TABLE", description="unset: the activity lists deliveries only"
    )


class DynamoActivityReader:
    """:class:`ActivityReader` on the deployed tables (Query only, on the incident's partition)."""

    def __init__(self, settings: ActivitySettings, dynamodb: Any | None = None) -> None:
        self._settings = settings
        self._client = dynamodb

    @property
    def dynamodb(self) -> Any:
        return self._client or client("dynamodb")

    def activity(self, incident_id: str) -> dict[str, Any]:
        events: list[dict[str, Any]] = []
        if self._settings.workflow_table:
            store = DynamoWorkflowStore(table_name=self._settings.workflow_table, client=self.dynamodb)
            events = store.events(incident_id)
        return {
            "incident_id": incident_id,
            "events": sorted(events, key=lambda e: str(e["at"])),
            "deliveries": sorted(self._deliveries(incident_id), key=lambda d: str(d.get("at", ""))),
        }

    def _deliveries(self, incident_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._settings.incidents_table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"INCIDENT#{incident_id}"},
                ":prefix": {"S": "DELIVERY#"},
            },
        }
        while True:
            page = self.dynamodb.query(**kwargs)
            for item in page["Items"]:
                result = json.loads(item["result"]["S"])
                found.append(
                    {
                        "update_id": item["update_id"]["S"],
                        "channel": item["channel"]["S"],
                        "status": str(result.get("status", "")),
                        "at": str(result.get("at") or item.get("recorded_at", {}).get("S", "")),
                        "detail": str(result.get("detail") or result.get("error") or "")[:500],
                    }
                )
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@functools.cache
def activity_reader() -> DynamoActivityReader:
    """The execution environment's reader, from the environment (first call only)."""
    return DynamoActivityReader(ActivitySettings.model_validate(dict(os.environ)))
