"""The real adapters behind :class:`outage_comms.workflow.steps.Services`, built once per environment."""

from __future__ import annotations

import functools
import json
from typing import Any

from botocore.exceptions import ClientError

from outage_comms import drill_mode
from outage_comms.aws_clients import client
from outage_comms.channels import catalog, registry
from outage_comms.channels.base import ChannelAdapter
from outage_comms.channels.internal_chat import InternalChatChannel
from outage_comms.channels.sns_subscribers import SnsSubscribersChannel
from outage_comms.feedback.runtime import feedback_linker
from outage_comms.incident import severity_rank
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.ports import FeedbackTally
from outage_comms.vocabulary import Channel
from outage_comms.workflow.approval import ReviewSigner, TaskGoneError
from outage_comms.workflow.approval_store import DynamoApprovalStore
from outage_comms.workflow.delivery_ledger import DynamoDeliveryLedger
from outage_comms.workflow.services import Services
from outage_comms.workflow.settings import WorkflowSettings, plan, settings
from outage_comms.workflow.store import DynamoWorkflowStore


class AwsNotifier:
    """Team chat (Chatbot custom notifications on SNS) and email (SES v2) for people, not customers."""

    def __init__(self, config: WorkflowSettings, from_address: str | None) -> None:
        self._config = config
        self._from = from_address

    def chat(self, document: dict[str, Any]) -> str | None:
        if not self._config.internal_chat_topic_arn:
            return None
        return InternalChatChannel(
            topic_arn=self._config.internal_chat_topic_arn, client=client("sns")
        ).notify(document)

    def email(self, to: str, subject: str, text: str) -> str | None:
        if not self._from:
            return None
        kwargs: dict[str, Any] = {
            "FromEmailAddress": self._from,
            "Destination": {"ToAddresses": [to]},
            "Content": {"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}}},
        }
        if self._config.email_configuration_set:
            kwargs["ConfigurationSetName"] = self._config.email_configuration_set
        return str(client("sesv2").send_email(**kwargs)["MessageId"])


def channel_adapter(channel: Channel) -> ChannelAdapter | None:
    """The adapter for a channel, or None when no adapter speaks for it (status surfaces).

    SNS subscribers and the team's chat topic are this stack's own; every other channel comes from
    :mod:`outage_comms.channels.catalog`, which raises ``ChannelUnavailableError`` for a channel the
    plan enables but this deployment does not configure.
    """
    config = settings()
    if channel is Channel.SNS and config.subscribers_topic_arn:
        return SnsSubscribersChannel(topic_arn=config.subscribers_topic_arn, client=client("sns"))
    if channel is Channel.CHATBOT and config.internal_chat_topic_arn:
        return InternalChatChannel(topic_arn=config.internal_chat_topic_arn, client=client("sns"))
    if not registry.is_registered(channel) or registry.spec(channel).adapter is None:
        return None
    return catalog.build(channel, channel_context())


def drill_topic_adapter() -> ChannelAdapter | None:
    """The SNS subscribers channel on the drill topic (None: no drill topic, or it is the customers')."""
    config = settings()
    if not config.drill_topic_arn or config.drill_topic_arn == config.subscribers_topic_arn:
        return None
    return SnsSubscribersChannel(topic_arn=config.drill_topic_arn, client=client("sns"))


def target_adapters() -> dict[str, drill_mode.AdapterFactory]:
    """The adapter factory of each target kind an update record may name besides ``"public"``
    (a drill's: the drill audience, the drill topic, the drill secrets, the team's own chat)."""
    return drill_mode.drill_adapters(
        plan=plan(), real=channel_adapter, context=channel_context, drill_topic=drill_topic_adapter
    )


@functools.cache
def channel_context() -> catalog.ChannelContext:
    """One per execution environment: its secret cache and clients are reused by every delivery."""
    return catalog.ChannelContext.from_environment(plan())


@functools.cache
def review_signer() -> ReviewSigner:
    secret = client("secretsmanager").get_secret_value(SecretId=settings().review_secret_arn)["SecretString"]
    return ReviewSigner(secret.encode("utf-8"))


#: SendTaskSuccess errors meaning no task waits for this token any more: the decision came too late.
TASK_GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


def send_task_success(token: str, output: dict[str, Any], *, stepfunctions: Any = None) -> None:
    """Complete the waiting task; :class:`TaskGoneError` when it no longer waits (other errors raise)."""
    try:
        (stepfunctions or client("stepfunctions")).send_task_success(
            taskToken=token, output=json.dumps(output)
        )
    except ClientError as error:
        if error.response["Error"]["Code"] in TASK_GONE:
            raise TaskGoneError(error.response["Error"]["Code"]) from None
        raise


def execution_running(execution_arn: str) -> bool:
    try:
        status = client("stepfunctions").describe_execution(executionArn=execution_arn)["status"]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            return False
        raise
    return bool(status == "RUNNING")


def feedback_tally() -> FeedbackTally | None:
    """The customers' answers (``FEEDBACK_TABLE``, set for the summary's draft step), else None."""
    table = settings().feedback_table
    if not table:
        return None
    from outage_comms.feedback.store import DynamoFeedbackStore

    return DynamoFeedbackStore.named(table)


@functools.cache
def services() -> Services:
    config, the_plan = settings(), plan()
    ranks = {s.id: severity_rank(s) for s in the_plan.severities}
    email = the_plan.channels.email
    return Services(
        plan=the_plan,
        repository=DynamoIncidentRepository(
            config.incidents_table, severity_rank=lambda severity: ranks.get(severity, 0)
        ),
        store=DynamoWorkflowStore(table_name=config.workflow_table, client=client("dynamodb")),
        notifier=AwsNotifier(config, email.from_address if email and email.enabled else None),
        channel=channel_adapter,
        signer=review_signer,
        send_task_success=send_task_success,
        execution_running=execution_running,
        review_base_url=config.review_base_url,
        targets=target_adapters(),
        feedback_links=feedback_linker,
        feedback_tally=feedback_tally(),
        approvals=DynamoApprovalStore(table_name=config.approval_table, client=client("dynamodb")),
        # Fenced by region ownership in the delivering steps' handlers (regions.fence.fenced_services).
        deliveries=DynamoDeliveryLedger(table_name=config.workflow_table, client=client("dynamodb")),
    )
