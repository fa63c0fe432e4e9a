"""The channels the workflow speaks through, and the fan-out: one isolated Parallel branch per channel.

Each branch delivers with ``Deliver via <channel>``; typed, transient errors
(``ChannelRetryableError`` and Lambda's own) are retried with exponential backoff and full jitter;
anything left is caught and recorded on the incident by ``Record <channel> failure``, so one
channel failing never blocks another. The Parallel therefore always succeeds, with one result per
channel.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from outage_comms.channels.base import RETRYABLE_ERRORS
from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel
from outage_comms.workflow.channels_plan import fanout_channels

DELIVERY_RETRY_INTERVAL = Duration.seconds(2)
DELIVERY_MAX_ATTEMPTS = 3
DELIVERY_BACKOFF_RATE = 2.0
DELIVERY_MAX_DELAY = Duration.seconds(30)


class ChannelTopics(Construct):
    """The SNS topics this issue's channels publish to (encrypted with the customer-managed key).

    * ``subscribers``: programmatic subscribers (SQS, HTTPS, email-json) filter by the message
      attributes ``component``, ``locale``, ``severity``, ``scenario``;
    * ``internal_chat``: the topic an Amazon Q Developer in chat applications (Chatbot) channel
      configuration subscribes to; it carries custom notifications for the team;
    * ``drill``: where a drill's SNS messages go instead of ``subscribers`` (``<topic>-drill``):
      subscribe only test endpoints to it. It exists whenever ``subscribers`` does.
    """

    def __init__(self, scope: Construct, construct_id: str, *, plan: Plan, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        channels = plan.channels
        self.subscribers: sns.Topic | None = None
        self.internal_chat: sns.Topic | None = None
        self.drill: sns.Topic | None = None
        if channels.sns is not None and channels.sns.enabled:
            self.subscribers = sns.Topic(
                self,
                "Subscribers",
                topic_name=channels.sns.topic_name,
                display_name=plan.organization.name[:100],
                master_key=key,
                enforce_ssl=True,
            )
            self.drill = sns.Topic(
                self,
                "DrillSubscribers",
                topic_name=f"{channels.sns.topic_name}-drill",
                display_name=f"{plan.organization.name} drill"[:100],
                master_key=key,
                enforce_ssl=True,
            )
        chat_topic = channels.chatbot.topic_name if channels.chatbot else "outage-comms-internal-chat"
        # The team's chat also carries approval requests, reminders and the support macro: always there.
        self.internal_chat = sns.Topic(
            self, "InternalChat", topic_name=chat_topic, master_key=key, enforce_ssl=True
        )


def channel_label(channel: Channel) -> str:
    return {
        Channel.SNS: "SNS subscribers",
        Channel.EMAIL: "email",
        Channel.SMS: "SMS",
        Channel.VOICE: "voice",
        Channel.PUSH: "push",
        Channel.MASTODON: "Mastodon",
        Channel.BLUESKY: "Bluesky",
        Channel.WEBHOOK: "webhook",
        Channel.SUPPORT: "support macro",
    }.get(channel, channel.value)


def fanout_state(
    scope: Construct,
    *,
    plan: Plan,
    deliver: lambda_.IFunction,
    record_failure: lambda_.IFunction,
) -> sfn.Parallel:
    """``Fan out to channels``: a Parallel with one branch per enabled customer-facing channel."""
    parallel = sfn.Parallel(
        scope,
        "Fan out to channels",
        comment="One isolated branch per channel; a failing channel is recorded, never blocking the others.",
        result_path="$.fanout",
    )
    for channel in fanout_channels(plan):
        label = channel_label(channel)
        deliver_task = tasks.LambdaInvoke(
            scope,
            f"Deliver via {label}",
            lambda_function=deliver,
            payload=sfn.TaskInput.from_object(
                {
                    "channel": channel.value,
                    "incident_id": sfn.JsonPath.string_at("$.incident_id"),
                    "update_id": sfn.JsonPath.string_at("$.render.update_id"),
                }
            ),
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        deliver_task.add_retry(
            errors=list(RETRYABLE_ERRORS),
            interval=DELIVERY_RETRY_INTERVAL,
            max_attempts=DELIVERY_MAX_ATTEMPTS,
            backoff_rate=DELIVERY_BACKOFF_RATE,
            max_delay=DELIVERY_MAX_DELAY,
            jitter_strategy=sfn.JitterType.FULL,
        )
        record_task = tasks.LambdaInvoke(
            scope,
            f"Record {label} failure",
            lambda_function=record_failure,
            payload=sfn.TaskInput.from_object(
                {
                    "channel": channel.value,
                    "incident_id": sfn.JsonPath.string_at("$.incident_id"),
                    "update_id": sfn.JsonPath.string_at("$.render.update_id"),
                    "error": sfn.JsonPath.object_at("$.error"),
                }
            ),
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        record_task.add_retry(
            errors=list(RETRYABLE_ERRORS[1:]),
            interval=DELIVERY_RETRY_INTERVAL,
            max_attempts=DELIVERY_MAX_ATTEMPTS,
            backoff_rate=DELIVERY_BACKOFF_RATE,
            jitter_strategy=sfn.JitterType.FULL,
        )
        not_recorded = sfn.Pass(
            scope,
            f"{label} failure not recorded",
            result=sfn.Result.from_object({"channel": channel.value, "status": "failed"}),
        )
        record_task.add_catch(not_recorded, errors=[sfn.Errors.ALL], result_path=sfn.JsonPath.DISCARD)
        deliver_task.add_catch(record_task, errors=[sfn.Errors.ALL], result_path="$.error")
        parallel.branch(deliver_task)
    return parallel
