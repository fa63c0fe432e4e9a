"""The compose page in the embedded deployment (the synthesized stacks on moto, real handlers, intake
through its queue): a missed update's reminder carries a signed compose link; the page it opens posts
the next update through the incident API's intake path, and the running workflow sends it (issue 15).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from workflow_helpers import COMMS_MANAGER_ROLE, OpenIncident, start, subscriber_messages

from outage_comms_embedded import EmbeddedAws, session_arn

pytestmark = pytest.mark.integration

COMMS = "comms@nimbusnotes.example"
MARINA = session_arn(COMMS_MANAGER_ROLE, "marina")
_COMPOSE_LINK = re.compile(
    r"https://\S+/incidents/(?P<incident>inc-[0-9a-f-]+)/compose/(?P<reference>[A-Za-z0-9_.-]+)"
)


@pytest.fixture(scope="module")
def aws(cdk_out: Path) -> Iterator[EmbeddedAws]:
    """With the intake stack: the compose page's function, its URL parameter and the intake queue."""
    with EmbeddedAws(cdk_out, with_intake=True) as embedded:
        yield embedded


def _compose_links(aws: EmbeddedAws, incident_id: str) -> list[str]:
    found = []
    for message in aws.sent_emails():
        if COMMS in message.destinations.get("ToAddresses", []):
            found += [
                m["reference"] for m in _COMPOSE_LINK.finditer(message.body) if m["incident"] == incident_id
            ]
    return found


def _compose(
    aws: EmbeddedAws, method: str, incident_id: str, reference: str, form: dict[str, str] | None = None
) -> dict[str, Any]:
    event = {
        "httpMethod": method,
        "resource": "/incidents/{incident_id}/compose/{reference}",
        "path": f"/incidents/{incident_id}/compose/{reference}",
        "pathParameters": {"incident_id": incident_id, "reference": reference},
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "body": urlencode(form) if form else None,
        "isBase64Encoded": False,
        "requestContext": {"identity": {"userArn": MARINA, "caller": MARINA}},
    }
    return dict(aws.invoke(aws.function_name("compose_page"), event))


def test_a_reminder_links_to_the_compose_page_and_its_update_reaches_customers(
    aws: EmbeddedAws, open_incident: OpenIncident
) -> None:
    # Given a sev4 incident (sent without approval) whose next update is missed
    incident = open_incident("search", "sev4")
    start(aws, incident, 0.02)
    aws.wait_until(
        lambda: _compose_links(aws, incident.id), timeout=120, what="a reminder with a compose link"
    )
    reference = _compose_links(aws, incident.id)[-1]
    # When the communications manager opens the link and posts an update
    page = _compose(aws, "GET", incident.id, reference)
    assert page["statusCode"] == 200, page["body"][:500]
    csrf = str(page["body"]).split("name=csrf value='", 1)[1].split("'", 1)[0]
    words = "We found the cause and are rolling out a fix"
    form = {"csrf": csrf, "action": "post", "status": "identified", "scenario": "identified",
            "component:search": "on", "note:en": words}  # fmt: skip
    posted = _compose(aws, "POST", incident.id, reference, form)
    assert posted["statusCode"] == 200 and "Update posted" in posted["body"], posted["body"][:800]
    aws.pump()  # the intake queue: the hand-off reaches the waiting execution through the intake function
    # Then the running workflow renders and sends it to customers (this severity needs no approval)
    aws.wait_until(
        lambda: any(words in json.dumps(m) for m in subscriber_messages(aws, incident.id)),
        timeout=120,
        what="the composed update on the subscribers' topic",
    )
