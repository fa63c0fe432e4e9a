"""The incremental publish (issue 13.4): one GetItem, only what the changed incident touches, and the
same bytes a full rebuild would write."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from outage_comms.incident import Incident
from outage_comms.plan import Plan
from outage_comms.status.publisher import MemoryStateStore, StatusPublisher
from outage_comms.status.site import Artefact, SiteOptions
from outage_comms.status.state import STATE_KEY
from tests.status_site_fixtures import (
    INTERNAL_TITLE,
    NOW,
    all_kinds,
    example_plan,
    major_outage,
    resolved_minor,
    sent,
)

pytestmark = pytest.mark.unit

SHARED = (
    "index.html",
    "pt-br/index.html",
    "history.html",
    "pt-br/history.html",
    "api/v2/summary.json",
    "api/v2/incidents.json",
    "api/v2/components.json",
    "history.atom",
    "pt-br/history.rss",
    "embed/banner.js",
)


class CountingIncidents:
    """The repository port in memory; every read is counted by name."""

    def __init__(self, incidents: list[Incident]) -> None:
        self.incidents = {i.id: i for i in incidents}
        self.reads: Counter[str] = Counter()

    def get(self, incident_id: str) -> Incident:
        self.reads["get"] += 1
        return self.incidents[incident_id]

    def list_recent(self, since: datetime | None = None, *, limit: int | None = None) -> list[Incident]:
        self.reads["list_recent"] += 1
        found = sorted(self.incidents.values(), key=lambda i: i.updated_at, reverse=True)
        return [i for i in found if since is None or i.updated_at >= since][:limit]

    def list_open(self) -> list[Incident]:
        self.reads["list_open"] += 1
        return [i for i in self.incidents.values() if i.is_open]


class Bucket:
    def __init__(self) -> None:
        self.objects: dict[str, Artefact] = {}
        self.put: list[str] = []
        self.listed = 0

    def etags(self) -> dict[str, str]:
        self.listed += 1
        return {k: a.md5 for k, a in self.objects.items()}

    def put_object(self, key: str, artefact: Artefact) -> None:
        self.objects[key] = artefact
        self.put.append(key)

    def put_dashboard(self, body: str) -> None:
        self.dashboard = body

    def put_metric_data(self, namespace: str, data: list[dict[str, Any]]) -> None:
        return None

    def invalidate(self, paths: list[str]) -> None:
        return None


@pytest.fixture(scope="module")
def plan() -> Plan:
    return example_plan()


def publisher_for(
    plan: Plan, repository: CountingIncidents, bucket: Bucket, store: MemoryStateStore, now: datetime = NOW
) -> StatusPublisher:
    return StatusPublisher(
        plan=plan,
        incidents=repository,
        sink=bucket,
        options=SiteOptions(),
        clock=lambda: now,
        state_store=store,
    )


def test_a_publish_after_one_update_reads_one_incident_and_writes_what_a_full_rebuild_writes(
    plan: Plan,
) -> None:
    # Given a site published once, with its state
    repository, bucket, store = CountingIncidents(all_kinds()), Bucket(), MemoryStateStore()
    publisher = publisher_for(plan, repository, bucket, store)
    assert publisher.publish(None).rebuilt
    # When the open major outage gets a new update that was sent, then is resolved
    outage = major_outage()
    later = NOW + timedelta(minutes=5)
    update = sent(outage.evolve(status="monitoring"), later, "003-monitoring", scenario=outage.scenario)
    changes = [
        outage.evolve(status="monitoring", updated_at=later, published=(*outage.published, update)),
    ]
    changes.append(
        changes[0].evolve(status="resolved", scenario="resolved", resolved_at=later, updated_at=later)
    )
    for changed in changes:
        repository.incidents[changed.id] = changed
        repository.reads.clear()
        bucket.put.clear()
        listed = bucket.listed
        result = publisher.publish(changed.id)
        # Then it read that incident only, listed no bucket, and rendered no other incident's page
        assert not result.rebuilt
        assert repository.reads == {"get": 1, "list_open": 1}  # the changed one by key; open ones by index
        assert bucket.listed == listed
        assert f"incidents/{resolved_minor().id}.html" not in bucket.put
        assert f"incidents/{changed.id}.html" in bucket.put
        # and the site holds the bytes a full rebuild from the repository writes
        fresh = Bucket()
        publisher_for(
            plan, CountingIncidents(list(repository.incidents.values())), fresh, MemoryStateStore()
        ).publish(None)
        for key in (*SHARED, f"incidents/{changed.id}.html", f"pt-br/incidents/{changed.id}.html"):
            assert bucket.objects[key].body == fresh.objects[key].body, key


def test_a_full_rebuild_reads_the_window_by_index_never_every_incident(plan: Plan) -> None:
    repository = CountingIncidents(all_kinds())
    publisher_for(plan, repository, Bucket(), MemoryStateStore()).publish(None)
    assert set(repository.reads) <= {"list_recent", "list_open"}
    assert repository.reads["get"] == 0


def test_the_state_holds_no_timeline_note_internal_title_or_alarm(plan: Plan) -> None:
    store = MemoryStateStore()
    publisher_for(plan, CountingIncidents(all_kinds()), Bucket(), store).publish(None)
    assert store.body is not None
    text = gzip.decompress(store.body).decode()
    assert INTERNAL_TITLE not in text
    assert "arn:aws:cloudwatch" not in text
    document = json.loads(text)
    incidents = [json.loads(text) for text in document["incidents"]]
    assert len(incidents) == len(all_kinds())
    assert all(not i["timeline"] and not i["public_note"] for i in incidents)


def test_another_plan_or_an_unreadable_state_means_a_full_rebuild(plan: Plan) -> None:
    repository, bucket, store = CountingIncidents(all_kinds()), Bucket(), MemoryStateStore()
    publisher_for(plan, repository, bucket, store).publish(None)
    renamed = plan.model_copy(
        update={"organization": plan.organization.model_copy(update={"name": "Renamed Notes"})}
    )
    result = publisher_for(renamed, repository, bucket, store).publish(major_outage().id)
    assert result.rebuilt
    assert "Renamed Notes" in bucket.objects["index.html"].body.decode()
    store.body = b"not gzip"
    result = publisher_for(renamed, repository, bucket, store).publish(major_outage().id)
    assert result.rebuilt
    assert [f["part"] for f in result.failures] == [STATE_KEY]  # counted, and the site still published


def test_an_incident_that_cannot_be_read_never_stops_the_publish(plan: Plan) -> None:
    repository, bucket, store = CountingIncidents(all_kinds()), Bucket(), MemoryStateStore()
    result = publisher_for(plan, repository, bucket, store).publish("inc-20261127-0000-000000")
    assert result.rebuilt and "index.html" in bucket.objects
    assert result.failures[0]["incident_id"] == "inc-20261127-0000-000000"


def test_the_state_keeps_the_words_it_rendered_for_open_and_closed_incidents(plan: Plan) -> None:
    repository, bucket, store = CountingIncidents(all_kinds()), Bucket(), MemoryStateStore()
    publisher_for(plan, repository, bucket, store).publish(None)
    assert store.body is not None
    words = {k: json.loads(v) for k, v in json.loads(gzip.decompress(store.body))["words"].items()}
    version, due, updates, banner = words[major_outage().id]
    assert set(banner) == set(plan.locale_codes)  # the in-app banner of an open incident
    assert version == major_outage().version
    assert due is not None  # an open incident's words are keyed by when its next update is due
    assert len(updates) == len(major_outage().published)
    assert words[resolved_minor().id][1] is None


def test_a_state_overwritten_by_a_concurrent_publish_still_shows_every_open_incident_as_it_is(
    plan: Plan,
) -> None:
    # Given a published site, and the state as it was before the major outage was resolved
    repository, bucket, store = CountingIncidents(all_kinds()), Bucket(), MemoryStateStore()
    publisher = publisher_for(plan, repository, bucket, store)
    publisher.publish(None)
    before = store.body
    resolved = major_outage().evolve(status="resolved", scenario="resolved", resolved_at=NOW, updated_at=NOW)
    repository.incidents[resolved.id] = resolved
    publisher.publish(resolved.id)
    # When another publish (of the maintenance) wrote its older state last, and the next one runs
    store.body = before
    maintenance = next(i for i in all_kinds() if i.is_open and i.id != resolved.id)
    touched = maintenance.evolve(updated_at=NOW + timedelta(minutes=1))
    repository.incidents[touched.id] = touched
    repository.reads.clear()
    result = publisher.publish(touched.id)
    # Then the site still says the outage is resolved: open incidents were read again by index
    assert not result.rebuilt
    summary = json.loads(bucket.objects["api/v2/summary.json"].body)
    assert [i["id"] for i in summary["incidents"]] == []
    assert repository.reads["get"] == 2  # the changed one, and the one that closed meanwhile


def test_a_lone_surrogate_in_stored_words_never_stops_the_state_save(plan: Plan) -> None:
    """Found by `make security` at full scale: text stored before the door's rule existed (or written by an
    event AWS sends) may hold a lone surrogate; the state is saved without it and read back, and the next
    publish still shows every incident."""
    text = {"en": "Pages\ud800 load again", "pt-BR": "Voltou\ud800 ao normal"}
    done = resolved_minor().evolve(postmortem=text, postmortem_published_at=NOW - timedelta(days=1))
    repository = CountingIncidents([done, major_outage()])
    bucket, store = Bucket(), MemoryStateStore()
    first = publisher_for(plan, repository, bucket, store).publish(done.id)
    assert not first.failures
    assert store.body is not None and b"\\ud800" not in gzip.decompress(store.body)
    second = publisher_for(plan, repository, bucket, store).publish(major_outage().id)
    assert not second.failures and not second.rebuilt  # the saved state was read back
    listed = {i["id"] for i in json.loads(bucket.objects["api/v2/incidents.json"].body)["incidents"]}
    assert {done.id, major_outage().id} <= listed
