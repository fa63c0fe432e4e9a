"""The workload account's status pieces: the status publisher function and the internal dashboard.

Deploys next to the core stack (same account and region as the incidents table). The status
stack it publishes to may live elsewhere: set context ``status_account`` / ``status_region``.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from outage_comms_cdk.constructs.internal_dashboard import InternalDashboard
from outage_comms_cdk.constructs.status_publisher import StatusPublisher
from outage_comms_cdk.core_stack import OutageCommsCoreStack
from outage_comms_cdk.settings import deployment_of
from outage_comms_cdk.status_stack import dashboard_name


class OutageCommsStatusPublisherStack(Stack):
    """Status publisher + internal dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        core: OutageCommsCoreStack,
        status_account: str | None = None,
        status_region: str | None = None,
        distribution_id: str | None = None,
        subscribe_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("description", "Outage Comms status publisher and internal communication dashboard")
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("project", "outage-comms")
        plan = core.lambda_runtime.plan
        self.publisher = StatusPublisher(
            self,
            "StatusPublisher",
            runtime=core.lambda_runtime,
            incidents=core.data.incidents,
            key=core.encryption.key,
            status_account=status_account,
            status_region=status_region,
            dashboard_name=dashboard_name(plan, deployment_of(self)),
            distribution_id=distribution_id,
            subscribe_url=subscribe_url,
        )
        self.internal_dashboard = InternalDashboard(self, "InternalDashboard")
        CfnOutput(self, "StatusPublisherFunctionName", value=self.publisher.function.function_name)

    @property
    def status_publisher(self) -> lambda_.IFunction:
        """Pass to the workflow stack as ``status_publisher=``."""
        return self.publisher.function
