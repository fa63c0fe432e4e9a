"""The incidents table's plain reads: one incident by id, and the two indexes (``recent-by-year``,
``open-by-component``) that let the status site and the SLO watchdog read without a scan.

:class:`IncidentTable` is the base of :class:`outage_comms.intake.store.DynamoIncidentRepository`, which
adds the component locks, the references and every write. Item layout: :mod:`outage_comms.intake.store_items`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from outage_comms import clock
from outage_comms.aws_clients import client
from outage_comms.incident import Incident
from outage_comms.intake.store_items import (
    _BATCH_GET_LIMIT,
    DEFAULT_HISTORY_YEARS,
    HEAD_SK,
    OPEN_DRILL,
    OPEN_INCIDENT,
    OPEN_INDEX,
    OPEN_MAINTENANCE,
    OPEN_PK,
    RECENT_BUCKET,
    RECENT_INDEX,
    RECENT_SORT,
    _iso,
    _key,
    _s,
    decode_body,
    incident_pk,
    years_between,
)
from outage_comms.ports import IncidentNotFoundError


def _latest_now() -> datetime:
    """The later of real UTC and a drill's plan clock (which may run ahead), plus a month of margin:
    :meth:`DynamoIncidentRepository.list_recent` reads up to its year."""
    return max(datetime.now(UTC), clock.now()) + timedelta(days=31)


class IncidentTable:
    """The incidents table through the low-level DynamoDB client (created on first use)."""

    def __init__(self, table_name: str, *, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._dynamodb = dynamodb

    @property
    def dynamodb(self) -> Any:
        if self._dynamodb is None:
            self._dynamodb = client("dynamodb")
        return self._dynamodb

    def get(self, incident_id: str) -> Incident:
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key=_key(incident_pk(incident_id), HEAD_SK), ConsistentRead=True
        ).get("Item")
        if item is None:
            raise IncidentNotFoundError(incident_id)
        return decode_body(item["body"]["B"])

    def list_recent(
        self, since: datetime | int | None = None, *, limit: int | None = None, until: datetime | None = None
    ) -> list[Incident]:
        """Incidents changed since ``since`` (their ``updated_at``), newest first; at most ``limit``.

        Queries ``recent-by-year`` for each year from ``since`` to now (one or two requests for the
        status site's window), then one consistent ``BatchGetItem`` per 100 heads: its cost is the
        incidents in the window, never the table's history. With no ``since`` it walks back year by
        year (at most :data:`DEFAULT_HISTORY_YEARS`) until ``limit`` (default 100) are found — the
        former ``list_recent(limit)``; an ``int`` first argument is read as that ``limit``. An
        incident still open but unchanged since ``since`` is not here: add :meth:`list_open`.
        """
        if isinstance(since, int):
            since, limit = None, since
        if since is None and limit is None:
            limit = 100
        upper = until or _latest_now()
        floor = since or upper.replace(year=upper.year - DEFAULT_HISTORY_YEARS, month=1, day=1)
        bound = _iso(floor) if since is not None else None
        keys: list[tuple[str, str]] = []
        for year in years_between(floor, upper):
            remaining = None if limit is None else limit - len(keys)
            if remaining is not None and remaining <= 0:
                break
            keys.extend(self._recent_keys(year, bound, remaining))
        heads = {
            item["pk"]["S"]: item
            for item in self._batch_get(
                [_key(pk, HEAD_SK) for pk, _ in keys], projection="pk, updated_at, body"
            )
        }
        found = [(heads[pk]["updated_at"]["S"], pk) for pk, _ in keys if pk in heads]
        found.sort(reverse=True)
        return [decode_body(heads[pk]["body"]["B"]) for _, pk in found]

    def _recent_keys(self, year: str, since: str | None, limit: int | None) -> list[tuple[str, str]]:
        condition = f"{RECENT_BUCKET} = :year"
        values = {":year": _s(year)}
        if since is not None:
            condition += f" AND {RECENT_SORT} >= :since"
            values[":since"] = _s(since)
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": RECENT_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        found: list[tuple[str, str]] = []
        while True:
            if limit is not None:
                request["Limit"] = limit - len(found)
            page = self.dynamodb.query(**request)
            found.extend((item["pk"]["S"], item[RECENT_SORT]["S"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page or (limit is not None and len(found) >= limit):
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list_open(self, *, drill: bool = False) -> list[Incident]:
        """Every open incident — real ones and maintenance windows, or (``drill``) drills only —
        oldest first, however long ago they started: one Query per kind on the sparse open index."""
        kinds = (OPEN_DRILL,) if drill else (OPEN_INCIDENT, OPEN_MAINTENANCE)
        found = [incident for kind in kinds for incident in self._open_of(kind)]
        return sorted(found, key=lambda i: (i.started_at, i.id))

    def list_needing_slo_check(self) -> list[Incident]:
        """Open real incidents (not drills, not maintenance windows): what the SLO watchdog checks."""
        return self._open_of(OPEN_INCIDENT)

    def _open_of(self, kind: str) -> list[Incident]:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": OPEN_INDEX,
            "KeyConditionExpression": f"{OPEN_PK} = :kind",
            "ExpressionAttributeValues": {":kind": _s(kind)},
            "ProjectionExpression": "body",
        }
        incidents: list[Incident] = []
        while True:
            page = self.dynamodb.query(**request)
            incidents.extend(decode_body(item["body"]["B"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return [i for i in incidents if i.is_open]
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch_get(
        self, keys: list[dict[str, dict[str, str]]], *, projection: str | None = None
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            request: dict[str, Any] = {"Keys": keys[start : start + _BATCH_GET_LIMIT], "ConsistentRead": True}
            if projection:
                request["ProjectionExpression"] = projection
            pending: dict[str, Any] = {self.table_name: request}
            for attempt in range(8):
                response = self.dynamodb.batch_get_item(RequestItems=pending)
                items.extend(response.get("Responses", {}).get(self.table_name, []))
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise RuntimeError(f"DynamoDB left keys unprocessed after 8 attempts: {pending}")
        return items
