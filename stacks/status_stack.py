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
from outage_comms.plan import deployed_name as name_for
from outage_comms.status.site import SUBSCRIBE_PATH
from outage_comms_cdk.constructs.status_publisher import publisher_function_role_name
from outage_comms_cdk.constructs.status_site import (
    STATUS_METRIC_NAMESPACE,
    PublisherAccessRole,
    StatusSite,
    SubscribeApiOrigin,
)
from outage_comms_cdk.constructs.web_acl import PublicWebAcl
from outage_comms_cdk.settings import SettingsError, deployment_in, deployment_of, stack_name


def publisher_function_role_arn(account: str, region: str, deployment: str | None = None) -> str:
    return f"arn:{Aws.PARTITION}:iam::{account}:role/{publisher_function_role_name(region, deployment)}"


def publisher_regions(plan: Plan, workload_region: str) -> list[str]:
    """Where a status publisher runs: the workload's region, and with ``regions`` every engine region
    (the standby publishes while it drives an incident)."""
    engines = plan.regions.engine_regions if plan.regions is not None else []
    return list(dict.fromkeys([workload_region, *engines]))


def dashboard_name(plan: Plan, deployment: str | None = None) -> str:
    settings = plan.channels.dashboard
    name = settings.dashboard_name if settings is not None else "outage-comms-public-status"
    return name_for(name, deployment)


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
        subscribe_api: SubscribeApiOrigin | None = None,
        feedback_api: SubscribeApiOrigin | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault(
            "description",
            f"Outage Comms status for {plan.organization.name}: site, public dashboard, publisher role",
        )
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("project", "outage-comms")
        edge = plan.edge.status_site
        certificate_arn = (
            certificate_arn or edge.certificate_arn or self.node.try_get_context("status_certificate_arn")
        )
        web_acl_id = self._web_acl(plan, web_acl_id)
        subscribe_api = subscribe_api or subscribe_api_from_context(self)
        feedback_api = feedback_api or api_origin_from_context(self, STATUS_FEEDBACK_URL_CONTEXT_KEY)
        workload_account = workload_account or self.account
        workload_region = workload_region or self.region
        status_page = plan.channels.status_page
        self.site = StatusSite(
            self,
            "StatusSite",
            subscribe_url=subscribe_url or SUBSCRIBE_PATH,
            domain_names=[edge.domain]
            if edge.domain
            else ([status_page.domain] if status_page is not None and status_page.domain else None),
            certificate_arn=certificate_arn,
            web_acl_id=web_acl_id,
            subscribe_api=subscribe_api,
            feedback_api=feedback_api,
        )
        self._public_dashboard(plan)
        self.publisher_access = PublisherAccessRole(
            self,
            "PublisherAccess",
            trusted_role_arns=[
                publisher_function_role_arn(workload_account, region, deployment_of(self))
                for region in publisher_regions(plan, workload_region)
            ],
            workload_account=workload_account,
            bucket=self.site.bucket,
            dashboard_name=self.dashboard_name,
            distribution=self.site.distribution,
        )
        self._outputs()

    def _web_acl(self, plan: Plan, web_acl_id: str | None) -> str | None:
        """The distribution's web ACL: given, from context, or (edge.waf.enabled) created here."""
        web_acl_id = web_acl_id or self.node.try_get_context(STATUS_WEB_ACL_CONTEXT_KEY)
        self.web_acl: PublicWebAcl | None = None
        if web_acl_id is None and plan.edge.waf.enabled:
            if self.region != CLOUDFRONT_WAF_REGION:
                raise SettingsError(
                    "edge.waf.enabled: CloudFront takes web ACLs from us-east-1 only; deploy the status "
                    "stack there, let app.py add the us-east-1 edge stack (give the status region: -c "
                    "status_region or CDK_DEFAULT_REGION), or pass "
                    f"-c {STATUS_WEB_ACL_CONTEXT_KEY}=<web ACL ARN>"
                )
            self.web_acl = PublicWebAcl(self, "StatusWebAcl", waf=plan.edge.waf, waf_scope="CLOUDFRONT")
            web_acl_id = self.web_acl.arn
        return web_acl_id

    def _public_dashboard(self, plan: Plan) -> None:
        """The public CloudWatch dashboard the publisher fills in (one graph of every component)."""
        self.dashboard_name = dashboard_name(plan, deployment_of(self))
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

    def _outputs(self) -> None:
        outputs = {
            "StatusBucketName": self.site.bucket.bucket_name,
            "StatusDistributionId": self.site.distribution.distribution_id,
            "StatusUrl": f"https://{self.site.distribution.distribution_domain_name}/",
            "PublicDashboardName": self.dashboard_name,
            "PublisherAccessRoleArn": self.publisher_access.role.role_arn,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)


STATUS_SUBSCRIBE_URL_CONTEXT_KEY = "status_subscribe_url"


def subscribe_api_from_context(scope: Construct) -> SubscribeApiOrigin | None:
    """``-c status_subscribe_url=<the channels stack's SubscribeApiUrl>`` for a status stack in another
    account or region than the subscribe API (in the same one, app.py passes a cross-stack reference)."""
    url = scope.node.try_get_context(STATUS_SUBSCRIBE_URL_CONTEXT_KEY)
    if not url:
        return None
    try:
        return SubscribeApiOrigin.from_url(str(url))
    except ValueError as error:
        raise SettingsError(f"{error} (the channels stack's SubscribeApiUrl output)") from None


#: ``-c status_feedback_url=<the workflow stack's FeedbackApiUrl>``: the status site's ``/f/*`` route to
#: the feedback API when the status stack lives in another account or region (short feedback links).
STATUS_FEEDBACK_URL_CONTEXT_KEY = "status_feedback_url"


def api_origin_from_context(scope: Construct, key: str) -> SubscribeApiOrigin | None:
    """An API's origin from a ``-c <key>=https://<api host>/<stage>`` context value (None without one)."""
    url = scope.node.try_get_context(key)
    if not url:
        return None
    try:
        return SubscribeApiOrigin.from_url(str(url))
    except ValueError as error:
        raise SettingsError(f"{str(error).replace('status_subscribe_url', key)}") from None


def subscribe_api_origin(api_id: str, region: str, url_suffix: str, stage: str) -> SubscribeApiOrigin:
    """The subscribe API's regional host and stage, from the channels stack's API (tokens are fine)."""
    return SubscribeApiOrigin(f"{api_id}.execute-api.{region}.{url_suffix}", f"/{stage}")


STATUS_ACCOUNT_CONTEXT_KEY = "status_account"
STATUS_WEB_ACL_CONTEXT_KEY = "status_web_acl_id"
STATUS_EDGE_STACK_NAME = "OutageCommsStatusEdge"
#: CloudFront takes web ACLs (scope CLOUDFRONT) and certificates from this region only.
CLOUDFRONT_WAF_REGION = "us-east-1"


class OutageCommsStatusEdgeStack(Stack):
    """The status distribution's web ACL, in us-east-1, for a status stack deployed in another region.

    CloudFront only takes CLOUDFRONT-scope web ACLs created in us-east-1. ``app.py`` adds this stack
    (same account as the status stack) when the plan's ``edge.waf`` is on and the status stack lives
    elsewhere, and hands :attr:`web_acl_arn` to the status stack as a cross-region reference (CDK's
    ``cross_region_references``: an SSM parameter written here, read there by a custom resource).
    """

    def __init__(self, scope: Construct, construct_id: str, *, plan: Plan, **kwargs: Any) -> None:
        kwargs.setdefault("description", f"Outage Comms status edge for {plan.organization.name}: web ACL")
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("project", "outage-comms")
        self.web_acl = PublicWebAcl(self, "StatusWebAcl", waf=plan.edge.waf, waf_scope="CLOUDFRONT")
        self.web_acl_arn = self.web_acl.arn
        CfnOutput(self, "StatusWebAclArn", value=self.web_acl_arn)


def status_edge_needed(scope: Construct, plan: Plan, status: Environment | None) -> bool:
    """Whether ``app.py`` must add :class:`OutageCommsStatusEdgeStack` (WAF on, status not in us-east-1).

    Raises SettingsError when the status region is unknown (an environment-agnostic synth): where the
    web ACL must go cannot be decided then.
    """
    if not plan.edge.waf.enabled or scope.node.try_get_context(STATUS_WEB_ACL_CONTEXT_KEY):
        return False
    if status is None or status.region is None:
        raise SettingsError(
            "edge.waf.enabled needs the status stack's region (CloudFront's web ACL lives in us-east-1): run "
            "the CDK CLI with credentials (CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION), or pass "
            f"-c {STATUS_WEB_ACL_CONTEXT_KEY}=<ARN of a CLOUDFRONT web ACL>"
        )
    return status.region != CLOUDFRONT_WAF_REGION


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


def add_status_stacks(
    scope: Construct,
    construct_id: str,
    *,
    plan: Plan,
    status_env: Environment | None,
    workload_account: str | None,
    workload_region: str | None,
    subscribe_api: SubscribeApiOrigin | None = None,
    feedback_api: SubscribeApiOrigin | None = None,
) -> OutageCommsStatusStack:
    """The status stack, and before it the us-east-1 edge stack when its web ACL cannot live beside it."""
    web_acl_arn = None
    if status_edge_needed(scope, plan, status_env):
        assert status_env is not None
        edge = OutageCommsStatusEdgeStack(
            scope,
            stack_name(STATUS_EDGE_STACK_NAME, deployment_in(construct_id)),
            plan=plan,
            env=Environment(account=status_env.account, region=CLOUDFRONT_WAF_REGION),
            cross_region_references=True,
        )
        web_acl_arn = edge.web_acl_arn
    return OutageCommsStatusStack(
        scope,
        construct_id,
        plan=plan,
        workload_account=workload_account,
        workload_region=workload_region,
        web_acl_id=web_acl_arn,
        subscribe_api=subscribe_api,
        feedback_api=feedback_api,
        env=status_env,
        cross_region_references=web_acl_arn is not None,
    )


def status_in_workload_place(status_env: Environment | None, workload: Environment | None) -> bool:
    """Does the status stack live in the workload's account and region (cross-stack references work)?"""
    return (status_env is None and workload is None) or (
        status_env is not None
        and workload is not None
        and (status_env.account, status_env.region) == (workload.account, workload.region)
    )


def same_place_feedback_api(
    workflow: Stack, status_env: Environment | None, workload: Environment | None
) -> SubscribeApiOrigin | None:
    """The workflow stack's feedback API for the status site's ``/f/*`` route, when in the same place
    (a status stack elsewhere takes ``-c status_feedback_url=<FeedbackApiUrl>``)."""
    feedback = getattr(workflow, "feedback", None)
    if feedback is None or not status_in_workload_place(status_env, workload):
        return None
    api = feedback.api
    stage = api.deployment_stage.node.default_child  # its literal name ("v1"), not a reference
    return subscribe_api_origin(api.rest_api_id, workflow.region, workflow.url_suffix, str(stage.stage_name))


def same_place_subscribe_api(
    channels: Stack, status_env: Environment | None, workload: Environment | None
) -> SubscribeApiOrigin | None:
    """The channels stack's subscribe API as a cross-stack reference, when the status stack lives in the
    same account and region (a cross-account status stack takes ``-c status_subscribe_url=`` instead)."""
    same = (status_env is None and workload is None) or (
        status_env is not None
        and workload is not None
        and (status_env.account, status_env.region) == (workload.account, workload.region)
    )
    api = getattr(channels, "api", None)
    if not same or api is None:
        return None
    stage = api.deployment_stage.node.default_child  # its literal name ("v1"), not a reference
    return subscribe_api_origin(api.rest_api_id, channels.region, channels.url_suffix, str(stage.stage_name))
