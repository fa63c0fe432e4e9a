"""The status stack: the public face, deployable to another account and region than the workload.

It holds the status site (S3 + CloudFront), the public CloudWatch dashboard and the role the
workload's publisher assumes. Keep it in a dedicated status account: a public CloudWatch
dashboard link lets anyone read every metric of its account, so that account must hold nothing
but status metrics. Making the dashboard public is a console step (CloudWatch > Dashboards >
Share dashboard), deliberately not automated.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Environment, Stack, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from outage_comms.plan import Plan
from stacks.constructs.status_site import STATUS_METRIC_NAMESPACE, PublisherAccessRole, StatusSite
from stacks.settings import SettingsError

#: The workload-side publisher function's role name (see stacks/constructs/status_publisher.py).
PUBLISHER_FUNCTION_ROLE_NAME = "outage-comms-status-publisher"


def publisher_function_role_arn(account: str, region: str) -> str:
    return f"arn:{Aws.PARTITION}:iam::{account}:role/{PUBLISHER_FUNCTION_ROLE_NAME}-{region}"


def dashboard_name(plan: Plan) -> str:
    settings = plan.channels.dashboard
    return settings.dashboard_name if settings is not None else "outage-comms-public-status"


class OutageCommsStatusStack(Stack):
    """Status site, public dashboard and publisher access role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        workload_account: str | None = None,
        workload_region: str | None = None,
        subscribe_url: str | None = None,
        certificate_arn: str | None = None,
        web_acl_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault(
            "description",
            f"Outage Comms status for {plan.organization.name}: site, public dashboard, publisher role",
        )
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("project", "outage-comms")
        certificate_arn = certificate_arn or self.node.try_get_context("status_certificate_arn")
        web_acl_id = web_acl_id or self.node.try_get_context("status_web_acl_id")
        subscribe_url = subscribe_url or self.node.try_get_context("status_subscribe_url")
        workload_account = workload_account or self.account
        workload_region = workload_region or self.region
        status_page = plan.channels.status_page
        self.site = StatusSite(
            self,
            "StatusSite",
            subscribe_url=subscribe_url or f"{plan.organization.status_page_url.rstrip('/')}/api/subscribe",
            domain_names=[status_page.domain] if status_page is not None and status_page.domain else None,
            certificate_arn=certificate_arn,
            web_acl_id=web_acl_id,
        )
        self.dashboard_name = dashboard_name(plan)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "PublicDashboard",
            dashboard_name=self.dashboard_name,
            default_interval=None,
            widgets=[
                [
                    cloudwatch.TextWidget(
                        markdown=f"# {plan.organization.name} status\n\nThe status publisher fills this in "
                        "on the next incident update.",
                        width=24,
                        height=4,
                    )
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Component status (0 operational .. 4 major outage)",
                        width=24,
                        left=[
                            cloudwatch.Metric(
                                namespace=STATUS_METRIC_NAMESPACE,
                                metric_name="ComponentStatus",
                                dimensions_map={"component": component.id},
                                label=component.name.get(plan.default_locale, component.id),
                                statistic="Maximum",
                            )
                            for component in plan.components
                        ],
                    )
                ],
            ],
        )
        self.publisher_access = PublisherAccessRole(
            self,
            "PublisherAccess",
            trusted_role_arn=publisher_function_role_arn(workload_account, workload_region),
            workload_account=workload_account,
            bucket=self.site.bucket,
            dashboard_name=self.dashboard_name,
            distribution=self.site.distribution,
        )
        outputs = {
            "StatusBucketName": self.site.bucket.bucket_name,
            "StatusDistributionId": self.site.distribution.distribution_id,
            "StatusUrl": f"https://{self.site.distribution.distribution_domain_name}/",
            "PublicDashboardName": self.dashboard_name,
            "PublisherAccessRoleArn": self.publisher_access.role.role_arn,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)


STATUS_ACCOUNT_CONTEXT_KEY = "status_account"
STATUS_REGION_CONTEXT_KEY = "status_region"


def status_environment(scope: Construct, workload: Environment | None) -> Environment | None:
    """Where the status stack goes: ``-c status_account=... -c status_region=...``, else with the workload.

    A dedicated status account needs the workload's account to be known too (``CDK_DEFAULT_ACCOUNT``),
    so the status stack can trust exactly the workload's publisher role.
    """
    account = scope.node.try_get_context(STATUS_ACCOUNT_CONTEXT_KEY)
    region = scope.node.try_get_context(STATUS_REGION_CONTEXT_KEY)
    if account is None and region is None:
        return workload
    if workload is None or workload.account is None:
        raise SettingsError(
            "context 'status_account'/'status_region' needs the workload's account and region: run the CDK "
            "CLI with credentials for the workload account (CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION)"
        )
    return Environment(account=str(account or workload.account), region=str(region or workload.region))
