"""The channels stack: subscribers' API, email suppression, bulk delivery and the channels' grants.

Composes, each in its own construct file or section:

- the **subscribe API** (``stacks/constructs/subscribe_api.py``): public REST API, throttled, JSON access
  logs, X-Ray, and its abuse-limit table;
- each enabled channel's **wiring**, named by its registry spec's ``cdk`` hook
  (``stacks/constructs/channel_wiring.py``): the SES configuration set and suppression function of email
  (``stacks/constructs/email_setup.py``), the send grants of email, SMS, voice and push;
- **bulk delivery** (``stacks/constructs/bulk_delivery.py``) and its encrypted, expiring bucket;
- the **token key** (a generated secret) that signs confirmation and unsubscribe links;
- **social mentions** (``stacks/constructs/social_mentions.py``): a scheduled count of public posts
  mentioning the organization on Bluesky / Mastodon, when the plan enables either;
- :meth:`OutageCommsChannelsStack.grant_delivery`: what a function that delivers on the channels
  needs (the lead gives it to the workflow's ``deliver_channel`` function), each grant scoped to the
  plan's own identities, configuration sets and secret names; every enabled channel's secrets
  (its spec's ``secret_fields``) are readable by name.

No channel is named here: what differs per channel comes from its spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from aws_cdk import ArnFormat, Aws, CfnOutput, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from outage_comms.channel_specs import registry
from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel
from outage_comms_cdk.constructs.bulk_delivery import BulkDelivery, SendQuotas
from outage_comms_cdk.constructs.channel_wiring import ChannelWiring
from outage_comms_cdk.constructs.data_store import SUBSCRIBERS_BY_COMPONENT_LOCALE_INDEX
from outage_comms_cdk.constructs.email_setup import EmailSetup
from outage_comms_cdk.constructs.lambda_runtime import OutageCommsFunction
from outage_comms_cdk.constructs.social_mentions import SocialMentions, listens
from outage_comms_cdk.constructs.subscribe_api import SubscribeApi, subscribe_limits_table
from outage_comms_cdk.constructs.web_acl import PublicWebAcl
from outage_comms_cdk.core_stack import PROJECT_TAG, OutageCommsCoreStack
from outage_comms_cdk.quality_gates import acknowledge, checkov_skip
from outage_comms_cdk.settings import deployment_of, physical_name

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


def secret_arn_pattern(name: str) -> str:
    """Secrets Manager appends ``-`` and 6 random characters to a secret's name in its ARN."""
    return f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:{name}-??????"


def _secret_names(plan: Plan, channels: Iterable[Channel]) -> set[str]:
    """The secrets the plan's enabled ``channels`` name (their specs' ``secret_fields``)."""
    enabled = set(plan.channels.enabled())
    return {
        str(getattr(plan.channels.settings(channel), field))
        for channel in channels
        if channel in enabled
        for field in registry.spec(channel).secret_fields
    }


def plan_secret_names(plan: Plan) -> list[str]:
    """Every Secrets Manager name the plan's enabled channels refer to, their drill targets' included."""
    return sorted(_secret_names(plan, plan.channels.enabled()) | set(drill_secret_names(plan)))


def drill_secret_names(plan: Plan, channels: Iterable[Channel] | None = None) -> list[str]:
    """The drill targets' secrets (``drill.webhook_secrets``) of the enabled web channels."""
    wanted = set(channels) if channels is not None else None
    enabled = set(plan.channels.enabled())
    return sorted(
        {
            name
            for channel, name in plan.drill.webhook_secrets.items()
            if (wanted is None or channel in wanted) and channel in enabled
        }
    )


def team_chat_secret_names(plan: Plan) -> list[str]:
    """The secrets of the team's channels (reach "team": Slack, Teams) the plan enables, and their drills'."""
    team = registry.channels(reach="team")
    return sorted(_secret_names(plan, team) | set(drill_secret_names(plan, team)))


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
        self.key = key = core.encryption.key
        self.subscribers = core.data.subscribers
        self.email_setup: EmailSetup | None = None

        self.token_secret = self._token_key()
        self.limits = subscribe_limits_table(self, key)
        self.bulk_bucket = self._bulk_bucket()
        environment = self.channel_environment()
        self.bulk = BulkDelivery(
            self,
            "BulkDelivery",
            runtime=core.lambda_runtime,
            key=key,
            bucket=self.bulk_bucket,
            quotas=quotas,
            environment=environment,
        )
        self.grant_delivery(self.bulk.send_batch)
        for hook, settings in self.wired_channels():
            hook.set_up(self, core, settings)
        self._subscribe_api(core, environment)
        self.social_mentions: SocialMentions | None = None
        if listens(plan):  # perception: social mentions for the internal dashboard
            self.social_mentions = SocialMentions(
                self,
                "SocialMentions",
                plan=plan,
                runtime=core.lambda_runtime,
                failures=core.events.dead_letter_queue,
            )

        CfnOutput(self, "SubscribeApiUrl", value=self.api.url)
        CfnOutput(self, "BulkStateMachineArn", value=self.bulk.state_machine.state_machine_arn)
        CfnOutput(self, "BulkBucketName", value=self.bulk_bucket.bucket_name)

    # -----------------------------------------------------------------------------------------

    def _subscribe_api(self, core: OutageCommsCoreStack, environment: dict[str, str]) -> None:
        # The plan's edge.waf: one regional web ACL for the public APIs of this region (the workflow
        # stack's feedback and review APIs use it too), None when switched off.
        waf = self.plan.edge.waf
        self.web_acl = (
            PublicWebAcl(self, "PublicApisWebAcl", waf=waf, waf_scope="REGIONAL") if waf.enabled else None
        )
        self.subscribe = SubscribeApi(
            self,
            runtime=core.lambda_runtime,
            environment=environment,
            limits=self.limits,
            web_acl=self.web_acl,
        )
        self.subscribe_function = self.subscribe.function
        self.api = self.subscribe.api
        self.api_url = self.subscribe.url
        self.bulk.send_batch.function.add_environment("SUBSCRIBE_API_URL", self.api_url)

    def wired_channels(self) -> Iterator[tuple[ChannelWiring, Any]]:
        """(CDK hook, plan settings) of every enabled channel whose spec names a hook, in registry order."""
        for channel in self.plan.channels.enabled():
            hook = registry.cdk_hook(channel)
            if hook is not None:
                yield hook, self.plan.channels.settings(channel)

    def _token_key(self) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            "SubscriberTokenKey",
            description="Outage Comms: HMAC key signing subscribers' confirmation and unsubscribe links",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "Not rotated automatically: rotating the HMAC key would break every unsubscribe link already "
            "sent (RFC 8058 links must keep working). Rotate by hand with a grace period if it leaks.",
        )
        return secret

    def _bulk_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "BulkBucket",
            bucket_name=bulk_bucket_name(self),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=False,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(BULK_OBJECT_DAYS))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            f"Holds only transient exports and batch results (deleted after "
            f"{BULK_OBJECT_DAYS} days) written and "
            "read by this stack's own roles; enable CloudTrail S3 data events account-wide to audit access.",
        )
        checkov_skip(
            bucket,
            "CKV_AWS_21",
            f"Transient exports and batch results, deleted after {BULK_OBJECT_DAYS} days and rewritten per "
            "update; old versions would only keep subscribers' addresses longer.",
        )
        return bucket

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
        for hook, settings in self.wired_channels():
            env.update(hook.environment(self, settings))
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
        self._grant_secrets(function, "ReadThePlanChannelSecrets", names)
        for hook, settings in self.wired_channels():
            hook.grant_delivery(self, function, settings)
        function.acknowledge_key_grants()
        acknowledge(
            function.role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{bulk_bucket_prefix(self)}<AWS::AccountId>-"
            "<AWS::Region>/bulk/*]",
            "Writes exports and the words of updates under bulk/ in the one bulk bucket, nothing else.",
        )
        self._acknowledge_secret_patterns(function, names)

    def grant_team_chat(self, function: OutageCommsFunction) -> None:
        """Read the team channels' secrets only (Slack, Teams webhooks): the team hears first."""
        names = team_chat_secret_names(self.plan)
        self._grant_secrets(function, "ReadTheTeamChatWebhookSecrets", names)
        self._acknowledge_secret_patterns(function, names)

    @staticmethod
    def _grant_secrets(function: OutageCommsFunction, sid: str, names: list[str]) -> None:
        if names:
            function.role.add_to_policy(
                iam.PolicyStatement(
                    sid=sid,
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[secret_arn_pattern(name) for name in names],
                )
            )

    def _acknowledge_secret_patterns(self, function: OutageCommsFunction, names: list[str]) -> None:
        for name in names:
            acknowledge(
                function.role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
                f"<AWS::AccountId>:secret:{name}-??????]",
                "A secret's ARN ends in - and 6 random characters; this matches the plan's "
                "secret by its name only.",
            )
