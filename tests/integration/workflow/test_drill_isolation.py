"""Drill mode isolation on the embedded AWS: the synthesized workflow on moto, the real handlers.

Customers and drill testers are subscribed on every subscriber channel; a drill runs through
approval and the fan-out. Every message the providers saw (SES, SMS, voice, push, SNS, the HTTP
services) went to a drill address or target only and starts with the drill marker; the customers'
SNS topic got nothing; the injected failure is recorded as failed while the other channels delivered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from workflow_helpers import COMMS_MANAGER_ROLE, deliveries, human_declare, start, subscriber_messages

from outage_comms.incident import Incident
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan
from outage_comms_embedded import EmbeddedAws, review_links
from tests.embedded_helpers import approve_latest

pytestmark = pytest.mark.integration

COMMS = "comms@nimbusnotes.example"
CUSTOMERS = {
    "email": ["customer@example.com", "enterprise@example.com"],
    "sms": ["+14155550101"],
    "voice": ["+14155550102"],
    "push": ["customer-device-token"],
}
DRILL = {
    "email": ["drill-en@example.org", "drill-pt@example.org"],
    "sms": ["+5511955550199"],
    "voice": ["+14155550198"],
    "push": ["drill-device-token"],
}
DRILL_HANDLE = "drill.nimbusnotes.example"
DRILL_WEBHOOK = "https://hooks.drill.example/nimbus-drill"
MARKERS = ("[DRILL] ", "[SIMULAÇÃO] ")
SPOKEN = ("This is a drill.", "Isto é uma simulação.")


@pytest.fixture(scope="module")
def drill_world(aws: EmbeddedAws, plan: Plan) -> Iterator[EmbeddedAws]:
    """Customers and drill testers on every subscriber channel; the drill targets in Secrets Manager."""
    for channel, addresses in CUSTOMERS.items():
        for address in addresses:
            enterprise = "enterprise" in address or channel == "voice"
            aws.subscribe(
                channel,
                address,
                "en",
                components=("sync",) if enterprise else ("*",),
                audiences=("enterprise",) if enterprise else ("all-customers",),
                platform="GCM" if channel == "push" else "",
            )
    for channel, addresses in DRILL.items():
        for address in addresses:
            aws.subscribe(
                channel,
                address,
                "pt-BR" if "-pt@" in address else "en",
                components=("attachments",),  # not the drill's component: drill testers hear every drill
                audiences=("drill",),
                platform="GCM" if channel == "push" else "",
            )
    sink = aws.sink.url
    targets = {
        "slack": {"url": f"{sink}/slack/services/T000/B000/drill"},
        "teams": {"url": f"{sink}/teams/webhookb2/drill"},
        "support": {"url": f"{sink}/support/drill/api/v2/tickets", "token": "drill-desk-token"},
        "mastodon": {"access_token": "drill-mastodon-token"},
        "bluesky": {"app_password": "drill-app-password", "handle": DRILL_HANDLE},
        "webhook": {"signing_key": "drill-signing-key", "url": DRILL_WEBHOOK},
    }
    secrets = aws.client("secretsmanager")
    existing = {s["Name"] for s in secrets.list_secrets()["SecretList"]}
    for channel, value in targets.items():
        name = plan.drill.webhook_secrets[channel]  # type: ignore[index]
        if name in existing:  # the harness may already aim them at its sink: these targets are the test's
            secrets.put_secret_value(SecretId=name, SecretString=json.dumps(value))
        else:
            secrets.create_secret(Name=name, SecretString=json.dumps(value))
    aws.sink.route_host(DRILL_WEBHOOK, "webhook-drill")
    yield aws


def open_drill(repository: DynamoIncidentRepository, plan: Plan, failures: list[str]) -> Incident:
    raw = {**human_declare("sync", "sev2", "partial_outage"), "drill": True, "drill_failures": failures}
    signal = to_signal(raw, plan, received_at=datetime.now(UTC))
    assert isinstance(signal, Signal), signal
    decision = decide(signal, {}, plan, datetime.now(UTC))
    assert decision.incident is not None and decision.incident.drill
    repository.save(decision.incident, None)
    return decision.incident


def marked(text: str) -> bool:
    return text.startswith(MARKERS)


def test_a_drill_reaches_only_the_drill_audience_and_targets_every_message_marked(
    drill_world: EmbeddedAws, repository: DynamoIncidentRepository, plan: Plan
) -> None:
    aws = drill_world
    emails_before = len(aws.sent_emails())
    calls_before = len(aws.providers.calls)
    requests_before = len(aws.sink.requests)
    # Given a drill on sync (sev2: approval needed) that fails Mastodon on purpose
    incident = open_drill(repository, plan, ["mastodon"])
    arn = start(aws, incident, 1.0)
    aws.wait_until(lambda: bool(review_links(aws, incident.id, COMMS)), what="review email")
    # When the communications manager approves (the review email itself is marked)
    outcome = approve_latest(aws, incident.id, approver_role_arn=COMMS_MANAGER_ROLE, to=COMMS)
    assert outcome.post_status == 200, outcome.body
    aws.wait_for_state(arn, "Wait for next update")
    aws.client("stepfunctions").stop_execution(executionArn=arn)
    recorded = deliveries(aws, incident.id)
    update = "001-partial_outage"

    # Then the injected failure is recorded as failed, through the fan-out's Catch path
    assert recorded[f"{update}#mastodon"]["status"] == "failed"
    assert recorded[f"{update}#mastodon"]["error"] == "ChannelPermanentError"
    assert "failure injected by the drill" in recorded[f"{update}#mastodon"]["detail"]
    assert "Record Mastodon failure" in aws.states_entered(arn)
    # while every other channel delivered, to drill targets
    for channel in ("sns", "email", "sms", "voice", "push", "bluesky", "webhook", "support"):
        assert recorded[f"{update}#{channel}"]["status"] == "delivered", (
            channel,
            recorded[f"{update}#{channel}"],
        )

    # SES: customers got nothing; drill testers got marked emails; the team's emails are marked too
    emails = aws.sent_emails()[emails_before:]
    team = {
        plan.roles.communications_manager.email,
        plan.roles.incident_manager.email,
        plan.roles.support_manager.email,
    }
    customer_emails = [m for m in emails if not set(m.destinations["ToAddresses"]) <= team]
    assert {a for m in customer_emails for a in m.destinations["ToAddresses"]} == set(DRILL["email"])
    assert all(marked(m.subject) for m in customer_emails), [m.subject for m in customer_emails]
    assert any(m.subject.startswith("[SIMULAÇÃO] ") for m in customer_emails)  # the pt-BR tester
    team_emails = [m for m in emails if m not in customer_emails and incident.id in m.subject]
    assert team_emails and all(m.subject.startswith("[DRILL] ") for m in team_emails)

    # End User Messaging: SMS, voice and push reached drill numbers and devices only, marked
    calls = aws.providers.calls[calls_before:]
    texts = [c.params for c in calls if c.operation == "SendTextMessage"]
    voices = [c.params for c in calls if c.operation == "SendVoiceMessage"]
    pushes = [c.params for c in calls if c.operation == "SendMessages"]
    assert texts and {t["DestinationPhoneNumber"] for t in texts} == set(DRILL["sms"])
    assert all(marked(t["MessageBody"]) for t in texts)
    assert voices and {v["DestinationPhoneNumber"] for v in voices} == set(DRILL["voice"])
    assert all(v["MessageBody"].startswith(SPOKEN) for v in voices)
    assert pushes
    for push in pushes:
        assert set(push["MessageRequest"]["Addresses"]) == set(DRILL["push"])
        assert marked(push["MessageRequest"]["MessageConfiguration"]["GCMMessage"]["Title"])

    # SNS: the customers' topic heard nothing; the drill topic got both locales, marked
    assert subscriber_messages(aws, incident.id) == []
    drill_topic = [
        m for m in aws.published(aws.output("DrillTopicArn")) if incident.id in json.dumps(m["attributes"])
    ]
    assert {m["attributes"]["locale"]["Value"] for m in drill_topic} == {"en", "pt-BR"}
    assert all(marked(m["subject"]) for m in drill_topic)
    # the team's chat topic carries the drill, marked
    chat = [
        json.loads(m["message"])
        for m in aws.published(aws.output("InternalChatTopicArn"))
        if incident.id in m["message"]
    ]
    assert chat and all(marked(n["content"]["title"]) for n in chat)

    # HTTP services: only the drill targets, never the real webhook receiver or Mastodon (it failed)
    requests = aws.sink.requests[requests_before:]
    by_channel: dict[str, list[Any]] = {}
    for request in requests:
        by_channel.setdefault(request.channel, []).append(request)
    assert set(by_channel) == {"slack", "teams", "support", "bluesky", "webhook-drill"}
    assert all(r.path.endswith("/drill") for r in by_channel["slack"] + by_channel["teams"])
    assert all(r.path.startswith("/support/drill/") for r in by_channel["support"])
    sessions = [r.json() for r in by_channel["bluesky"] if r.path.endswith("createSession")]
    assert sessions and {s["identifier"] for s in sessions} == {DRILL_HANDLE}
    posts = [r.json()["record"]["text"] for r in by_channel["bluesky"] if r.path.endswith("createRecord")]
    assert posts and all(marked(text) for text in posts)
    assert all(marked(r.json()["incident"]["name"]) for r in by_channel["webhook-drill"])
    assert all(marked(r.json()["text"]) for r in by_channel["slack"] if "text" in r.json())
