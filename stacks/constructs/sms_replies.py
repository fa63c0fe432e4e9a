"""SMS replies to "Helpful? Reply YES or NO": the topic End User Messaging publishes to, and its reader.

Two-way SMS is configured on the origination phone number, not here (the number is the operator's,
bought and registered outside this app): set its ``TwoWayEnabled`` to true, ``TwoWayChannelArn`` to
the stack output ``SmsRepliesTopicArn`` and ``TwoWayChannelRole`` to ``SmsRepliesPublisherRoleArn``
(``aws pinpoint-sms-voice-v2 update-phone-number``, or ``AWS::SMSVOICE::PhoneNumber`` ``TwoWay``).

- the topic is encrypted with the core key; the publisher role is trusted by
  ``sms-voice.amazonaws.com`` from this account only and may publish to this topic only (plus the
  key, for the encrypted topic, as the End User Messaging SMS user guide's two-way IAM policy says);
- the function (``handlers/sms_replies.py``) counts each reply through the feedback store, with a
  dead-letter queue for the SNS subscription and the asynchronous invocations.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from constructs import Construct

from outage_comms_cdk.constructs.dead_letters import dead_letter_queue
from outage_comms_cdk.constructs.feedback_api import FeedbackApi
from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime, OutageCommsFunction
from outage_comms_cdk.settings import physical_name

SMS_REPLIES_TOPIC_NAME = "outage-comms-sms-replies"
SMS_VOICE_PRINCIPAL = "sms-voice.amazonaws.com"


class SmsReplies(Construct):
    """The two-way SMS topic, the role End User Messaging publishes with, and the counting function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        lambda_runtime: LambdaRuntime,
        feedback: FeedbackApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=physical_name(self, SMS_REPLIES_TOPIC_NAME),
            display_name="Outage Comms SMS replies to 'Helpful? Reply YES or NO'",
            master_key=key,
            enforce_ssl=True,
        )
        self.publisher_role = iam.Role(
            self,
            "PublisherRole",
            description="End User Messaging SMS publishes inbound SMS (two-way) to the SMS replies topic",
            assumed_by=iam.ServicePrincipal(
                SMS_VOICE_PRINCIPAL, conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
        )
        self.publisher_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn])
        )
        # The topic is encrypted: publishing needs a data key from the core key (this key only).
        self.publisher_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn])
        )
        failed = dead_letter_queue(
            self,
            "Failures",
            key=key,
            holds="the SMS reply function's subscription and asynchronous invocations",
        )
        self.function: OutageCommsFunction = lambda_runtime.new_function(
            self,
            "Function",
            handler="handlers.sms_replies.handler",
            description="Outage Comms: counts SMS replies (YES / NO) to 'Was this update helpful?'",
            service_name="sms-replies",
            environment={
                "FEEDBACK_TABLE": feedback.table.table_name,
                "FEEDBACK_SECRET_ARN": feedback.signing_key.secret.secret_arn,
            },
            dead_letter_queue=failed,
        )
        feedback.grant_reply_votes(self.function.role)
        self.function.function.add_event_source(sources.SnsEventSource(self.topic, dead_letter_queue=failed))
