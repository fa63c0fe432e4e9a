"""Customer feedback: the public "Was this update helpful?" API, its table and its signing key.

``GET /f/{token}/{vote}`` counts an answer and thanks the customer; ``GET /f/{token}`` is the
answer page of the compact form (SMS, social posts: Yes / No buttons, ``POST /f/{token}`` counts);
``POST /f/{token}/comment`` keeps an optional comment. Anyone holding a link may answer (no
account), so the API is public: abuse is bounded by stage throttling, signed expiring links (one
per update, channel and locale), one counted answer per client and message, and request
validation. Optionally served on a short custom domain (:class:`FeedbackDomain`). Table layout:
``lambdas/outage_comms/feedback/store.py``; the request handling: ``.../feedback/service.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from aws_cdk import Aws, Duration, Names, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from outage_comms_cdk.constructs.encryption import LOG_GROUP_PREFIX
from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime, OutageCommsFunction
from outage_comms_cdk.constructs.rest_api import regional_rest_api
from outage_comms_cdk.constructs.signing_key import HmacSigningKey
from outage_comms_cdk.constructs.web_acl import PublicWebAcl
from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import physical_name

FEEDBACK_STAGE = "v1"
#: A large incident mails tens of thousands of customers; a few percent answer within minutes.
FEEDBACK_THROTTLE_RATE = 25
FEEDBACK_THROTTLE_BURST = 50
#: The one Lambda function never holds more than this many concurrent answers (cost and table load cap).
FEEDBACK_CONCURRENCY = 10
FEEDBACK_TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
]
TALLY_ACTIONS = ["dynamodb:Query"]
#: The render step stores each short link's code -> token (``feedback/short_links.py``): one write each.
SHORT_LINK_ACTIONS = ["dynamodb:PutItem"]
#: The SMS channel remembers which texts ask "Reply YES or NO" (``feedback/replies.py``): writes only.
REPLY_RECORD_ACTIONS = ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]
REPLY_RECORD_KEY_ACTIONS = ["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"]
#: The SMS reply function: find the text a reply answers, count it like a click (and undo on failure).
REPLY_VOTE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
#: CDK context key: the ACM certificate (same region as the stack) for the plan's feedback.base_url.
CERTIFICATE_CONTEXT_KEY = "feedback_certificate_arn"
_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$")


@dataclass(frozen=True)
class FeedbackDomain:
    """A short custom domain the API serves at its root (``https://fb.example.com/f/<token>``).

    Shorter links fit more SMS and social posts: the ~60-character API Gateway default URL is most
    of a link's length. The certificate must be an ACM certificate for ``domain_name`` in the
    stack's region (a regional endpoint); point a CNAME (or Route 53 alias) at the stack output
    ``FeedbackDomainTarget``.
    """

    domain_name: str
    certificate_arn: str

    @classmethod
    def for_base_url(cls, base_url: str, certificate_arn: str) -> FeedbackDomain:
        """The domain of the plan's ``feedback.base_url``; ValueError naming the fix when unusable."""
        parts = urlsplit(base_url)
        if (
            parts.scheme != "https"
            or not parts.hostname
            or parts.path.strip("/")
            or parts.query
            or parts.port
        ):
            raise ValueError(
                f"feedback.base_url {base_url!r} cannot be served as a custom domain: "
                "write it as https://<host name> with no path, port or query"
            )
        if not _CERTIFICATE_ARN.match(certificate_arn):
            raise ValueError(
                f"context {CERTIFICATE_CONTEXT_KEY}={certificate_arn!r} is not an ACM certificate ARN: "
                "pass arn:aws:acm:<region>:<account>:certificate/<id> of a certificate for "
                f"{parts.hostname} in the stack's region"
            )
        return cls(domain_name=parts.hostname, certificate_arn=certificate_arn)


def feedback_signing_key(scope: Construct, construct_id: str, *, key: kms.IKey) -> HmacSigningKey:
    """The HMAC secret for feedback links, client fingerprints and comment-form tokens."""
    return HmacSigningKey(
        scope,
        construct_id,
        key=key,
        description="Outage Comms: HMAC key for 'Was this update helpful?' links",
        no_rotation_reason="Rotating the key invalidates every feedback link already in customers' inboxes "
        "(they live for the plan's link_lifetime_days); the key only signs votes, so a leak is contained by "
        "replacing the secret value by hand between incidents.",
    )


class FeedbackApi(Construct):
    """The public feedback API, its function, the feedback table and the signing key."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        lambda_runtime: LambdaRuntime,
        workflow_table: dynamodb.ITable,
        domain: FeedbackDomain | None = None,
        reserved_concurrency: int = FEEDBACK_CONCURRENCY,
        web_acl: PublicWebAcl | None = None,
    ) -> None:
        """``domain``: serve the API on this custom domain too, and make :attr:`url` point at it.

        ``reserved_concurrency``: the plan's ``edge.reserved_concurrency.feedback_api``; ``web_acl``: the
        region's public web ACL (plan's ``edge.waf``), None when WAF is off.
        """
        super().__init__(scope, construct_id)
        self._key = key
        self.domain: apigw.DomainName | None = None
        self.table = self._table(key)
        self.signing_key = feedback_signing_key(self, "SigningKey", key=key)
        self.handler = self._function(lambda_runtime, key, workflow_table, reserved_concurrency)
        self.api = self._api(key, web_acl)
        self._custom_domain(domain)

    def _table(self, key: kms.IKey) -> dynamodb.Table:
        """Answers, comments, click records and short links, on the workload key."""
        return dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # Click records (one answer per client) expire after their link; counts and comments stay.
            time_to_live_attribute="expires_at",
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _function(
        self,
        lambda_runtime: LambdaRuntime,
        key: kms.IKey,
        workflow_table: dynamodb.ITable,
        reserved_concurrency: int,
    ) -> OutageCommsFunction:
        """The API's function: the feedback table, one GetItem on the workflow table, the signing key."""
        handler = lambda_runtime.new_function(
            self,
            "Function",
            handler="handlers.feedback_api.handler",
            description="Outage Comms feedback API: counts 'Was this update helpful?' answers",
            service_name="feedback-api",
            environment={
                "FEEDBACK_TABLE": self.table.table_name,
                "FEEDBACK_SECRET_ARN": self.signing_key.secret.secret_arn,
                "WORKFLOW_TABLE": workflow_table.table_name,
            },
            reserved_concurrent_executions=reserved_concurrency,
            synchronous_only_reason="invoked synchronously by API Gateway; the customer sees the error page",
        )
        role = handler.role
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=FEEDBACK_TABLE_ACTIONS, resources=[self.table.table_arn])
        )
        # Is the update real? One key-only GetItem on the workflow table, nothing else.
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[workflow_table.table_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{Aws.REGION}.amazonaws.com"}},
            )
        )
        self.signing_key.grant_read(role)
        return handler

    def _custom_domain(self, domain: FeedbackDomain | None) -> None:
        self._domain_name = domain.domain_name if domain else None
        if domain is not None:
            self.domain = apigw.DomainName(
                self,
                "Domain",
                domain_name=domain.domain_name,
                certificate=acm.Certificate.from_certificate_arn(self, "Certificate", domain.certificate_arn),
                endpoint_type=apigw.EndpointType.REGIONAL,
                security_policy=apigw.SecurityPolicy.TLS_1_2,
            )
            # At the root: https://<domain>/f/<token> (no stage name in the link: every character counts).
            self.domain.add_base_path_mapping(self.api, stage=self.api.deployment_stage)

    def _api(self, key: kms.IKey, web_acl: PublicWebAcl | None) -> apigw.RestApi:
        rest = regional_rest_api(
            self,
            validator_id="Validator",
            log_group_name=LOG_GROUP_PREFIX
            + Names.unique_resource_name(self, separator="-", max_length=180)
            + "-feedback-api",
            key=key,
            rest_api_name=physical_name(self, "outage-comms-feedback"),
            description="Outage Comms: public 'Was this update helpful?' answers and comments",
            stage_name=FEEDBACK_STAGE,
            throttling_rate_limit=FEEDBACK_THROTTLE_RATE,
            throttling_burst_limit=FEEDBACK_THROTTLE_BURST,
            iam_authorization=False,
            log_caller_identity=False,
            web_acl=web_acl,
        )
        api = rest.api
        integration = apigw.LambdaIntegration(self.handler.function, proxy=True, timeout=Duration.seconds(10))
        token = api.root.add_resource("f").add_resource("{token}")
        answer = token.add_resource("{action}")
        for method in ("GET", "POST"):
            answer.add_method(
                method,
                integration,
                request_validator=rest.validator,
                request_parameters={"method.request.path.token": True, "method.request.path.action": True},
            )
            # The answer page (compact form in SMS / social posts): GET shows Yes / No, POST counts.
            token.add_method(
                method,
                integration,
                request_validator=rest.validator,
                request_parameters={"method.request.path.token": True},
            )
        # Any other address gets the function's clear "not found" page instead of API Gateway's JSON.
        api.root.add_method("GET", integration)
        elsewhere = api.root.add_resource("{proxy+}")
        for method in ("GET", "POST"):
            elsewhere.add_method(method, integration)
        self._acknowledge_public(api, web_acl)
        return api

    @staticmethod
    def _acknowledge_public(api: apigw.RestApi, web_acl: PublicWebAcl | None) -> None:
        public = (
            "Public by design: customers answer from a link in an email, SMS or post, without an account. "
            "Abuse is bounded by stage throttling (25 rps, burst 50), reserved concurrency, signed expiring "
            "links per update/channel/locale, and one counted answer per client and message."
        )
        acknowledge(api, "AwsSolutions-APIG4", public)
        acknowledge(api, "AwsSolutions-COG4", public)
        if web_acl is None:
            acknowledge(
                api,
                "AwsSolutions-APIG3",
                "No WAF web ACL while the plan's edge.waf.enabled is false (one costs about US$9 a month at "
                "rest): the stage is throttled, the function's concurrency is reserved and capped, and every "
                "counted answer needs a valid signed link. Set edge.waf.enabled: true to attach one.",
            )
        acknowledge(
            api,
            "AwsSolutions-APIG6",
            "Execution logging needs the account-wide API Gateway CloudWatch role, which this stack does "
            "not own (cloudWatchRole is off). JSON access logs with the source IP and status are on.",
        )

    @property
    def url(self) -> str:
        """The public base URL links point at: the custom domain when there is one."""
        return f"https://{self._domain_name}/" if self._domain_name else self.api.url

    def _table_statements(self, actions: list[str], key_actions: list[str]) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(actions=actions, resources=[self.table.table_arn]),
            iam.PolicyStatement(
                actions=key_actions,
                resources=[self._key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{Aws.REGION}.amazonaws.com"}},
            ),
        ]

    def grant_reply_records(self, grantee: iam.IGrantable) -> None:
        """Remember sent SMS that ask for a reply: BatchWriteItem / PutItem on the table, nothing else."""
        for statement in self._table_statements(REPLY_RECORD_ACTIONS, REPLY_RECORD_KEY_ACTIONS):
            grantee.grant_principal.add_to_principal_policy(statement)

    def grant_reply_records_to_role(self, scope: Construct, construct_id: str, role: iam.IRole) -> iam.Policy:
        """:meth:`grant_reply_records` for a role of another stack that this stack depends on (the bulk
        batch function of the channels stack): a policy here, attached there, so no reference cycle."""
        return iam.Policy(
            scope,
            construct_id,
            roles=[role],
            statements=self._table_statements(REPLY_RECORD_ACTIONS, REPLY_RECORD_KEY_ACTIONS),
        )

    def grant_short_links(self, grantee: iam.IGrantable) -> None:
        """The render step writes short links (``LINK#<code>`` items): PutItem only, on this table."""
        for statement in self._table_statements(SHORT_LINK_ACTIONS, REPLY_RECORD_KEY_ACTIONS):
            grantee.grant_principal.add_to_principal_policy(statement)

    def grant_reply_votes(self, grantee: iam.IGrantable) -> None:
        """Count SMS replies: look up the text, count once per phone; read the signing key (client hash)."""
        for statement in self._table_statements(
            REPLY_VOTE_ACTIONS, [*REPLY_RECORD_KEY_ACTIONS, "kms:DescribeKey"]
        ):
            grantee.grant_principal.add_to_principal_policy(statement)
        self.signing_key.grant_read(grantee)

    def grant_tally(self, grantee: iam.IGrantable) -> None:
        """Read the counts (``DynamoFeedbackStore.counts``): Query on the table, Decrypt through DynamoDB."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=TALLY_ACTIONS, resources=[self.table.table_arn])
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[self._key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{Aws.REGION}.amazonaws.com"}},
            )
        )
