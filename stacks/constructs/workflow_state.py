"""The workflow's own table: execution ownership, rendered updates, approval requests, its timeline."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct


class WorkflowStateTable(Construct):
    """On-demand, point-in-time recovery, customer-managed key; approval requests expire by TTL.

    The layout is documented in ``lambdas/outage_comms/workflow/store.py``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        string = dynamodb.AttributeType.STRING
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
