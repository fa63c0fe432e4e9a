"""Communication SLOs: CloudWatch alarms on Outage Comms itself, the overdue-update watchdog, and paging.

Every alarm publishes to one paging topic that reaches the incident manager by SNS-native SMS and
email (``plan.slo.paging``). Nothing in that path is Outage Comms: no Lambda, no channel adapter, no
chat webhook, and the topic has its own KMS key (a broken core key, which would stop every function,
must still page). The metrics and their dimension sets are defined in ``lambdas/outage_comms/slo.py``.

=====================================  =====================================================  ==========
Alarm (``OutageComms-SLO-...``)         Condition                                              Missing data
=====================================  =====================================================  ==========
``FirstMessageLate-<severity>``        ``FirstMessageTargetMissed`` max >= 1 in 5 min         not breaching
``UpdateGap-<severity>``               ``UpdateGapRatio`` max > 100 + tolerance % in 5 min    not breaching
``UpdateOverdue-<severity>``           ``UpdateOverdue`` sum >= 1 in 5 min (escalation)       not breaching
``ApprovalLatency-<severity>``         ``ApprovalLatency`` p90 > target in 15 min             not breaching
``DeliverySuccess-<channel>``          delivered / (delivered + failed) < plan % in 15 min    not breaching
``OverdueUpdates``                     watchdog's ``OverdueUpdates`` max > 0, 2 of 3 x 5 min  BREACHING
``Workflow{Failed,TimedOut,Aborted}``  state machine executions sum >= 1 in 5 min             not breaching
``Errors-<function>``                  Lambda ``Errors`` sum >= 1 in 5 min                    not breaching
``UndeliveredPages``                   the paging subscriptions' dead-letter queue not empty  not breaching
=====================================  =====================================================  ==========

Every alarm pages when it fires and again when it clears (OK action). ``<function>`` is every
workflow function, the review page and the watchdog, except ``Deliver via <channel>``: its errors
are the fan-out's retry signal, and its outcomes are the ``DeliverySuccess`` alarms.

Missing data: the SLO metrics exist only while an incident is being communicated, so silence is
normal — except ``OverdueUpdates``, which the watchdog emits every 5 minutes, 0 included. Its
silence means the one check that does not depend on the workflow is itself down, so it pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from outage_comms import slo
from outage_comms.plan import Plan, Severity
from outage_comms.workflow.channels_plan import fanout_channels
from outage_comms_cdk.constructs.data_store import INCIDENTS_OPEN_BY_COMPONENT_INDEX, incident_index_arns
from outage_comms_cdk.constructs.dead_letters import dead_letter_queue
from outage_comms_cdk.constructs.lambda_runtime import METRICS_NAMESPACE, LambdaRuntime
from outage_comms_cdk.constructs.periodic import every
from outage_comms_cdk.settings import physical_name

ALARM_PREFIX = "OutageComms-SLO-"
PAGING_TOPIC_NAME = "outage-comms-paging"
WATCHDOG_INTERVAL = Duration.minutes(5)
SHORT_PERIOD = Duration.minutes(5)
LONG_PERIOD = Duration.minutes(15)


def slo_metric(name: str, statistic: str, period: Duration, **dimensions: str) -> cloudwatch.Metric:
    """A production SLO metric exactly as ``outage_comms.slo.emit`` writes it (never ``mode=drill``)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": slo.SLO_SERVICE, **dimensions},
        statistic=statistic,
        period=period,
    )


class CommsSlo(Construct):
    """The paging topic, the watchdog and every alarm. Build it after the state machine exists."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        runtime: LambdaRuntime,
        key: kms.IKey,
        incidents_table: dynamodb.ITable,
        workflow_table: dynamodb.ITable,
        state_machine: sfn.IStateMachine,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self.plan = plan
        self.alarms: list[cloudwatch.Alarm] = []
        self.paging_topic = self._paging_topic()
        self.watchdog = self._watchdog(runtime, key, incidents_table, workflow_table)
        self._slo_alarms()
        self._pipeline_alarms(state_machine, {**functions, "SloWatchdog": self.watchdog})

    # -- paging ------------------------------------------------------------------------------------
    def _paging_topic(self) -> sns.Topic:
        alarm_prefix = physical_name(self, ALARM_PREFIX)
        alarms_arn = f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{alarm_prefix}*"
        from_our_alarms = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": alarms_arn},
        }
        self.paging_key = self._paging_key(from_our_alarms)
        topic = sns.Topic(
            self,
            "PagingTopic",
            topic_name=physical_name(self, PAGING_TOPIC_NAME),
            display_name="Outage Comms paging",
            master_key=self.paging_key,
            enforce_ssl=True,
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OutageCommsSloAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=from_our_alarms,
            )
        )
        # Pages SNS could not deliver (a wrong number, an opted-out phone) are kept, on the paging key.
        self.paging_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SnsKeepsUndeliveredPages",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        self._page_the_incident_manager(topic)
        return topic

    def _paging_key(self, from_our_alarms: dict[str, Any]) -> kms.Key:
        """The paging topic's own key: independent of the core key it may report on."""
        key = kms.Key(
            self,
            "PagingKey",
            alias=physical_name(self, "alias/outage-comms-paging"),
            description="Outage Comms paging topic only: independent of the core key it may report on",
            enable_key_rotation=True,
            pending_window=Duration.days(30),
            removal_policy=RemovalPolicy.RETAIN,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToThePagingTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=from_our_alarms,
            )
        )
        return key

    def _page_the_incident_manager(self, topic: sns.Topic) -> None:
        """The incident manager's phone (SMS) and email, as the plan's slo.paging chooses."""
        self.undelivered_pages = dead_letter_queue(
            self,
            "UndeliveredPages",
            key=self.paging_key,
            holds="the paging topic's SMS and email subscriptions",
        )
        person = self.plan.roles.incident_manager
        # sns.Subscription, not SmsSubscription: the latter drops its dead_letter_queue (CDK 2.275).
        endpoints = {
            sns.SubscriptionProtocol.SMS: person.phone if self.plan.slo.paging.sms else None,
            sns.SubscriptionProtocol.EMAIL: person.email if self.plan.slo.paging.email else None,
        }
        for protocol, endpoint in endpoints.items():
            if endpoint is not None:
                sns.Subscription(
                    self,
                    f"Page{protocol.name.title()}",
                    topic=topic,
                    protocol=protocol,
                    endpoint=endpoint,
                    dead_letter_queue=self.undelivered_pages,
                )

    def _alarm(
        self,
        construct_id: str,
        *,
        name: str,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int = 1,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=physical_name(self, ALARM_PREFIX) + name,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            treat_missing_data=missing,
        )
        # Paged when it fires and told when it clears, so nobody keeps chasing a recovered alarm.
        alarm.add_alarm_action(cw_actions.SnsAction(self.paging_topic))
        alarm.add_ok_action(cw_actions.SnsAction(self.paging_topic))
        self.alarms.append(alarm)
        return alarm

    # -- the watchdog ------------------------------------------------------------------------------
    def _watchdog(
        self,
        runtime: LambdaRuntime,
        key: kms.IKey,
        incidents_table: dynamodb.ITable,
        workflow_table: dynamodb.ITable,
    ) -> lambda_.IFunction:
        failed = dead_letter_queue(
            self, "WatchdogFailures", key=key, holds="the watchdog's schedule and asynchronous invocations"
        )
        built = runtime.new_function(
            self,
            "Watchdog",
            handler="handlers.slo_watchdog.handler",
            description="Outage Comms: count open incidents whose customer update is overdue (every 5 min)",
            service_name="slo-watchdog",
            timeout=Duration.seconds(60),
            reserved_concurrent_executions=1,
            environment={
                "INCIDENTS_TABLE_NAME": incidents_table.table_name,
                "WORKFLOW_TABLE": workflow_table.table_name,
            },
            dead_letter_queue=failed,
        )
        # Reads only: the open incidents (Query on the sparse open index) and the customer-update marks.
        built.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=incident_index_arns(incidents_table, INCIDENTS_OPEN_BY_COMPONENT_INDEX),
            )
        )
        built.function.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[workflow_table.table_arn])
        )
        key.grant_decrypt(built.function)
        # A missed round is not retried: the next one, 5 minutes on, supersedes it.
        self.schedule = every(
            self,
            "WatchdogSchedule",
            function=built.function,
            interval=WATCHDOG_INTERVAL,
            description="Outage Comms: overdue customer updates, independent of the incident workflow",
            dead_letter_queue=failed,
        )
        return built.function

    # -- communication SLOs ------------------------------------------------------------------------
    def _slo_alarms(self) -> None:
        for severity in self.plan.severities:
            self._severity_alarms(severity)
        self._delivery_alarms()
        self._paging_and_watchdog_alarms()

    def _severity_alarms(self, severity: Severity) -> None:
        """One severity's promises: first message, cadence, escalation, approval latency."""
        tolerance = self.plan.slo.update_gap_tolerance_percent
        approval_target = slo.approval_target_seconds(self.plan)
        sev = severity.id
        self._alarm(
            f"FirstMessageLate{sev}",
            name=f"FirstMessageLate-{sev}",
            description=f"{sev}: the first customer message went out later than "
            f"{severity.first_message_minutes} minutes after the incident started.",
            metric=slo_metric(slo.FIRST_MESSAGE_TARGET_MISSED, "Maximum", SHORT_PERIOD, severity=sev),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        self._alarm(
            f"UpdateGap{sev}",
            name=f"UpdateGap-{sev}",
            description=f"{sev}: customers waited more than {100 + tolerance}% of the promised "
            f"{severity.cadence_minutes}-minute cadence between two updates.",
            metric=slo_metric(slo.UPDATE_GAP_RATIO, "Maximum", SHORT_PERIOD, severity=sev),
            threshold=100 + tolerance,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        self._alarm(
            f"UpdateOverdue{sev}",
            name=f"UpdateOverdue-{sev}",
            description=f"{sev}: a customer update was missed even after the reminder; the workflow "
            "escalated to the incident manager.",
            metric=slo_metric(slo.UPDATE_OVERDUE, "Sum", SHORT_PERIOD, severity=sev),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        if severity.approval.required:
            self._alarm(
                f"ApprovalLatency{sev}",
                name=f"ApprovalLatency-{sev}",
                description=f"{sev}: approvals take longer than {approval_target / 60:.0f} minutes "
                "(90th percentile).",
                metric=slo_metric(slo.APPROVAL_LATENCY, "p90", LONG_PERIOD, severity=sev),
                threshold=approval_target,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            )

    def _delivery_alarms(self) -> None:
        """Per customer-facing channel: the delivery success rate after retries."""
        plan = self.plan
        target = plan.slo.delivery_success_percent
        for channel in fanout_channels(plan):
            if not slo.customer_facing(channel.value):
                continue
            ok = slo_metric(slo.CHANNEL_DELIVERY_SUCCESS, "Sum", LONG_PERIOD, channel=channel.value)
            failed = slo_metric(slo.CHANNEL_DELIVERY_FAILURE, "Sum", LONG_PERIOD, channel=channel.value)
            rate = cloudwatch.MathExpression(
                expression="IF(FILL(ok, 0) + FILL(failed, 0) > 0, "
                "100 * FILL(ok, 0) / (FILL(ok, 0) + FILL(failed, 0)), 100)",
                using_metrics={"ok": ok, "failed": failed},
                label=f"{channel.value} delivery success (%)",
                period=LONG_PERIOD,
            )
            self._alarm(
                f"DeliverySuccess{channel.value}",
                name=f"DeliverySuccess-{channel.value}",
                description=f"{channel.value}: fewer than {target:g}% of deliveries succeeded after retries.",
                metric=rate,
                threshold=target,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            )

    def _paging_and_watchdog_alarms(self) -> None:
        """A page that could not be delivered, and updates owed (or a silent watchdog)."""
        self._alarm(
            "UndeliveredPagesAlarm",
            name="UndeliveredPages",
            description="A page could not be delivered by SMS or email (see the undelivered-pages queue); "
            "the other subscription may still reach the incident manager.",
            metric=self.undelivered_pages.metric_approximate_number_of_messages_visible(
                period=SHORT_PERIOD, statistic="Maximum"
            ),
            threshold=0,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        self._alarm(
            "OverdueUpdates",
            name="OverdueUpdates",
            description="Open incidents owe customers an update (cadence + tolerance passed), or the "
            "watchdog that checks it stopped reporting. Check the incident's execution.",
            metric=slo_metric(slo.OVERDUE_UPDATES, "Maximum", WATCHDOG_INTERVAL),
            threshold=0,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            missing=cloudwatch.TreatMissingData.BREACHING,
            evaluation_periods=3,
            datapoints_to_alarm=2,
        )

    # -- the pipeline itself -----------------------------------------------------------------------
    def _pipeline_alarms(
        self, state_machine: sfn.IStateMachine, functions: Mapping[str, lambda_.IFunction]
    ) -> None:
        at_least_one = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        for name, metric in {
            "WorkflowFailed": state_machine.metric_failed(period=SHORT_PERIOD, statistic="Sum"),
            "WorkflowTimedOut": state_machine.metric_timed_out(period=SHORT_PERIOD, statistic="Sum"),
            "WorkflowAborted": state_machine.metric_aborted(period=SHORT_PERIOD, statistic="Sum"),
        }.items():
            self._alarm(
                name,
                name=name,
                description=f"incident-comms executions {name.removeprefix('Workflow').lower()}: "
                "customers may not be hearing about an incident.",
                metric=metric,
                threshold=1,
                comparison=at_least_one,
            )
        for name, function in functions.items():
            self._alarm(
                f"Errors{name}",
                name=f"Errors-{name}",
                description=f"The Outage Comms function {name} failed.",
                metric=function.metric_errors(period=SHORT_PERIOD, statistic="Sum"),
                threshold=1,
                comparison=at_least_one,
            )
