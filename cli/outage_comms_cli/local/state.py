"""The local deployment's state on disk: a snapshot of what the app stored, restored on the next start.

moto keeps nothing between processes. What the app itself stored is what a restart must keep, so the
snapshot holds exactly that, read and written through the AWS APIs (nothing of moto's internals):

* every item of every DynamoDB table the stacks created (incidents, their updates and deliveries,
  workflow events, approvals, subscribers, feedback, idempotency records), keyed by stack and logical
  id, because physical names change with every deployment;
* every object of the buckets the stacks created (the published status site, bulk exports);
* the secrets' values (review and feedback signing keys, channel secrets), so links already sent keep
  their signatures and the webhook check keeps its key.

The inbox is kept beside it (``inbox.jsonl``, :mod:`.inbox`). What cannot be kept is a running Step
Functions execution: its task tokens die with the process, as they would if an execution were stopped.
On restart every incident that was still open gets a new execution of the same state machine; it claims
the incident (the old owner no longer runs) and announces its current state again, through approval
when the plan asks for it. The snapshot is rewritten every few seconds and at shutdown, atomically.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from outage_comms_embedded import EmbeddedAws

SNAPSHOT = "snapshot.json"
FORMAT = 1


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _resources(aws: EmbeddedAws, resource_type: str) -> dict[str, str]:
    """``stack/logical id`` -> physical id of every deployed resource of ``resource_type``."""
    return {
        f"{stack}/{logical_id}": aws.stacks[stack][logical_id]
        for stack, template in aws.templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type and logical_id in aws.stacks.get(stack, {})
    }


def take_snapshot(aws: EmbeddedAws) -> dict[str, Any]:
    dynamodb, s3, secrets = aws.client("dynamodb"), aws.client("s3"), aws.client("secretsmanager")
    tables: dict[str, list[dict[str, Any]]] = {}
    for key, table in _resources(aws, "AWS::DynamoDB::Table").items():
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            items.extend(page["Items"])
        tables[key] = items
    buckets: dict[str, dict[str, dict[str, Any]]] = {}
    for key, bucket in _resources(aws, "AWS::S3::Bucket").items():
        objects: dict[str, dict[str, Any]] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                got = s3.get_object(Bucket=bucket, Key=item["Key"])
                objects[item["Key"]] = {
                    "body": got["Body"].read(),
                    "content_type": got.get("ContentType", ""),
                    "cache_control": got.get("CacheControl", ""),
                }
        buckets[key] = objects
    values: dict[str, str] = {}
    for page in secrets.get_paginator("list_secrets").paginate():
        for secret in page["SecretList"]:
            value = secrets.get_secret_value(SecretId=secret["ARN"])
            if "SecretString" in value:
                values[secret["Name"]] = value["SecretString"]
    return {"format": FORMAT, "tables": tables, "buckets": buckets, "secrets": values}


def write_snapshot(aws: EmbeddedAws, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / SNAPSHOT
    scratch = folder / f".{SNAPSHOT}.tmp"
    scratch.write_text(json.dumps(_encode(take_snapshot(aws))), encoding="utf-8")
    os.replace(scratch, target)
    return target


def read_snapshot(folder: Path) -> dict[str, Any] | None:
    path = folder / SNAPSHOT
    if not path.exists():
        return None
    data = _decode(json.loads(path.read_text(encoding="utf-8")))
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def restore_snapshot(aws: EmbeddedAws, snapshot: dict[str, Any]) -> dict[str, int]:
    """Write the snapshot into the fresh deployment; returns counts of what was restored."""
    dynamodb, s3, secrets = aws.client("dynamodb"), aws.client("s3"), aws.client("secretsmanager")
    counts = {"items": 0, "objects": 0, "secrets": 0}
    tables = _resources(aws, "AWS::DynamoDB::Table")
    for key, items in snapshot.get("tables", {}).items():
        table = tables.get(key)
        if table is None:
            continue
        for item in items:
            dynamodb.put_item(TableName=table, Item=item)
            counts["items"] += 1
    buckets = _resources(aws, "AWS::S3::Bucket")
    for key, objects in snapshot.get("buckets", {}).items():
        bucket = buckets.get(key)
        if bucket is None:
            continue
        for name, stored in objects.items():
            extra = {"ContentType": stored["content_type"]} if stored.get("content_type") else {}
            if stored.get("cache_control"):
                extra["CacheControl"] = stored["cache_control"]
            s3.put_object(Bucket=bucket, Key=name, Body=stored["body"], **extra)
            counts["objects"] += 1
    existing = {
        s["Name"] for page in secrets.get_paginator("list_secrets").paginate() for s in page["SecretList"]
    }
    for name, value in snapshot.get("secrets", {}).items():
        if name in existing:
            secrets.put_secret_value(SecretId=name, SecretString=value)
        else:
            secrets.create_secret(Name=name, SecretString=value)
        counts["secrets"] += 1
    return counts
