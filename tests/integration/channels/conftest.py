"""Channels on moto (SES v2, SNS, SQS, DynamoDB, S3, Secrets Manager) and a real local HTTP server."""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lambdas"))

from outage_comms.aws_clients import reset_clients
from outage_comms.channels import settings as channel_settings_module
from outage_comms.channels.secrets import SecretCache
from outage_comms.plan import Plan, load_plan
from outage_comms.subscribers.store import SubscriberStore
from tests.channels_fixtures import (
    LocalServer,
    create_limits_table,
    create_subscribers_table,
    local_server,
)

ROOT = Path(__file__).resolve().parents[3]
TOKEN_KEY = "k" * 48


@pytest.fixture(scope="session")
def plan() -> Plan:
    return load_plan(ROOT / "plans" / "example.yaml")


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "OutageCommsTest",
        "POWERTOOLS_SERVICE_NAME": "channels-test",
    }.items():
        monkeypatch.setenv(name, value)
    reset_clients()
    channel_settings_module.channel_settings.cache_clear()
    yield
    reset_clients()
    channel_settings_module.channel_settings.cache_clear()


@pytest.fixture
def aws() -> Iterator[None]:
    # Another suite may keep a session-wide moto mock running in this worker; nested mocks don't reset,
    # so every resource these tests create gets a unique name instead of relying on a fresh account.
    with mock_aws():
        yield


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


@pytest.fixture
def secretsmanager(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name="us-east-1")


@pytest.fixture
def secrets(secretsmanager: Any) -> SecretCache:
    return SecretCache(secretsmanager)


@pytest.fixture
def subscribers_table(aws: None, uid: str) -> Any:
    return create_subscribers_table(boto3.client("dynamodb", region_name="us-east-1"), f"subscribers-{uid}")


@pytest.fixture
def limits_table(aws: None, uid: str) -> Any:
    return create_limits_table(boto3.client("dynamodb", region_name="us-east-1"), f"limits-{uid}")


@pytest.fixture
def store(subscribers_table: Any) -> SubscriberStore:
    return SubscriberStore(subscribers_table)


@pytest.fixture
def ses(aws: None) -> Any:
    """A moto SES v2 client whose SendEmail requests are also captured (moto drops Headers)."""
    client = boto3.client("sesv2", region_name="us-east-1")
    with contextlib.suppress(client.exceptions.AlreadyExistsException):
        client.create_email_identity(EmailIdentity="nimbusnotes.example")
    client.sent = []  # type: ignore[attr-defined]

    def capture(params: dict[str, Any], **_: Any) -> None:
        client.sent.append(params)  # type: ignore[attr-defined]

    client.meta.events.register("provide-client-params.sesv2.SendEmail", capture)
    return client
