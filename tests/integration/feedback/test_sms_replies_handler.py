"""SMS replies on moto: a real SNS-shaped event through the handler counts once per phone and message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.feedback.replies import SentSms, SentSmsLog
from outage_comms.feedback.store import DynamoFeedbackStore
from outage_comms.vocabulary import Scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
INCIDENT = "inc-20261127-1405-3fa2c1"


class Context(LambdaContext):
    function_name = "sms-replies"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sms-replies"
    aws_request_id = "req-1"


@pytest.fixture
def sms_replies() -> Any:
    import handlers.sms_replies as module  # the Lambda asset's layout: lambdas/ is the task root

    return module


@pytest.fixture
def deployed(feedback_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    secret_arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name=f"feedback-key-{feedback_table}", SecretString="s" * 64
    )["ARN"]
    monkeypatch.setenv("FEEDBACK_TABLE", feedback_table)
    monkeypatch.setenv("FEEDBACK_SECRET_ARN", secret_arn)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sms-replies")
    # What the SMS channel wrote when it sent the question (see test_sms_voice_push_stubbed.py)
    expires = int((datetime.now(UTC) + timedelta(days=30)).timestamp())
    log = SentSmsLog(table_name=feedback_table, client=boto3.client("dynamodb", region_name="us-east-1"))
    assert (
        log.remember(
            [
                SentSms("msg-pt", INCIDENT, "002-identified", "pt-BR", Scenario.IDENTIFIED, expires),
                SentSms(
                    "msg-old", INCIDENT, "001-investigating", "en", Scenario.INVESTIGATING, 1_700_000_000
                ),
            ]
        )
        == 0
    )
    return feedback_table


def sns_event(body: str, *, previous: str = "msg-pt", phone: str = "+5511955550123") -> dict[str, Any]:
    """The SNS -> Lambda event End User Messaging's two-way payload arrives in."""
    payload = {
        "originationNumber": phone,
        "destinationNumber": "+18885550199",
        "messageKeyword": "KEYWORD_123456789012",
        "messageBody": body,
        "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
        "previousPublishedMessageId": previous,
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:outage-comms-sms-replies:1",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:outage-comms-sms-replies",
                    "Subject": None,
                    "Message": json.dumps(payload),
                    "Timestamp": "2026-11-27T14:40:00.000Z",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def metrics_of(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{") and "_aws" in line]


def test_a_reply_counts_once_and_a_second_reply_from_the_same_phone_is_refused(
    deployed: str, sms_replies: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a Brazilian customer answers "Não." and then changes their mind
    first = sms_replies.handler(sns_event("Não."), Context())
    second = sms_replies.handler(sns_event("sim"), Context())
    other_phone = sms_replies.handler(sns_event("SIM", phone="+5511955550999"), Context())

    # Then the first answer of each phone counts, by channel sms and locale pt-BR
    assert (first, second, other_phone) == (
        {"counted": 1, "refused": 0},
        {"counted": 0, "refused": 1},
        {"counted": 1, "refused": 0},
    )
    counts = DynamoFeedbackStore.named(deployed).counts(INCIDENT)
    assert (counts["yes"], counts["no"]) == (1, 1)
    assert counts["by_channel"]["sms"]["no"] == 1 and counts["by_locale"]["pt-BR"]["yes"] == 1
    emitted = metrics_of(capsys.readouterr().out)
    votes = [m for m in emitted if "FeedbackVotes" in m]
    assert sorted((m["vote"], m["channel"]) for m in votes) == [("no", "sms"), ("yes", "sms")]
    assert [m["reason"] for m in emitted if "FeedbackRefused" in m] == ["replay"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (sns_event("YES", previous="never-sent"), "unknown_message"),
        (sns_event("YES", previous="msg-old"), "expired"),
        (sns_event("STOP"), "keyword"),
        (sns_event("what happened?"), "not_a_vote"),
        ({"Records": [{"Sns": {"Message": "not json"}}]}, "malformed"),
        ({"Records": [{"Sns": {"Message": json.dumps({"messageBody": "YES"})}}]}, "malformed"),
    ],
)
def test_what_does_not_count_is_refused_with_its_reason_and_never_crashes(
    deployed: str, sms_replies: Any, capsys: pytest.CaptureFixture[str], event: dict[str, Any], reason: str
) -> None:
    assert sms_replies.handler(event, Context()) == {"counted": 0, "refused": 1}
    counts = DynamoFeedbackStore.named(deployed).counts(INCIDENT)
    assert (counts["yes"], counts["no"]) == (0, 0)
    assert [m["reason"] for m in metrics_of(capsys.readouterr().out) if "FeedbackRefused" in m] == [reason]
