"""Redrive and the delivery ledger with fakes: each dead-lettered delivery is resent exactly once.

The delivery function here is the real ``deliver_channel`` / ``notify_team`` step (fake adapters, an
in-memory store and ledger); the DynamoDB ledger's conditional writes run on moto.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from outage_comms.channels.base import ChannelPermanentError, ChannelRetryableError, Delivery, DeliveryResult
from outage_comms.plan import Plan, load_plan
from outage_comms.vocabulary import Channel
from outage_comms.workflow.delivery_ledger import Claim, DynamoDeliveryLedger, InMemoryDeliveryLedger
from outage_comms.workflow.redrive import (
    DeadLetter,
    DeliveryFailedError,
    RedriveRequest,
    RedriveRequestError,
    redrive,
)
from outage_comms.workflow.steps import Services, deliver_channel, notify_team, record_failure
from outage_comms.workflow.store import InMemoryWorkflowStore

pytestmark = pytest.mark.unit

PLAN = Path(__file__).resolve().parents[2] / "plans" / "example.yaml"
NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
INCIDENT, UPDATE = "inc-20261202-0600-abc123", "001-investigating"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(PLAN)


class Adapter:
    """A channel that fails ``failures`` times with ``error``, then sends; it counts every send."""

    def __init__(self, channel: Channel, failures: int = 0, error: Exception | None = None) -> None:
        self.channel, self.failures, self.error, self.sent = channel, failures, error, 0

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        if self.failures:
            self.failures -= 1
            raise self.error or ChannelRetryableError("503 from the provider")
        self.sent += 1
        return DeliveryResult(channel=self.channel.value, status="delivered", provider_ids=[f"m{self.sent}"])


class Repository:
    def __init__(self) -> None:
        self.deliveries: dict[str, dict[str, Any]] = {}

    def record_delivery(self, incident_id: str, update_id: str, channel: str, result: dict[str, Any]) -> None:
        self.deliveries[f"{update_id}#{channel}"] = dict(result)


class Notifier:
    def chat(self, document: dict[str, Any]) -> str | None:
        return None

    def email(self, to: str, subject: str, text: str) -> str | None:
        return None


def make_services(plan: Plan, adapters: dict[Channel, Adapter]) -> Services:
    store = InMemoryWorkflowStore()
    messages = {
        c.value: {"en": {"fields": {"subject": "Search is slow", "body": "We are looking into it."}}}
        for c in adapters
    }
    store.put_update(
        INCIDENT,
        UPDATE,
        {
            "incident_id": INCIDENT,
            "update_id": UPDATE,
            "scenario": "investigating",
            "severity": "sev3",
            "components": ["search"],
            "audiences": ["all-customers"],
            "incident_started_at": NOW.isoformat(),
            "messages": messages,
            "blocked": [],
        },
    )
    return Services(
        plan=plan,
        repository=Repository(),  # type: ignore[arg-type]
        store=store,
        notifier=Notifier(),
        channel=lambda channel: adapters.get(channel),  # type: ignore[arg-type,return-value]
        signer=lambda: None,  # type: ignore[arg-type,return-value]
        send_task_success=lambda token, output: None,
        execution_running=lambda arn: True,
        now=lambda: NOW,
        deliveries=InMemoryDeliveryLedger(),
    )


class Queues:
    """Per-channel lists of dead letters; ``deleted`` and ``kept`` say what happened to each."""

    def __init__(self, letters: dict[str, list[dict[str, Any] | str]]) -> None:
        self.letters = {
            channel: [
                DeadLetter(
                    channel, f"{channel}-{n}", f"r-{channel}-{n}", b if isinstance(b, str) else json.dumps(b)
                )
                for n, b in enumerate(bodies)
            ]
            for channel, bodies in letters.items()
        }
        self.deleted: list[str] = []
        self.kept: list[str] = []

    def channels(self) -> list[str]:
        return list(self.letters)

    def receive(self, channel: str, limit: int) -> list[DeadLetter]:
        waiting = [x for x in self.letters[channel] if x.message_id not in self.deleted]
        return waiting[:limit]

    def delete(self, letter: DeadLetter) -> None:
        self.deleted.append(letter.message_id)

    def keep(self, letter: DeadLetter) -> None:
        self.kept.append(letter.message_id)


def through_the_steps(services: Services) -> Any:
    """What the redrive Lambda's Invoke reaches: the team or fan-out step, errors as Lambda reports them."""

    def call(channel: str, event: Any) -> Any:
        step = (
            notify_team
            if Channel(channel) in (Channel.SLACK, Channel.TEAMS, Channel.CHATBOT)
            else deliver_channel
        )
        try:
            return step(dict(event), services)
        except Exception as error:
            raise DeliveryFailedError(f"{type(error).__name__}: {error}") from error

    return call


def letter(channel: str, incident: str = INCIDENT) -> dict[str, Any]:
    error = "ChannelRetryableError"
    return {"incident_id": incident, "update_id": UPDATE, "channel": channel, "error": error, "attempts": 4}


def test_team_chat_failure_is_raised_for_the_state_machine_to_retry_not_swallowed(plan: Plan) -> None:
    # Given Slack answers 503 once
    slack = Adapter(Channel.SLACK, failures=1)
    s = make_services(plan, {Channel.SLACK: slack})
    event = {"incident_id": INCIDENT, "update_id": UPDATE, "channel": "slack"}
    # When the team step runs, the error reaches Step Functions (its Retry policy matches the name)
    with pytest.raises(ChannelRetryableError):
        notify_team(event, s)
    # and the retry delivers: the team hears
    assert notify_team(event, s) == {"channel": "slack", "status": "delivered"}
    assert slack.sent == 1


def test_the_team_step_refuses_a_customer_channel(plan: Plan) -> None:
    s = make_services(plan, {Channel.SNS: Adapter(Channel.SNS)})
    with pytest.raises(ValueError, match="not a team chat"):
        notify_team({"incident_id": INCIDENT, "update_id": UPDATE, "channel": "sns"}, s)


def test_a_retry_after_a_send_whose_answer_was_lost_sends_nothing_again(plan: Plan) -> None:
    email = Adapter(Channel.EMAIL)
    s = make_services(plan, {Channel.EMAIL: email})
    event = {"incident_id": INCIDENT, "update_id": UPDATE, "channel": "email"}
    assert deliver_channel(event, s)["status"] == "delivered"
    assert deliver_channel(event, s)["status"] == "already_delivered"
    assert email.sent == 1
    assert s.repository.deliveries[f"{UPDATE}#email"]["status"] == "delivered"  # type: ignore[attr-defined]


def test_an_attempt_meeting_another_that_is_still_sending_is_retried_later(plan: Plan) -> None:
    s = make_services(plan, {Channel.SMS: Adapter(Channel.SMS)})
    assert s.deliveries is not None
    assert s.deliveries.claim(INCIDENT, UPDATE, "sms").outcome is Claim.CLAIMED  # a live lease elsewhere
    with pytest.raises(ChannelRetryableError, match="still sending"):
        deliver_channel({"incident_id": INCIDENT, "update_id": UPDATE, "channel": "sms"}, s)


def test_record_failure_says_what_the_dead_letter_carries_with_the_attempts_made(plan: Plan) -> None:
    webhook = Adapter(Channel.WEBHOOK, failures=10)
    s = make_services(plan, {Channel.WEBHOOK: webhook})
    event = {"incident_id": INCIDENT, "update_id": UPDATE, "channel": "webhook"}
    for _ in range(4):  # the first try and three retries
        with pytest.raises(ChannelRetryableError):
            deliver_channel(event, s)
    cause = json.dumps({"errorMessage": "503 from the provider", "errorType": "ChannelRetryableError"})
    failure = record_failure({**event, "error": {"Error": "ChannelRetryableError", "Cause": cause}}, s)
    assert failure["attempts"] == 4
    assert (failure["error"], failure["detail"]) == ("ChannelRetryableError", "503 from the provider")
    assert s.repository.deliveries[f"{UPDATE}#webhook"]["status"] == "failed"  # type: ignore[attr-defined]


def test_redrive_resends_each_dead_letter_once_and_deletes_it_only_after_success(plan: Plan) -> None:
    # Given a webhook that failed after its retries, and its dead letter sent twice (SQS: at least once)
    webhook = Adapter(Channel.WEBHOOK)
    s = make_services(plan, {Channel.WEBHOOK: webhook})
    queues = Queues({"webhook": [letter("webhook"), letter("webhook")], "sns": []})
    # When a person redrives
    results = redrive(RedriveRequest(), queues, through_the_steps(s))
    # Then it is sent once; the duplicate is reported and removed, not sent again
    assert [r["outcome"] for r in results] == ["delivered", "already delivered"]
    assert webhook.sent == 1
    assert queues.deleted == ["webhook-0", "webhook-1"]
    assert s.repository.deliveries[f"{UPDATE}#webhook"]["status"] == "delivered"  # type: ignore[attr-defined]
    # and a second redrive finds nothing to send
    assert redrive(RedriveRequest(), queues, through_the_steps(s)) == []
    assert webhook.sent == 1


def test_a_redrive_that_fails_again_leaves_the_message_for_the_next_run(plan: Plan) -> None:
    mastodon = Adapter(Channel.MASTODON, failures=1, error=ChannelPermanentError("401 token revoked"))
    s = make_services(plan, {Channel.MASTODON: mastodon})
    queues = Queues({"mastodon": [letter("mastodon")]})
    (first,) = redrive(RedriveRequest(), queues, through_the_steps(s))
    assert first["outcome"] == "failed" and "401 token revoked" in first["detail"]
    assert queues.deleted == [] and queues.kept == ["mastodon-0"]
    (second,) = redrive(RedriveRequest(), queues, through_the_steps(s))
    assert second["outcome"] == "delivered" and mastodon.sent == 1


def test_dry_run_and_filters_send_nothing_and_delete_nothing(plan: Plan) -> None:
    sns, slack = Adapter(Channel.SNS), Adapter(Channel.SLACK)
    s = make_services(plan, {Channel.SNS: sns, Channel.SLACK: slack})
    queues = Queues({"sns": [letter("sns"), letter("sns", "inc-other")], "slack": [letter("slack")]})
    dry = redrive(RedriveRequest(dry_run=True), queues, through_the_steps(s))
    assert [(r["channel"], r["outcome"]) for r in dry] == [("slack", "would resend")] + [
        ("sns", "would resend")
    ] * 2
    assert (sns.sent, slack.sent, queues.deleted) == (0, 0, [])
    only = redrive(RedriveRequest(channel="sns", incident_id=INCIDENT), queues, through_the_steps(s))
    assert [(r["channel"], r["incident_id"], r["outcome"]) for r in only] == [("sns", INCIDENT, "delivered")]
    assert (sns.sent, slack.sent, queues.deleted) == (1, 0, ["sns-0"])


def test_a_team_chat_dead_letter_goes_back_through_the_team_step(plan: Plan) -> None:
    teams = Adapter(Channel.TEAMS)
    s = make_services(plan, {Channel.TEAMS: teams})
    (result,) = redrive(RedriveRequest(), Queues({"teams": [letter("teams")]}), through_the_steps(s))
    assert result["outcome"] == "delivered" and teams.sent == 1


def test_an_unknown_channel_or_an_unreadable_message_is_named_not_guessed(plan: Plan) -> None:
    s = make_services(plan, {})
    with pytest.raises(RedriveRequestError, match=r"no dead-letter queue for channel 'fax'.*sns"):
        redrive(RedriveRequest(channel="fax"), Queues({"sns": []}), through_the_steps(s))
    queues = Queues({"sns": ["not json", {"incident_id": INCIDENT}]})
    results = redrive(RedriveRequest(), queues, through_the_steps(s))
    assert [r["outcome"] for r in results] == ["unreadable", "unreadable"]
    assert queues.deleted == []
    with pytest.raises(RedriveRequestError, match="limit"):
        RedriveRequest.from_event({"limit": 100_000})


def test_out_of_time_leaves_the_rest_for_the_next_run(plan: Plan) -> None:
    sns = Adapter(Channel.SNS)
    s = make_services(plan, {Channel.SNS: sns})
    queues = Queues({"sns": [letter("sns")]})
    (result,) = redrive(RedriveRequest(), queues, through_the_steps(s), out_of_time=lambda: True)
    assert result["outcome"] == "not handled" and queues.kept == ["sns-0"] and sns.sent == 0


def test_the_dynamodb_ledger_claims_exactly_once_with_conditional_writes() -> None:
    from moto import mock_aws

    with mock_aws():
        import boto3

        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="state",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        clock = [1000.0]
        ledger = DynamoDeliveryLedger(table_name="state", client=dynamodb, clock=lambda: clock[0])
        first = ledger.claim(INCIDENT, UPDATE, "sms")
        assert first.outcome is Claim.CLAIMED and first.attempts == 1
        assert ledger.claim(INCIDENT, UPDATE, "sms").outcome is Claim.BUSY  # lease held
        ledger.release(INCIDENT, UPDATE, "sms", first.token, "ChannelRetryableError: 503")
        second = ledger.claim(INCIDENT, UPDATE, "sms")
        assert second.outcome is Claim.CLAIMED and second.attempts == 2
        ledger.finish(INCIDENT, UPDATE, "sms", first.token, "delivered")  # a stale attempt settles nothing
        assert ledger.claim(INCIDENT, UPDATE, "sms").outcome is Claim.BUSY
        ledger.finish(INCIDENT, UPDATE, "sms", second.token, "delivered")
        clock[0] += 3600
        done = ledger.claim(INCIDENT, UPDATE, "sms")
        assert (done.outcome, done.status, done.attempts) == (Claim.DONE, "delivered", 2)
        assert ledger.attempts(INCIDENT, UPDATE, "sms") == 2
        # a lease whose holder died ends: the next attempt may claim it
        stuck = ledger.claim(INCIDENT, UPDATE, "email")
        clock[0] += 61
        assert ledger.claim(INCIDENT, UPDATE, "email").outcome is Claim.CLAIMED
        assert stuck.outcome is Claim.CLAIMED


def test_a_drills_dead_letter_is_removed_not_resent_and_a_dry_run_only_says_so(plan: Plan) -> None:
    slack = Adapter(Channel.SLACK)
    s = make_services(plan, {Channel.SLACK: slack})
    queues = Queues({"slack": [{**letter("slack"), "drill": True}]})
    (dry,) = redrive(RedriveRequest(dry_run=True), queues, through_the_steps(s))
    assert dry["outcome"] == "would remove (drill)" and queues.deleted == []
    (result,) = redrive(RedriveRequest(), queues, through_the_steps(s))
    assert result["outcome"] == "drill, not resent" and queues.deleted == ["slack-0"] and slack.sent == 0


def test_a_failed_team_chat_is_told_as_the_drill_report_reads_it(plan: Plan) -> None:
    s = make_services(plan, {Channel.TEAMS: Adapter(Channel.TEAMS)})
    event = {"incident_id": INCIDENT, "update_id": UPDATE, "channel": "teams"}
    record_failure({**event, "error": {"Error": "ChannelPermanentError", "Cause": "{}"}}, s)
    texts = [(e["kind"], e["text"]) for e in s.store.events(INCIDENT)]
    assert ("team_notified", "teams: failed") in texts
