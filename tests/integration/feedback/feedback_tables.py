"""Tables shaped like the feedback construct's (and the workflow table's), on moto."""

from __future__ import annotations

import boto3


def create_table(name: str, *, ttl: bool = False) -> str:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    if ttl:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )
    return name


def put_update(table: str, incident_id: str, update_id: str) -> None:
    boto3.client("dynamodb", region_name="us-east-1").put_item(
        TableName=table,
        Item={
            "pk": {"S": f"INCIDENT#{incident_id}"},
            "sk": {"S": f"UPDATE#{update_id}"},
            "document": {"S": "{}"},
        },
    )
