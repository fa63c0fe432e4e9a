"""``DynamoIncidentRepository``: incidents and their timelines in the DynamoDB ``incidents`` table.

Implements :class:`outage_comms.ports.IncidentRepository`. Every write that changes an incident is
conditional, so two concurrent intakes never corrupt one (the loser gets
:class:`~outage_comms.ports.ConcurrentUpdateError`, re-reads and re-decides). The item layout (head,
component locks, references, indexes, body size) is described in :mod:`outage_comms.intake.store_items`;
the reads through the indexes are in :mod:`outage_comms.intake.store_queries`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from outage_comms.incident import Incident
from outage_comms.intake.store_items import (
    _HEAD_ATTRIBUTES,
    DRILL_LOCK_SK,
    HEAD_SK,
    LOCK_SK,
    MAINTENANCE_KEY,
    MAINTENANCE_LOCK_SK,
    MAX_BODY_BYTES,
    MAX_COMPONENTS_PER_INCIDENT,
    OPEN_INDEX,
    OPEN_PK,
    OPEN_SK,
    RECENT_BUCKET,
    RECENT_INDEX,
    RECENT_SORT,
    REFERENCE_SK,
    SeverityRank,
    _components_key,
    _head_update,
    _iso,
    _key,
    _n,
    _s,
    component_pk,
    decode_body,
    encode_body,
    incident_pk,
    incidents_table_schema,
    open_kind,
    reference_pk,
    year_of,
)
from outage_comms.intake.store_queries import IncidentTable
from outage_comms.ports import ConcurrentUpdateError, IncidentNotFoundError, TaskToken, token_region

#: With the layout's names other modules import from here (as before the split).
__all__ = [
    "HEAD_SK",
    "MAX_BODY_BYTES",
    "OPEN_INDEX",
    "OPEN_PK",
    "OPEN_SK",
    "RECENT_BUCKET",
    "RECENT_INDEX",
    "RECENT_SORT",
    "DynamoIncidentRepository",
    "decode_body",
    "encode_body",
    "incident_pk",
    "incidents_table_schema",
    "year_of",
]


#: The head item's waiting task token and the region whose execution issued it (absent: this region).
TOKEN, TOKEN_REGION = "update_token", "update_token_region"


def _taken(old: Mapping[str, Any]) -> TaskToken | None:
    """The token a take removed, with its region (None for a record from before regions were stored)."""
    token = old.get(TOKEN, {}).get("S")
    if token is None:
        return None
    return TaskToken(str(token), old.get(TOKEN_REGION, {}).get("S"))


class DynamoIncidentRepository(IncidentTable):
    """The incidents table, through the low-level DynamoDB client.

    ``severity_rank`` (plan severity id -> rank, higher is worse) lets :meth:`open_by_component`
    pick, for a component shared by several open incidents, the one the coalescing rule prefers
    (most severe, then oldest); without it the oldest wins.
    """

    def __init__(
        self,
        table_name: str,
        *,
        dynamodb: Any | None = None,
        severity_rank: SeverityRank | None = None,
    ) -> None:
        if not table_name:
            raise ValueError("no incidents table: pass its name (each function's settings carry it)")
        super().__init__(table_name, dynamodb=dynamodb)
        self._severity_rank = severity_rank

    # -- reads through the component locks and references (strongly consistent) ----------------

    def open_by_component(self, component_ids: Iterable[str], *, drill: bool = False) -> dict[str, Incident]:
        """Open incidents by component: real ones, or (``drill``) drills only — each has its own lock."""
        components = list(dict.fromkeys(component_ids))
        if not components:
            return {}
        lock_sk = DRILL_LOCK_SK if drill else LOCK_SK
        keys = [_key(component_pk(c), lock_sk) for c in components]
        if not drill:
            keys += [_key(component_pk(c), MAINTENANCE_LOCK_SK) for c in components]
        locks = self._batch_get(keys)
        ids_by_component = {
            item["pk"]["S"].removeprefix("COMPONENT#"): item.get("incident_ids", {}).get("SS", [])
            for item in locks
            if item["sk"]["S"] == lock_sk
        }
        windows = {
            i
            for item in locks
            if item["sk"]["S"] == MAINTENANCE_LOCK_SK
            for i in item.get("incident_ids", {}).get("SS", [])
        }
        wanted = sorted({i for ids in ids_by_component.values() for i in ids} | windows)
        incidents = {
            incident.id: incident
            for incident in (
                decode_body(item["body"]["B"])
                for item in self._batch_get([_key(incident_pk(i), HEAD_SK) for i in wanted])
            )
            if incident.is_open and incident.drill == drill
        }
        found: dict[str, Incident] = {}
        for component, ids in ids_by_component.items():
            candidates = [incidents[i] for i in ids if i in incidents]
            if candidates:
                found[component] = min(candidates, key=self._preference)
        for window in sorted(windows & incidents.keys()):
            found[MAINTENANCE_KEY + window] = incidents[window]
        return found

    def _preference(self, incident: Incident) -> tuple[int, datetime, str]:
        rank = self._severity_rank(incident.severity) if self._severity_rank else 0
        return (-rank, incident.started_at, incident.id)

    def find_by_reference(self, reference: str, *, drill: bool = False) -> Incident | None:
        item = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=_key(reference_pk(reference, drill=drill), REFERENCE_SK),
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        try:
            incident = self.get(item["incident_id"]["S"])
        except IncidentNotFoundError:
            return None
        return incident if incident.is_open and incident.drill == drill else None

    # -- writes --------------------------------------------------------------------------------

    def save(self, incident: Incident, previous_version: int | None) -> None:
        if len(incident.components) > MAX_COMPONENTS_PER_INCIDENT:
            raise ValueError(
                f"incident {incident.id} has {len(incident.components)} components; one transaction "
                f"holds at most {MAX_COMPONENTS_PER_INCIDENT}"
            )
        values = self._head_values(incident)
        if previous_version is None:
            self._transact(incident, self._create_head(incident, values), opening=True)
            return
        if incident.is_open and self._replace_in_place(incident, values, previous_version):
            return
        head = {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(incident_pk(incident.id), HEAD_SK),
                "UpdateExpression": _head_update(values),
                "ConditionExpression": "version = :previous",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {**values, ":previous": _n(previous_version)},
            }
        }
        self._transact(incident, head, opening=False)

    def replace_head(self, incident: Incident, previous_version: int) -> None:
        """Replace the head item only: one ``UpdateItem`` conditioned on the version and the same
        components, for a change that touches no lock or reference (a resolved incident's postmortem)."""
        if not self._update_head(incident, self._head_values(incident), previous_version):
            raise ConcurrentUpdateError(
                f"incident {incident.id} is no longer at version {previous_version} with the same "
                "components; re-read and decide again"
            )

    def _update_head(self, incident: Incident, values: dict[str, Any], previous_version: int) -> bool:
        """One conditional UpdateItem of the head; False when the version or the components differ."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=_key(incident_pk(incident.id), HEAD_SK),
                UpdateExpression=_head_update(values),
                ConditionExpression="version = :previous AND components_key = :components_key",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={**values, ":previous": _n(previous_version)},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def _head_values(self, incident: Incident) -> dict[str, Any]:
        values = {
            ":id": _s(incident.id),
            ":status": _s(incident.status),
            ":severity": _s(incident.severity),
            ":scenario": _s(incident.scenario.value),
            ":components": {"SS": list(incident.components)},
            ":components_key": _s(_components_key(incident.components)),
            ":started": _s(_iso(incident.started_at)),
            ":updated": _s(_iso(incident.updated_at)),
            ":year": _s(year_of(incident.updated_at)),
            ":version": _n(incident.version),
            ":body": {"B": encode_body(incident)},
        }
        kind = open_kind(incident)
        if kind is not None:
            values[":open_kind"] = _s(kind)
            values[":open_since"] = _s(_iso(incident.started_at))
        return values

    def _create_head(self, incident: Incident, values: dict[str, Any]) -> dict[str, Any]:
        item = {
            **_key(incident_pk(incident.id), HEAD_SK),
            **{_HEAD_ATTRIBUTES[k]: v for k, v in values.items()},
        }
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _replace_in_place(self, incident: Incident, values: dict[str, Any], previous_version: int) -> bool:
        """The common case (a signal attached, a status changed): same components, still open, so the
        locks need no change and one conditional UpdateItem suffices. False when components changed."""
        if not self._update_head(incident, values, previous_version):
            stored = self.dynamodb.get_item(
                TableName=self.table_name,
                Key=_key(incident_pk(incident.id), HEAD_SK),
                ConsistentRead=True,
                ProjectionExpression="version",
            ).get("Item")
            if stored is None or int(stored["version"]["N"]) != previous_version:
                raise ConcurrentUpdateError(
                    f"incident {incident.id} is no longer at version {previous_version}; "
                    "re-read and decide again"
                )
            return False  # same version, new components: the locks must change with it
        for action in self._reference_actions(incident, new_only=True):
            self.dynamodb.put_item(**action["Put"])
        return True

    def _transact(self, incident: Incident, head: dict[str, Any], *, opening: bool) -> None:
        actions = [head, *self._lock_actions(incident, opening=opening)]
        actions.extend(self._reference_actions(incident, new_only=False))
        try:
            self.dynamodb.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons:
                raise ConcurrentUpdateError(
                    f"incident {incident.id} or the open-incident lock of one of {list(incident.components)} "
                    "changed; re-read and decide again"
                ) from exc
            if "TransactionConflict" in reasons:
                raise ConcurrentUpdateError(
                    f"another transaction touched incident {incident.id} at the same moment; retry"
                ) from exc
            raise

    def _lock_actions(self, incident: Incident, *, opening: bool) -> list[dict[str, Any]]:
        ids = {"SS": [incident.id]}
        actions: list[dict[str, Any]] = []
        lock_sk = DRILL_LOCK_SK if incident.drill else LOCK_SK
        window = incident.maintenance_phase is not None
        if window:
            lock_sk = MAINTENANCE_LOCK_SK
        for component in incident.components:
            update: dict[str, Any] = {
                "TableName": self.table_name,
                "Key": _key(component_pk(component), lock_sk),
                "ExpressionAttributeValues": {":ids": ids},
            }
            if not incident.is_open:
                update["UpdateExpression"] = "DELETE incident_ids :ids"
            elif opening and not window:  # windows may overlap: only real incidents take the lock
                update["UpdateExpression"] = "ADD incident_ids :ids"
                update["ConditionExpression"] = "attribute_not_exists(incident_ids)"
            else:
                update["UpdateExpression"] = "ADD incident_ids :ids"
            actions.append({"Update": update})
        return actions

    def _reference_actions(self, incident: Incident, *, new_only: bool) -> list[dict[str, Any]]:
        """Puts for the incident's source and its newest entry's source. ``new_only``: skip a reference
        an earlier entry already carried (each save indexed its own newest entry). A maintenance window
        indexes none: the alarms it records as expected stay free to open incidents after it."""
        if incident.maintenance_phase is not None:
            return []
        sources = [incident.source, *([incident.timeline[-1].source] if incident.timeline else [])]
        references = dict.fromkeys(s.reference for s in sources if s.type != "human")
        if new_only:
            seen = {incident.source.reference} | {e.source.reference for e in incident.timeline[:-1]}
            references = {r: None for r in references if r not in seen}
        return [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": {
                        **_key(reference_pk(reference, drill=incident.drill), REFERENCE_SK),
                        "incident_id": _s(incident.id),
                        "updated_at": _s(_iso(incident.updated_at)),
                    },
                }
            }
            for reference in references
        ]

    @property
    def region(self) -> str | None:
        """The region this store's client writes to: the region of the step that stores a task token."""
        return getattr(getattr(self.dynamodb, "meta", None), "region_name", None) or None

    def set_update_token(self, incident_id: str, token: str | None, region: str | None = None) -> None:
        """Store the waiting task token with the region that issued it (``region``, else this store's
        client's: ``Wait for next update`` runs in its state machine's region). ``None`` clears both."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _key(incident_pk(incident_id), HEAD_SK),
            "ConditionExpression": "attribute_exists(pk)",
        }
        issued_in = region or token_region(token or "") or self.region
        if token is None:
            kwargs["UpdateExpression"] = f"REMOVE {TOKEN}, {TOKEN_REGION}"
        elif issued_in:
            kwargs["UpdateExpression"] = f"SET {TOKEN} = :token, {TOKEN_REGION} = :region"
            kwargs["ExpressionAttributeValues"] = {":token": _s(token), ":region": _s(issued_in)}
        else:
            kwargs["UpdateExpression"] = f"SET {TOKEN} = :token REMOVE {TOKEN_REGION}"
            kwargs["ExpressionAttributeValues"] = {":token": _s(token)}
        try:
            self.dynamodb.update_item(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise IncidentNotFoundError(incident_id) from exc
            raise

    def take_update_token(self, incident_id: str) -> TaskToken | None:
        try:
            old = self.dynamodb.update_item(
                TableName=self.table_name,
                Key=_key(incident_pk(incident_id), HEAD_SK),
                UpdateExpression=f"REMOVE {TOKEN}, {TOKEN_REGION}",
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            ).get("Attributes", {})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise IncidentNotFoundError(incident_id) from exc
            raise
        return _taken(old)

    def take_update_token_for_version(self, incident_id: str, version: int) -> TaskToken | None:
        """Like :meth:`take_update_token`, but at most once per incident ``version``.

        Records ``handed_version`` on the head item in the same write, so a repeated hand-off of the
        same version (SQS delivers at least once) finds nothing to take.
        """
        try:
            old = self.dynamodb.update_item(
                TableName=self.table_name,
                Key=_key(incident_pk(incident_id), HEAD_SK),
                UpdateExpression=f"REMOVE {TOKEN}, {TOKEN_REGION} SET handed_version = :version",
                ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(handed_version) OR handed_version < :version)",
                ExpressionAttributeValues={":version": _n(version)},
                ReturnValues="ALL_OLD",
            ).get("Attributes", {})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _taken(old)

    def record_delivery(
        self, incident_id: str, update_id: str, channel: str, result: Mapping[str, Any]
    ) -> None:
        self.dynamodb.put_item(
            TableName=self.table_name,
            Item={
                **_key(incident_pk(incident_id), f"DELIVERY#{update_id}#{channel}"),
                "incident_id": _s(incident_id),
                "update_id": _s(update_id),
                "channel": _s(channel),
                "result": _s(json.dumps(dict(result), default=str, sort_keys=True)),
                "recorded_at": _s(datetime.now(UTC).isoformat()),
            },
        )
