"""``outage-comms local``'s parts without a deployment: API routes from a template, the state snapshot,
the inbox's rendering of what channels sent, the server's cross-site refusals and the CLI's unsigned
loopback calls (``list``, ``show``, ``declare --format json``)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from outage_comms.channels.webhook import SIGNATURE_HEADER, sign
from outage_comms_cli import api_call as client
from outage_comms_cli.local import state
from outage_comms_cli.local.apigw import proxy_event, sort_routes, template_routes
from outage_comms_cli.local.inbox import Inbox
from outage_comms_embedded.channel_sink import SinkRequest

pytestmark = pytest.mark.unit

INCIDENT = "inc-20261202-1400-abc123"


def _method(
    api: str, resource: dict[str, Any], verb: str, function: str, auth: str = "NONE"
) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "HttpMethod": verb,
            "AuthorizationType": auth,
            "RestApiId": {"Ref": api},
            "ResourceId": resource,
            "Integration": {
                "Type": "AWS_PROXY",
                "Uri": {"Fn::Join": ["", ["arn:", {"Fn::GetAtt": [function, "Arn"]}, "/invocations"]]},
            },
        },
    }


TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "outage-comms-review"}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "handlers.review.handler"}},
        "Incidents": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {"ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "PathPart": "incidents"},
        },
        "One": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {"ParentId": {"Ref": "Incidents"}, "PathPart": "{incident_id}"},
        },
        "Activity": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {"ParentId": {"Ref": "One"}, "PathPart": "activity"},
        },
        "Proxy": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {"ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "PathPart": "{proxy+}"},
        },
        "GetOne": _method("Api", {"Ref": "One"}, "GET", "Fn", "AWS_IAM"),
        "GetActivity": _method("Api", {"Ref": "Activity"}, "GET", "Fn"),
        "Anything": _method("Api", {"Ref": "Proxy"}, "GET", "Fn"),
        "Root": _method("Api", {"Fn::GetAtt": ["Api", "RootResourceId"]}, "GET", "Fn"),
    }
}


def test_routes_are_read_from_the_template_literal_paths_first() -> None:
    routes = sort_routes(template_routes(TEMPLATE, {"Api": "abc123", "Fn": "review-fn"}))
    assert {r.resource for r in routes} == {
        "/incidents/{incident_id}",
        "/incidents/{incident_id}/activity",
        "/{proxy+}",
        "/",
    }
    assert all(r.api == "outage-comms-review" and r.function == "review-fn" for r in routes)
    assert [r.iam for r in routes if r.resource == "/incidents/{incident_id}"] == [True]
    first = next(r for r in routes if r.match(f"/incidents/{INCIDENT}/activity") is not None)
    assert first.resource == "/incidents/{incident_id}/activity"
    assert first.match(f"/incidents/{INCIDENT}/activity") == {"incident_id": INCIDENT}
    proxy = next(r for r in routes if r.resource == "/{proxy+}")
    assert proxy.match("/a/b/c") == {"proxy": "a/b/c"}
    assert next(r for r in routes if r.resource == "/incidents/{incident_id}").match("/incidents/") is None
    undeployed = template_routes(TEMPLATE, {})
    assert all(r.function == "" and r.api_id.startswith("undeployed-") for r in undeployed)


def test_the_proxy_event_carries_the_callers_identity_only_when_given() -> None:
    route = next(r for r in template_routes(TEMPLATE, {"Api": "abc", "Fn": "fn"}) if r.iam)
    caller = "arn:aws:sts::111122223333:assumed-role/OutageCommsCommunicationsManager/local-1"
    event = proxy_event(
        route,
        f"/incidents/{INCIDENT}",
        {"incident_id": INCIDENT},
        method="POST",
        query="a=1&a=2",
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=b"csrf=x&decision=approve",
        caller_arn=caller,
    )
    assert event["requestContext"]["identity"]["userArn"] == caller
    assert event["requestContext"]["identity"]["accountId"] == "111122223333"
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["body"] == "csrf=x&decision=approve" and event["isBase64Encoded"] is False
    anonymous = proxy_event(route, "/", {}, method="GET", query="", headers={}, body=b"\xff", caller_arn=None)
    assert "userArn" not in anonymous["requestContext"]["identity"]
    assert anonymous["isBase64Encoded"] is True


# -- the state snapshot ------------------------------------------------------------------------------


@dataclass
class _Deployed:
    """What :mod:`.state` reads of an EmbeddedAws: templates, physical ids and clients."""

    templates: dict[str, Any]
    stacks: dict[str, dict[str, str]]

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name="us-east-1")


def _deploy(suffix: str) -> _Deployed:
    import boto3

    table, bucket = f"incidents-{suffix}", f"status-{suffix}"
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    templates = {
        "Core": {"Resources": {"Incidents": {"Type": "AWS::DynamoDB::Table"}}},
        "Status": {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}},
    }
    return _Deployed(templates, {"Core": {"Incidents": table}, "Status": {"Bucket": bucket}})


def test_a_snapshot_restores_items_objects_and_secrets_into_a_new_deployment(tmp_path: Path) -> None:
    from moto import mock_aws

    with mock_aws():
        first = _deploy("one")
        item = {"pk": {"S": f"INCIDENT#{INCIDENT}"}, "body": {"B": b"\x00\xffzstd"}, "n": {"N": "7"}}
        first.client("dynamodb").put_item(TableName="incidents-one", Item=item)
        first.client("s3").put_object(
            Bucket="status-one", Key="api/v2/summary.json", Body=b"{}", ContentType="application/json"
        )
        first.client("secretsmanager").create_secret(Name="review-key", SecretString="s3cret")
        state.write_snapshot(first, tmp_path)  # type: ignore[arg-type]
    assert not list(tmp_path.glob(".*.tmp"))

    with mock_aws():  # a new process: nothing of the first deployment is left, names differ
        second = _deploy("two")
        second.client("secretsmanager").create_secret(Name="review-key", SecretString="regenerated")
        snapshot = state.read_snapshot(tmp_path)
        assert snapshot is not None
        counts = state.restore_snapshot(second, snapshot)  # type: ignore[arg-type]
        assert counts == {"items": 1, "objects": 1, "secrets": 1}
        restored = second.client("dynamodb").get_item(TableName="incidents-two", Key={"pk": item["pk"]})[
            "Item"
        ]
        assert restored == item
        got = second.client("s3").get_object(Bucket="status-two", Key="api/v2/summary.json")
        assert got["Body"].read() == b"{}" and got["ContentType"] == "application/json"
        assert (
            second.client("secretsmanager").get_secret_value(SecretId="review-key")["SecretString"]
            == "s3cret"
        )


def test_a_snapshot_of_another_format_is_ignored(tmp_path: Path) -> None:
    (tmp_path / state.SNAPSHOT).write_text(json.dumps({"format": 0, "tables": {}}))
    assert state.read_snapshot(tmp_path) is None


# -- the inbox ---------------------------------------------------------------------------------------


@dataclass
class _Calls:
    operation: str
    params: dict[str, Any]


@dataclass
class _Providers:
    calls: list[_Calls] = field(default_factory=list)


@dataclass
class _Sink:
    requests: list[SinkRequest] = field(default_factory=list)


@dataclass
class _ChannelWorld:
    """The provider side of an embedded AWS: what :class:`Inbox` reads."""

    providers: _Providers = field(default_factory=_Providers)
    sink: _Sink = field(default_factory=_Sink)
    emails: list[Any] = field(default_factory=list)

    def sent_emails(self) -> list[Any]:
        return self.emails

    def output(self, name: str) -> str:
        raise KeyError(name)


def test_the_inbox_renders_each_channel_checks_webhook_signatures_and_keeps_messages(tmp_path: Path) -> None:
    key = b"signing-key"
    body = json.dumps({"incident": {"id": INCIDENT}}).encode()
    good = sign(key, body, int(time.time()))
    world = _ChannelWorld()
    world.providers.calls.append(
        _Calls(
            "SendTextMessage", {"DestinationPhoneNumber": "+12065550100", "MessageBody": "Sync is slow. Ação"}
        )
    )
    world.sink.requests += [
        SinkRequest("webhook", "POST", "/hooks.example/status", {SIGNATURE_HEADER.lower(): good}, body),
        SinkRequest(
            "webhook", "POST", "/hooks.example/status", {SIGNATURE_HEADER.lower(): good}, body + b" "
        ),
        SinkRequest(
            "mastodon", "POST", "/mastodon.social/api/v1/statuses", {}, b'{"status": "Sync is slow"}'
        ),
    ]
    world.emails.append(
        type(
            "Sent",
            (),
            {
                "destinations": {"ToAddresses": ["comms@example.com"]},
                "subject": f"Approve the update for {INCIDENT}",
                "body": "<p>Open https://abc123.execute-api.us-east-1.amazonaws.com/v1/incidents/x/review/y</p>",
            },
        )()
    )
    path = tmp_path / "inbox.jsonl"
    inbox = Inbox(
        world,  # type: ignore[arg-type]
        path,
        webhook_keys=[key],
        localize=lambda text: text.replace(
            "https://abc123.execute-api.us-east-1.amazonaws.com/v1", "http://127.0.0.1:8000/review"
        ),
    )
    assert inbox.collect() == 5
    assert inbox.collect() == 0  # cursors: nothing twice
    by_channel = {m.channel: m for m in inbox.messages()}
    assert by_channel["sms"].facts == {"encoding": "UCS-2", "parts": "1", "characters": "18"}
    webhooks = inbox.messages(channel="webhook")
    assert [m.facts["signature"].split()[0] for m in webhooks] == ["INVALID", "valid"]  # newest first
    assert by_channel["mastodon"].facts == {"length": "12 / 500"}
    assert by_channel["email"].links == ["http://127.0.0.1:8000/review/incidents/x/review/y"]
    assert by_channel["email"].incident_id == INCIDENT
    reloaded = Inbox(world, path)  # type: ignore[arg-type]
    assert [m.as_dict() for m in reloaded.messages()] == [m.as_dict() for m in inbox.messages()]


# -- the CLI against a loopback API, without credentials ---------------------------------------------


@pytest.fixture
def loopback_api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    incident = {"id": INCIDENT, "status": "investigating", "severity": "sev2", "scenario": "partial_outage"}
    answers = {
        "/api/incidents?limit=50": {"incidents": [{**incident, "components": ["sync"], "published": []}]},
        f"/api/incidents/{INCIDENT}": {**incident, "components": ["sync"], "published": []},
        f"/api/incidents/{INCIDENT}/activity": {"events": [{"kind": "registered"}], "deliveries": []},
    }

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            seen.append({"method": "GET", "path": self.path, "headers": dict(self.headers.items())})
            self._answer(200, answers.get(self.path, {"error": "nope", "message": "no"}))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            seen.append(
                {
                    "method": "POST",
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": json.loads(self.rfile.read(length)),
                }
            )
            self._answer(201, {"incident_id": INCIDENT, "kind": "open"})

        def log_message(self, *_: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/api", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _app() -> typer.Typer:
    from outage_comms_cli.main import app

    return app


def test_list_show_and_declare_call_a_loopback_api_unsigned_and_print_json(
    loopback_api: tuple[str, list[dict[str, Any]]], no_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = loopback_api
    monkeypatch.setenv("OUTAGE_COMMS_API_URL", url)
    runner = CliRunner()
    listed = runner.invoke(_app(), ["list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [i["id"] for i in json.loads(listed.stdout)["incidents"]] == [INCIDENT]
    shown = runner.invoke(_app(), ["show", INCIDENT, "--format", "json"])
    assert json.loads(shown.stdout)["activity"]["events"] == [{"kind": "registered"}]
    declared = runner.invoke(
        _app(), ["declare", "-c", "sync", "--note", "en=Sync is slow", "--format", "json"]
    )
    assert declared.exit_code == 0, declared.output
    assert json.loads(declared.stdout) == {"status": 201, "incident_id": INCIDENT, "kind": "open"}
    assert seen[-1]["body"]["components"] == ["sync"]
    assert all("Authorization" not in request["headers"] for request in seen)
    human = runner.invoke(_app(), ["list"])
    assert human.exit_code == 0 and "1 open, 1 shown" in human.stdout


def test_only_loopback_hosts_are_called_unsigned() -> None:
    for url in (
        "http://127.0.0.1:8000/api",
        "http://localhost:8000/api",
        "http://[::1]:8000/api",
        "http://127.5.0.1/",
    ):
        assert client.is_loopback(url), url
    for url in (
        "https://abc.execute-api.us-east-1.amazonaws.com/v1",
        "http://10.0.0.1/api",
        "file:///etc",
        "http://127.0.0.1.example.com/",
    ):
        assert not client.is_loopback(url), url
    with pytest.raises(ValueError, match="only a loopback URL"):
        client.call_local("GET", "https://example.com/api/incidents", None)
    assert client.unsigned_loopback("https://abc.execute-api.us-east-1.amazonaws.com/v1", None) is False


# -- the server's refusals -----------------------------------------------------------------------------


class _NoDeployment:
    """Enough of a deployment for requests that must be refused before reaching it."""

    base_url = ""
    inbox = None

    def route_for(self, method: str, path: str) -> None:
        return None

    def approvers(self) -> list[tuple[str, str]]:
        return [("Marina", "arn:aws:sts::111122223333:assumed-role/Comms/local-1")]

    def fire_alarm(self, component: str | None, severity: str | None) -> dict[str, Any]:
        raise AssertionError("a refused request reached the deployment")


@pytest.fixture
def local_server() -> Iterator[str]:
    from outage_comms_cli.local.server import attach, base_url, bind

    server = bind(0)
    attach(server, _NoDeployment())  # type: ignore[arg-type]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base_url(server)
    finally:
        server.shutdown()
        server.server_close()


def _status(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None, body: bytes = b""
) -> int:
    request = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_the_server_refuses_foreign_hosts_other_sites_and_non_json_api_posts(local_server: str) -> None:
    port = local_server.rsplit(":", 1)[-1]
    assert _status(f"{local_server}/as", headers={"Host": f"evil.example:{port}"}) == 403  # DNS rebinding
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (
        _status(
            f"{local_server}/alarms",
            method="POST",
            headers={**form, "Origin": "https://evil.example"},
            body=b"x=1",
        )
        == 403
    )
    assert (
        _status(f"{local_server}/alarms", method="POST", headers={**form, "Origin": "null"}, body=b"x=1")
        == 403
    )
    assert (
        _status(f"{local_server}/as", method="POST", headers={**form, "Origin": "null"}, body=b"x=1") == 403
    )
    text = {"Content-Type": "text/plain"}
    assert (
        _status(
            f"{local_server}/api/incidents", method="POST", headers=text, body=b'{"components": ["sync"]}'
        )
        == 415
    )
    assert (
        _status(
            f"{local_server}/as", method="POST", headers={**form, "Origin": local_server}, body=b"principal=x"
        )
        == 400
    )
