"""Exactly-once sending per (incident, update, channel): a conditional write before each send.

The ledger is one item per delivery in the workflow table (``pk`` = ``INCIDENT#<id>``, ``sk`` =
``SENT#<update>#<channel>``). Every attempt — the state machine's first try, its retries, and every
``outage-comms redrive`` — first *claims* the item with a conditional update that succeeds only if the
delivery is not already done and no other attempt holds a live lease. A finished send marks it done;
a failed one gives the lease back. So a Step Functions retry after a send whose answer was lost, or a
redrive of a message that sits twice in a dead-letter queue, is skipped instead of sent again.

Residual risk, written down: a Lambda that dies after the provider accepted the message but before
``finish`` leaves the item claimed; once its lease ends, another attempt sends again (at-least-once
in that one crash window, never a silent loss).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from botocore.exceptions import ClientError

#: How long one attempt may hold a delivery: longer than a delivery function may run (30 s).
LEASE_SECONDS = 60
#: Outcomes that end a delivery: nothing is ever sent for it again.
DONE = ("delivered", "skipped")


class Claim(StrEnum):
    CLAIMED = "claimed"
    DONE = "done"  # delivered (or skipped on purpose) before: do not send again
    BUSY = "busy"  # another attempt holds a live lease
    FENCED = "fenced"  # this region no longer drives the incident (regions/lease.py): never send


@dataclass(frozen=True)
class ClaimResult:
    outcome: Claim
    token: str = ""
    attempts: int = 0
    status: str = ""


class DeliveryLedger(Protocol):
    def claim(self, incident_id: str, update_id: str, channel: str) -> ClaimResult:
        """Take the delivery for one attempt (counting it), unless it is done or busy."""

    def finish(self, incident_id: str, update_id: str, channel: str, token: str, status: str) -> None:
        """The attempt holding ``token`` ended with ``status`` ("delivered" / "skipped")."""

    def release(self, incident_id: str, update_id: str, channel: str, token: str, error: str) -> None:
        """The attempt holding ``token`` failed: give the lease back, keep the error."""

    def attempts(self, incident_id: str, update_id: str, channel: str) -> int:
        """How many attempts claimed this delivery so far."""


def _key(incident_id: str, update_id: str, channel: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"INCIDENT#{incident_id}"}, "sk": {"S": f"SENT#{update_id}#{channel}"}}


class DynamoDeliveryLedger:
    """The ledger on the workflow table (DynamoDB conditional writes)."""

    def __init__(self, *, table_name: str, client: Any, clock: Any = time.time) -> None:
        self._table = table_name
        self._dynamodb = client
        self._clock = clock

    def claim(self, incident_id: str, update_id: str, channel: str) -> ClaimResult:
        token, now = uuid.uuid4().hex, int(self._clock())
        try:
            response = self._dynamodb.update_item(
                **self._claim_request(incident_id, update_id, channel, token, now), ReturnValues="ALL_NEW"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return self._refused(incident_id, update_id, channel)
        return ClaimResult(Claim.CLAIMED, token=token, attempts=int(response["Attributes"]["attempts"]["N"]))

    def _refused(self, incident_id: str, update_id: str, channel: str) -> ClaimResult:
        item = self._get(incident_id, update_id, channel)
        status = item.get("status", {}).get("S", "")
        attempts = int(item.get("attempts", {}).get("N", "0"))
        return ClaimResult(Claim.DONE if status in DONE else Claim.BUSY, attempts=attempts, status=status)

    def _claim_request(
        self, incident_id: str, update_id: str, channel: str, token: str, now: int
    ) -> dict[str, Any]:
        """The conditional update that claims a delivery (also a transaction's item: regions/fence.py)."""
        return dict(
            TableName=self._table,
            Key=_key(incident_id, update_id, channel),
            UpdateExpression="SET #token = :token, lease_until = :until, #status = :sending "
            "ADD attempts :one",
            ConditionExpression="attribute_not_exists(pk) OR "
            "(NOT #status IN (:delivered, :skipped) AND lease_until < :now)",
            ExpressionAttributeNames={"#token": "claim_token", "#status": "status"},
            ExpressionAttributeValues={
                ":token": {"S": token},
                ":until": {"N": str(now + LEASE_SECONDS)},
                ":sending": {"S": "sending"},
                ":one": {"N": "1"},
                ":delivered": {"S": "delivered"},
                ":skipped": {"S": "skipped"},
                ":now": {"N": str(now)},
            },
        )

    def finish(self, incident_id: str, update_id: str, channel: str, token: str, status: str) -> None:
        self._settle(incident_id, update_id, channel, token, status, "")

    def release(self, incident_id: str, update_id: str, channel: str, token: str, error: str) -> None:
        self._settle(incident_id, update_id, channel, token, "failed", error[:500])

    def attempts(self, incident_id: str, update_id: str, channel: str) -> int:
        return int(self._get(incident_id, update_id, channel).get("attempts", {}).get("N", "0"))

    def _settle(
        self, incident_id: str, update_id: str, channel: str, token: str, status: str, error: str
    ) -> None:
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=_key(incident_id, update_id, channel),
                UpdateExpression="SET #status = :status, lease_until = :zero, last_error = :error",
                ConditionExpression="#token = :token",  # only the attempt holding the lease settles it
                ExpressionAttributeNames={"#token": "claim_token", "#status": "status"},
                ExpressionAttributeValues={
                    ":status": {"S": status},
                    ":zero": {"N": "0"},
                    ":error": {"S": error},
                    ":token": {"S": token},
                },
            )
        except ClientError as error_:
            if error_.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def _get(self, incident_id: str, update_id: str, channel: str) -> dict[str, Any]:
        item = self._dynamodb.get_item(
            TableName=self._table, Key=_key(incident_id, update_id, channel), ConsistentRead=True
        ).get("Item")
        return dict(item or {})


@dataclass
class InMemoryDeliveryLedger:
    """The same rules in memory (unit tests, fakes)."""

    clock: Any = time.time
    items: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self, incident_id: str, update_id: str, channel: str) -> ClaimResult:
        now = self.clock()
        with self._lock:
            item = self.items.setdefault((incident_id, update_id, channel), {"attempts": 0, "lease": 0})
            if item.get("status") in DONE:
                return ClaimResult(Claim.DONE, attempts=item["attempts"], status=item["status"])
            if item["lease"] >= now:
                return ClaimResult(Claim.BUSY, attempts=item["attempts"], status=item.get("status", ""))
            token = uuid.uuid4().hex
            item.update(token=token, lease=now + LEASE_SECONDS, status="sending")
            item["attempts"] += 1
            return ClaimResult(Claim.CLAIMED, token=token, attempts=item["attempts"])

    def finish(self, incident_id: str, update_id: str, channel: str, token: str, status: str) -> None:
        self._settle((incident_id, update_id, channel), token, status)

    def release(self, incident_id: str, update_id: str, channel: str, token: str, error: str) -> None:
        self._settle((incident_id, update_id, channel), token, "failed")

    def attempts(self, incident_id: str, update_id: str, channel: str) -> int:
        return int(self.items.get((incident_id, update_id, channel), {}).get("attempts", 0))

    def _settle(self, key: tuple[str, str, str], token: str, status: str) -> None:
        with self._lock:
            item = self.items.get(key)
            if item is not None and item.get("token") == token:
                item.update(status=status, lease=0)
