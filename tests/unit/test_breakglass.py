"""Break-glass `outage-comms publish` / `send` on moto (never real AWS): guarded, logged, idempotent."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
from typer.testing import CliRunner

from outage_comms.incident import Incident
from outage_comms.plan import Plan
from outage_comms.status.publisher import Boto3StatusSink, StatusPublisher
from outage_comms.status.site import SiteOptions
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.delivery_ledger import DynamoDeliveryLedger
from outage_comms_cli.breakglass import AUDIT_PREFIX, BreakGlassError, publish_update, send_update
from tests.status_site_fixtures import EXAMPLE_PLAN, NOW, example_plan, major_outage

pytestmark = pytest.mark.unit

STATUS_REGION, STANDBY = "us-east-1", "eu-central-1"
BUCKET = "status-site"
WORDS = "Sign-in works again for most customers. We are watching it closely."


class Incidents:
    def __init__(self, incidents: list[Incident]) -> None:
        self.incidents = {i.id: i for i in incidents}

    def get(self, incident_id: str) -> Incident:
        return self.incidents[incident_id]

    def list_recent(self, since: Any = None, *, limit: int | None = None) -> list[Incident]:
        return list(self.incidents.values())[:limit]

    def list_open(self) -> list[Incident]:
        return [i for i in self.incidents.values() if i.is_open]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return example_plan()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", STATUS_REGION)
    with mock_aws():
        yield


def _sink() -> Boto3StatusSink:
    import boto3

    return Boto3StatusSink(
        s3=boto3.client("s3", region_name=STATUS_REGION),
        cloudwatch=boto3.client("cloudwatch", region_name=STATUS_REGION),
        cloudfront=None,
        bucket=BUCKET,
        dashboard_name="status",
        distribution_id=None,
    )


@pytest.fixture
def published_site(aws: None, plan: Plan) -> Incident:
    """A status site the engine published once (with its stored state), showing one open incident."""
    import boto3

    boto3.client("s3", region_name=STATUS_REGION).create_bucket(Bucket=BUCKET)
    outage = major_outage()
    options = SiteOptions(region=STATUS_REGION)
    StatusPublisher(
        plan=plan, incidents=cast(Any, Incidents([outage])), sink=_sink(), options=options, clock=lambda: NOW
    ).publish(None)
    return outage


def _object(key: str) -> str:
    import boto3

    body = boto3.client("s3", region_name=STATUS_REGION).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body.decode() if body[:2] != b"\x1f\x8b" else gzip.decompress(body).decode()


def test_publish_puts_the_words_on_the_site_once_and_keeps_an_audit_record(
    plan: Plan, published_site: Incident
) -> None:
    options = SiteOptions(region=STATUS_REGION)
    kwargs: dict[str, Any] = dict(
        incident_id=published_site.id,
        status="monitoring",
        title="Sign-in recovering",
        body=WORDS,
        locale="en",
        principal="arn:aws:iam::123456789012:user/oncall",
        options=options,
        now=NOW,
    )
    first = publish_update(plan, _sink(), **kwargs)
    assert first.done
    assert WORDS in _object(f"incidents/{published_site.id}.html") or WORDS in _object(
        "api/v2/incidents.json"
    )
    audit = json.loads(_object(f"{AUDIT_PREFIX}{first.update_id}.json"))
    assert audit["by"].endswith("user/oncall") and audit["status"] == "monitoring"
    again = publish_update(plan, _sink(), **kwargs)  # the same command twice is one update
    assert (again.update_id, again.done) == (first.update_id, False)
    summary = json.loads(_object("api/v2/incidents.json"))
    bodies = [u["body"] for i in summary["incidents"] for u in i["incident_updates"]]
    assert bodies.count(WORDS) == 1


def test_publish_refuses_words_the_guard_refuses_and_an_incident_the_site_does_not_show(
    plan: Plan, published_site: Incident
) -> None:
    options = SiteOptions(region=STATUS_REGION)
    base: dict[str, Any] = dict(status="identified", title="t", locale="en", principal="p", options=options)
    with pytest.raises(BreakGlassError, match="guard"):
        publish_update(
            plan,
            _sink(),
            incident_id=published_site.id,
            body="arn:aws:lambda:us-east-1:123456789012:function:x",
            **base,
        )
    with pytest.raises(BreakGlassError, match="does not show"):
        publish_update(plan, _sink(), incident_id="inc-20261127-0000-000000", body=WORDS, **base)


def test_send_goes_through_the_standby_topic_once(aws: None, plan: Plan) -> None:
    import boto3

    sns = boto3.client("sns", region_name=STANDBY)
    topic = sns.create_topic(Name="subscribers")["TopicArn"]
    sqs = boto3.client("sqs", region_name=STANDBY)
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    dynamodb = boto3.client("dynamodb", region_name=STANDBY)
    dynamodb.create_table(
        TableName="workflow",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ledger = DynamoDeliveryLedger(table_name="workflow", client=dynamodb)
    kwargs: dict[str, Any] = dict(
        sns=sns,
        ledger=ledger,
        topic_arn=topic,
        incident_id="inc-20261127-1410-abcdef",
        scenario=Scenario.IDENTIFIED,
        title="Sign-in problems",
        body=WORDS,
        locale="en",
        components=[plan.components[0].id],
        severity=plan.severities[0].id,
    )
    assert send_update(plan, **kwargs).done
    assert not send_update(plan, **kwargs).done  # run twice: sent once
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1 and WORDS in json.loads(messages[0]["Body"])["Message"]
    with pytest.raises(BreakGlassError, match="components"):
        send_update(plan, **{**kwargs, "components": ["no-such-component"]})


def test_publish_command_assumes_the_publisher_role(
    published_site: Incident, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outage_comms_cli.main import app

    plan_path = EXAMPLE_PLAN
    monkeypatch.delenv("STATUS_SUBSCRIBE_URL", raising=False)
    args = [
        "publish",
        "--plan",
        str(plan_path),
        "--incident",
        published_site.id,
        "--status",
        "monitoring",
        "--title",
        "Sign-in recovering",
        "--message",
        WORDS,
        "--role-arn",
        "arn:aws:iam::123456789012:role/status-publisher",
        "--bucket",
        BUCKET,
        "--status-region",
        STATUS_REGION,
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "published" in first.output
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0 and "not published again" in second.output
