"""The channels the workflow speaks through, and its two Parallels: one isolated branch per channel.

``Notify team first`` (one branch per team chat, before an approval) and ``Fan out to channels`` (one
per customer-facing channel, and one per team chat for an update that needed no approval) build their
branches the same way (:func:`channel_branch`): typed, transient errors
(``ChannelRetryableError`` and Lambda's own) are retried with exponential backoff and full jitter;
anything left is caught, recorded on the incident by ``Record <channel> failure`` and sent to the
channel's dead-letter queue by ``Dead-letter <channel>``, where ``outage-comms redrive`` finds it.
One channel failing never blocks another; each Parallel always succeeds.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from outage_comms.channel_specs import registry
from outage_comms.channels.base import RETRYABLE_ERRORS
from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel
from outage_comms.workflow.channels_plan import fanout_channels, team_channels
from outage_comms_cdk.constructs.dead_letters import dead_letter_queue
from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime
from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import physical_name

DELIVERY_RETRY_INTERVAL = Duration.seconds(2)
DELIVERY_MAX_ATTEMPTS = 3
DELIVERY_BACKOFF_RATE = 2.0
DELIVERY_MAX_DELAY = Duration.seconds(30)
#: One redrive run: up to MAX_ITEMS deliveries, each up to its function's 30 s timeout.
REDRIVE_TIMEOUT = Duration.minutes(5)
#: The workflow stack's output naming the redrive function (the CLI reads it).
REDRIVE_FUNCTION_OUTPUT = "RedriveFunctionName"


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
        self.drill: sns.Topic | None = None
        if channels.sns is not None and channels.sns.enabled:
            self.subscribers = sns.Topic(
                self,
                "Subscribers",
                topic_name=physical_name(self, channels.sns.topic_name),
                display_name=plan.organization.name[:100],
                master_key=key,
                enforce_ssl=True,
            )
            self.drill = sns.Topic(
                self,
                "DrillSubscribers",
                topic_name=physical_name(self, f"{channels.sns.topic_name}-drill"),
                display_name=f"{plan.organization.name} drill"[:100],
                master_key=key,
                enforce_ssl=True,
            )
        chat_topic = channels.chatbot.topic_name if channels.chatbot else "outage-comms-internal-chat"
        # The team's chat also carries approval requests, reminders and the support macro: always there.
        self.internal_chat = sns.Topic(
            self, "InternalChat", topic_name=physical_name(self, chat_topic), master_key=key, enforce_ssl=True
        )


def channel_label(channel: Channel) -> str:
    """The channel's human name (its registry spec's label), e.g. "team Slack"."""
    label: str = registry.spec(channel).label
    return label


class DeliveryDeadLetters(Construct):
    """One dead-letter queue per channel the workflow delivers through (customer channels and team chats).

    A branch that still fails after its retries sends ``{"incident_id", "update_id", "channel",
    "error", "detail", "attempts", "drill", "failed_at", "execution"}`` here; ``outage-comms redrive``
    resends it through the same delivery function, exactly once. KMS-encrypted, TLS only, 14 days.
    """

    def __init__(self, scope: Construct, construct_id: str, *, plan: Plan, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.queues: dict[Channel, sqs.Queue] = {
            channel: dead_letter_queue(
                self,
                channel.value,
                key=key,
                holds=f"the {channel_label(channel)} deliveries that failed after their retries "
                "(a person redrives them with `outage-comms redrive`)",
            )
            for channel in [*team_channels(plan), *fanout_channels(plan)]
        }

    def acknowledge_sender(self, role: iam.IRole) -> None:
        """The state machine sends to these KMS-encrypted queues: CDK grants ``kms:GenerateDataKey*``."""
        acknowledge(
            role,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "Sending to the KMS-encrypted dead-letter queues: CDK's grant names kms:GenerateDataKey* on "
            "the one Outage Comms customer-managed key (the statement's Resource is that key, never '*').",
        )

    def urls(self) -> dict[str, str]:
        """``{channel: queue URL}`` for the redrive function's environment."""
        return {channel.value: queue.queue_url for channel, queue in self.queues.items()}


def _retry_like_a_channel(task: sfn.TaskStateBase, errors: list[str]) -> None:
    task.add_retry(
        errors=errors,
        interval=DELIVERY_RETRY_INTERVAL,
        max_attempts=DELIVERY_MAX_ATTEMPTS,
        backoff_rate=DELIVERY_BACKOFF_RATE,
        max_delay=DELIVERY_MAX_DELAY,
        jitter_strategy=sfn.JitterType.FULL,
    )


def channel_branch(
    scope: Construct,
    *,
    channel: Channel,
    verb: str,
    deliver: lambda_.IFunction,
    record_failure: lambda_.IFunction,
    dead_letters: sqs.IQueue,
    suffix: str = "",
    extra: dict[str, object] | None = None,
) -> sfn.IChainable:
    """``<verb> <channel>`` (retried) -> on failure ``Record <channel> failure`` -> ``Dead-letter <channel>``.

    The branch always ends well: a delivery, or a failure recorded on the incident *and* left in the
    channel's dead-letter queue for ``outage-comms redrive`` (if recording fails, the queue still gets
    the error as Step Functions saw it). ``suffix`` ends every state name of the branch (a second copy of
    a channel's branch needs names of its own); ``extra`` goes into the delivery task's payload only.
    """
    label = channel_label(channel)
    ids: dict[str, object] = {
        "channel": channel.value,
        "incident_id": sfn.JsonPath.string_at("$.incident_id"),
        "update_id": sfn.JsonPath.string_at("$.render.update_id"),
    }

    deliver_task = _invoke(scope, f"{verb} {label}{suffix}", deliver, {**ids, **(extra or {})})
    _retry_like_a_channel(deliver_task, list(RETRYABLE_ERRORS))
    record_task = _invoke(
        scope,
        f"Record {label} failure{suffix}",
        record_failure,
        {**ids, "error": sfn.JsonPath.object_at("$.error")},
        result_path="$.failure",
    )
    _retry_like_a_channel(record_task, list(RETRYABLE_ERRORS[1:]))
    not_recorded = sfn.Pass(
        scope,
        f"{label} failure not recorded{suffix}",
        parameters={
            "channel": channel.value,
            "status": "failed",
            "error": sfn.JsonPath.string_at("$.error.Error"),
            "detail": sfn.JsonPath.string_at("$.error.Cause"),
            "attempts": 0,
            "drill": False,
            "failed_at": sfn.JsonPath.string_at("$$.State.EnteredTime"),
        },
        result_path="$.failure",
    )
    dead_letter = _dead_letter(scope, label, ids, dead_letters, suffix)
    record_task.add_catch(not_recorded, errors=[sfn.Errors.ALL], result_path="$.record_error")
    record_task.next(dead_letter)
    not_recorded.next(dead_letter)
    deliver_task.add_catch(record_task, errors=[sfn.Errors.ALL], result_path="$.error")
    return deliver_task


def _invoke(
    scope: Construct,
    state_id: str,
    function: lambda_.IFunction,
    payload: dict[str, object],
    result_path: str | None = None,
) -> tasks.LambdaInvoke:
    return tasks.LambdaInvoke(
        scope,
        state_id,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(payload),
        payload_response_only=True,
        retry_on_service_exceptions=False,
        result_path=result_path,
    )


def _dead_letter(
    scope: Construct, label: str, ids: dict[str, object], queue: sqs.IQueue, suffix: str = ""
) -> tasks.SqsSendMessage:
    """``Dead-letter <channel>`` (retried; if the queue still refuses, ``<channel> not dead-lettered``)."""
    dead_letter = tasks.SqsSendMessage(
        scope,
        f"Dead-letter {label}{suffix}",
        queue=queue,
        message_body=sfn.TaskInput.from_object(
            {
                **ids,
                "error": sfn.JsonPath.string_at("$.failure.error"),
                "detail": sfn.JsonPath.string_at("$.failure.detail"),
                "attempts": sfn.JsonPath.number_at("$.failure.attempts"),
                "drill": sfn.JsonPath.object_at("$.failure.drill"),
                "failed_at": sfn.JsonPath.string_at("$.failure.failed_at"),
                "execution": sfn.JsonPath.string_at("$$.Execution.Name"),
            }
        ),
        result_path=sfn.JsonPath.DISCARD,
        output_path="$.failure",
    )
    _retry_like_a_channel(dead_letter, [sfn.Errors.ALL])
    not_dead_lettered = sfn.Pass(
        scope,
        f"{label} not dead-lettered{suffix}",
        comment="The queue refused the message after retries; the incident still records the failure.",
        output_path="$.failure",
    )
    dead_letter.add_catch(not_dead_lettered, errors=[sfn.Errors.ALL], result_path="$.dead_letter_error")
    return dead_letter


#: Ends the state names of the team chats' branches inside ``Fan out to channels``.
WITH_THE_CUSTOMERS = " with the customers"
#: Set on ``$.render`` (by ``Team hears with the customers``) when no approval is needed: the team chats
#: are told inside the fan-out, at the same moment as the customers, not before it (issue 13).
TEAM_WITH_THE_CUSTOMERS = "team_with_customers"


def fanout_state(
    scope: Construct,
    *,
    plan: Plan,
    deliver: lambda_.IFunction,
    notify: lambda_.IFunction,
    record_failure: lambda_.IFunction,
    dead_letters: DeliveryDeadLetters,
) -> sfn.Parallel | sfn.Pass:
    """``Fan out to channels``: a Parallel with one branch per enabled customer-facing channel, and one
    per team chat (``Notify <team chat> with the customers``).

    A team chat's branch here tells the team only when the update needed no approval (``$.render``
    carries :data:`TEAM_WITH_THE_CUSTOMERS`); otherwise the team heard in ``Notify team first`` and the
    notify function answers ``heard_before_approval`` without sending. It is retried, recorded and
    dead-lettered exactly like every other branch, to the team chat's own queue.
    """
    team = team_channels(plan)
    if not fanout_channels(plan) and not team:  # e.g. a status-page-only plan: status surfaces publish next
        return sfn.Pass(
            scope,
            "Fan out to channels",
            comment="The plan turns on no channel besides the status surfaces.",
            result=sfn.Result.from_array([]),
            result_path="$.fanout",
        )
    parallel = sfn.Parallel(
        scope,
        "Fan out to channels",
        comment="One isolated branch per channel; a failing channel is recorded and dead-lettered, "
        "never blocking the others. The team chats hear here when no approval was needed.",
        result_path="$.fanout",
    )
    for channel in fanout_channels(plan):
        parallel.branch(
            channel_branch(
                scope,
                channel=channel,
                verb="Deliver via",
                deliver=deliver,
                record_failure=record_failure,
                dead_letters=dead_letters.queues[channel],
            )
        )
    for channel in team:
        parallel.branch(
            channel_branch(
                scope,
                channel=channel,
                verb="Notify",
                deliver=notify,
                record_failure=record_failure,
                dead_letters=dead_letters.queues[channel],
                suffix=WITH_THE_CUSTOMERS,
                extra={"render": sfn.JsonPath.object_at("$.render")},
            )
        )
    return parallel


def team_state(
    scope: Construct,
    *,
    plan: Plan,
    notify: lambda_.IFunction,
    record_failure: lambda_.IFunction,
    dead_letters: DeliveryDeadLetters,
) -> sfn.Parallel | sfn.Pass:
    """``Notify team first``: one branch per team chat, retried like a customer channel, before approval.

    Entered when the update needs approval: the team hears before any customer (the Parallel ends
    before the approval gate and the fan-out). Without approval, the team chats are branches of the
    fan-out instead (:func:`fanout_state`), so the first customer message waits for no team chat;
    branches run side by side, so one team chat failing never keeps the others waiting, and its
    retries back off (DELIVERY_RETRY_INTERVAL, DELIVERY_BACKOFF_RATE, capped) before it is dead-lettered.
    """
    channels = team_channels(plan)
    if not channels:
        return sfn.Pass(scope, "Notify team first", comment="The plan turns on no team chat.")
    parallel = sfn.Parallel(
        scope,
        "Notify team first",
        comment="One isolated branch per team chat; a failing one is retried, recorded and dead-lettered.",
        result_path=sfn.JsonPath.DISCARD,
    )
    for channel in channels:
        parallel.branch(
            channel_branch(
                scope,
                channel=channel,
                verb="Notify",
                deliver=notify,
                record_failure=record_failure,
                dead_letters=dead_letters.queues[channel],
            )
        )
    return parallel


class DeliveryRedrive(Construct):
    """The function behind ``outage-comms redrive``: reads the dead-letter queues, resends each item by
    invoking the function that delivers its channel (the same code and delivery ledger as the
    workflow). It holds no channel secret and can send nothing by itself.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: LambdaRuntime,
        key: kms.IKey,
        dead_letters: DeliveryDeadLetters,
        deliver: lambda_.IFunction,
        notify: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.built = runtime.new_function(
            self,
            "Redrive",
            handler="handlers.workflow_redrive.handler",
            description="outage-comms redrive: dead-lettered deliveries back through their delivery function",
            service_name="workflow-redrive",
            timeout=REDRIVE_TIMEOUT,
            environment={
                "DEAD_LETTER_QUEUES": Stack.of(self).to_json_string(dead_letters.urls()),
                "DELIVER_FUNCTION": deliver.function_name,
                "NOTIFY_FUNCTION": notify.function_name,
            },
            synchronous_only_reason="invoked synchronously by `outage-comms redrive`, which prints each "
            "item's outcome; a failed item stays in its queue for the next run",
        )
        self.function = self.built.function
        queue_arns = [queue.queue_arn for queue in dead_letters.queues.values()]
        if queue_arns:  # a plan with no delivery channel (status page only) has no dead-letter queue to read
            self.function.add_to_role_policy(
                iam.PolicyStatement(
                    sid="ReadAndDeleteDeadLetteredDeliveries",
                    actions=[
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:ChangeMessageVisibility",
                        "sqs:GetQueueAttributes",
                    ],
                    resources=queue_arns,
                )
            )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ResendThroughTheDeliveryFunctions",
                actions=["lambda:InvokeFunction"],
                resources=[deliver.function_arn, notify.function_arn],
            )
        )
        key.grant_decrypt(self.function)
