"""The workload side of the status site: the function that publishes it after every update.

The function reads the incidents table and assumes the status stack's publisher access role
(possibly in another account and region); nothing else. The workflow stack receives
``StatusPublisher.function`` (``status_publisher=``) and invokes it with ``{"incident_id": ...}``.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from outage_comms.status.publisher import FAILURE_METRIC
from outage_comms_cdk.constructs.data_store import (
    INCIDENTS_OPEN_BY_COMPONENT_INDEX,
    INCIDENTS_RECENT_INDEX,
    incident_index_arns,
)
from outage_comms_cdk.constructs.lambda_runtime import METRICS_NAMESPACE, LambdaRuntime, OutageCommsFunction
from outage_comms_cdk.constructs.status_site import PUBLISHER_ACCESS_ROLE_NAME, status_bucket_name
from outage_comms_cdk.settings import deployment_of, physical_name

INCIDENTS_TABLE_ENV = "INCIDENTS_TABLE_NAME"
INCIDENT_READ_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem")
SERVICE_NAME = "status-publisher"
FAILURE_ALARM_NAME = "OutageComms-StatusSurfaceFailures"
PUBLISHER_FUNCTION_ROLE_NAME = "outage-comms-status-publisher"


def publisher_function_role_name(region: str, deployment: str | None = None) -> str:
    """``outage-comms-status-publisher-<region>``; with a deployment id
    ``outage-comms-<id>-publisher-<region>`` (role names: 64 characters). The status account trusts it."""
    if deployment:
        return f"outage-comms-{deployment}-publisher-{region}"
    return f"{PUBLISHER_FUNCTION_ROLE_NAME}-{region}"


class StatusPublisher(Construct):
    """The status publisher function, its read access to incidents and its way into the status account."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: LambdaRuntime,
        incidents: dynamodb.ITable,
        key: kms.IKey,
        status_account: str | None,
        status_region: str | None,
        dashboard_name: str,
        distribution_id: str | None = None,
        subscribe_url: str | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        account = status_account or stack.account
        region = status_region or stack.region
        access_role = physical_name(self, PUBLISHER_ACCESS_ROLE_NAME)
        self.access_role_arn = f"arn:{Aws.PARTITION}:iam::{account}:role/{access_role}"
        environment = {
            INCIDENTS_TABLE_ENV: incidents.table_name,
            "STATUS_PUBLISHER_ROLE_ARN": self.access_role_arn,
            "STATUS_BUCKET": status_bucket_name(account, region, deployment_of(self)),
            "STATUS_DASHBOARD_NAME": dashboard_name,
            "STATUS_REGION": region,
        }
        if distribution_id:
            environment["STATUS_DISTRIBUTION_ID"] = distribution_id
        if subscribe_url:
            environment["STATUS_SUBSCRIBE_URL"] = subscribe_url
        self.published = runtime.new_function(
            self,
            "Publish",
            handler="handlers.publish_status.handler",
            description="Rebuilds the public status site, dashboard and status metric after each update",
            service_name=SERVICE_NAME,
            memory_size=1024,
            timeout=Duration.seconds(60),
            environment=environment,
            synchronous_only_reason="called by the incident-comms state machine; its Retry/Catch handles it",
        )
        # A fixed name, so the status account can trust exactly this role (see status_stack.py).
        cfn_role = self.published.role.node.default_child
        assert isinstance(cfn_role, iam.CfnRole)
        cfn_role.role_name = publisher_function_role_name(stack.region, deployment_of(self))
        self._grant_reads_and_status_access(incidents, key)
        self.failure_alarm = self._failure_alarm(alarm_topic)

    def _grant_reads_and_status_access(self, incidents: dynamodb.ITable, key: kms.IKey) -> None:
        # The repository reads heads by key (GetItem, BatchGetItem) and queries the recent and open
        # indexes (list_recent, list_open); never a scan, never a write.
        self.published.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadIncidents", actions=list(INCIDENT_READ_ACTIONS), resources=[incidents.table_arn]
            )
        )
        self.published.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="QueryIncidentIndexes",
                actions=["dynamodb:Query"],
                resources=incident_index_arns(
                    incidents, INCIDENTS_RECENT_INDEX, INCIDENTS_OPEN_BY_COMPONENT_INDEX
                ),
            )
        )
        key.grant_decrypt(self.published.role)
        self.published.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="AssumeStatusPublisherAccess",
                actions=["sts:AssumeRole"],
                resources=[self.access_role_arn],
            )
        )

    def _failure_alarm(self, topic: sns.ITopic | None) -> cloudwatch.Alarm:
        """Any incident, artefact or object the publisher could not publish (the rest still was)."""
        alarm = cloudwatch.Alarm(
            self,
            "SurfaceFailures",
            alarm_name=physical_name(self, FAILURE_ALARM_NAME),
            alarm_description="A part of the public status site (one incident, feed, page or object) was not "
            "published. The rest of the site was. Look in the status-publisher logs for 'status surface not "
            "published': each line names the incident id and the part.",
            metric=cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=FAILURE_METRIC,
                dimensions_map={"service": SERVICE_NAME},
                statistic="Sum",
                period=Duration.minutes(5),
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if topic is not None:
            alarm.add_alarm_action(cw_actions.SnsAction(topic))
            alarm.add_ok_action(cw_actions.SnsAction(topic))
        return alarm

    @property
    def function(self) -> lambda_.IFunction:
        """What the workflow stack invokes (``status_publisher=``)."""
        return self.published.function

    @property
    def construct(self) -> OutageCommsFunction:
        return self.published
