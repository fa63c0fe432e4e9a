"""The customer-managed KMS key that encrypts every data store, queue, topic, log group and archive."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

#: Log groups that may use the key live under this prefix (see ``lambda_runtime.py``).
LOG_GROUP_PREFIX = "/outage-comms/"


class EncryptionKey(Construct):
    """A rotating customer-managed key whose key policy names each service that uses it.

    Account principals get access through IAM (the key policy's default root statement), so
    each function's role only gains what CDK grants it. AWS services that write encrypted
    data on their own behalf (CloudWatch Logs, SNS and EventBridge delivering to encrypted
    queues) get exactly the operations they need, limited to this account. DynamoDB and SQS
    use the key with the caller's own permissions (what CDK's ``grant_*`` adds), so they need no
    service statement; DynamoDB only describes the key.
    """

    def __init__(self, scope: Construct, construct_id: str, *, alias: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description="Outage Comms: incidents, subscribers, queues, topics, logs and the event archive",
            enable_key_rotation=True,
            pending_window=Duration.days(30),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsEncryptsOutageCommsLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{LOG_GROUP_PREFIX}*"
                        )
                    }
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DynamoDBDescribesTheKey",
                principals=[iam.ServicePrincipal("dynamodb.amazonaws.com")],
                actions=["kms:DescribeKey"],
                resources=["*"],
            )
        )
        # SNS delivers to encrypted SQS subscribers; EventBridge delivers failed events to the
        # encrypted dead-letter queue and events to encrypted topics.
        self.allow_service_deliveries(sid="SnsUsesTheKeyForEncryptedDeliveries", service="sns.amazonaws.com")
        self.allow_service_deliveries(
            sid="EventBridgeUsesTheKeyForEncryptedTargets", service="events.amazonaws.com"
        )

    def allow_service_deliveries(self, *, sid: str, service: str) -> None:
        """Let an AWS service (e.g. ``cloudwatch.amazonaws.com``) write to encrypted queues and topics.

        Only ``GenerateDataKey`` and ``Decrypt``, only on behalf of this account.
        """
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
