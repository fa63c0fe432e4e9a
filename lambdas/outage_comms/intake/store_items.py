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
  (S) holds the Step Functions task token of the execution waiting for the next update and
  ``update_token_region`` (S) the region of that execution (tokens are regional; absent on records
  from before two regions: "this region"); replacing an incident never touches them.
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

import logging
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from outage_comms.incident import Incident, TimelineEntry

logger = logging.getLogger(__name__)

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
