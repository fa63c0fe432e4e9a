"""The internal CloudWatch dashboard (workload account): are we telling customers quickly and often?

Reads namespace ``OutageComms`` (Powertools EMF from the functions). Each widget uses a SEARCH
expression, so it shows every ``service``/``channel`` dimension combination the functions emit:

| Metric (unit) | Dimensions | Emitted by |
|---|---|---|
| ``TimeToFirstExternalMessage`` (s) | service, channel | deliver step, first external update |
| ``UpdateGap``, ``UpdateCadence`` (s) | service, severity | each update: gap since the last; promise |
| ``ApprovalLatency`` (s) | service | approval gate |
| ``Deliveries``, ``DeliveryFailures`` (count) | service, channel | deliver step |
| ``SocialMentions`` (count) | service, network | social listener |
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

NAMESPACE = "OutageComms"


def _search(
    metric: str, dimensions: str, stat: str, label: str, period: int = 300
) -> cloudwatch.MathExpression:
    return cloudwatch.MathExpression(
        expression=f"SEARCH('{{{NAMESPACE},{dimensions}}} MetricName=\"{metric}\"', '{stat}', {period})",
        label=label,
        period=Duration.seconds(period),
        using_metrics={},
    )


class InternalDashboard(Construct):
    """One dashboard for the incident and communications managers."""

    def __init__(
        self, scope: Construct, construct_id: str, *, dashboard_name: str = "outage-comms-internal"
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=Duration.days(7),
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown="# Outage Comms: customer communication\n"
                "Time to the first external message, gaps between updates against the promised cadence, "
                "approval latency, deliveries and failures per channel, social mentions.",
                width=24,
                height=2,
            )
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Time to first external message (s)",
                left=[_search("TimeToFirstExternalMessage", "channel,service", "Maximum", "")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Gap between updates vs promised cadence (s)",
                left=[_search("UpdateGap", "service,severity", "Maximum", "gap")],
                right=[_search("UpdateCadence", "service,severity", "Maximum", "cadence")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Approval latency (s)",
                left=[_search("ApprovalLatency", "service", "Maximum", "")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Deliveries per channel",
                left=[_search("Deliveries", "channel,service", "Sum", "")],
                width=8,
                stacked=True,
            ),
            cloudwatch.GraphWidget(
                title="Delivery failures per channel",
                left=[_search("DeliveryFailures", "channel,service", "Sum", "")],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Social mentions",
                left=[_search("SocialMentions", "network,service", "Sum", "")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Status site publishing (objects written, latency ms)",
                left=[_search("StatusObjectsWritten", "service", "Sum", "")],
                right=[_search("StatusPublishLatency", "service", "Maximum", "")],
                width=12,
            ),
        )
