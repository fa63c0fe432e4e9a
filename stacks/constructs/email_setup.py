"""The SES set-up of the email channel: the plan's configuration set, and suppression of bad addresses.

Bounce and complaint events of the configuration set reach an encrypted SNS topic; the suppression
function marks those subscribers so they are never mailed again. Built into the channels stack's own
scope (not a nested construct), so the resources keep the logical ids a deployed stack already has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns

from outage_comms_cdk.constructs.dead_letters import dead_letter_queue

if TYPE_CHECKING:
    from outage_comms_cdk.core_stack import OutageCommsCoreStack


class EmailSetup:
    """``topic`` (bounces and complaints), ``configuration_set`` and ``suppression_function``."""

    def __init__(
        self,
        stack: Stack,
        *,
        core: OutageCommsCoreStack,
        settings: Any,
        subscribers_table: str,
        grant_subscribers: Callable[[iam.IRole], None],
    ) -> None:
        key = core.encryption.key
        self.topic = sns.Topic(
            stack,
            "EmailFeedback",
            display_name="Outage Comms email bounces and complaints",
            master_key=key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SesPublishesFeedback",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        core.encryption.allow_service_deliveries(
            sid="SesPublishesEncryptedFeedback", service="ses.amazonaws.com"
        )
        self.configuration_set = ses.ConfigurationSet(
            stack,
            "ConfigurationSet",
            configuration_set_name=settings.configuration_set,
            reputation_metrics=True,
            sending_enabled=True,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        ses.ConfigurationSetEventDestination(
            stack,
            "BouncesAndComplaints",
            configuration_set=self.configuration_set,
            destination=ses.EventDestination.sns_topic(self.topic),
            events=[ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT],
        )
        self._suppression(stack, core, key, subscribers_table, grant_subscribers)

    def _suppression(
        self,
        stack: Stack,
        core: OutageCommsCoreStack,
        key: Any,
        subscribers_table: str,
        grant_subscribers: Callable[[iam.IRole], None],
    ) -> None:
        failed = dead_letter_queue(
            stack,
            "EmailSuppressionFailures",
            key=key,
            holds="the suppression function's SNS subscription and asynchronous invocations",
        )
        self.suppression_function = core.lambda_runtime.new_function(
            stack,
            "EmailSuppression",
            handler="handlers.email_suppression.handler",
            description="Outage Comms: stop mailing addresses that bounced permanently or complained",
            service_name="email-suppression",
            environment={"SUBSCRIBERS_TABLE": subscribers_table},
            dead_letter_queue=failed,
        )
        grant_subscribers(self.suppression_function.role)
        self.suppression_function.function.add_event_source(
            sources.SnsEventSource(self.topic, dead_letter_queue=failed)
        )
        self.suppression_function.acknowledge_key_grants()
