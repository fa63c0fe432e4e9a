"""Events reach the healthy region: cross-region forwarding and the EventBridge global endpoint.

AWS service events land only on the default bus of the region they concern (an alarm in its region,
AWS Health in the region it reports on). A two-region engine therefore:

* forwards, from the default bus of every workload region, the alarm state changes and Health events
  the plan maps to the **other** engines' ``outage-comms`` buses (EventBridge rules with an event bus
  in another region as target, through an IAM role) — :class:`EventForwarding`;
* lets each engine take those forwarded events from its own bus into its intake queue, as the
  default-bus doors do for local events — :class:`ForwardedEventIntake`;
* gives people and the project's own senders one ``PutEvents`` address that fails over:
  an EventBridge global endpoint (``AWS::Events::Endpoint``) over the two same-named buses, with a
  Route 53 health check on a CloudWatch alarm of the primary engine and event replication on —
  :class:`GlobalEndpoint`. Global endpoints take custom events on custom buses only, so AWS service
  events go through the forwarding rules, never the endpoint (docs/regions.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Aws, CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from outage_comms.plan import Plan
from outage_comms_cdk.constructs.data_store import (
    INCIDENTS_OPEN_BY_COMPONENT_INDEX,
    DataStore,
    incident_index_arns,
)
from outage_comms_cdk.constructs.event_archive import EVENT_BUS_NAME
from outage_comms_cdk.constructs.incident_workflow import STATE_MACHINE_NAME
from outage_comms_cdk.constructs.intake import intake_target, source_event_patterns
from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime
from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import physical_name

#: The primary engine is unhealthy when its intake queue holds a message this old (it is not consuming).
UNHEALTHY_INTAKE_AGE = Duration.minutes(5)
#: ...for this many consecutive one-minute periods.
UNHEALTHY_PERIODS = 3


def forwarded_patterns(plan: Plan) -> dict[str, events.EventPattern]:
    """The AWS service events the plan maps, by door: the patterns of the intake sources whose events
    land in the region they concern (alarms, AWS Health), as the default-bus doors use them."""
    return source_event_patterns(plan, forwarded_only=True)


def engine_bus_arn(scope: Construct, region: str) -> str:
    """The ``outage-comms`` bus of the engine in ``region`` (same account, same name in every region)."""
    return Stack.of(scope).format_arn(
        service="events",
        region=region,
        account=Aws.ACCOUNT_ID,
        resource="event-bus",
        resource_name=physical_name(scope, EVENT_BUS_NAME),
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        partition=Aws.PARTITION,
    )


class EventForwarding(Construct):
    """Rules on this region's default bus sending mapped alarm and Health events to other regions' buses."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        target_regions: Sequence[str],
        dead_letter_queue: sqs.IQueue,
        extra_patterns: dict[str, events.EventPattern] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.target_bus_arns = [engine_bus_arn(self, region) for region in target_regions]
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="Outage Comms: forward alarm and AWS Health events to the other regions' engines",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["events:PutEvents"], resources=self.target_bus_arns)
        )
        buses = [
            events.EventBus.from_event_bus_arn(self, f"Bus{index}", arn)
            for index, arn in enumerate(self.target_bus_arns)
        ]
        self.rules: list[events.Rule] = []
        for door, pattern in {**forwarded_patterns(plan), **(extra_patterns or {})}.items():
            self.rules.append(
                events.Rule(
                    self,
                    door,
                    description=f"Outage Comms: {door.lower()} events the plan maps, to the engines in "
                    + ", ".join(target_regions),
                    event_pattern=pattern,
                    targets=[
                        targets.EventBus(
                            bus,
                            role=self.role,
                            dead_letter_queue=dead_letter_queue,
                        )
                        for bus in buses
                    ],
                )
            )


class ForwardedEventIntake(Construct):
    """Rules on the engine's own bus taking forwarded alarm and Health events into its intake queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        bus: events.IEventBus,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules = [
            events.Rule(
                self,
                door,
                event_bus=bus,
                description=f"Outage Comms: {door.lower()} events forwarded from another region, to intake",
                event_pattern=pattern,
                targets=[intake_target(queue, dead_letter_queue)],
            )
            for door, pattern in forwarded_patterns(plan).items()
        ]


class GlobalEndpoint(Construct):
    """An EventBridge global endpoint over the primary and standby ``outage-comms`` buses.

    Route 53 watches a CloudWatch alarm of the primary engine (its intake queue holds a message older
    than five minutes for three minutes: nothing consumes it); when unhealthy, EventBridge sends the
    endpoint's events to the standby. Replication sends every event to both buses, so the standby's
    archive has them all.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        intake_queue: sqs.IQueue,
        standby_region: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._health_check(intake_queue)
        self._replication_role(standby_region)
        self._endpoint(standby_region)

    def _health_check(self, intake_queue: sqs.IQueue) -> None:
        """The primary engine's health alarm and the Route 53 health check watching it."""
        stack = Stack.of(self)
        self.alarm = cloudwatch.Alarm(
            self,
            "PrimaryHealth",
            alarm_name=engine_health_alarm_name(self),
            alarm_description="Outage Comms: the primary engine does not consume its intake queue; "
            "the global endpoint fails over to the standby while this is in ALARM",
            metric=intake_queue.metric_approximate_age_of_oldest_message(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=UNHEALTHY_INTAKE_AGE.to_seconds(),
            evaluation_periods=UNHEALTHY_PERIODS,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # An idle queue publishes zeros; silence means the region's metrics are gone.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        self.health_check = route53.CfnHealthCheck(
            self,
            "HealthCheck",
            health_check_config=route53.CfnHealthCheck.HealthCheckConfigProperty(
                type="CLOUDWATCH_METRIC",
                alarm_identifier=route53.CfnHealthCheck.AlarmIdentifierProperty(
                    name=self.alarm.alarm_name, region=stack.region
                ),
                insufficient_data_health_status="Unhealthy",
            ),
        )

    def _replication_role(self, standby_region: str) -> None:
        """The role EventBridge replicates events with, to both buses, through its managed rules."""
        stack = Stack.of(self)
        self.bus_arns = [engine_bus_arn(self, stack.region), engine_bus_arn(self, standby_region)]
        self.role = iam.Role(
            self,
            "ReplicationRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="Outage Comms global endpoint: replicate events to both regions' buses",
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["events:PutEvents"], resources=self.bus_arns))
        # Replication works through managed rules EventBridge creates on the buses, named by AWS.
        bus_name = physical_name(self, EVENT_BUS_NAME)
        managed_rules = [
            stack.format_arn(
                service="events",
                region=region,
                account=Aws.ACCOUNT_ID,
                resource="rule",
                resource_name=f"{bus_name}/GlobalEndpointManagedRule-*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                partition=Aws.PARTITION,
            )
            for region in (stack.region, standby_region)
        ]
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["events:PutRule", "events:PutTargets", "events:DeleteRule", "events:RemoveTargets"],
                resources=managed_rules,
            )
        )
        for region in (stack.region, standby_region):
            acknowledge(
                self.role,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:"
                f"{region}:<AWS::AccountId>:rule/{bus_name}/GlobalEndpointManagedRule-*]",
                "Event replication is carried out by rules EventBridge manages on the two outage-comms "
                "buses; their names carry a suffix chosen by AWS (GlobalEndpointManagedRule-*), so the "
                "rule ARNs end in a wildcard under these two buses only.",
            )
        # The managed rules' targets use this role, so it passes itself to EventBridge.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringLike": {"iam:PassedToService": "events.amazonaws.com"}},
            )
        )

    def _endpoint(self, standby_region: str) -> None:
        """The endpoint: fails over to the standby on the health check, replication on."""
        stack = Stack.of(self)
        self.endpoint = events.CfnEndpoint(
            self,
            "Endpoint",
            name=physical_name(self, "outage-comms-endpoint"),
            description="Outage Comms: incident signals; fails over to the standby region",
            event_buses=[
                events.CfnEndpoint.EndpointEventBusProperty(event_bus_arn=arn) for arn in self.bus_arns
            ],
            routing_config=events.CfnEndpoint.RoutingConfigProperty(
                failover_config=events.CfnEndpoint.FailoverConfigProperty(
                    primary=events.CfnEndpoint.PrimaryProperty(
                        health_check=f"arn:{Aws.PARTITION}:route53:::healthcheck/{self.health_check.attr_health_check_id}"
                    ),
                    secondary=events.CfnEndpoint.SecondaryProperty(route=standby_region),
                )
            ),
            replication_config=events.CfnEndpoint.ReplicationConfigProperty(state="ENABLED"),
            role_arn=self.role.role_arn,
        )
        CfnOutput(stack, "GlobalEndpointId", value=self.endpoint.attr_endpoint_id)
        CfnOutput(
            stack,
            "GlobalEndpointUrl",
            value=self.endpoint.attr_endpoint_url,
            description="PutEvents(EndpointId=...) to reach whichever region is healthy",
        )


def engine_health_alarm_name(scope: Construct) -> str:
    """The primary engine's health alarm (the global endpoint's health check watches it)."""
    return str(physical_name(scope, "outage-comms-engine-health-primary"))


def engine_health_pattern(alarm_name: str) -> events.EventPattern:
    """State changes of the engine-health alarm, wherever they are delivered."""
    return events.EventPattern(
        source=["aws.cloudwatch"],
        detail_type=["CloudWatch Alarm State Change"],
        detail={"alarmName": [alarm_name]},
    )


class RegionFailover(Construct):
    """The runtime's failover/failback function (``handlers.region_failover``), fed by the engine-health
    alarm's state changes on this engine's bus (forwarded from the primary) and default bus.

    It moves incident ownership (the ownership table's lease with its fencing epoch) and records it on
    each incident's timeline; the decisions are the runtime's (docs/regions-runtime.md).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: LambdaRuntime,
        key: kms.IKey,
        data: DataStore,
        workflow_table: dynamodb.ITable,
        bus: events.IEventBus,
        queue_dead_letters: sqs.IQueue,
        rule_dead_letters: sqs.IQueue,
        health_alarms: dict[str, str],
        state_machine: sfn.IStateMachine | None = None,
        engine_regions: Sequence[str] = (),
    ) -> None:
        """``state_machine``: this engine's incident state machine (default: the one beside
        ``workflow_table``); ``engine_regions``: where it may start and stop executions (default: its
        own region and the regions its health alarms judge)."""
        super().__init__(scope, construct_id)
        state_machine = state_machine or _incident_state_machine(workflow_table)
        self.function = runtime.new_function(
            self,
            "Function",
            handler="handlers.region_failover.handler",
            description="Outage Comms: move incident ownership between regions on engine-health alarms",
            service_name="region-failover",
            environment={
                "HEALTH_ALARMS": ",".join(f"{name}={region}" for name, region in health_alarms.items()),
                "INCIDENTS_TABLE_NAME": data.incidents.table_name,
                "WORKFLOW_TABLE": workflow_table.table_name,
                **({"STATE_MACHINE_ARN": state_machine.state_machine_arn} if state_machine else {}),
            },
            reserved_concurrent_executions=1,
            on_failure=destinations.SqsDestination(queue_dead_letters),
        )
        self._grant_tables(key=key, data=data, workflow_table=workflow_table)
        if state_machine is not None:
            self._grant_executions(engine_regions or sorted({Stack.of(self).region, *health_alarms.values()}))
        self.rules = [
            events.Rule(
                self,
                name,
                event_bus=event_bus,
                description="Outage Comms: engine-health alarm state changes, to the failover function",
                event_pattern=engine_health_pattern(alarm),
                targets=[
                    targets.LambdaFunction(
                        self.function.function,
                        dead_letter_queue=rule_dead_letters,
                        max_event_age=Duration.hours(1),
                        retry_attempts=20,
                    )
                ],
            )
            for alarm in health_alarms
            for name, event_bus in (("FromBus", bus), ("FromDefaultBus", None))
        ]

    def _grant_tables(self, *, key: kms.IKey, data: DataStore, workflow_table: dynamodb.ITable) -> None:
        """The ownership lease, the incidents (and their open-by-component index), the workflow table."""
        function = self.function.function
        data.grant_ownership(function, key)
        tables = (
            (
                data.incidents,
                [
                    data.incidents.table_arn,
                    *incident_index_arns(data.incidents, INCIDENTS_OPEN_BY_COMPONENT_INDEX),
                ],
            ),
            (workflow_table, [workflow_table.table_arn]),
        )
        for _table, arns in tables:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
                    resources=arns,
                )
            )
        key.grant_encrypt_decrypt(function)
        self.function.acknowledge_key_grants()

    def _grant_executions(self, regions: Sequence[str]) -> None:
        """Start the incident state machine in each engine region (a taken incident continues here, a
        handed-back one in the primary); look up and stop that state machine's executions only."""
        stack, name = Stack.of(self), physical_name(self, STATE_MACHINE_NAME)

        def arn(region: str, resource: str, resource_name: str) -> str:
            return stack.format_arn(
                service="states",
                region=region,
                account=Aws.ACCOUNT_ID,
                resource=resource,
                resource_name=resource_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
                partition=Aws.PARTITION,
            )

        function = self.function.function
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:StartExecution"],
                resources=[arn(region, "stateMachine", name) for region in regions],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[arn(region, "execution", f"{name}:*") for region in regions],
            )
        )
        for region in regions:
            acknowledge(
                self.function.role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:{region}:<AWS::AccountId>:execution:"
                f"{name}:*]",
                "The failover function stops the execution that no longer speaks for a moved incident; "
                "executions are named per incident at run time, so the ARN ends in '*' — scoped to the "
                "incident state machine of one engine region.",
            )


def _incident_state_machine(workflow_table: dynamodb.ITable) -> sfn.IStateMachine | None:
    """The incident state machine beside the workflow table (the same engine's workflow stack)."""
    from outage_comms_cdk.constructs.incident_workflow import IncidentWorkflow

    found = [c for c in Stack.of(workflow_table).node.find_all() if isinstance(c, IncidentWorkflow)]
    return found[0].state_machine if len(found) == 1 else None
