"""The feedback store and API on moto DynamoDB + Secrets Manager, tables shaped like the construct's."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from feedback_tables import create_table
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lambdas"))  # handlers.* as in the asset

from outage_comms.aws_clients import reset_clients
from outage_comms.feedback import runtime


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_SERVICE_NAME": "feedback-api",
    }.items():
        monkeypatch.setenv(name, value)
    reset_clients()
    yield
    reset_clients()
    for cached in (
        runtime.feedback_service,
        runtime.feedback_linker,
        runtime.signing_secret,
        runtime.sms_reply_service,
    ):
        cached.cache_clear()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def feedback_table(aws: None) -> str:
    return create_table(f"feedback-{uuid.uuid4().hex[:8]}", ttl=True)


@pytest.fixture
def workflow_table(aws: None) -> str:
    return create_table(f"workflow-{uuid.uuid4().hex[:8]}", ttl=True)
