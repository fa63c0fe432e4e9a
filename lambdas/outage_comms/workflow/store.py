"""What the workflow itself remembers, beside the incident: executions, updates, events.

One DynamoDB table (``pk``/``sk``, TTL on ``expires_at``), owned by the workflow stack:

=============================  ==================  ============================================
pk                             sk                  holds
=============================  ==================  ============================================
``INCIDENT#<id>``              ``OWNER``           the one execution that speaks for the incident
``INCIDENT#<id>``              ``COUNTER``         how many updates were rendered, and which region
                                                   drives the incident (``driven_by``, two regions)
``INCIDENT#<id>``              ``UPDATE#<uid>``    every rendered message, the guard's verdicts,
                                                   the approval decision, approvers, final text
``INCIDENT#<id>``              ``EVENT#<at>#<n>``  the workflow's own timeline (reminders, ...)
``INCIDENT#<id>``              ``CUSTOMER_UPDATE`` the latest update that reached a customer
                                                   (communication SLOs, ``outage_comms/slo.py``)
=============================  ==================  ============================================

**Which region may act** (two regions, issue 17): ``driven_by`` on the ``COUNTER`` item names the region
whose execution speaks for the incident; the failover function sets it when it moves the claim
(:meth:`WorkflowStore.move_claim`). A new update is numbered and stored only in that region (the number
in one conditional write, the record in a transaction with the same condition), so a stale execution
of the other region can neither render nor leave a half-made update behind; and a hand-back that finds
the counter moved (an update started meanwhile) does not happen. Absent (one region, or before any
move), every region may act, as before.

Approval requests (task tokens, who may approve) are *not* here: they live in their own table that
only the approval functions reach (``approval_store.py``).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from outage_comms.clock import now as clock_now


@dataclass(frozen=True)
class CustomerUpdate:
    """An update that reached customers: its number (``001-...`` is 1), id, severity and first delivery."""

    number: int
    update_id: str
    severity: str
    at: datetime


class NotDrivenHereError(Exception):
    """Another region drives the incident (``driven_by``): this execution must not act for it."""


def region_of(execution_arn: str) -> str:
    """``arn:aws:states:<region>:...`` -> the region ('' when not an ARN)."""
    parts = execution_arn.split(":")
    return parts[3] if len(parts) > 4 else ""


class WorkflowStore(Protocol):
    def claim(self, incident_id: str, execution_arn: str, is_running: Callable[[str], bool]) -> str:
        """Make ``execution_arn`` the owner unless a running execution already is; return the owner."""

    def release(self, incident_id: str, execution_arn: str) -> None:
        """The owner is done (incident closed)."""

    def move_claim(self, incident_id: str, execution_arn: str, *, expect_updates: int | None = None) -> bool:
        """Make ``execution_arn`` the owner and its region the one that drives the incident. With
        ``expect_updates``, only if no update was numbered since (a hand-back between updates); False
        when one was."""

    def claimed_by(self, incident_id: str) -> str | None:
        """The execution ARN that speaks for the incident (the claim), if any."""

    def update_count(self, incident_id: str) -> int:
        """How many update numbers were handed out (a render in progress has taken one)."""

    def driven_elsewhere(self, incident_id: str) -> str:
        """Why this region may not act for the incident ('' when it may)."""

    def next_update_number(self, incident_id: str) -> int:
        """The next update number; :class:`NotDrivenHereError` when another region drives the incident."""

    def put_new_update(self, incident_id: str, update_id: str, record: dict[str, Any]) -> None:
        """Store a just-rendered update, only while this region drives the incident (else
        :class:`NotDrivenHereError`, nothing stored)."""

    def put_update(self, incident_id: str, update_id: str, record: dict[str, Any]) -> None: ...

    def get_update(self, incident_id: str, update_id: str) -> dict[str, Any]: ...

    def merge_update(self, incident_id: str, update_id: str, changes: dict[str, Any]) -> None: ...

    def latest_update(self, incident_id: str) -> dict[str, Any] | None: ...

    def add_event(self, incident_id: str, kind: str, text: str, at: datetime | None = None) -> None: ...

    def events(self, incident_id: str) -> list[dict[str, Any]]: ...

    def advance_customer_update(
        self, incident_id: str, update: CustomerUpdate
    ) -> tuple[bool, CustomerUpdate | None]:
        """Record ``update`` as the latest to reach customers unless it (or a later one) already is.

        Atomic, so of a fan-out's parallel branches exactly one advances. Returns whether this call
        advanced, and the update that was the latest before (None for the incident's first).
        """

    def last_customer_update(self, incident_id: str) -> CustomerUpdate | None: ...


def _now() -> datetime:
    """When an event happened, as people read it (the plan clock in an embedded drill)."""
    return clock_now()


def _pk(incident_id: str) -> str:
    return f"INCIDENT#{incident_id}"


class DynamoWorkflowStore:
    """:class:`WorkflowStore` on the workflow table. JSON documents are stored as strings."""

    def __init__(self, *, table_name: str, client: Any, region: str | None = None) -> None:
        self._table = table_name
        self._client = client
        #: The region this store acts for (its client's): the one ``driven_by`` must name, if set.
        self.region = region if region is not None else str(getattr(client.meta, "region_name", "") or "")

    # -- executions ------------------------------------------------------------------------------
    def claim(self, incident_id: str, execution_arn: str, is_running: Callable[[str], bool]) -> str:
        key = {"pk": {"S": _pk(incident_id)}, "sk": {"S": "OWNER"}}
        for _ in range(3):
            item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
            owner: str | None = str(item["execution_arn"]["S"]) if item else None
            if owner == execution_arn:
                return owner
            if owner and item and item.get("state", {}).get("S") == "active" and is_running(owner):
                return owner
            condition = "attribute_not_exists(pk)" if owner is None else "execution_arn = :previous"
            values = {} if owner is None else {":previous": {"S": owner}}
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        **key,
                        "execution_arn": {"S": execution_arn},
                        "state": {"S": "active"},
                        "claimed_at": {"S": _now().isoformat()},
                    },
                    ConditionExpression=condition,
                    **({"ExpressionAttributeValues": values} if values else {}),
                )
                return execution_arn
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        raise RuntimeError(f"could not claim {incident_id}: ownership keeps changing")

    def release(self, incident_id: str, execution_arn: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": _pk(incident_id)}, "sk": {"S": "OWNER"}},
                UpdateExpression="SET #s = :closed",
                ConditionExpression="execution_arn = :me",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":closed": {"S": "closed"}, ":me": {"S": execution_arn}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # -- which region drives the incident (two regions) ------------------------------------------
    def _counter_key(self, incident_id: str) -> dict[str, Any]:
        return {"pk": {"S": _pk(incident_id)}, "sk": {"S": "COUNTER"}}

    def _driven_here(self) -> dict[str, Any]:
        """The condition "no region, or this one, drives the incident" on the ``COUNTER`` item."""
        return {
            "ConditionExpression": "attribute_not_exists(driven_by) OR driven_by = :here",
            "ExpressionAttributeValues": {":here": {"S": self.region}},
        }

    def move_claim(self, incident_id: str, execution_arn: str, *, expect_updates: int | None = None) -> bool:
        counter: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._counter_key(incident_id),
            "UpdateExpression": "SET driven_by = :region",
            "ExpressionAttributeValues": {":region": {"S": region_of(execution_arn)}},
        }
        if expect_updates is not None:  # no update numbered since the caller looked
            if expect_updates == 0:
                counter["ConditionExpression"] = "attribute_not_exists(updates)"
            else:
                counter["ConditionExpression"] = "updates = :n"
                counter["ExpressionAttributeValues"][":n"] = {"N": str(expect_updates)}
        owner = {
            "TableName": self._table,
            "Item": {
                "pk": {"S": _pk(incident_id)},
                "sk": {"S": "OWNER"},
                "execution_arn": {"S": execution_arn},
                "state": {"S": "active"},
                "claimed_at": {"S": _now().isoformat()},
            },
        }
        try:
            self._client.transact_write_items(TransactItems=[{"Update": counter}, {"Put": owner}])
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            return False
        return True

    def claimed_by(self, incident_id: str) -> str | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(incident_id)}, "sk": {"S": "OWNER"}},
            ConsistentRead=True,
        ).get("Item")
        return str(item["execution_arn"]["S"]) if item else None

    def update_count(self, incident_id: str) -> int:
        item = self._client.get_item(
            TableName=self._table, Key=self._counter_key(incident_id), ConsistentRead=True
        ).get("Item")
        return int(item["updates"]["N"]) if item and "updates" in item else 0

    def driven_elsewhere(self, incident_id: str) -> str:
        item = self._client.get_item(
            TableName=self._table, Key=self._counter_key(incident_id), ConsistentRead=True
        ).get("Item")
        region = (item or {}).get("driven_by", {}).get("S")
        if not region or region == self.region:
            return ""
        return f"{region} drives {incident_id}, not {self.region or 'this region'}"

    # -- updates ---------------------------------------------------------------------------------
    def next_update_number(self, incident_id: str) -> int:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._counter_key(incident_id),
                UpdateExpression="ADD updates :one",
                ReturnValues="UPDATED_NEW",
                **_merged(self._driven_here(), {":one": {"N": "1"}}),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise NotDrivenHereError(self.driven_elsewhere(incident_id) or incident_id) from None
        return int(response["Attributes"]["updates"]["N"])

    def put_new_update(self, incident_id: str, update_id: str, record: dict[str, Any]) -> None:
        check = {"TableName": self._table, "Key": self._counter_key(incident_id), **self._driven_here()}
        put = {
            "TableName": self._table,
            "Item": {
                "pk": {"S": _pk(incident_id)},
                "sk": {"S": f"UPDATE#{update_id}"},
                "document": {"S": json.dumps(record, ensure_ascii=False)},
            },
        }
        try:
            self._client.transact_write_items(TransactItems=[{"ConditionCheck": check}, {"Put": put}])
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            raise NotDrivenHereError(self.driven_elsewhere(incident_id) or incident_id) from None

    def put_update(self, incident_id: str, update_id: str, record: dict[str, Any]) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": _pk(incident_id)},
                "sk": {"S": f"UPDATE#{update_id}"},
                "document": {"S": json.dumps(record, ensure_ascii=False)},
            },
        )

    def get_update(self, incident_id: str, update_id: str) -> dict[str, Any]:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(incident_id)}, "sk": {"S": f"UPDATE#{update_id}"}},
            ConsistentRead=True,
        ).get("Item")
        if not item:
            raise KeyError(f"no update {update_id} for {incident_id}")
        document: dict[str, Any] = json.loads(item["document"]["S"])
        return document

    def merge_update(self, incident_id: str, update_id: str, changes: dict[str, Any]) -> None:
        # Updates are written by one execution at a time (the owner), so read-modify-write is safe.
        record = self.get_update(incident_id, update_id)
        record.update(changes)
        self.put_update(incident_id, update_id, record)

    def latest_update(self, incident_id: str) -> dict[str, Any] | None:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": _pk(incident_id)}, ":prefix": {"S": "UPDATE#"}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return json.loads(items[0]["document"]["S"]) if items else None

    # -- events ----------------------------------------------------------------------------------
    def add_event(self, incident_id: str, kind: str, text: str, at: datetime | None = None) -> None:
        moment = (at or _now()).isoformat()
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": _pk(incident_id)},
                "sk": {"S": f"EVENT#{moment}#{uuid.uuid4().hex[:8]}"},
                "at": {"S": moment},
                "kind": {"S": kind},
                "text": {"S": text},
            },
        )

    def events(self, incident_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": _pk(incident_id)}, ":prefix": {"S": "EVENT#"}},
        }
        while True:
            response = self._client.query(**kwargs)
            items += [
                {"at": i["at"]["S"], "kind": i["kind"]["S"], "text": i["text"]["S"]}
                for i in response["Items"]
            ]
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # -- customer updates (communication SLOs) ---------------------------------------------------
    def advance_customer_update(
        self, incident_id: str, update: CustomerUpdate
    ) -> tuple[bool, CustomerUpdate | None]:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": _pk(incident_id)}, "sk": {"S": "CUSTOMER_UPDATE"}},
                UpdateExpression="SET #number = :number, update_id = :uid, severity = :severity, #at = :at",
                ConditionExpression="attribute_not_exists(pk) OR #number < :number",
                ExpressionAttributeNames={"#number": "number", "#at": "at"},
                ExpressionAttributeValues={
                    ":number": {"N": str(update.number)},
                    ":uid": {"S": update.update_id},
                    ":severity": {"S": update.severity},
                    ":at": {"S": update.at.isoformat()},
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False, None
            raise
        return True, _customer_update(response.get("Attributes"))

    def last_customer_update(self, incident_id: str) -> CustomerUpdate | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(incident_id)}, "sk": {"S": "CUSTOMER_UPDATE"}},
            ConsistentRead=True,
        ).get("Item")
        return _customer_update(item)


def _merged(condition: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {**condition, "ExpressionAttributeValues": {**condition["ExpressionAttributeValues"], **values}}


def _customer_update(item: dict[str, Any] | None) -> CustomerUpdate | None:
    if not item or "number" not in item:
        return None
    return CustomerUpdate(
        number=int(item["number"]["N"]),
        update_id=item["update_id"]["S"],
        severity=item["severity"]["S"],
        at=datetime.fromisoformat(item["at"]["S"]),
    )


class InMemoryWorkflowStore:
    """:class:`WorkflowStore` in memory, for unit tests."""

    def __init__(self, region: str = "") -> None:
        self._lock = threading.Lock()
        self.region = region
        self.owners: dict[str, tuple[str, str]] = {}
        self.counters: dict[str, int] = {}
        #: incident -> the region that drives it (``driven_by``); shared by stores of several regions
        #: when they share this dict (:meth:`for_region`).
        self.driven_by: dict[str, str] = {}
        self.updates: dict[tuple[str, str], dict[str, Any]] = {}
        self.event_log: dict[str, list[dict[str, Any]]] = {}
        self.customer_updates: dict[str, CustomerUpdate] = {}

    def claim(self, incident_id: str, execution_arn: str, is_running: Callable[[str], bool]) -> str:
        with self._lock:
            owner = self.owners.get(incident_id)
            if owner and owner[0] != execution_arn and owner[1] == "active" and is_running(owner[0]):
                return owner[0]
            self.owners[incident_id] = (execution_arn, "active")
            return execution_arn

    def release(self, incident_id: str, execution_arn: str) -> None:
        with self._lock:
            if self.owners.get(incident_id, ("", ""))[0] == execution_arn:
                self.owners[incident_id] = (execution_arn, "closed")

    def for_region(self, region: str) -> InMemoryWorkflowStore:
        """The same data seen from ``region`` (as each region's replica of a global table)."""
        other = InMemoryWorkflowStore.__new__(InMemoryWorkflowStore)
        other.__dict__.update(self.__dict__)
        other.region = region
        return other

    def move_claim(self, incident_id: str, execution_arn: str, *, expect_updates: int | None = None) -> bool:
        with self._lock:
            if expect_updates is not None and self.counters.get(incident_id, 0) != expect_updates:
                return False
            self.driven_by[incident_id] = region_of(execution_arn)
            self.owners[incident_id] = (execution_arn, "active")
            return True

    def claimed_by(self, incident_id: str) -> str | None:
        owner = self.owners.get(incident_id)
        return owner[0] if owner else None

    def update_count(self, incident_id: str) -> int:
        return self.counters.get(incident_id, 0)

    def driven_elsewhere(self, incident_id: str) -> str:
        region = self.driven_by.get(incident_id)
        if not region or region == self.region:
            return ""
        return f"{region} drives {incident_id}, not {self.region or 'this region'}"

    def next_update_number(self, incident_id: str) -> int:
        with self._lock:
            if why := self.driven_elsewhere(incident_id):
                raise NotDrivenHereError(why)
            self.counters[incident_id] = self.counters.get(incident_id, 0) + 1
            return self.counters[incident_id]

    def put_new_update(self, incident_id: str, update_id: str, record: dict[str, Any]) -> None:
        with self._lock:
            if why := self.driven_elsewhere(incident_id):
                raise NotDrivenHereError(why)
            self.updates[(incident_id, update_id)] = json.loads(json.dumps(record))

    def put_update(self, incident_id: str, update_id: str, record: dict[str, Any]) -> None:
        self.updates[(incident_id, update_id)] = json.loads(json.dumps(record))

    def get_update(self, incident_id: str, update_id: str) -> dict[str, Any]:
        return json.loads(json.dumps(self.updates[(incident_id, update_id)]))  # type: ignore[no-any-return]

    def merge_update(self, incident_id: str, update_id: str, changes: dict[str, Any]) -> None:
        self.updates[(incident_id, update_id)].update(json.loads(json.dumps(changes)))

    def latest_update(self, incident_id: str) -> dict[str, Any] | None:
        ids = sorted(uid for iid, uid in self.updates if iid == incident_id)
        return self.get_update(incident_id, ids[-1]) if ids else None

    def add_event(self, incident_id: str, kind: str, text: str, at: datetime | None = None) -> None:
        self.event_log.setdefault(incident_id, []).append(
            {"at": (at or _now()).isoformat(), "kind": kind, "text": text}
        )

    def events(self, incident_id: str) -> list[dict[str, Any]]:
        return list(self.event_log.get(incident_id, []))

    def advance_customer_update(
        self, incident_id: str, update: CustomerUpdate
    ) -> tuple[bool, CustomerUpdate | None]:
        with self._lock:
            previous = self.customer_updates.get(incident_id)
            if previous is not None and previous.number >= update.number:
                return False, None
            self.customer_updates[incident_id] = update
            return True, previous

    def last_customer_update(self, incident_id: str) -> CustomerUpdate | None:
        return self.customer_updates.get(incident_id)
