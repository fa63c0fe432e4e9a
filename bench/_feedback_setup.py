"""Shared by bench/feedback.py and its cold-start processes: moto tables, the secret, one sent update."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

INCIDENT = "inc-20261127-1405-3fa2c1"
UPDATE = "002-identified"


def setup() -> None:
    """Inside ``mock_aws``: the feedback and workflow tables, the signing secret, update 002 as sent."""
    import boto3

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    for name in ("feedback", "workflow"):
        ddb.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    ddb.put_item(
        TableName="workflow",
        Item={"pk": {"S": f"INCIDENT#{INCIDENT}"}, "sk": {"S": f"UPDATE#{UPDATE}"}, "document": {"S": "{}"}},
    )
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    os.environ["FEEDBACK_SECRET_ARN"] = secrets.create_secret(Name="feedback-key", SecretString="s" * 64)[
        "ARN"
    ]


def token() -> str:
    """A genuine link token for update 002 by email, in English."""
    from outage_comms.feedback.runtime import feedback_linker
    from outage_comms.vocabulary import Channel, Scenario

    linker = feedback_linker()
    assert linker is not None
    url = linker.urls(
        incident_id=INCIDENT,
        update_id=UPDATE,
        channel=Channel.EMAIL,
        locale="en",
        scenario=Scenario.IDENTIFIED,
        now=datetime.now(UTC),
    ).yes
    return url.split("/")[-2]


def event(
    path: str, ip: str, agent: str = "Mozilla/5.0 (bench)", method: str = "GET", body: str | None = None
) -> dict[str, Any]:
    """An API Gateway REST proxy event for ``method path`` (``/f/{token}/{action}`` or ``/f/{token}``)."""
    parts = path.strip("/").split("/")
    resource = "/f/{token}/{action}" if len(parts) == 3 else "/f/{token}"
    headers = {"User-Agent": agent}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "pathParameters": dict(zip(("token", "action"), parts[1:], strict=False)),
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "stage": "v1",
            "requestId": "r",
            "identity": {"sourceIp": ip},
        },
        "body": body,
        "isBase64Encoded": False,
    }


class Context:
    """The parts of a Lambda context the handler's Powertools decorators read."""

    function_name = "feedback-api"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:feedback-api"
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/feedback-api"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
