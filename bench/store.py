"""Benchmark: the incidents table's reads on the status-publish and SLO-watchdog paths, on moto.

    .venv/bin/python bench/store.py            # prints the figures, writes bench/results/store.json

For 100, 1,000 and 10,000 incidents in the history (one a day back from now, each opened and
resolved, plus three open: a real incident open for 200 days, a maintenance window, a fresh one),
each read is timed through the real ``DynamoIncidentRepository`` on moto and reported as a ratio to
**one GetItem of a head item measured in the same run** (interleaved, median of the repeats):

* ``get(id)``: the incident an update changed (an incremental publish's only read of the table);
* ``list_open()``: every open incident and maintenance window, however old;
* ``list_recent(since=30 days ago)``: what changed in the site's window (a full rebuild reads this
  and ``list_open``);
* SLO watchdog tick: ``list_needing_slo_check()`` plus one GetItem per open incident in the workflow
  table (``last_customer_update``), the handler's reads;
* for contrast, the Scan the repository used before (every head item, sorted in Python), at the
  same history sizes: its cost grows with the history, the others stay flat.

Items are seeded with BatchWriteItem but built by the repository's own item code
(``_head_values`` / ``_create_head``), so they are byte for byte what ``save`` writes. moto's
in-process DynamoDB costs more per request than the service's ~5-10 ms round trip only in Python
work; the ratios, not the milliseconds, are what carries to another machine.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for path in (BENCH_DIR, REPO_ROOT / "lambdas"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from _results import BenchRun  # noqa: E402

HISTORIES = (100, 1_000, 10_000)
REPEATS = 41
SCAN_REPEATS = 3
WINDOW = timedelta(days=30)
#: "Flat": a read at 10,000 incidents may cost at most this many times the same read at 100 (in
#: GetItems), noise included.
FLAT_TOLERANCE = 1.5
REGION = "us-east-1"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_METRICS_NAMESPACE": "OutageComms",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}


def _incident(started: datetime, n: int, **changes: Any) -> Any:
    from outage_comms.incident import Incident, IncidentSource

    return Incident.model_validate(
        {
            "id": f"inc-{started:%Y%m%d-%H%M}-{n:06x}",
            "internal_title": "search down",
            "public_title": {"en": "Search is slow", "pt-BR": "A busca está lenta"},
            "components": (("search", "sync", "sign-in", "web-app")[n % 4],),
            "severity": "sev2",
            "status": "investigating",
            "scenario": "partial_outage",
            "audiences": ("all-customers",),
            "started_at": started,
            "updated_at": started,
            "source": IncidentSource(type="human", reference="arn:aws:iam::111122223333:role/Oncall"),
            **changes,
        }
    )


def history(size: int, now: datetime) -> tuple[list[Any], list[Any]]:
    """``size`` resolved incidents, one a day back from now, and the three open ones."""
    resolved = []
    for n in range(size):
        started = now - timedelta(days=n, hours=2)
        opened = _incident(started, n)
        at = started + timedelta(hours=1)
        resolved.append(opened.evolve(status="resolved", resolved_at=at, updated_at=at, version=2))
    open_ = [
        _incident(now - timedelta(days=200), size + 1, components=("public-api",)),
        _incident(
            now - timedelta(hours=1), size + 2, components=("attachments",), maintenance_phase="in_progress"
        ),
        _incident(now - timedelta(minutes=20), size + 3, components=("email",)),
    ]
    return resolved, open_


def seed(client: Any, table: str, incidents: list[Any]) -> None:
    from outage_comms.intake.store import DynamoIncidentRepository

    store = DynamoIncidentRepository(table, dynamodb=client)
    items = [store._create_head(i, store._head_values(i))["Put"]["Item"] for i in incidents]
    for start in range(0, len(items), 25):
        pending: dict[str, Any] = {
            table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        }
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def scan_all_heads(client: Any, table: str) -> list[Any]:
    """What ``list_recent`` did before this change (kept here only to measure it)."""
    from outage_comms.intake.store import HEAD_SK, decode_body

    heads: list[tuple[str, bytes]] = []
    for page in client.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="sk = :head",
        ExpressionAttributeValues={":head": {"S": HEAD_SK}},
        ProjectionExpression="updated_at, body",
    ):
        heads.extend((item["updated_at"]["S"], item["body"]["B"]) for item in page["Items"])
    heads.sort(key=lambda pair: pair[0], reverse=True)
    return [decode_body(body) for _, body in heads[:100]]


class Meter:
    """Splits each read's wall time into moto's own (the service's side) and the client's (our code and
    botocore: what the function pays besides the network), and counts the items DynamoDB read.

    moto answers a Query by walking every item of its in-memory table, so its side grows with the
    history even for a Query; DynamoDB reads only the queried index partition (Query cost is the
    items read, Scan's the whole table). The client's side and the items read are what this measures.
    """

    def __init__(self, client: Any) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        self.server = 0.0
        self.items = 0
        original = BotocoreStubber.__call__
        meter = self

        def timed(stubber: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(stubber, *args, **kwargs)
            finally:
                meter.server += time.perf_counter() - start

        setattr(BotocoreStubber, "__call__", timed)  # noqa: B010 - patching a dunder on the class
        self._restore: Callable[[], None] = lambda: setattr(BotocoreStubber, "__call__", original)
        client.meta.events.register("after-call.dynamodb", self._count)

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        if "ScannedCount" in parsed:  # Query, Scan: the items read before any filter
            self.items += int(parsed["ScannedCount"])
        elif "Responses" in parsed:  # BatchGetItem
            self.items += sum(len(items) for items in parsed["Responses"].values())
        elif "Item" in parsed:  # GetItem
            self.items += 1

    def close(self) -> None:
        self._restore()

    def run(self, read: Callable[[], Any]) -> tuple[float, float, int]:
        """(wall s, client-side s, items read) of one call."""
        self.server, self.items = 0.0, 0
        start = time.perf_counter()
        read()
        wall = time.perf_counter() - start
        return wall, wall - self.server, self.items


def measure(
    meter: Meter, reads: dict[str, Callable[[], Any]], baseline: Callable[[], Any], repeats: int
) -> dict[str, dict[str, float]]:
    """Per read and for the GetItem baseline: median wall ms, median client-side ms, items read.
    Interleaved, so a load drift hits every read alike."""
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in ("GetItem", *reads)}
    for read in (baseline, *reads.values()):  # warm-up, not recorded: first-call imports and caches
        meter.run(read)
    for _ in range(repeats):
        for name, read in (("GetItem", baseline), *reads.items()):
            samples[name].append(meter.run(read))
    return {
        name: {
            "wall_ms": statistics.median(v[0] for v in values) * 1000,
            "client_ms": statistics.median(v[1] for v in values) * 1000,
            "items_read": max(v[2] for v in values),
        }
        for name, values in samples.items()
    }


def one_history(size: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from outage_comms.aws_clients import reset_clients
    from outage_comms.intake.store import (
        HEAD_SK,
        DynamoIncidentRepository,
        incident_pk,
        incidents_table_schema,
    )
    from outage_comms.workflow.store import DynamoWorkflowStore

    now = datetime.now(UTC)
    with mock_aws():
        reset_clients()
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(**incidents_table_schema("incidents"))
        client.create_table(
            TableName="workflow",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
        )
        resolved, open_ = history(size, now)
        seed(client, "incidents", resolved + open_)
        store = DynamoIncidentRepository("incidents", dynamodb=client)
        workflow = DynamoWorkflowStore(table_name="workflow", client=client)
        changed = open_[-1].id
        key = {"pk": {"S": incident_pk(resolved[size // 2].id)}, "sk": {"S": HEAD_SK}}

        def get_item() -> Any:
            return client.get_item(TableName="incidents", Key=key, ConsistentRead=True)["Item"]

        def slo_tick() -> list[Any]:
            incidents = store.list_needing_slo_check()
            return [workflow.last_customer_update(i.id) for i in incidents]

        since = now - WINDOW
        found: dict[str, Any] = {
            "list_open": [i.id for i in store.list_open()],
            "list_recent": len(store.list_recent(since=since)),
            "slo_checked": [i.id for i in store.list_needing_slo_check()],
        }
        # The reads answer what they should before they are timed: 3 open, 2 of them held to the SLOs.
        assert sorted(found["list_open"]) == sorted(i.id for i in open_), found
        assert sorted(found["slo_checked"]) == sorted([open_[0].id, changed]), found
        reads: dict[str, Callable[[], Any]] = {
            "get": lambda: store.get(changed),
            "list_open": store.list_open,
            "list_recent_30_days": lambda: store.list_recent(since=since),
            "slo_watchdog_tick": slo_tick,
        }
        meter = Meter(client)
        # The seeded table lives in this process only because moto does; a function's heap never holds
        # it. Frozen, the garbage collector stops walking it on every collection our reads trigger.
        gc.collect()
        gc.freeze()
        try:
            timings = measure(meter, reads, get_item, REPEATS)
            scan = measure(
                meter, {"scan_before": lambda: scan_all_heads(client, "incidents")}, get_item, SCAN_REPEATS
            )
        finally:
            gc.unfreeze()
            meter.close()
        reset_clients()
    return {"incidents": size + len(open_), "found": found, "reads": timings, "scan": scan}


def _ratio(result: dict[str, dict[str, float]], read: str, measure: str = "client_ms") -> float:
    return result[read][measure] / result["GetItem"][measure]


def run() -> dict[str, Any]:
    os.environ.update(ENVIRONMENT)
    bench = BenchRun("store", title="Incidents table reads on the publish and SLO paths (moto)")
    runs = {size: one_history(size) for size in HISTORIES}
    smallest, largest = runs[HISTORIES[0]], runs[HISTORIES[-1]]
    labels = {
        "get": "get(incident)",
        "list_open": "list_open()",
        "list_recent_30_days": "list_recent(since 30 days)",
        "slo_watchdog_tick": "SLO watchdog tick reads",
    }
    for size, result in runs.items():
        last = size == HISTORIES[-1]
        for read, label in labels.items():
            flat = _ratio(result["reads"], read) <= _ratio(smallest["reads"], read) * FLAT_TOLERANCE
            bench.figure(
                f"{label}, client side, {size:,} incidents",
                result["reads"][read]["client_ms"],
                "ms",
                baseline=("one GetItem, client side", result["reads"]["GetItem"]["client_ms"]),
                target=f"ratio <= {FLAT_TOLERANCE}x its ratio at {HISTORIES[0]:,}" if last else None,
                met=flat if last else None,
            )
            same_items = result["reads"][read]["items_read"] == smallest["reads"][read]["items_read"]
            bench.figure(
                f"{label}, items DynamoDB reads, {size:,} incidents",
                result["reads"][read]["items_read"],
                "items",
                baseline=("one GetItem", 1),
                target=f"same as at {HISTORIES[0]:,}" if last else None,
                met=same_items if last else None,
            )
        scanned = int(result["scan"]["scan_before"]["items_read"])
        bench.figure(
            f"Scan of every head (before), client side, {size:,} incidents",
            result["scan"]["scan_before"]["client_ms"],
            "ms",
            baseline=("one GetItem, client side", result["scan"]["GetItem"]["client_ms"]),
            note=f"the read this change removed; it read {scanned:,} items",
        )
    bench.detail(
        "method",
        {
            "history": "one resolved incident a day back from now, plus 3 open (one opened 200 days ago)",
            "window_days": WINDOW.days,
            "repeats": REPEATS,
            "scan_repeats": SCAN_REPEATS,
            "client_side": "wall time minus the time inside moto's request handler: our code + botocore",
            "moto_note": "moto answers every Query by walking its whole in-memory table, so wall_ms on moto "
            "grows with the history for a Query too; DynamoDB reads only the queried partition (items_read)",
        },
    )
    bench.detail("runs", {str(size): result for size, result in runs.items()})
    growth = {
        read: round(_ratio(largest["reads"], read) / _ratio(smallest["reads"], read), 2) for read in labels
    }
    growth["scan_before"] = round(
        _ratio(largest["scan"], "scan_before") / _ratio(smallest["scan"], "scan_before"), 2
    )
    bench.detail(f"client_ratio_growth_{HISTORIES[0]}_to_{HISTORIES[-1]}", growth)
    return bench.write()


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
