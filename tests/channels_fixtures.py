"""Shared test helpers for the channels: a real HTTP server on 127.0.0.1, moto tables, deliveries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from outage_comms.channels.base import Delivery
from outage_comms.vocabulary import Channel


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class LocalServer:
    """Records every request; answers from ``replies[path]`` (a list, consumed in order, last one repeats)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: dict[str, list[Reply]] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                owner.requests.append(
                    Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                queue = owner.replies.get(path) or [Reply()]
                reply = queue.pop(0) if len(queue) > 1 else queue[0]
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_POST = _handle
            do_GET = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def reply(self, path: str, *replies: Reply) -> None:
        self.replies[path] = list(replies)

    def at(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]


@contextmanager
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def delivery(channel: Channel, messages: dict[str, dict[str, str]], **overrides: Any) -> Delivery:
    values: dict[str, Any] = {
        "incident_id": "inc-20261127-1405-abc123",
        "update_id": "u-0001",
        "channel": channel,
        "scenario": "major_outage",
        "components": ["sync", "search"],
        "audiences": ["all-customers", "enterprise"],
        "severity": "sev1",
        "messages": messages,
    }
    values.update(overrides)
    return Delivery(**values)


def create_subscribers_table(dynamodb: Any, name: str = "subscribers") -> Any:
    """The table as ``stacks/constructs/data_store.py`` defines it (pk/sk + by-component-locale)."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-component-locale",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    import boto3

    return boto3.resource("dynamodb", region_name="us-east-1").Table(name)


def create_limits_table(dynamodb: Any, name: str = "limits") -> Any:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    import boto3

    return boto3.resource("dynamodb", region_name="us-east-1").Table(name)
