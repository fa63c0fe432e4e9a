"""``DynamoIncidentRepository``: incidents and their timelines in the DynamoDB ``incidents`` table.

Implements :class:`outage_comms.ports.IncidentRepository`. Every write that changes an incident is
conditional, so two concurrent intakes never corrupt one (the loser gets
:class:`~outage_comms.ports.ConcurrentUpdateError`, re-reads and re-decides).

Item layout (table keys ``pk`` / ``sk``, both strings)::

    pk                          sk                    what
    INCIDENT#<incident id>      INCIDENT              the incident ("head" item)
    INCIDENT#<incident id>      DELIVERY#<update>#<channel>   one channel's delivery result of one update
    COMPONENT#<component id>    OPEN                  which incidents are open on a component (the lock)
    COMPONENT#<component id>    DRILL                 the same, for drills (a drill never blocks a real one)
    REFERENCE#<source ref>      REFERENCE             the latest incident a source reference fed
    REFERENCE#drill:<ref>       REFERENCE             the same, for drills

* **Head item**: ``body`` (Binary) is the whole :class:`~outage_comms.incident.Incident` as JSON,
  zlib-compressed (an alarm storm's timeline is repetitive and compresses ~10x); ``version`` (N)
  is the optimistic-locking counter the conditions test; ``components_key`` (the sorted component
  ids joined by commas) lets a replace check in one condition that the components did not change;
  ``incident_id``, ``status``, ``severity``, ``scenario``, ``components`` (SS), ``started_at``,
  ``updated_at`` are plain copies for people reading the table in the console. ``update_token``
  (S) holds the Step Functions task token of the execution waiting for the next update; replacing
  an incident never touches it.
* **Component lock**: ``incident_ids`` (SS), the open incidents touching the component. Opening
  an incident adds itself to the lock of each of its components *on condition that the set does
  not exist* — so of two intakes racing to open an incident for the same component, exactly one
  wins, in the same transaction as the head item. Adding a component to an existing incident adds
  to the set unconditionally (the coalescing rule lets two open incidents share a component).
  Resolving removes the incident from each of its components' sets (DynamoDB drops an empty set).
  Reads use strongly consistent ``BatchGetItem``: a global secondary index (such as the core
  table's ``open-by-component``) is eventually consistent and a single item cannot be indexed
  under several components, so it cannot serve as the lock.
* **Maintenance windows** list themselves under ``COMPONENT#<id>`` / ``MAINTENANCE`` instead
  (added unconditionally: windows may overlap each other and real incidents, and never block one);
  :meth:`open_by_component` returns the open ones under ``maintenance:<incident id>``. A window
  writes no reference items, so alarms it records as expected stay free to open incidents later.
* **Writes**: opening, resolving or adding a component is one ``TransactWriteItems`` (head + locks
  + references). Everything else — a signal attached, a status or severity change on the same
  components, the bulk of an alarm storm — is one ``UpdateItem`` conditioned on
  ``version = :previous AND components_key = :same``, plus a ``PutItem`` of a reference seen for
  the first time.
* **Indexes** (no read scans the table; ``docs/store-indexes.md`` has the design and migration):

  - ``recent-by-year`` (keys only): every head item carries ``updated_year`` (``YYYY`` of
    ``updated_at``, UTC) and ``updated_at``. :meth:`list_recent` queries the years from ``since``
    to now (``updated_at >= since``: only the window's items are read), newest first, and reads
    the heads with one consistent ``BatchGetItem``: its cost is the incidents changed in that
    window, not the table's history.
  - ``open-by-component`` (all attributes; the name predates its use, and renaming a GSI is a
    delete and a create, which CloudFormation cannot do in one table update): sparse. While an
    incident is open its head carries ``gsi1pk = OPEN#<kind>`` (``INCIDENT`` — a real incident,
    held to the update SLOs —, ``MAINTENANCE`` or ``DRILL``) and ``gsi1sk = started_at``; the
    write that resolves it removes both. :meth:`list_open` and :meth:`list_needing_slo_check`
    query it, so they cost the open incidents only. The per-component lock items above stay the
    source of truth for intake (strongly consistent); the index is eventually consistent, which
    the status site and the 5-minute SLO watchdog tolerate.
* **Reference item**: ``incident_id``, written in the same transaction for the incident's own
  source and the newest timeline entry's source (never for humans: a principal is not an
  incident's identity). :meth:`find_by_reference` follows it and answers only if that incident is
  still open.

Size: DynamoDB items hold at most 400 KB. The domain already caps stored signals
(``MAX_TIMELINE_ENTRIES``); if the compressed body still exceeds :data:`MAX_BODY_BYTES` (e.g.
2,000-character alarm reasons that do not compress), the text of the oldest plain signal entries
is shortened, lifecycle entries are never touched, and a warning is logged.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from outage_comms.aws_clients import client
from outage_comms.incident import Incident, TimelineEntry
from outage_comms.ports import ConcurrentUpdateError, IncidentNotFoundError

logger = logging.getLogger(__name__)

INCIDENTS_TABLE_ENV = "INCIDENTS_TABLE_NAME"
HEAD_SK = "INCIDENT"
LOCK_SK = "OPEN"
#: Drills lock components apart from real incidents: a drill never blocks (or joins) a real incident.
DRILL_LOCK_SK = "DRILL"
#: Maintenance windows list themselves apart too: a window never blocks (or joins) a real incident.
MAINTENANCE_LOCK_SK = "MAINTENANCE"
#: :meth:`DynamoIncidentRepository.open_by_component` returns open windows under this prefix + their id.
MAINTENANCE_KEY = "maintenance:"
REFERENCE_SK = "REFERENCE"
#: Leaves room under DynamoDB's 400 KB item limit for keys and the plain attributes — also on the
#: embedded AWS (moto), which counts a binary attribute by its base64 length (4/3 of its bytes).
MAX_BODY_BYTES = 280_000
#: TransactWriteItems accepts 100 actions: the head item, at most two references, the locks.
MAX_COMPONENTS_PER_INCIDENT = 97
_CLIPPED_TEXT = 200
#: A note stored before notes were capped at the door is clipped to this when nothing else fits.
_CLIPPED_NOTE = 2000
_BATCH_GET_LIMIT = 100

#: Keys-only GSI: heads by the year (``YYYY``, UTC) of their last change, newest first. A year, not a
#: month: a Query reads only the items its ``updated_at`` condition selects either way, and a walk back
#: through a quiet history (``list_recent(limit)``) costs one request per year instead of per month.
RECENT_INDEX = "recent-by-year"
RECENT_BUCKET = "updated_year"
RECENT_SORT = "updated_at"
#: Sparse GSI of open heads: ``gsi1pk = OPEN#<kind>`` / ``gsi1sk = started_at`` while open only.
OPEN_INDEX = "open-by-component"
OPEN_PK = "gsi1pk"
OPEN_SK = "gsi1sk"
#: A real incident: the only kind held to the update SLOs (:meth:`list_needing_slo_check`).
OPEN_INCIDENT = "OPEN#INCIDENT"
OPEN_MAINTENANCE = "OPEN#MAINTENANCE"
OPEN_DRILL = "OPEN#DRILL"
#: How far back :meth:`DynamoIncidentRepository.list_recent` looks when given no ``since``.
DEFAULT_HISTORY_YEARS = 10

SeverityRank = Callable[[str], int]
_HEAD_SET = (
    "SET incident_id = :id, #status = :status, severity = :severity, scenario = :scenario, "
    "components = :components, components_key = :components_key, started_at = :started, "
    "updated_at = :updated, updated_year = :year, version = :version, body = :body"
)
_HEAD_ATTRIBUTES = {
    ":id": "incident_id",
    ":status": "status",
    ":severity": "severity",
    ":scenario": "scenario",
    ":components": "components",
    ":components_key": "components_key",
    ":started": "started_at",
    ":updated": "updated_at",
    ":year": RECENT_BUCKET,
    ":version": "version",
    ":body": "body",
    ":open_kind": OPEN_PK,
    ":open_since": OPEN_SK,
}


def _head_update(values: Mapping[str, Any]) -> str:
    """The head's UpdateExpression: index keys set while open, removed once resolved."""
    if ":open_kind" in values:
        return f"{_HEAD_SET}, {OPEN_PK} = :open_kind, {OPEN_SK} = :open_since"
    return f"{_HEAD_SET} REMOVE {OPEN_PK}, {OPEN_SK}"


def open_kind(incident: Incident) -> str | None:
    """The open index partition an incident belongs to, or None once it is resolved."""
    if not incident.is_open:
        return None
    if incident.drill:
        return OPEN_DRILL
    return OPEN_MAINTENANCE if incident.maintenance_phase is not None else OPEN_INCIDENT


def year_of(moment: datetime) -> str:
    """``YYYY`` of a moment in UTC: the ``recent-by-year`` partition."""
    return _iso(moment)[:4]


def years_between(first: datetime, last: datetime) -> list[str]:
    """Every ``YYYY`` from ``last``'s year back to ``first``'s, newest first."""
    start, end = first.astimezone(UTC).year, last.astimezone(UTC).year
    return [f"{year:04d}" for year in range(end, start - 1, -1)]


def incidents_table_schema(table_name: str) -> dict[str, Any]:
    """``CreateTable`` arguments for the incidents table as the core stack defines it (keys, both
    indexes): for tests, the bench and local harnesses. ``tests/infrastructure/test_data_store_indexes.py``
    checks it against the synthesized table."""
    attributes = ("pk", "sk", OPEN_PK, OPEN_SK, RECENT_BUCKET, RECENT_SORT)

    def keys(partition: str, sort: str) -> list[dict[str, str]]:
        return [{"AttributeName": partition, "KeyType": "HASH"}, {"AttributeName": sort, "KeyType": "RANGE"}]

    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": keys("pk", "sk"),
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": OPEN_INDEX,
                "KeySchema": keys(OPEN_PK, OPEN_SK),
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": RECENT_INDEX,
                "KeySchema": keys(RECENT_BUCKET, RECENT_SORT),
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    }


def _components_key(components: Iterable[str]) -> str:
    return ",".join(sorted(components))


def incident_pk(incident_id: str) -> str:
    return f"INCIDENT#{incident_id}"


def component_pk(component_id: str) -> str:
    return f"COMPONENT#{component_id}"


def reference_pk(reference: str, *, drill: bool = False) -> str:
    return f"REFERENCE#drill:{reference}" if drill else f"REFERENCE#{reference}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": _s(pk), "sk": _s(sk)}


def _iso(moment: datetime) -> str:
    """UTC ISO 8601, so stored times sort as text."""
    return moment.astimezone(UTC).isoformat() if moment.tzinfo else moment.replace(tzinfo=UTC).isoformat()


def encode_body(incident: Incident) -> bytes:
    """The compressed JSON body, shortened if needed to fit an item (see the module docstring).

    Shortening never refuses a write: resolving must stay possible whatever was posted before.
    In order, until it fits: the oldest plain signal texts are clipped; the oldest timeline
    entries' copies of notes are dropped (the current note stays on the incident); the current
    note is clipped per locale.
    """
    body = zlib.compress(incident.model_dump_json().encode("utf-8"), 6)
    if len(body) <= MAX_BODY_BYTES:
        return body
    clipped = list(incident.timeline)
    for index, entry in enumerate(clipped):
        if entry.kind in ("signal", "recorded") and len(entry.text) > _CLIPPED_TEXT:
            clipped[index] = entry.model_copy(update={"text": entry.text[: _CLIPPED_TEXT - 1] + "…"})
            if index % 20 == 19:
                body = _compress_with(incident, clipped)
                if len(body) <= MAX_BODY_BYTES:
                    break
    body = _compress_with(incident, clipped)
    for index, entry in enumerate(clipped[:-1]):
        if len(body) <= MAX_BODY_BYTES:
            break
        if entry.public_note:
            clipped[index] = entry.model_copy(update={"public_note": {}})
            body = _compress_with(incident, clipped)
    if len(body) > MAX_BODY_BYTES:
        incident = incident.model_copy(
            update={"public_note": {k: _clip_note(v) for k, v in incident.public_note.items()}}
        )
        clipped = [
            e.model_copy(update={"public_note": {k: _clip_note(v) for k, v in e.public_note.items()}})
            for e in clipped
        ]
        body = _compress_with(incident, clipped)
    logger.warning(
        "incident %s body shortened to %d compressed bytes: oldest signal texts and note copies trimmed",
        incident.id,
        len(body),
    )
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(
            f"incident {incident.id} does not fit one DynamoDB item even with signal texts clipped "
            f"({len(body)} compressed bytes); lower MAX_TIMELINE_ENTRIES"
        )
    return body


def _clip_note(text: str) -> str:
    return text if len(text) <= _CLIPPED_NOTE else text[: _CLIPPED_NOTE - 1] + "…"


def _compress_with(incident: Incident, timeline: Sequence[TimelineEntry]) -> bytes:
    shortened = incident.model_copy(update={"timeline": tuple(timeline)})
    return zlib.compress(shortened.model_dump_json().encode("utf-8"), 6)


def decode_body(body: bytes) -> Incident:
    return Incident.model_validate_json(zlib.decompress(body))


def _latest_now() -> datetime:
    """The later of real UTC and a drill's plan clock (which may run ahead), plus a month of margin:
    :meth:`DynamoIncidentRepository.list_recent` reads up to its year."""
    from outage_comms import clock

    return max(datetime.now(UTC), clock.now()) + timedelta(days=31)


class DynamoIncidentRepository:
    """The incidents table, through the low-level DynamoDB client.

    ``severity_rank`` (plan severity id -> rank, higher is worse) lets :meth:`open_by_component`
    pick, for a component shared by several open incidents, the one the coalescing rule prefers
    (most severe, then oldest); without it the oldest wins.
    """

    def __init__(
        self,
        table_name: str | None = None,
        *,
        dynamodb: Any | None = None,
        severity_rank: SeverityRank | None = None,
    ) -> None:
        name = table_name or os.environ.get(INCIDENTS_TABLE_ENV)
        if not name:
            raise ValueError(f"no incidents table: pass table_name or set {INCIDENTS_TABLE_ENV}")
        self.table_name = name
        self._dynamodb = dynamodb
        self._severity_rank = severity_rank

    @property
    def dynamodb(self) -> Any:
        if self._dynamodb is None:
            self._dynamodb = client("dynamodb")
        return self._dynamodb

    # -- reads ---------------------------------------------------------------------------------

    def get(self, incident_id: str) -> Incident:
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key=_key(incident_pk(incident_id), HEAD_SK), ConsistentRead=True
        ).get("Item")
        if item is None:
            raise IncidentNotFoundError(incident_id)
        return decode_body(item["body"]["B"])

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

    def set_update_token(self, incident_id: str, token: str | None) -> None:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _key(incident_pk(incident_id), HEAD_SK),
            "ConditionExpression": "attribute_exists(pk)",
        }
        if token is None:
            kwargs["UpdateExpression"] = "REMOVE update_token"
        else:
            kwargs["UpdateExpression"] = "SET update_token = :token"
            kwargs["ExpressionAttributeValues"] = {":token": _s(token)}
        try:
            self.dynamodb.update_item(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise IncidentNotFoundError(incident_id) from exc
            raise

    def take_update_token(self, incident_id: str) -> str | None:
        try:
            old = self.dynamodb.update_item(
                TableName=self.table_name,
                Key=_key(incident_pk(incident_id), HEAD_SK),
                UpdateExpression="REMOVE update_token",
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            ).get("Attributes", {})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise IncidentNotFoundError(incident_id) from exc
            raise
        token = old.get("update_token", {}).get("S")
        return str(token) if token is not None else None

    def take_update_token_for_version(self, incident_id: str, version: int) -> str | None:
        """Like :meth:`take_update_token`, but at most once per incident ``version``.

        Records ``handed_version`` on the head item in the same write, so a repeated hand-off of the
        same version (SQS delivers at least once) finds nothing to take.
        """
        try:
            old = self.dynamodb.update_item(
                TableName=self.table_name,
                Key=_key(incident_pk(incident_id), HEAD_SK),
                UpdateExpression="REMOVE update_token SET handed_version = :version",
                ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(handed_version) OR handed_version < :version)",
                ExpressionAttributeValues={":version": _n(version)},
                ReturnValues="ALL_OLD",
            ).get("Attributes", {})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        token = old.get("update_token", {}).get("S")
        return str(token) if token is not None else None

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
