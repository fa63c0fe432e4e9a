"""Drill mode on the status site (S3, CloudWatch, STS on moto): a drill publish writes only the drill page,
the public artefacts stay byte for byte, and a real publish never shows a drill."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from outage_comms.incident import Incident
from outage_comms.status.publisher import Boto3StatusSink, StatusPublisher
from outage_comms.status.site import Artefact, SiteOptions
from outage_comms.vocabulary import Scenario
from tests.integration.status.test_publisher_on_moto import (
    BUCKET,
    DASHBOARD,
    REGION,
    ROLE,
    InMemoryIncidents,
)
from tests.status_site_fixtures import NOW, all_kinds, example_plan, major_outage, with_words

pytestmark = pytest.mark.integration
DRILL_ID = "inc-20261127-1445-d0d0d0"


def drill_incident() -> Incident:
    """A drill as intake opens it: open, on search, newer than everything real."""
    base = major_outage()
    drill = base.model_copy(
        update={
            "id": DRILL_ID,
            "components": ("search",),
            "public_title": {"en": "Search", "pt-BR": "Busca"},
            "severity": "sev2",
            "scenario": Scenario.PARTIAL_OUTAGE,
            "status": "investigating",
            "started_at": NOW - timedelta(minutes=15),
            "updated_at": NOW - timedelta(minutes=1),
            "drill": True,
            "drill_failures": ("sms",),
            "published": (),
        }
    )
    # what the workflow sent for the drill: its words carry the drill marker
    return with_words(drill, (drill.started_at, "investigating", {}))


@dataclass
class CountingSink:
    """The real boto3 sink, counting the calls that reach the public dashboard and metric."""

    inner: Boto3StatusSink
    dashboards: list[str] = field(default_factory=list)
    metric_puts: int = 0
    invalidations: list[list[str]] = field(default_factory=list)

    def etags(self) -> dict[str, str]:
        return self.inner.etags()

    def put_object(self, key: str, artefact: Artefact) -> None:
        self.inner.put_object(key, artefact)

    def put_dashboard(self, body: str) -> None:
        self.dashboards.append(body)
        self.inner.put_dashboard(body)

    def put_metric_data(self, namespace: str, data: list[dict[str, Any]]) -> None:
        self.metric_puts += 1
        self.inner.put_metric_data(namespace, data)

    def invalidate(self, paths: list[str]) -> None:
        self.invalidations.append(paths)


@dataclass
class World:
    s3: Any
    repository: InMemoryIncidents
    sink: CountingSink
    publisher: StatusPublisher

    def objects(self) -> dict[str, bytes]:
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        return {k: self.s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in keys}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        repository = InMemoryIncidents(all_kinds())
        sink = CountingSink(
            Boto3StatusSink.assuming_role(
                role_arn=ROLE, region=REGION, bucket=BUCKET, dashboard_name=DASHBOARD, distribution_id=None
            )
        )
        publisher = StatusPublisher(
            plan=example_plan(),
            incidents=repository,  # type: ignore[arg-type]
            sink=sink,
            options=SiteOptions(region=REGION),
            clock=lambda: NOW,
        )
        yield World(s3, repository, sink, publisher)


def test_a_drill_publish_writes_only_the_drill_page_and_leaves_the_public_site_untouched(
    world: World,
) -> None:
    # Given the public site as published before any drill
    world.publisher.publish(None)
    public_before = world.objects()
    dashboards, metric_puts = len(world.sink.dashboards), world.sink.metric_puts
    # When a drill is opened and its update published
    world.repository.incidents[DRILL_ID] = drill_incident()
    result = world.publisher.publish(DRILL_ID)
    # Then only keys under drill/ were written
    assert result.written and all(key.startswith("drill/") for key in result.written)
    after = world.objects()
    assert {k: v for k, v in after.items() if not k.startswith("drill/")} == public_before
    assert {"drill/index.html", "drill/pt-br/index.html", "drill/api/v2/summary.json"} <= set(after)
    assert not any(k.startswith("drill/dashboard/") for k in after)
    # and the public dashboard and status metric were not touched
    assert (len(world.sink.dashboards), world.sink.metric_puts) == (dashboards, metric_puts)
    assert (result.dashboard_updated, result.metrics) == (False, 0)
    assert world.sink.invalidations[-1] == ["/drill/*"]
    # The drill page holds the drill only, marked, with links under drill/
    summary = json.loads(after["drill/api/v2/summary.json"])
    assert [i["id"] for i in summary["incidents"]] == [DRILL_ID]
    assert summary["page"]["url"] == "https://status.nimbusnotes.example/drill"
    assert summary["incidents"][0]["name"].startswith("[DRILL] ")
    assert "[SIMULAÇÃO]" in after["drill/pt-br/index.html"].decode()
    assert "inc-20261127-1410-abcdef" not in after["drill/index.html"].decode()


def test_a_real_publish_never_includes_a_drill(world: World) -> None:
    world.publisher.publish(None)
    before = world.objects()
    dashboard_before = world.sink.dashboards[-1]
    # Given an open drill in the repository (newest of all)
    world.repository.incidents[DRILL_ID] = drill_incident()
    # When a real incident's update is published
    real = major_outage()
    updated = real.evolve(status="monitoring", updated_at=NOW)
    world.repository.incidents[real.id] = updated
    result = world.publisher.publish(real.id)
    # Then the public site changed for the real incident, and nothing anywhere mentions the drill
    assert result.written and not any(key.startswith("drill/") for key in result.written)
    after = world.objects()
    assert not any(k.startswith("drill/") for k in after)
    assert set(after) == set(before)  # no drill incident page appeared
    for key, body in after.items():
        assert DRILL_ID.encode() not in body, key
    assert DRILL_ID not in world.sink.dashboards[-1]
    assert world.sink.dashboards[-1] != dashboard_before  # the dashboard did follow the real update
    summary = json.loads(after["api/v2/summary.json"])
    assert [c["status"] for c in summary["components"] if c["id"] == "search"] == ["operational"]


def test_a_publish_with_only_a_drill_changed_rewrites_nothing_public(world: World) -> None:
    world.publisher.publish(None)
    world.repository.incidents[DRILL_ID] = drill_incident()
    assert world.publisher.publish(None).written == []  # the drill is invisible to the public build
