"""`outage-comms declare | update | resolve` sign with SigV4, proven against a real HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import typer
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from typer.testing import CliRunner

from outage_comms_cli.incident_commands import register

pytestmark = pytest.mark.unit

ACCESS_KEY, SECRET_KEY, TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token"
REGION = "sa-east-1"


class Recorded:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply: tuple[int, dict[str, Any]] = (
            201,
            {"incident_id": "inc-20261127-1405-c40a8d", "kind": "open"},
        )


@pytest.fixture
def server() -> Iterator[tuple[str, Recorded]]:
    recorded = Recorded()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            recorded.requests.append(
                {"method": "POST", "path": self.path, "headers": dict(self.headers.items()), "body": body}
            )
            status, payload = recorded.reply
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", recorded
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.delenv("OUTAGE_COMMS_API_URL", raising=False)


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Stand-in for the outage-comms app."""

    register(app)
    return app


def expected_signature(request: dict[str, Any], url: str) -> str:
    """Recompute the SigV4 signature from what the server received, with botocore."""
    headers = request["headers"]
    signed = headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    replay = AWSRequest(
        method=request["method"],
        url=url,
        data=request["body"],
        headers={name: value for name, value in headers.items() if name.lower() in signed},
    )
    amz_date = headers["X-Amz-Date"]
    replay.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, TOKEN), "execute-api", REGION)
    auth._timestamp = amz_date  # type: ignore[attr-defined]
    canonical = auth.canonical_request(replay)
    string_to_sign = auth.string_to_sign(replay, canonical)
    return auth.signature(string_to_sign, replay)


def test_declare_sends_a_valid_sigv4_signature_and_the_body_the_api_expects(
    app: typer.Typer, server: tuple[str, Recorded], credentials: None
) -> None:
    url, recorded = server
    result = CliRunner().invoke(
        app,
        [
            "declare",
            "--component", "sign-in", "--component", "public-api",
            "--severity", "sev2",
            "--note", "en=Some customers cannot sign in.",
            "--request-id", "req-42",
            "--api-url", url, "--region", REGION,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "inc-20261127-1405-c40a8d" in result.output
    (request,) = recorded.requests
    assert request["path"] == "/v1/incidents"
    assert json.loads(request["body"]) == {
        "request_id": "req-42",
        "components": ["sign-in", "public-api"],
        "severity": "sev2",
        "note": {"en": "Some customers cannot sign in."},
    }
    headers = request["headers"]
    assert headers["X-Amz-Security-Token"] == TOKEN
    authorization = headers["Authorization"]
    day = datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").strftime("%Y%m%d")
    assert authorization.startswith(
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{day}/{REGION}/execute-api/aws4_request"
    )
    signed_headers = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "x-amz-security-token"} <= set(signed_headers)
    signature = authorization.rsplit("Signature=", 1)[1]
    assert signature == expected_signature(request, f"{url}/incidents")
    # A signature over a tampered body would differ: the check is not vacuous.
    tampered = {**request, "body": request["body"].replace(b"sev2", b"sev1")}
    assert expected_signature(tampered, f"{url}/incidents") != signature


def test_update_and_resolve_post_to_the_incident_paths(
    app: typer.Typer, server: tuple[str, Recorded], credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, recorded = server
    monkeypatch.setenv("OUTAGE_COMMS_API_URL", url)
    recorded.reply = (200, {"incident_id": "inc-20261127-1405-c40a8d", "kind": "update"})
    incident = "inc-20261127-1405-c40a8d"
    assert (
        CliRunner().invoke(app, ["update", incident, "--status", "identified", "--region", REGION]).exit_code
        == 0
    )
    assert CliRunner().invoke(app, ["resolve", incident, "--region", REGION]).exit_code == 0
    paths = [r["path"] for r in recorded.requests]
    assert paths == [f"/v1/incidents/{incident}/updates", f"/v1/incidents/{incident}/resolve"]
    assert json.loads(recorded.requests[0]["body"])["status"] == "identified"
    assert set(json.loads(recorded.requests[1]["body"])) == {"request_id"}


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (403, {"message": "User is not authorized"}, "refused your IAM identity (403"),
        (
            400,
            {"error": "unknown_component", "message": "components name ['nope']"},
            "unknown_component: components",
        ),
    ],
)
def test_api_errors_are_shown_with_the_fix(
    app: typer.Typer,
    server: tuple[str, Recorded],
    credentials: None,
    status: int,
    payload: dict[str, Any],
    expected: str,
) -> None:
    url, recorded = server
    recorded.reply = (status, payload)
    result = CliRunner().invoke(app, ["declare", "-c", "sync", "--api-url", url, "--region", REGION])
    assert result.exit_code == 1
    assert expected in result.stderr


def test_no_credentials_is_a_clear_error(
    app: typer.Typer, server: tuple[str, Recorded], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    _url, recorded = server
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    deployed = "https://abc123defg.execute-api.sa-east-1.amazonaws.com/v1"  # loopback goes unsigned (local)
    result = CliRunner().invoke(app, ["declare", "-c", "sync", "--api-url", deployed, "--region", REGION])
    assert result.exit_code == 1
    assert "no AWS credentials found" in result.stderr
    assert recorded.requests == []


def test_region_is_read_from_an_execute_api_url() -> None:
    from outage_comms_cli.incident_commands import region_for

    assert region_for("https://abc123.execute-api.eu-west-3.amazonaws.com/v1/", None) == "eu-west-3"
