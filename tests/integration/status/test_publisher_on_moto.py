"""The status publisher against S3, CloudWatch and STS on moto, through the cross-account role."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from outage_comms.incident import Incident
from outage_comms.ports import IncidentNotFoundError
from outage_comms.status.publisher import Boto3StatusSink, StatusPublisher
from outage_comms.status.site import SiteOptions
from outage_comms.status.state import STATE_KEY
from tests.status_site_fixtures import NOW, all_kinds, example_plan, major_outage, resolved_minor

pytestmark = pytest.mark.integration
LAMBDAS = str(Path(__file__).resolve().parents[3] / "lambdas")  # the asset's root: ``handlers`` lives here

REGION = "sa-east-1"
BUCKET = "outage-comms-status-123456789012-sa-east-1"
DASHBOARD = "nimbus-notes-public-status"
ROLE = "arn:aws:iam::123456789012:role/OutageCommsStatusPublisherAccess"


class InMemoryIncidents:
    """Just what the publisher reads from the repository port."""

    def __init__(self, incidents: Iterable[Incident]) -> None:
        self.incidents = {i.id: i for i in incidents}

    def get(self, incident_id: str) -> Incident:
        try:
            return self.incidents[incident_id]
        except KeyError:
            raise IncidentNotFoundError(incident_id) from None

    def list_recent(self, limit: int = 100) -> list[Incident]:
        return sorted(self.incidents.values(), key=lambda i: i.updated_at, reverse=True)[:limit]


@dataclass
class World:
    s3: Any
    cloudwatch: Any
    repository: InMemoryIncidents
    publisher: StatusPublisher


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
        sink = Boto3StatusSink.assuming_role(
            role_arn=ROLE, region=REGION, bucket=BUCKET, dashboard_name=DASHBOARD, distribution_id=None
        )
        publisher = StatusPublisher(
            plan=example_plan(),
            incidents=repository,  # type: ignore[arg-type]
            sink=sink,
            options=SiteOptions(region=REGION),
            clock=lambda: NOW,
        )
        yield World(s3, boto3.client("cloudwatch", region_name=REGION), repository, publisher)


def test_first_publish_writes_the_site_with_content_types_and_short_caching(world: World) -> None:
    result = world.publisher.publish("inc-20261127-1410-abcdef")
    keys = {o["Key"] for o in world.s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {"index.html", "pt-br/index.html", "api/v2/summary.json", "history.rss", "embed/banner.js"} <= keys
    assert not any(k.startswith("dashboard/") for k in keys)  # the body goes to PutDashboard only
    assert len(result.written) == len(keys - {STATE_KEY})  # and the publisher's own state object
    index = world.s3.get_object(Bucket=BUCKET, Key="index.html")
    assert index["ContentType"] == "text/html; charset=utf-8"
    assert index["CacheControl"] == "public, max-age=30, s-maxage=30"
    summary = world.s3.get_object(Bucket=BUCKET, Key="api/v2/summary.json")
    assert summary["ContentType"] == "application/json; charset=utf-8"
    assert json.loads(summary["Body"].read())["status"]["indicator"] == "critical"
    feed = world.s3.get_object(Bucket=BUCKET, Key="history.atom")
    assert feed["ContentType"] == "application/atom+xml; charset=utf-8"


def test_dashboard_and_status_metric_are_published(world: World) -> None:
    world.publisher.publish("inc-20261127-1410-abcdef")
    body = json.loads(world.cloudwatch.get_dashboard(DashboardName=DASHBOARD)["DashboardBody"])
    assert "Web app" in body["widgets"][0]["properties"]["markdown"]
    metrics = world.cloudwatch.list_metrics(Namespace="OutageComms/Status", MetricName="ComponentStatus")[
        "Metrics"
    ]
    components = {m["Dimensions"][0]["Value"] for m in metrics}
    assert components == {c.id for c in example_plan().components}
    data = world.cloudwatch.get_metric_statistics(
        Namespace="OutageComms/Status",
        MetricName="ComponentStatus",
        Dimensions=[{"Name": "component", "Value": "web-app"}],
        StartTime=NOW - timedelta(minutes=5),
        EndTime=NOW + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert [d["Maximum"] for d in data] == [4.0]


def test_a_second_publish_writes_only_what_changed(world: World) -> None:
    world.publisher.publish(None)
    assert world.publisher.publish(None).written == []  # nothing changed: nothing rewritten
    # When the open incident is resolved, the old incident's page stays untouched
    open_incident = major_outage()
    resolved = open_incident.evolve(
        status="resolved", scenario="resolved", resolved_at=NOW, updated_at=NOW + timedelta(minutes=1)
    )
    world.repository.incidents[resolved.id] = resolved
    written = set(world.publisher.publish(resolved.id).written)
    assert {"index.html", "api/v2/summary.json", f"incidents/{resolved.id}.html"} <= written
    assert f"incidents/{resolved_minor().id}.html" not in written
    summary = json.loads(world.s3.get_object(Bucket=BUCKET, Key="api/v2/summary.json")["Body"].read())
    assert summary["incidents"] == []


def test_the_handler_returns_what_it_published(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    if LAMBDAS not in sys.path:
        sys.path.insert(0, LAMBDAS)
    from handlers.publish_status import handler

    from outage_comms.observability import metrics

    # The factory sets these on the function; the module-level Metrics may predate this test's env.
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setattr(metrics.provider, "namespace", "OutageComms")
    monkeypatch.setattr(metrics.provider, "service", "status-publisher")

    class Context:
        function_name = "publish-status"
        memory_limit_in_mb = 1024
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:publish-status"
        aws_request_id = "req-1"

    output = handler({"incident_id": "inc-20261127-1410-abcdef"}, Context(), publisher=world.publisher)
    assert output["incident_id"] == "inc-20261127-1410-abcdef"
    assert output["written"] > 10 and output["indicator"] == "critical"


class Context:
    function_name = "publish-status"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:publish-status"
    aws_request_id = "req-2"


def emitted(capfd: pytest.CaptureFixture[str], name: str) -> list[float]:
    """Values of one metric in the EMF documents the handler printed."""
    values = []
    for line in capfd.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            if name in document:
                value = document[name]
                values += [float(v) for v in value] if isinstance(value, list) else [float(value)]
    return values


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Any:
    if LAMBDAS not in sys.path:
        sys.path.insert(0, LAMBDAS)
    from handlers.publish_status import handler

    from outage_comms.observability import metrics

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setattr(metrics.provider, "namespace", "OutageComms")
    monkeypatch.setattr(metrics.provider, "service", "status-publisher")
    return handler


def test_control_characters_in_one_incident_never_stop_later_publishes(world: World) -> None:
    # Given an incident whose sent words carry an ANSI escape, NUL and U+FFFE (finding 2)
    bad = major_outage(note={"en": "Fixed \x1b[31mnow\x1b[0m\x00 \ufffe", "pt-BR": "Ok\x00"})
    world.repository.incidents = {bad.id: bad}
    world.publisher.publish(bad.id)
    # When a second, normal incident publishes
    normal = resolved_minor()
    world.repository.incidents[normal.id] = normal
    result = world.publisher.publish(normal.id)
    # Then it appears everywhere, and no object holds a control character
    assert result.failures == []
    summary = json.loads(world.s3.get_object(Bucket=BUCKET, Key="api/v2/incidents.json")["Body"].read())
    assert {i["id"] for i in summary["incidents"]} == {bad.id, normal.id}
    for key in ("history.rss", "history.atom", "history.html", f"incidents/{normal.id}.html"):
        body = world.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        assert normal.id in body and "\x1b" not in body and "\x00" not in body, key


def test_a_rejected_note_is_in_no_object_of_the_bucket(world: World) -> None:
    unsent = major_outage(note={}).model_copy(
        update={"published": (), "public_note": {"en": "REJECTED-WORDS", "pt-BR": "PALAVRAS-REJEITADAS"}}
    )
    world.repository.incidents = {unsent.id: unsent, resolved_minor().id: resolved_minor()}
    world.publisher.publish(resolved_minor().id)
    keys = [o["Key"] for o in world.s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    for key in keys:
        body = world.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert b"REJECTED-WORDS" not in body and b"PALAVRAS-REJEITADAS" not in body, key
    assert (
        b"REJECTED-WORDS"
        not in json.dumps(world.cloudwatch.get_dashboard(DashboardName=DASHBOARD)["DashboardBody"]).encode()
    )


def test_one_object_failing_is_logged_counted_and_the_rest_published(
    world: World,
    handler: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given S3 refusing one incident's page
    broken = major_outage().id
    sink = world.publisher._sink
    real_put = sink.put_object

    def put_object(key: str, artefact: Any) -> None:
        if broken in key:
            raise RuntimeError("AccessDenied on this key")
        real_put(key, artefact)

    monkeypatch.setattr(sink, "put_object", put_object)
    # When the handler publishes
    output = handler({"incident_id": broken}, Context(), publisher=world.publisher)
    # Then every other object is there, the failure names the incident, and the metric counts it
    keys = {o["Key"] for o in world.s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {
        "index.html",
        "api/v2/summary.json",
        "history.rss",
        f"incidents/{resolved_minor().id}.html",
    } <= keys
    assert f"incidents/{broken}.html" not in keys
    assert output["failures"] == 2  # its page in each locale
    logged = [r for r in caplog.records if r.getMessage() == "status surface not published"]
    assert [getattr(r, "incident_id", None) for r in logged] == [broken, broken]
    assert {r.levelname for r in logged} == {"ERROR"}
    out = capfd.readouterr()
    lines = [json.loads(line) for line in (out.out + out.err).splitlines() if line.startswith("{")]
    metrics = [line for line in lines if "StatusSurfaceFailures" in line]
    assert [m["StatusSurfaceFailures"] for m in metrics] == [[2.0]]  # EMF: a list of values
    assert metrics[0]["service"] == "status-publisher"


def test_nothing_writable_raises_for_the_state_machine_and_is_counted(
    world: World, handler: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from outage_comms.status.publisher import StatusPublishError

    def put_object(key: str, artefact: Any) -> None:
        raise RuntimeError("bucket gone")

    monkeypatch.setattr(world.publisher._sink, "put_object", put_object)
    with pytest.raises(StatusPublishError, match="could be written"):
        handler({"incident_id": major_outage().id}, Context(), publisher=world.publisher)
    assert emitted(capfd, "StatusSurfaceFailures") == [1.0]
