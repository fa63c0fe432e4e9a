"""The region-aware handlers on moto: the status publish is fenced, the failover handler reads the alarm."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.regions.lease import DynamoOwnershipStore, scope_for

PRIMARY, STANDBY = "eu-west-1", "eu-central-1"
INCIDENT = "inc-20261202-1000-abc123"


class Context(LambdaContext):
    function_name = "region"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:region"
    aws_request_id = "req-1"


@pytest.fixture
def ownership(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoOwnershipStore]:
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("OWNERSHIP_TABLE", "ownership")
    with mock_aws():
        import boto3

        from outage_comms.aws_clients import reset_clients

        client = boto3.client("dynamodb", region_name=PRIMARY)
        client.create_table(
            TableName="ownership",
            KeySchema=[{"AttributeName": "scope", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "scope", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        monkeypatch.setenv("AWS_DEFAULT_REGION", PRIMARY)  # the one replica moto has (no replication)
        reset_clients()
        yield DynamoOwnershipStore(table_name="ownership", client=client)
        reset_clients()


class Publisher:
    def __init__(self) -> None:
        self.published: list[str | None] = []

    def publish(self, incident_id: str | None) -> Any:
        from outage_comms.status.publisher import PublishResult

        self.published.append(incident_id)
        return PublishResult(
            written=["index.html"],
            unchanged=0,
            dashboard_updated=False,
            metrics=0,
            elapsed_ms=1.0,
            indicator="none",
        )


def test_only_the_owning_region_publishes_the_status_site(
    ownership: DynamoOwnershipStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import handlers.publish_status as publish_status

    ownership.acquire(scope_for(INCIDENT), PRIMARY)
    publisher = Publisher()
    monkeypatch.setenv("AWS_REGION", STANDBY)
    fenced = publish_status.handler({"incident_id": INCIDENT}, Context(), publisher=publisher)
    assert PRIMARY in fenced["fenced"] and publisher.published == []
    monkeypatch.setenv("AWS_REGION", PRIMARY)
    publish_status.handler({"incident_id": INCIDENT}, Context(), publisher=publisher)
    assert publisher.published == [INCIDENT]


def test_the_failover_handler_turns_the_health_alarm_into_a_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    import handlers.region_failover as region_failover

    seen: list[Any] = []

    class Engine:
        def on_signal(self, signal: Any) -> list[dict[str, Any]]:
            seen.append(signal)
            return [{"incident_id": INCIDENT, "action": "wait"}]

    monkeypatch.setenv("HEALTH_ALARMS", f"engine-health-primary={PRIMARY}")
    event = {
        "detail-type": "CloudWatch Alarm State Change",
        "time": "2026-12-02T10:10:00Z",
        "detail": {"alarmName": "engine-health-primary", "state": {"value": "ALARM", "reason": "5xx"}},
    }
    result = region_failover.handler(event, Context(), engine=Engine())
    assert result["results"][0]["action"] == "wait"
    assert (seen[0].region, seen[0].healthy) == (PRIMARY, False)
    other = {**event, "detail": {"alarmName": "some-other-alarm", "state": {"value": "ALARM"}}}
    assert region_failover.handler(other, Context(), engine=Engine()) == {"results": []}
