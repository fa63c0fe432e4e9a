"""The channels stack: subscribers' API, email suppression, bulk delivery and the channels' grants.

Composes, each in its own construct file or section:

- the **subscribe API** (public REST API, throttled, JSON access logs, X-Ray) and its abuse-limit table;
- the **SES configuration set** named in the plan, whose bounce and complaint events reach an SNS
  topic and the suppression function that marks those subscribers;
- **bulk delivery** (``stacks/constructs/bulk_delivery.py``) and its encrypted, expiring bucket;
- the **token key** (a generated secret) that signs confirmation and unsubscribe links;
- **social mentions** (``stacks/constructs/social_mentions.py``): a scheduled count of public posts
  mentioning the organization on Bluesky / Mastodon, when the plan enables either;
- :meth:`OutageCommsChannelsStack.grant_delivery`: what a function that delivers on the channels
  needs (the lead gives it to the workflow's ``deliver_channel`` function), each grant scoped to the
  plan's own identities, configuration sets and secret names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_cdk import ArnFormat, Aws, CfnOutput, Duration, Names, RemovalPolicy, Stack, Tags
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel
from outage_comms_cdk.constructs.bulk_delivery import BulkDelivery, SendQuotas
from outage_comms_cdk.constructs.data_store import SUBSCRIBERS_BY_COMPONENT_LOCALE_INDEX
from outage_comms_cdk.constructs.dead_letters import dead_letter_queue
from outage_comms_cdk.constructs.encryption import LOG_GROUP_PREFIX
from outage_comms_cdk.constructs.lambda_runtime import OutageCommsFunction
from outage_comms_cdk.constructs.rest_api import regional_rest_api
from outage_comms_cdk.constructs.social_mentions import SocialMentions, listens
from outage_comms_cdk.constructs.web_acl import PublicWebAcl
from outage_comms_cdk.core_stack import PROJECT_TAG, OutageCommsCoreStack
from outage_comms_cdk.quality_gates import acknowledge, checkov_skip
from outage_comms_cdk.settings import deployment_of, physical_name

SUBSCRIBE_THROTTLE_RATE = 5
SUBSCRIBE_THROTTLE_BURST = 10
BULK_OBJECT_DAYS = 7
#: Named from the account and region so a delivering function in another stack (the workflow's) can be
#: granted ``bulk/*`` by a stack-agnostic ARN: no export to import, and one cdk-nag finding to acknowledge.
BULK_BUCKET_NAME = f"outage-comms-bulk-{Aws.ACCOUNT_ID}-{Aws.REGION}"


def bulk_bucket_prefix(scope: Construct) -> str:
    """``outage-comms-bulk-``, or ``oc-<id>-bulk-`` with a deployment id (bucket names: 63 characters)."""
    deployment = deployment_of(scope)
    return f"oc-{deployment}-bulk-" if deployment else "outage-comms-bulk-"


def bulk_bucket_name(scope: Construct) -> str:
    return f"{bulk_bucket_prefix(scope)}{Aws.ACCOUNT_ID}-{Aws.REGION}"


SUBSCRIBE_REQUEST_SCHEMA = apigw.JsonSchema(
    type=apigw.JsonSchemaType.OBJECT,
    required=["channel", "address", "locale"],
    additional_properties=False,
    properties={
        "channel": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, enum=["email", "sms", "push"]),
        "address": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=3, max_length=4096),
        "locale": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, max_length=16),
        "platform": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, enum=["APNS", "GCM"]),
        "components": apigw.JsonSchema(
            type=apigw.JsonSchemaType.ARRAY,
            max_items=50,
            items=apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, max_length=63),
        ),
    },
)


def secret_arn_pattern(name: str) -> str:
    """Secrets Manager appends ``-`` and 6 random characters to a secret's name in its ARN."""
    return f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:{name}-??????"


def plan_secret_names(plan: Plan) -> list[str]:
    """Every Secrets Manager name the plan's enabled channels refer to."""
    names = []
    channels = plan.channels
    for settings, attribute in (
        (channels.slack, "webhook_url_secret"),
        (channels.teams, "webhook_url_secret"),
        (channels.mastodon, "access_token_secret"),
        (channels.bluesky, "app_password_secret"),
        (channels.webhook, "signing_secret"),
        (channels.support, "ticketing_webhook_secret"),
    ):
        if settings is not None and settings.enabled:
            names.append(str(getattr(settings, attribute)))
    return sorted(set(names) | set(drill_secret_names(plan)))


def drill_secret_names(plan: Plan, channels: Iterable[Channel] | None = None) -> list[str]:
    """The drill targets' secrets (``drill.webhook_secrets``) of the enabled web channels."""
    wanted = set(channels) if channels is not None else None
    return sorted(
        {
            name
            for channel, name in plan.drill.webhook_secrets.items()
            if (wanted is None or channel in wanted)
            and (settings := getattr(plan.channels, channel.value, None)) is not None
            and settings.enabled
        }
    )


def team_chat_secret_names(plan: Plan) -> list[str]:
    """The webhook secrets of the team's chat channels (Slack, Teams) the plan enables, and their drills'."""
    return sorted(
        {
            settings.webhook_url_secret
            for settings in (plan.channels.slack, plan.channels.teams)
            if settings is not None and settings.enabled
        }
        | set(drill_secret_names(plan, (Channel.SLACK, Channel.TEAMS)))
    )


def sms_voice_arn(resource: str) -> str:
    return f"arn:{Aws.PARTITION}:sms-voice:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


def origination_resources(identity: str) -> list[str]:
    """IAM resources for an origination identity as the plan writes it.

    An ARN is used as is, and ids (``phone-…``, ``pool-…``) become their ARN. A phone number in
    E.164 or a sender id can't be turned into its ARN (the ARN holds a generated id), so those allow
    the account's phone numbers / sender ids / pools in this region: write the ARN in the plan to
    tighten it.
    """
    if identity.startswith("arn:"):
        return [identity]
    if identity.startswith("phone-"):
        return [sms_voice_arn(f"phone-number/{identity}")]
    if identity.startswith("pool-"):
        return [sms_voice_arn(f"pool/{identity}")]
    if identity.startswith("+"):
        return [sms_voice_arn("phone-number/*"), sms_voice_arn("pool/*")]
    return [sms_voice_arn(f"sender-id/{identity}/*"), sms_voice_arn("pool/*")]


class OutageCommsChannelsStack(Stack):
    """Everything the customer, social and support channels need beyond the adapters' code."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        core: OutageCommsCoreStack,
        quotas: SendQuotas = SendQuotas(),  # noqa: B008 (frozen dataclass)
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault(
            "description", f"Outage Comms channels for {plan.organization.name}: subscribers, bulk"
        )
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add(*PROJECT_TAG)
        self.plan = plan
        self.quotas = quotas
        key = core.encryption.key
        runtime = core.lambda_runtime
        subscribers = core.data.subscribers
        self.subscribers = subscribers
        self.key = key

        # -- token key and abuse limits ----------------------------------------------------------
        self.token_secret = secretsmanager.Secret(
            self,
            "SubscriberTokenKey",
            description="Outage Comms: HMAC key signing subscribers' confirmation and unsubscribe links",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.token_secret,
            "AwsSolutions-SMG4",
            "Not rotated automatically: rotating the HMAC key would break every unsubscribe link already "
            "sent (RFC 8058 links must keep working). Rotate by hand with a grace period if it leaks.",
        )
        self.limits = dynamodb.Table(
            self,
            "SubscribeLimits",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute="expires_at",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )

        # -- bulk bucket and state machine ---------------------------------------------------------
        self.bulk_bucket = s3.Bucket(
            self,
            "BulkBucket",
            bucket_name=bulk_bucket_name(self),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=False,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(BULK_OBJECT_DAYS))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.bulk_bucket,
            "AwsSolutions-S1",
            f"Holds only transient exports and batch results (deleted after "
            f"{BULK_OBJECT_DAYS} days) written and "
            "read by this stack's own roles; enable CloudTrail S3 data events account-wide to audit access.",
        )
        checkov_skip(
            self.bulk_bucket,
            "CKV_AWS_21",
            f"Transient exports and batch results, deleted after {BULK_OBJECT_DAYS} days and rewritten per "
            "update; old versions would only keep subscribers' addresses longer.",
        )
        environment = self.channel_environment()
        self.bulk = BulkDelivery(
            self,
            "BulkDelivery",
            runtime=runtime,
            key=key,
            bucket=self.bulk_bucket,
            quotas=quotas,
            environment=environment,
        )
        self.grant_delivery(self.bulk.send_batch)

        # -- SES configuration set and suppression ---------------------------------------------
        if plan.channels.email is not None and plan.channels.email.enabled:
            self._email_feedback(core)

        # -- subscribe API -------------------------------------------------------------------------
        # The plan's edge.waf: one regional web ACL for the public APIs of this region (the workflow
        # stack's feedback and review APIs use it too), None when switched off.
        self.web_acl = (
            PublicWebAcl(self, "PublicApisWebAcl", waf=plan.edge.waf, waf_scope="REGIONAL")
            if plan.edge.waf.enabled
            else None
        )
        self.subscribe_function = runtime.new_function(
            self,
            "SubscribeApiFunction",
            handler="handlers.subscribe_api.handler",
            description="Outage Comms subscribe API: subscribe, confirm, preferences, one-click unsubscribe",
            service_name="subscribe-api",
            environment=environment,
            # A flood of sign-ups can hold no more than this, and never starves the delivering functions.
            reserved_concurrent_executions=plan.edge.reserved_concurrency.subscribe_api,
            synchronous_only_reason=(
                "invoked synchronously by API Gateway; the caller sees the error and retries"
            ),
        )
        self.grant_subscribers(self.subscribe_function.role)
        self.limits.grant(self.subscribe_function.role, "dynamodb:UpdateItem")
        self.limits.encryption_key.grant(
            self.subscribe_function.role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"
        )  # type: ignore[union-attr]
        self.grant_token_key(self.subscribe_function.role)
        self._grant_senders(self.subscribe_function)
        self._grant_push_confirmations(self.subscribe_function)
        self.subscribe_function.acknowledge_key_grants()
        self.api = self._subscribe_api(key)
        # Built from the API id, not ``api.url`` (the stage), which would make the function depend on
        # the deployment that depends on the function.
        api_url = f"https://{self.api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/v1"
        self.api_url = api_url
        self.subscribe_function.function.add_environment("SUBSCRIBE_API_URL", api_url)
        self.bulk.send_batch.function.add_environment("SUBSCRIBE_API_URL", api_url)

        # -- perception: social mentions for the internal dashboard ---------------------------------
        self.social_mentions: SocialMentions | None = None
        if listens(plan):
            self.social_mentions = SocialMentions(
                self, "SocialMentions", plan=plan, runtime=runtime, failures=core.events.dead_letter_queue
            )

        CfnOutput(self, "SubscribeApiUrl", value=self.api.url)
        CfnOutput(self, "BulkStateMachineArn", value=self.bulk.state_machine.state_machine_arn)
        CfnOutput(self, "BulkBucketName", value=self.bulk_bucket.bucket_name)

    # -----------------------------------------------------------------------------------------

    def channel_environment(self) -> dict[str, str]:
        """What ``channels.settings.ChannelSettings`` reads. Give it to any function using the catalog."""
        env = {
            "SUBSCRIBERS_TABLE": self.subscribers.table_name,
            "SUBSCRIBE_LIMITS_TABLE": self.limits.table_name,
            # The ARN (a valid SecretId): a generated secret's *name* is derived from its ARN with
            # Fn::Split, which another stack cannot apply to an imported value.
            "SUBSCRIBER_TOKEN_SECRET_NAME": self.token_secret.secret_arn,
            "BULK_BUCKET": bulk_bucket_name(self),
            "BULK_STATE_MACHINE_ARN": self.format_arn(
                service="states",
                resource="stateMachine",
                resource_name=physical_name(self, "outage-comms-bulk-delivery"),
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
            "EMAIL_RATE_PER_SECOND": f"{self.quotas.email_rate_per_sender:g}",
            "SMS_PARTS_PER_SECOND": f"{self.quotas.sms_parts_per_second:g}",
        }
        push = self.plan.channels.push
        if push is not None and push.enabled:
            env["PUSH_APPLICATION_ID"] = self._push_application_id()
        return env

    def grant_subscribers(self, role: iam.IRole) -> None:
        """Items and the one index of the subscribers table, with the key DynamoDB encrypts it with."""
        table_arn = self.subscribers.table_arn
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                    "dynamodb:BatchWriteItem",
                ],
                resources=[table_arn, f"{table_arn}/index/{SUBSCRIBERS_BY_COMPONENT_LOCALE_INDEX}"],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{Aws.REGION}.amazonaws.com"}},
            )
        )

    def grant_token_key(self, role: iam.IRole) -> None:
        """Read the token key: the secret, and Decrypt only through Secrets Manager.

        Granted on the role, not the key policy (the key lives in the core stack: no cycle).
        """
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[self.token_secret.secret_arn]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{Aws.REGION}.amazonaws.com"}},
            )
        )

    def _push_application_id(self) -> str:
        push = self.plan.channels.push
        assert push is not None
        if not hasattr(self, "_push_app_id"):
            self._push_app_id = ssm.StringParameter.value_for_string_parameter(
                self, push.application_id_parameter
            )
        return self._push_app_id

    def _grant_senders(self, function: OutageCommsFunction) -> None:
        """SES SendEmail from the plan's address through its configuration set; SMS through its identity."""
        email = self.plan.channels.email
        if email is not None and email.enabled:
            domain = email.from_address.split("@", 1)[1]
            function.role.add_to_policy(
                iam.PolicyStatement(
                    sid="SendEmailFromThePlanAddress",
                    actions=["ses:SendEmail"],
                    resources=[
                        self.format_arn(service="ses", resource="identity", resource_name=domain),
                        self.format_arn(service="ses", resource="identity", resource_name=email.from_address),
                        self.format_arn(
                            service="ses", resource="configuration-set", resource_name=email.configuration_set
                        ),
                    ],
                    conditions={"StringEquals": {"ses:FromAddress": email.from_address}},
                )
            )
        sms = self.plan.channels.sms
        if sms is not None and sms.enabled:
            function.role.add_to_policy(
                iam.PolicyStatement(
                    sid="SendTextThroughThePlanIdentity",
                    actions=["sms-voice:SendTextMessage"],
                    resources=[
                        sms_voice_arn(f"configuration-set/{sms.configuration_set}"),
                        sms_voice_arn("opt-out-list/*"),
                        *origination_resources(sms.origination_identity),
                    ],
                )
            )
            self._acknowledge_sms_voice(
                function, [sms_voice_arn("opt-out-list/*"), *origination_resources(sms.origination_identity)]
            )

    def _grant_push_confirmations(self, function: OutageCommsFunction) -> None:
        """The subscribe API's silent confirmation push (``subscribers/notifier.py``), via the plan's app."""
        push = self.plan.channels.push
        if push is None or not push.enabled:
            return
        function.role.add_to_policy(
            iam.PolicyStatement(
                sid="SendPushConfirmations",
                actions=["mobiletargeting:SendMessages"],
                resources=[
                    self.format_arn(
                        service="mobiletargeting",
                        resource="apps",
                        resource_name=f"{self._push_application_id()}/messages",
                    )
                ],
            )
        )

    def grant_delivery(self, function: OutageCommsFunction) -> None:
        """Everything a function delivering on these channels needs, each scoped as narrowly as IAM allows."""
        self.grant_subscribers(function.role)
        self.grant_token_key(function.role)
        function.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteBulkExports",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[f"arn:{Aws.PARTITION}:s3:::{bulk_bucket_name(self)}/bulk/*"],
            )
        )
        function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.key.key_arn])
        )
        function.role.add_to_policy(
            iam.PolicyStatement(
                sid="StartBulkDelivery",
                actions=["states:StartExecution"],
                resources=[
                    self.format_arn(
                        service="states",
                        resource="stateMachine",
                        resource_name=physical_name(self, "outage-comms-bulk-delivery"),
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        names = plan_secret_names(self.plan)
        if names:
            function.role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadThePlanChannelSecrets",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[secret_arn_pattern(name) for name in names],
                )
            )
        self._grant_senders(function)
        voice = self.plan.channels.voice
        if voice is not None and voice.enabled:
            function.role.add_to_policy(
                iam.PolicyStatement(
                    sid="CallThroughThePlanIdentity",
                    actions=["sms-voice:SendVoiceMessage"],
                    resources=[
                        sms_voice_arn("opt-out-list/*"),
                        *origination_resources(voice.origination_identity),
                    ],
                )
            )
        push = self.plan.channels.push
        if push is not None and push.enabled:
            function.role.add_to_policy(
                iam.PolicyStatement(
                    sid="SendPushThroughThePlanApplication",
                    actions=["mobiletargeting:SendMessages"],
                    resources=[
                        self.format_arn(
                            service="mobiletargeting",
                            resource="apps",
                            resource_name=f"{self._push_application_id()}/messages",
                        )
                    ],
                )
            )
        function.acknowledge_key_grants()
        acknowledge(
            function.role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{bulk_bucket_prefix(self)}<AWS::AccountId>-"
            "<AWS::Region>/bulk/*]",
            "Writes exports and the words of updates under bulk/ in the one bulk bucket, nothing else.",
        )
        self._acknowledge_secret_patterns(function, names)
        if voice is not None and voice.enabled:
            self._acknowledge_sms_voice(
                function,
                [sms_voice_arn("opt-out-list/*"), *origination_resources(voice.origination_identity)],
            )

    def grant_team_chat(self, function: OutageCommsFunction) -> None:
        """Read the Slack / Teams webhook secrets only: the team hears first, before any customer."""
        names = team_chat_secret_names(self.plan)
        if not names:
            return
        function.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadTheTeamChatWebhookSecrets",
                actions=["secretsmanager:GetSecretValue"],
                resources=[secret_arn_pattern(name) for name in names],
            )
        )
        self._acknowledge_secret_patterns(function, names)

    def _acknowledge_secret_patterns(self, function: OutageCommsFunction, names: list[str]) -> None:
        for name in names:
            acknowledge(
                function.role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
                f"<AWS::AccountId>:secret:{name}-??????]",
                "A secret's ARN ends in - and 6 random characters; this matches the plan's "
                "secret by its name only.",
            )

    def _acknowledge_sms_voice(self, function: OutageCommsFunction, resources: list[str]) -> None:
        for resource in resources:
            if "*" not in resource:
                continue
            shown = (
                resource.replace(str(Aws.PARTITION), "<AWS::Partition>")
                .replace(str(Aws.REGION), "<AWS::Region>")
                .replace(str(Aws.ACCOUNT_ID), "<AWS::AccountId>")
            )
            acknowledge(
                function.role,
                f"AwsSolutions-IAM5[Resource::{shown}]",
                "Scoped to this account and region. Opt-out lists: the send checks the identity's list. An "
                "E.164 number or sender id has no name-based ARN (it holds a generated id), so its type is "
                "wildcarded; write the identity's ARN in the plan to pin it. No other sms-voice "
                "action is granted.",
            )

    def _email_feedback(self, core: OutageCommsCoreStack) -> None:
        email = self.plan.channels.email
        assert email is not None
        self.feedback_topic = sns.Topic(
            self,
            "EmailFeedback",
            display_name="Outage Comms email bounces and complaints",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.feedback_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SesPublishesFeedback",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.feedback_topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        core.encryption.allow_service_deliveries(
            sid="SesPublishesEncryptedFeedback", service="ses.amazonaws.com"
        )
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=email.configuration_set,
            reputation_metrics=True,
            sending_enabled=True,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        ses.ConfigurationSetEventDestination(
            self,
            "BouncesAndComplaints",
            configuration_set=self.configuration_set,
            destination=ses.EventDestination.sns_topic(self.feedback_topic),
            events=[ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT],
        )
        failed = dead_letter_queue(
            self,
            "EmailSuppressionFailures",
            key=self.key,
            holds="the suppression function's SNS subscription and asynchronous invocations",
        )
        self.suppression_function = core.lambda_runtime.new_function(
            self,
            "EmailSuppression",
            handler="handlers.email_suppression.handler",
            description="Outage Comms: stop mailing addresses that bounced permanently or complained",
            service_name="email-suppression",
            environment={"SUBSCRIBERS_TABLE": self.subscribers.table_name},
            dead_letter_queue=failed,
        )
        self.grant_subscribers(self.suppression_function.role)
        self.suppression_function.function.add_event_source(
            sources.SnsEventSource(self.feedback_topic, dead_letter_queue=failed)
        )
        self.suppression_function.acknowledge_key_grants()

    def _subscribe_api(self, key: Any) -> apigw.RestApi:
        rest = regional_rest_api(
            self,
            api_id="SubscribeApi",
            access_logs_id="SubscribeApiAccessLogs",
            validator_id="Validator",
            log_group_name=LOG_GROUP_PREFIX
            + Names.unique_resource_name(self, separator="-", max_length=180)
            + "-subscribe-api",
            key=key,
            rest_api_name=physical_name(self, "outage-comms-subscribe"),
            description="Outage Comms: public subscribe, confirm and one-click unsubscribe",
            stage_name="v1",
            throttling_rate_limit=SUBSCRIBE_THROTTLE_RATE,
            throttling_burst_limit=SUBSCRIBE_THROTTLE_BURST,
            iam_authorization=False,
            log_caller_identity=False,
            web_acl=self.web_acl,
        )
        api = rest.api
        integration = apigw.LambdaIntegration(self.subscribe_function.function, proxy=True)
        body_validator = rest.validator
        query_validator = body_validator
        model = api.add_model(
            "SubscribeRequest", content_type="application/json", schema=SUBSCRIBE_REQUEST_SCHEMA
        )
        subscriptions = api.root.add_resource("subscriptions")
        subscriptions.add_method(
            "POST", integration, request_validator=body_validator, request_models={"application/json": model}
        )
        confirm = subscriptions.add_resource("confirm")
        confirm.add_method(
            "GET",
            integration,
            request_validator=query_validator,
            request_parameters={"method.request.querystring.token": True},
        )
        confirm.add_method("POST", integration, request_validator=body_validator)
        subscriptions.add_resource("preferences").add_method(
            "PUT", integration, request_validator=body_validator
        )
        unsubscribe = api.root.add_resource("unsubscribe")
        for method in ("GET", "POST"):
            unsubscribe.add_method(
                method,
                integration,
                request_validator=query_validator,
                request_parameters={"method.request.querystring.token": True},
            )
        public = (
            "Public by design: anyone may subscribe, and unsubscribe links in email must "
            "work without a login "
            "(RFC 8058). Abuse is bounded by stage throttling (5 rps, burst 10), per-IP and "
            "per-address counters "
            "in DynamoDB, double opt-in, and signed tokens for every change."
        )
        acknowledge(api, "AwsSolutions-APIG4", public)
        acknowledge(api, "AwsSolutions-COG4", public)
        if self.web_acl is None:
            acknowledge(
                api,
                "AwsSolutions-APIG3",
                "No WAF web ACL while the plan's edge.waf.enabled is false (one costs about US$9 a month at "
                "rest): the stage is throttled, the function's concurrency is reserved, and it enforces "
                "per-IP and per-address limits. Set edge.waf.enabled: true to attach one.",
            )
        acknowledge(
            api,
            "AwsSolutions-APIG6",
            "Execution logging needs the account-wide API Gateway CloudWatch role, which "
            "this stack does not own "
            "(cloudWatchRole is off). JSON access logs with the source IP and status are on for the stage.",
        )
        return api
