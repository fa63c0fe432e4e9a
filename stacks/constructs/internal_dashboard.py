"""The internal CloudWatch dashboard (workload account): are we telling customers quickly and often?

Reads namespace ``OutageComms`` (Powertools EMF from the functions). Each widget uses a SEARCH
expression, so it shows every ``service``/``channel`` dimension combination the functions emit:

| Metric (unit) | Dimensions | Emitted by |
|---|---|---|
| ``TimeToFirstExternalMessage`` (s) | service, severity | first customer delivery of an incident |
| ``UpdateGap``, ``UpdateCadence`` (s) | service, severity | each later update: gap since the last; promise |
| ``ApprovalLatency`` (s) | service, severity | approval gate |
| ``FirstMessageTargetMissed``, ``UpdateGapRatio`` (%) | service, severity | communication SLOs (below) |
| ``ChannelDeliverySuccess``, ``ChannelDeliveryFailure`` | service, channel | communication SLOs (below) |
| ``OverdueUpdates`` (count) | service | the SLO watchdog, every 5 minutes |
| ``Deliveries``, ``DeliveryFailures`` (count) | service, channel | deliver step |
| ``SocialMentions`` (count) | service, network | social listener |
| ``FeedbackVotes`` (count) | service, channel, vote | feedback API, each counted yes / no |

The communication SLO metrics (``lambdas/outage_comms/slo.py``) all carry ``service=communication-slo``;
a drill's datapoints carry ``mode=drill`` too, a dimension set these widgets do not search.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from outage_comms_cdk.settings import physical_name

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
            dashboard_name=physical_name(self, dashboard_name),
            default_interval=Duration.days(7),
        )
        for row in (_title(), _timing(), _deliveries(), _perception_and_publishing(), _feedback(), _slos()):
            self.dashboard.add_widgets(*row)


def _title() -> list[cloudwatch.IWidget]:
    """What the dashboard is for."""
    return [
        cloudwatch.TextWidget(
            markdown="# Outage Comms: customer communication\n"
            "Time to the first external message, gaps between updates against the promised cadence, "
            "approval latency, deliveries and failures per channel, social mentions.",
            width=24,
            height=2,
        ),
    ]


def _timing() -> list[cloudwatch.IWidget]:
    """How fast the first message goes out, how regular the updates are."""
    return [
        cloudwatch.GraphWidget(
            title="Time to first external message (s)",
            left=[_search("TimeToFirstExternalMessage", "service,severity", "Maximum", "")],
            width=12,
        ),
        cloudwatch.GraphWidget(
            title="Gap between updates vs promised cadence (s)",
            left=[_search("UpdateGap", "service,severity", "Maximum", "gap")],
            right=[_search("UpdateCadence", "service,severity", "Maximum", "cadence")],
            width=12,
        ),
    ]


def _deliveries() -> list[cloudwatch.IWidget]:
    """Approval latency, deliveries and failures per channel."""
    return [
        cloudwatch.GraphWidget(
            title="Approval latency (s)",
            left=[_search("ApprovalLatency", "service,severity", "Maximum", "")],
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
    ]


def _perception_and_publishing() -> list[cloudwatch.IWidget]:
    """Social mentions and the status site's publishing."""
    return [
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
    ]


def _feedback() -> list[cloudwatch.IWidget]:
    """Customers' answers to "Was this update helpful?"."""
    return [
        cloudwatch.GraphWidget(
            title="Was this update helpful? Answers per channel (yes / no)",
            left=[
                cloudwatch.MathExpression(
                    expression=f"SEARCH('{{{NAMESPACE},channel,service,vote}} "
                    f'MetricName="FeedbackVotes" vote="{vote}"\', \'Sum\', 3600)',
                    label=vote,
                    period=Duration.hours(1),
                    using_metrics={},
                )
                for vote in ("yes", "no")
            ],
            width=24,
            stacked=True,
        ),
    ]


def _slos() -> list[cloudwatch.IWidget]:
    """The communication SLOs the alarms watch."""
    return [
        cloudwatch.GraphWidget(
            title="Communication SLOs: update gap vs cadence (%), first message late (1 = missed)",
            left=[_search("UpdateGapRatio", "service,severity", "Maximum", "gap")],
            right=[_search("FirstMessageTargetMissed", "service,severity", "Maximum", "late")],
            left_annotations=[cloudwatch.HorizontalAnnotation(value=100, label="cadence")],
            width=12,
        ),
        cloudwatch.GraphWidget(
            title="Communication SLOs: overdue updates (watchdog), channel deliveries after retries",
            left=[_search("OverdueUpdates", "service", "Maximum", "overdue")],
            right=[
                _search("ChannelDeliverySuccess", "channel,service", "Sum", "delivered"),
                _search("ChannelDeliveryFailure", "channel,service", "Sum", "failed"),
            ],
            width=12,
        ),
    ]
