"""SMS, voice and push with botocore's Stubber: every request is validated against the service model."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from outage_comms.channels.base import ChannelPermanentError, ChannelRetryableError
from outage_comms.channels.push import PushChannel
from outage_comms.channels.sms import SmsChannel
from outage_comms.channels.voice import VoiceChannel
from outage_comms.plan import Plan
from outage_comms.subscribers.audiences import AudienceResolver
from outage_comms.subscribers.store import Subscriber, SubscriberStore, subscriber_id
from outage_comms.vocabulary import Channel
from tests.channels_fixtures import delivery

pytestmark = pytest.mark.integration

SMS_WORDS = {
    "en": {
        "body": "Nimbus Notes: Sync is down. Next update by 14:35 UTC. https://status.nimbusnotes.example/i/1"
    },
    "pt-BR": {
        "body": "Nimbus Notes: a sincronização parou. Próxima atualização às 11h35. https://s.example/i/1"
    },
}


def add(store: SubscriberStore, channel: str, address: str, locale: str, **extra: Any) -> str:
    sid = subscriber_id(channel, address)
    store.activate(Subscriber(id=sid, channel=channel, address=address, locale=locale, **extra), now=1)  # type: ignore[arg-type]
    return sid


def sms_client() -> Any:
    return boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")


def test_sms_is_transactional_through_the_plan_identity_and_marks_opted_out_numbers(
    plan: Plan, store: SubscriberStore
) -> None:
    # Given an English and a Portuguese subscriber, and one who replied STOP
    add(store, "sms", "+14155550100", "en", components=("sync",))
    add(store, "sms", "+5511955550123", "pt-BR", components=("*",))
    stopped = add(store, "sms", "+14155550199", "en", components=("sync",))
    client = sms_client()
    stubber = Stubber(client)
    expected: dict[str, dict[str, Any]] = {
        "+14155550100": {"MessageBody": SMS_WORDS["en"]["body"]},
        "+5511955550123": {"MessageBody": SMS_WORDS["pt-BR"]["body"]},
    }
    # Index order is by subscriber id; answer whichever number comes.
    members = list(AudienceResolver(store).members(["sync"], ["en", "pt-BR"], "sms"))
    for member in members:
        params = {
            "DestinationPhoneNumber": member.address,
            "OriginationIdentity": "+18885550199",
            "MessageBody": ANY,
            "MessageType": "TRANSACTIONAL",
            "ConfigurationSetName": "outage-comms",
        }
        if member.id == stopped:
            stubber.add_client_error(
                "send_text_message",
                service_error_code="ConflictException",
                service_message="The destination phone number is opted out.",
                modeled_fields={
                    "Message": "opted out",
                    "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
                    "ResourceType": "opt-out-list",
                    "ResourceId": "Default",
                },
                expected_params=params,
            )
        else:
            stubber.add_response(
                "send_text_message",
                {"MessageId": f"m-{member.address}"},
                {**params, **expected[member.address]},
            )
    channel = SmsChannel(
        plan=plan,
        client=client,
        audience=AudienceResolver(store),
        rate_per_second=1000,
        on_opted_out=lambda sid: store.deactivate(sid, "opted_out"),
    )

    with stubber:
        result = channel.deliver(delivery(Channel.SMS, SMS_WORDS))
    stubber.assert_no_pending_responses()

    assert result.detail.startswith("sent 2, failed 0, skipped 1")
    assert store.get(stopped).status == "opted_out"  # type: ignore[union-attr]
    assert stopped not in {m.id for m in AudienceResolver(store).members(["sync"], ["en"], "sms")}


def test_sms_throttling_is_retried_then_the_batch_fails_as_retryable(
    plan: Plan, store: SubscriberStore
) -> None:
    add(store, "sms", "+14155550100", "en", components=("sync",))
    client = sms_client()
    stubber = Stubber(client)
    for _ in range(3):
        stubber.add_client_error(
            "send_text_message", service_error_code="ThrottlingException", http_status_code=429
        )
    channel = SmsChannel(plan=plan, client=client, audience=AudienceResolver(store), rate_per_second=1000)
    with stubber, pytest.raises(ChannelRetryableError, match="throttled"):
        channel.deliver(delivery(Channel.SMS, SMS_WORDS))
    stubber.assert_no_pending_responses()


def test_an_invalid_number_is_refused_before_any_call(plan: Plan, store: SubscriberStore) -> None:
    add(store, "sms", "+1555", "en", components=("sync",))
    client = sms_client()
    channel = SmsChannel(plan=plan, client=client, audience=AudienceResolver(store), rate_per_second=1000)
    with Stubber(client), pytest.raises(ChannelPermanentError, match="rejected: '\\+1555'"):
        channel.deliver(delivery(Channel.SMS, SMS_WORDS))


def test_voice_calls_only_the_critical_audience_with_the_locale_polly_voice(
    plan: Plan, store: SubscriberStore
) -> None:
    add(store, "voice", "+5511955550123", "pt-BR", components=("*",), audiences=("enterprise",))
    add(store, "voice", "+14155550111", "en", components=("*",), audiences=("developers",))
    client = sms_client()
    stubber = Stubber(client)
    stubber.add_response(
        "send_voice_message",
        {"MessageId": "v-1"},
        {
            "DestinationPhoneNumber": "+5511955550123",
            "OriginationIdentity": "+18885550199",
            "MessageBody": "Olá. A sincronização parou.",
            "MessageBodyTextType": "TEXT",
            "VoiceId": "CAMILA",
        },
    )
    channel = VoiceChannel(plan=plan, client=client, audience=AudienceResolver(store))
    words = {"en": {"body": "Hello. Sync is down."}, "pt-BR": {"body": "Olá. A sincronização parou."}}
    with stubber:
        result = channel.deliver(delivery(Channel.VOICE, words))
    stubber.assert_no_pending_responses()
    assert result.provider_ids == ["v-1"]


def test_push_sends_per_platform_payloads_and_drops_dead_tokens(plan: Plan, store: SubscriberStore) -> None:
    apns, gcm = "a" * 64, "g" * 40
    add(store, "push", apns, "en", components=("sync",), platform="APNS")
    dead = add(store, "push", gcm, "en", components=("sync",), platform="GCM")
    client = boto3.client("pinpoint", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response(
        "send_messages",
        {
            "MessageResponse": {
                "ApplicationId": "app-1",
                "Result": {
                    apns: {"DeliveryStatus": "SUCCESSFUL", "StatusCode": 200, "MessageId": "p-1"},
                    gcm: {"DeliveryStatus": "PERMANENT_FAILURE", "StatusCode": 410},
                },
            }
        },
        {"ApplicationId": "app-1", "MessageRequest": ANY},
    )
    sent: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.pinpoint.SendMessages", lambda params, **_: sent.append(params)
    )
    channel = PushChannel(
        plan=plan,
        client=client,
        application_id="app-1",
        audience=AudienceResolver(store),
        on_invalid_token=lambda sid: store.deactivate(sid, "suppressed"),
    )
    words = {"en": {"title": "Nimbus Notes is down", "body": "Sync is down. Next update by 14:35 UTC."}}

    with stubber:
        result = channel.deliver(delivery(Channel.PUSH, words))

    request = sent[0]["MessageRequest"]
    assert request["Addresses"] == {apns: {"ChannelType": "APNS"}, gcm: {"ChannelType": "GCM"}}
    apns_message = request["MessageConfiguration"]["APNSMessage"]
    gcm_message = request["MessageConfiguration"]["GCMMessage"]
    assert apns_message["Title"] == gcm_message["Title"] == "Nimbus Notes is down"
    assert apns_message["Action"] == "URL" and apns_message["Url"].endswith(
        "/incidents/inc-20261127-1405-abc123"
    )
    assert gcm_message["Data"]["incident_id"] == "inc-20261127-1405-abc123"
    assert result.detail == "sent 1, failed 1"
    assert store.get(dead).status == "suppressed"  # type: ignore[union-attr]


def _feedback_table(dynamodb: Any) -> str:
    """Shaped like the feedback construct's table (pk/sk, TTL on expires_at)."""
    dynamodb.create_table(
        TableName="feedback",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
        BillingMode="PAY_PER_REQUEST",
    )
    return "feedback"


def _reply_records(dynamodb: Any, table: str) -> dict[str, dict[str, Any]]:
    items = dynamodb.scan(TableName=table)["Items"]
    return {
        item["pk"]["S"].removeprefix("SMS#"): {
            name: next(iter(value.values())) for name, value in item.items()
        }
        for item in items
        if item["pk"]["S"].startswith("SMS#")
    }


@pytest.mark.parametrize("replies_on", [True, False])
def test_an_sms_that_asks_for_a_reply_has_its_message_id_remembered_and_only_that_one(
    plan: Plan, store: SubscriberStore, replies_on: bool
) -> None:
    from datetime import UTC, datetime

    from outage_comms.feedback.replies import SentSmsLog

    # Given an English text that asks "Reply YES or NO" and a Portuguese one that carries none
    add(store, "sms", "+14155550100", "en", components=("sync",))
    add(store, "sms", "+5511955550123", "pt-BR", components=("*",))
    words = {
        "en": {"body": SMS_WORDS["en"]["body"] + "\nHelpful? Reply YES or NO"},
        "pt-BR": SMS_WORDS["pt-BR"],
    }
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    table = _feedback_table(dynamodb)
    client = sms_client()
    stubber = Stubber(client)
    for member in AudienceResolver(store).members(["sync"], ["en", "pt-BR"], "sms"):
        stubber.add_response(
            "send_text_message",
            {"MessageId": f"m-{member.address}"},
            {
                "DestinationPhoneNumber": member.address,
                "OriginationIdentity": "+18885550199",
                "MessageBody": words[member.locale]["body"],
                "MessageType": "TRANSACTIONAL",
                "ConfigurationSetName": "outage-comms",
            },
        )
    the_plan = plan.model_copy(
        update={"feedback": plan.feedback.model_copy(update={"sms_replies": replies_on})}
    )
    sent_at = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
    channel = SmsChannel(
        plan=the_plan,
        client=client,
        audience=AudienceResolver(store),
        rate_per_second=1000,
        sent_log=SentSmsLog(table_name=table, client=dynamodb),
        now=lambda: sent_at,
    )

    # When the update goes out
    with stubber:
        result = channel.deliver(delivery(Channel.SMS, words, update_id="003-identified"))
    stubber.assert_no_pending_responses()
    assert result.detail.startswith("sent 2, failed 0")

    # Then only the English text's MessageId is remembered, with what a link would have signed
    records = _reply_records(dynamodb, table)
    if not replies_on:
        assert records == {}
        return
    assert set(records) == {"m-+14155550100"}
    record = records["m-+14155550100"]
    assert (record["incident_id"], record["update_id"], record["channel"], record["locale"]) == (
        "inc-20261127-1405-abc123",
        "003-identified",
        "sms",
        "en",
    )
    assert record["scenario"] == "identified"
    lifetime = the_plan.feedback.link_lifetime_days * 86400
    assert int(record["expires_at"]) == int(sent_at.timestamp()) + lifetime


def test_an_update_id_of_another_shape_sends_without_reply_records(
    plan: Plan, store: SubscriberStore
) -> None:
    from outage_comms.feedback.replies import SentSmsLog

    add(store, "sms", "+14155550100", "en", components=("sync",))
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    table = _feedback_table(dynamodb)
    client = sms_client()
    stubber = Stubber(client)
    stubber.add_response("send_text_message", {"MessageId": "m-1"})
    channel = SmsChannel(
        plan=plan,
        client=client,
        audience=AudienceResolver(store),
        rate_per_second=1000,
        sent_log=SentSmsLog(table_name=table, client=dynamodb),
    )
    words = {"en": {"body": SMS_WORDS["en"]["body"] + "\nHelpful? Reply YES or NO"}}
    with stubber:
        result = channel.deliver(delivery(Channel.SMS, words))  # update id "u-0001"
    assert result.detail.startswith("sent 1, failed 0") and _reply_records(dynamodb, table) == {}
