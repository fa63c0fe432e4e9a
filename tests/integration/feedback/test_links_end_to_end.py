"""End to end on the synthesized app in moto: the render step signs links with the deployed secret, the
messages customers get carry them, and the deployed feedback function counts a click on one."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from workflow_helpers import EXAMPLE_PLAN, human_declare, start, subscriber_messages

from outage_comms.feedback.store import DynamoFeedbackStore
from outage_comms.incident import Incident
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import load_plan
from outage_comms_embedded import EmbeddedAws, synthesize_app

pytestmark = pytest.mark.integration

LINE = re.compile(r"Was this update helpful\? Yes: (https://\S+/f/([A-Za-z0-9_-]+)/y) No: (https://\S+/n)")


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedAws]:
    cdk_out = synthesize_app(tmp_path_factory.mktemp("feedback-cdk.out"), EXAMPLE_PLAN)
    with EmbeddedAws(cdk_out) as embedded:
        yield embedded


def open_notice(aws: EmbeddedAws) -> Incident:
    """A sev4 notice: no approval needed, so the first update goes straight out."""
    plan = load_plan(EXAMPLE_PLAN)
    signal = to_signal(human_declare("search", "sev4", "investigating"), plan, received_at=datetime.now(UTC))
    assert isinstance(signal, Signal), signal
    decision = decide(signal, {}, plan, datetime.now(UTC))
    assert decision.incident is not None
    DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents")).save(
        decision.incident, None
    )
    return decision.incident


def proxy_event(url: str, ip: str) -> dict[str, Any]:
    path = "/f/" + url.split("/f/", 1)[1]
    _, token, action = path.strip("/").split("/")
    return {
        "resource": "/f/{token}/{action}",
        "path": path,
        "httpMethod": "GET",
        "headers": {"User-Agent": "Mozilla/5.0 (Macintosh) Safari/605.1.15"},
        "pathParameters": {"token": token, "action": action},
        "requestContext": {"stage": "v1", "requestId": "r", "identity": {"sourceIp": ip}},
        "body": None,
        "isBase64Encoded": False,
    }


def test_a_customer_message_carries_links_the_deployed_api_counts(aws: EmbeddedAws) -> None:
    incident = open_notice(aws)
    arn = start(aws, incident, 0.1)
    aws.wait_for_state(arn, "Wait for next update")
    bodies = {
        m["attributes"]["locale"]["Value"]: json.loads(m["message"]).get("default", m["message"])
        if m["message"].startswith("{")
        else m["message"]
        for m in subscriber_messages(aws, incident.id)
    }
    english = LINE.search(bodies["en"])
    assert english, bodies["en"][-400:]
    # a short link on the status domain (its /f/* route reaches the API), never the raw API URL or "None"
    status_url = load_plan(EXAMPLE_PLAN).organization.status_page_url.rstrip("/")
    assert english.group(1) == f"{status_url}/f/{english.group(2)}/y" and len(english.group(2)) == 8
    assert "execute-api" not in json.dumps(bodies) and "None" not in json.dumps(bodies)
    assert "Esta atualização foi útil? Sim: " in bodies["pt-BR"]
    feedback_function = aws.function_name("feedback_api")
    answered = aws.invoke(feedback_function, proxy_event(english.group(1), "198.51.100.23"))
    assert answered["statusCode"] == 200 and "Thank you for your answer" in answered["body"]
    again = aws.invoke(feedback_function, proxy_event(english.group(3), "198.51.100.23"))
    assert again["statusCode"] == 409
    table = aws.physical_id("AWS::DynamoDB::Table", contains="Feedback")
    counts = DynamoFeedbackStore(table_name=table, client=aws.client("dynamodb")).counts(incident.id)
    assert (counts["yes"], counts["no"]) == (1, 0)
    assert counts["by_channel"] == {"sns": {"yes": 1, "no": 0, "comments": 0}}
    assert list(counts["by_update"]) == ["001-investigating"]
