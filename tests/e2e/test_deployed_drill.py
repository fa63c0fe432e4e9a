"""`outage-comms drill --target deployed` against a stand-in deployment: a real HTTP server on 127.0.0.1.

The server checks each request's SigV4 signature (fake credentials: the runner signs with the
default credential chain, here the environment) and hands it, as API Gateway's proxy event with the
caller's IAM identity, to the real ``incident_api`` handler. Behind it is the embedded AWS (moto:
the synthesized app, the real workflow handlers). The stand-in deployment runs its workflow on a
compressed clock (0.3 s per plan minute) and the runner compresses its own waits to match
(``time_scale`` 0.005); people approve on the review page, as they would in a deployed drill.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from outage_comms.plan import Plan, load_plan
from outage_comms_cli.drills.deployed import DeployedRunner, api_caller, run_deployed_drill
from outage_comms_cli.drills.report import measures, score
from outage_comms_cli.drills.scenario import DRILLS_DIR, load_scenario

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SECONDS_PER_MINUTE = 0.3
ACCESS_KEY = "AKIDDRILLTEST0000001"
SECRET_KEY = "drill-test-secret"
CALLER = "arn:aws:sts::123456789012:assumed-role/OutageCommsIncidentManager/game-day"


@dataclass
class FakeContext:
    function_name: str = "outage-comms-incident-api"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:outage-comms-incident-api"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def signature_valid(method: str, url: str, headers: dict[str, str], body: bytes) -> bool:
    """Recompute the SigV4 signature over the headers the client signed, with the server's copy of the key."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = headers.get("authorization", "")
    fields = dict(
        part.strip().split("=", 1) for part in authorization.removeprefix("AWS4-HMAC-SHA256 ").split(",")
    )
    access_key, _, region, service, _ = fields.get("Credential", "////").split("/")
    if access_key != ACCESS_KEY or service != "execute-api":
        return False
    signed = fields["SignedHeaders"].split(";")
    request = AWSRequest(method=method, url=url, data=body or None, headers={h: headers[h] for h in signed})
    request.context["timestamp"] = headers["x-amz-date"]
    auth = SigV4Auth(
        Credentials(ACCESS_KEY, SECRET_KEY, headers.get("x-amz-security-token")), service, region
    )
    canonical = auth.canonical_request(request)
    return auth.signature(auth.string_to_sign(request, canonical), request) == fields["Signature"]


class LocalIncidentApi:
    """The incident API's stage on 127.0.0.1: SigV4 check, proxy event, the real handler."""

    def __init__(self, aws: Any, dependencies: Any) -> None:
        self.requests: list[tuple[str, str, int]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = api.answer(self.command, self.path, headers, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._aws, self._dependencies = aws, dependencies
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LocalIncidentApi:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        for directory in self._aws.asset_dirs:  # ``handlers`` comes from the deployed asset, as in Lambda
            if str(directory) not in sys.path:
                sys.path.append(str(directory))
        from handlers.incident_api import handler

        url = f"http://{headers['host']}{raw_path}"
        if not signature_valid(method, url, headers, body):
            self.requests.append((method, raw_path, 403))
            return 403, {
                "message": "The request signature we calculated does not match the signature you provided."
            }
        path = raw_path.removeprefix("/v1")
        parts = path.split("/")
        resource = (
            "/incidents"
            + ("/{incident_id}" if len(parts) > 2 else "")
            + (f"/{parts[3]}" if len(parts) > 3 else "")
        )
        event = {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {},
            "queryStringParameters": None,
            "pathParameters": {"incident_id": parts[2]} if len(parts) > 2 else None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method,
                "path": f"/v1{path}",
                "stage": "v1",
                "requestId": str(uuid.uuid4()),
                "identity": {"userArn": CALLER, "caller": "AROADRILL:game-day", "sourceIp": "127.0.0.1"},
            },
            "body": body.decode() if body else None,
            "isBase64Encoded": False,
        }
        with self._aws._lock:  # handlers share Powertools singletons: one at a time, as the harness runs them
            response = handler(event, FakeContext(), dependencies=self._dependencies)
        self.requests.append((method, raw_path, int(response["statusCode"])))
        return int(response["statusCode"]), json.loads(response["body"])


class Approvers:
    """The people of a deployed drill: they open the review links they were sent and approve."""

    def __init__(self, aws: Any, plan: Plan) -> None:
        self._aws, self._plan = aws, plan
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.decisions = 0

    def __enter__(self) -> Approvers:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        from outage_comms_embedded import review, session_arn

        roles = self._plan.roles
        principals = [
            roles.communications_manager.approver_principals[0],
            roles.incident_manager.approver_principals[0],
        ]
        while not self._stop.is_set():
            for message in self._aws.sent_emails():
                for incident_id, reference in review_links_in(message):
                    if reference in self._seen:
                        continue
                    self._seen.add(reference)
                    time.sleep(SECONDS_PER_MINUTE)  # a minute to read it
                    for number, principal in enumerate(principals):
                        review(
                            self._aws,
                            incident_id,
                            reference,
                            caller_arn=session_arn(principal, f"p{number}"),
                            decision="approve",
                        )
                    self.decisions += 1
            self._stop.wait(0.1)


def review_links_in(message: Any) -> list[tuple[str, str]]:
    import re

    pattern = re.compile(r"https?://\S+/incidents/(?P<incident>inc-[\w-]+)/review/(?P<reference>[\w.-]+)")
    return [
        (m["incident"], m["reference"]) for m in pattern.finditer(str(getattr(message, "body", "") or ""))
    ]


@pytest.fixture(scope="module")
def deployment(drill_cdk_out: Path) -> Iterator[tuple[Any, LocalIncidentApi, Plan]]:
    from outage_comms.intake.runtime import build_dependencies
    from outage_comms.intake.settings import IntakeSettings
    from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway
    from outage_comms_cli.drills.embedded import DrillGateway, _create_drill_secrets, _seed_subscribers
    from outage_comms_embedded import EmbeddedAws

    plan = load_plan(ROOT / "plans" / "example.yaml")
    with EmbeddedAws(drill_cdk_out) as aws, pytest.MonkeyPatch.context() as monkeypatch:
        _seed_subscribers(aws, plan)
        _create_drill_secrets(aws, plan)
        settings = IntakeSettings(
            PLAN_PATH=str(ROOT / "plans" / "example.yaml"),
            INCIDENTS_TABLE_NAME=aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"),
            IDEMPOTENCY_TABLE_NAME=aws.physical_id("AWS::DynamoDB::Table", contains="Idempotency"),
            EVENT_BUS_NAME=next(
                r["Properties"]["Name"]
                for t in aws.templates.values()
                for r in t["Resources"].values()
                if r["Type"] == "AWS::Events::EventBus"
            ),
            STATE_MACHINE_ARN=aws.state_machine_arn,
        )
        # The stand-in deployment's workflow runs on the compressed clock (a real one on real minutes).
        gateway = DrillGateway(StepFunctionsWorkflowGateway(aws.state_machine_arn), SECONDS_PER_MINUTE)
        dependencies = build_dependencies(settings, plan=plan, workflow=gateway)
        # The runner signs with the default credential chain: here, fake keys only this server knows.
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        with LocalIncidentApi(aws, dependencies) as api:
            yield aws, api, plan


def test_the_deployed_drill_declares_a_drill_posts_at_offsets_and_measures_the_humans(
    deployment: tuple[Any, LocalIncidentApi, Plan], tmp_path: Path
) -> None:
    aws, api, plan = deployment
    scenario = load_scenario(DRILLS_DIR / "default.yaml", plan)
    lines: list[str] = []
    # When the runner plays the default story against the API (its waits compressed like the workflow)
    with Approvers(aws, plan) as people:
        record = run_deployed_drill(
            plan,
            scenario,
            tmp_path,
            call=api_caller(api.url, "us-east-1"),
            time_scale=SECONDS_PER_MINUTE / 60,
            poll_seconds=0.2,
            patience_minutes=1.0,  # a real minute: the stand-in's workflow runs 200 plan minutes in one
            finish_minutes=1.0,
            progress=lines.append,
        )
    # Then it spoke only through the API, signed (no request refused), and read the activity route
    assert {code for _, _, code in api.requests} <= {200, 201}, api.requests
    posted = [(m, p) for m, p, _ in api.requests if m == "POST"]
    assert [p.rsplit("/", 1)[-1] for _, p in posted] == ["incidents", "updates", "resolve"]
    assert any(p.endswith("/activity") for _, p, _ in api.requests)
    # And the incident is a drill (drill mode runtime: only the drill audience hears it)
    from outage_comms.intake.store import DynamoIncidentRepository

    stored = DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents")).get(
        record.incident_id
    )
    assert stored.drill is True and stored.status == "resolved"
    # And the record measured what people and the workflow did, in real minutes
    assert record.target == "deployed" and record.status == "SUCCEEDED" and record.seconds_per_minute == 60
    assert record.reminders == 1 and record.escalations == 0
    assert len(record.approvals) >= 3 and all(a.decision == "approved" for a in record.approvals)
    assert all(a.minutes is not None and a.minutes > 0 for a in record.approvals)
    assert record.first_message_minute is not None and len(record.update_minutes) >= 3
    assert any("APPROVAL" in line and "cannot approve" in line for line in lines)
    assert people.decisions >= 3
    # And the report is written, scored from the same record
    assert 0 <= score(measures(record)) <= 100
    assert {"report.md", "report.html", "timeline.svg", "record.json"} <= {p.name for p in tmp_path.iterdir()}


def test_a_request_with_a_wrong_key_is_refused_by_the_stand_in(
    deployment: tuple[Any, LocalIncidentApi, Plan], monkeypatch: pytest.MonkeyPatch
) -> None:
    from outage_comms_cli.drills.deployed import DeployedDrillError

    _, api, plan = deployment
    call = api_caller(api.url, "us-east-1")
    with pytest.raises(DeployedDrillError, match="incident_not_found"):
        call("GET", "incidents/inc-20990101-0000-abcdef/activity", None)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-key")
    runner = DeployedRunner(
        plan, load_scenario(DRILLS_DIR / "default.yaml", plan), api_caller(api.url, "us-east-1")
    )
    with pytest.raises(DeployedDrillError, match="refused your IAM identity"):
        runner.run()
