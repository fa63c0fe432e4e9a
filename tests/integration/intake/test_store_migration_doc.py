"""The migration in docs/store-indexes.md, run as written, indexes heads written before the indexes."""

from __future__ import annotations

import contextlib
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from intake_harness import REGION, IntakeWorld
from test_store_indexes_on_moto import make

from outage_comms.intake.store import OPEN_PK, OPEN_SK, RECENT_BUCKET, DynamoIncidentRepository, incident_pk

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[3] / "docs" / "store-indexes.md"


def migration_code() -> str:
    (block,) = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    return str(block)


def run_migration() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(migration_code(), str(DOC), "exec"), {"__name__": "migration"})
    return out.getvalue().strip()


def test_the_documented_migration_indexes_legacy_heads_once(
    world: IntakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INCIDENTS_TABLE_NAME", world.incidents_table)
    store = DynamoIncidentRepository(world.incidents_table)
    now = datetime.now(UTC)
    still_open = make(store, started=now - timedelta(days=3), resolved_after=None)
    resolved = make(store, started=now - timedelta(days=2), component="sync")
    # Given heads as the previous release wrote them: none of the index attributes
    client = boto3.client("dynamodb", region_name=REGION)
    for incident in (still_open, resolved):
        client.update_item(
            TableName=world.incidents_table,
            Key={"pk": {"S": incident_pk(incident.id)}, "sk": {"S": "INCIDENT"}},
            UpdateExpression=f"REMOVE {RECENT_BUCKET}, {OPEN_PK}, {OPEN_SK}",
        )
    assert store.list_open() == [] and store.list_recent(since=now - timedelta(days=7)) == []

    assert run_migration() == "2 incidents indexed"

    assert [i.id for i in store.list_open()] == [still_open.id]
    assert [i.id for i in store.list_recent(since=now - timedelta(days=7))] == [resolved.id, still_open.id]
    assert store.get(still_open.id) == still_open  # written unchanged, same version
    assert run_migration() == "0 incidents indexed"  # safe to run twice
