"""The workflow's own table (ownership, rendered updates, its timeline) and the approval requests' table."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from outage_comms_cdk.constructs.data_store import Replication, replicated_table


class WorkflowStateTable(Construct):
    """On-demand, point-in-time recovery, customer-managed key; an item with ``expires_at`` expires by TTL.

    The layout is documented in ``lambdas/outage_comms/workflow/store.py``.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, replication: Replication | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        string = dynamodb.AttributeType.STRING
        self.table: dynamodb.ITable
        if replication is not None:  # a two-region engine: a global table (data_store.py)
            self.table = replicated_table(
                self,
                "WorkflowState",
                replication=replication,
                key=key,
                partition_key="pk",
                sort_key="sk",
                time_to_live_attribute="expires_at",
            )
            return
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=string),
            sort_key=dynamodb.Attribute(name="sk", type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute="expires_at",
            deletion_protection=True,
            # What was approved, by whom, with which words: part of the incident record.
            removal_policy=RemovalPolicy.RETAIN,
        )


class ApprovalRequestsTable(Construct):
    """Approval requests: task tokens and who may approve. Only the two approval functions reach it.

    A task token completes the workflow's task by itself, so this table is not the workflow table
    every function may use: ``Wait for approval`` may only put a request (:meth:`grant_request`), the
    review page may only read and conditionally update one (:meth:`grant_decide`). Key ``request_id``;
    the layout is documented in ``lambdas/outage_comms/workflow/approval_store.py``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.key = key
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="request_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute="expires_at",
            deletion_protection=True,
            # Who approved which text, and when: kept (30 days after the link expired, by TTL).
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _grant(self, function: lambda_.IFunction, actions: list[str]) -> None:
        function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=[self.table.table_arn]))
        self.key.grant_encrypt_decrypt(function)

    def grant_request(self, function: lambda_.IFunction) -> None:
        """``Wait for approval``: store a new request (it never reads one back)."""
        self._grant(function, ["dynamodb:PutItem"])

    def grant_decide(self, function: lambda_.IFunction) -> None:
        """The review page: read a request, claim and record its decision with conditional updates."""
        self._grant(function, ["dynamodb:GetItem", "dynamodb:UpdateItem"])
