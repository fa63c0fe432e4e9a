"""Large audiences: JSONL export to S3, the bulk execution started once, and the batch handler.

moto's Step Functions executor has no ItemBatcher and reads only CSV/JSON (not JSONL) in an
ItemReader, so the Distributed Map itself is proven by the template assertions in
``tests/infrastructure/test_channels_stack.py``; here the batch handler runs on exactly the input
the map gives it (``Items`` + ``BatchInput``).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from outage_comms.channels.base import ChannelRetryableError
from outage_comms.channels.bulk import BulkHandoff
from outage_comms.channels.catalog import ChannelContext
from outage_comms.channels.email import EmailChannel
from outage_comms.channels.secrets import SecretCache
from outage_comms.channels.settings import ChannelSettings
from outage_comms.plan import Plan
from outage_comms.subscribers.audiences import AudienceResolver
from outage_comms.subscribers.store import Subscriber, SubscriberStore, subscriber_id
from outage_comms.subscribers.tokens import TokenSigner
from outage_comms.vocabulary import Channel
from tests.channels_fixtures import delivery

pytestmark = pytest.mark.integration

WORDS = {
    "en": {"subject": "Sync is down", "body": "Sync is down. https://status.nimbusnotes.example/unsubscribe"},
    "pt-BR": {"subject": "Sincronização parada", "body": "A sincronização parou."},
}


@pytest.fixture
def bucket(aws: None, uid: str) -> str:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=f"bulk-{uid}")
    return f"bulk-{uid}"


@pytest.fixture
def state_machine(aws: None, uid: str) -> str:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    return str(
        sfn.create_state_machine(
            name=f"outage-comms-bulk-delivery-{uid}",
            definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
    )


def populate(store: SubscriberStore, count: int) -> None:
    with store._table.batch_writer() as batch:
        for i in range(count):
            address = f"user{i}@example.com"
            sid = subscriber_id("email", address)
            locale = "pt-BR" if i % 3 == 0 else "en"
            subscriber = Subscriber(id=sid, channel="email", address=address, locale=locale, status="active")
            batch.put_item(Item=subscriber.to_item())
            batch.put_item(
                Item={
                    "pk": f"SUB#{sid}",
                    "sk": "C#*",
                    "gsi1pk": f"*#{locale}",
                    "gsi1sk": sid,
                    "channel": "email",
                    "address": address,
                    "locale": locale,
                    "audiences": [],
                }
            )


def test_a_large_audience_is_exported_as_jsonl_and_handed_to_the_state_machine_once(
    plan: Plan, store: SubscriberStore, bucket: str, state_machine: str, ses: Any
) -> None:
    populate(store, 30)
    s3 = boto3.client("s3", region_name="us-east-1")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    handoff = BulkHandoff(s3=s3, sfn=sfn, bucket=bucket, state_machine_arn=state_machine)
    channel = EmailChannel(
        plan=plan,
        client=ses,
        signer=TokenSigner(b"k" * 48),
        unsubscribe_base="https://api.example/v1/unsubscribe",
        audience=AudienceResolver(store),
        bulk=handoff,
        inline_limit=10,
    )
    update = delivery(Channel.EMAIL, WORDS)

    first = channel.deliver(update)
    again = channel.deliver(update)  # a retried delivery must not start a second run

    assert ses.sent == []  # nothing sent inline
    assert first.detail.startswith("handed 30 recipients") and again.provider_ids == first.provider_ids
    executions = sfn.list_executions(stateMachineArn=state_machine)["executions"]
    assert len(executions) == 1
    started = json.loads(sfn.describe_execution(executionArn=executions[0]["executionArn"])["input"])
    assert started["channel"] == "email" and started["recipients"]["count"] == 30
    lines = (
        s3.get_object(Bucket=bucket, Key=started["recipients"]["key"])["Body"].read().decode().splitlines()
    )
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 30 and len({r["id"] for r in rows}) == 30
    assert set(rows[0]) == {"id", "to", "locale"}
    words = json.loads(s3.get_object(Bucket=bucket, Key=started["messages"]["key"])["Body"].read())
    assert words["messages"] == WORDS


def batch_event(bucket: str, rows: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "Items": rows,
        "BatchInput": {
            "channel": "email",
            "incident_id": "inc-20261127-1405-abc123",
            "update_id": "u-0001",
            "messages": {"bucket": bucket, "key": "bulk/inc/u/email/messages.json"},
            "rate_per_second": 1000,
        },
    }


@pytest.fixture
def batch_context(
    plan: Plan, store: SubscriberStore, ses: Any, secretsmanager: Any, bucket: str
) -> ChannelContext:
    import handlers.send_batch as module

    module._words.cache_clear()
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=bucket, Key="bulk/inc/u/email/messages.json", Body=json.dumps({"messages": WORDS, "html": {}})
    )
    secretsmanager.create_secret(Name=f"token-key-{bucket}", SecretString="k" * 48)
    settings = ChannelSettings(
        subscribers_table="subscribers",
        token_secret_name=f"token-key-{bucket}",
        api_base_url="https://api.example/v1",
    )
    context = ChannelContext(
        plan=plan,
        settings=settings,
        secrets=SecretCache(secretsmanager),
        clients=lambda service: ses if service == "sesv2" else boto3.client(service),
    )
    context.__dict__["store"] = store
    return context


def test_the_batch_handler_sends_each_recipient_in_their_locale_and_records_failures(
    batch_context: ChannelContext, ses: Any, bucket: str
) -> None:
    from handlers.send_batch import send_batch

    rows = [
        {"id": subscriber_id("email", "a@example.com"), "to": "a@example.com", "locale": "en"},
        {"id": subscriber_id("email", "b@example.com"), "to": "b@example.com", "locale": "pt-BR"},
        {"id": subscriber_id("email", "bad@"), "to": "bad@", "locale": "en"},
    ]
    real_send = ses.send_email

    def send_email(**params: Any) -> Any:
        if params["Destination"]["ToAddresses"] == ["bad@"]:
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "BadRequestException", "Message": "Invalid address"}}, "SendEmail"
            )
        return real_send(**params)

    ses.send_email = send_email

    result = send_batch(batch_event(bucket, rows), context=batch_context)

    assert result["sent"] == 2
    assert [f["id"] for f in result["failed"]] == [rows[2]["id"]] and "rejected" in result["failed"][0][
        "reason"
    ]
    subjects = {
        p["Destination"]["ToAddresses"][0]: p["Content"]["Simple"]["Subject"]["Data"] for p in ses.sent
    }
    assert subjects == {"a@example.com": "Sync is down", "b@example.com": "Sincronização parada"}


def test_a_batch_throttled_before_anything_was_sent_is_retried_whole(
    batch_context: ChannelContext, ses: Any, bucket: str
) -> None:
    from botocore.exceptions import ClientError
    from handlers.send_batch import send_batch

    def throttled(**_: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail"
        )

    ses.send_email = throttled
    rows = [{"id": subscriber_id("email", "a@example.com"), "to": "a@example.com", "locale": "en"}]
    with pytest.raises(ChannelRetryableError, match="safe to retry the batch"):
        send_batch(batch_event(bucket, rows), context=batch_context)


def test_bulk_sms_that_ask_for_a_reply_are_remembered_in_the_table_the_deliver_step_named(
    plan: Plan, store: SubscriberStore, bucket: str
) -> None:
    from botocore.stub import Stubber
    from handlers.send_batch import send_batch

    from outage_comms.feedback.replies import SentSmsLog

    # Given the words file the deliver step wrote (it names the feedback table) and a feedback table
    module_words = {
        "messages": {
            "en": {"body": "Nimbus Notes: Sync is down.\nHelpful? Reply YES or NO"},
            "pt-BR": {"body": "Nimbus Notes: a sincronização parou.\nÚtil? SIM/NÃO"},
        },
        "html": {},
        "feedback_table": "feedback-bulk",
    }
    import handlers.send_batch as module

    module._words.cache_clear()
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=bucket, Key="bulk/inc/u/sms/messages.json", Body=json.dumps(module_words))
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName="feedback-bulk",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
        BillingMode="PAY_PER_REQUEST",
    )
    sms = boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")
    stubber = Stubber(sms)
    rows = [
        {"id": subscriber_id("sms", "+14155550100"), "to": "+14155550100", "locale": "en"},
        {"id": subscriber_id("sms", "+5511955550123"), "to": "+5511955550123", "locale": "pt-BR"},
    ]
    for row in rows:
        stubber.add_response("send_text_message", {"MessageId": f"m-{row['to']}"})
    context = ChannelContext(
        plan=plan,
        settings=ChannelSettings(subscribers_table="subscribers"),
        clients=lambda service: sms if service == "pinpoint-sms-voice-v2" else boto3.client(service),
    )
    context.__dict__["store"] = store
    event = {
        "Items": rows,
        "BatchInput": {
            "channel": "sms",
            "incident_id": "inc-20261127-1405-abc123",
            "update_id": "004-monitoring",
            "messages": {"bucket": bucket, "key": "bulk/inc/u/sms/messages.json"},
            "rate_per_second": 1000,
        },
    }

    # When one batch of the map runs
    with stubber:
        result = send_batch(event, context=context)

    # Then both texts went out and both MessageIds are remembered, each with its locale
    assert result["sent"] == 2
    log = SentSmsLog(table_name="feedback-bulk", client=dynamodb)
    found = {row["to"]: log.find(f"m-{row['to']}") for row in rows}
    assert {to: (r.locale, r.update_id) for to, r in found.items() if r} == {
        "+14155550100": ("en", "004-monitoring"),
        "+5511955550123": ("pt-BR", "004-monitoring"),
    }


def test_the_handoff_names_the_feedback_table_in_the_words_file_only_when_it_has_one(
    aws: None, bucket: str, state_machine: str
) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    for table, update_id in (("feedback-t", "001-investigating"), ("", "002-identified")):
        handoff = BulkHandoff(
            s3=s3, sfn=sfn, bucket=bucket, state_machine_arn=state_machine, feedback_table=table
        )
        handoff.start(delivery(Channel.SMS, WORDS, update_id=update_id), "sms", [])
        key = f"bulk/inc-20261127-1405-abc123/{update_id}/sms/messages.json"
        words = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        assert words.get("feedback_table") == (table or None)
