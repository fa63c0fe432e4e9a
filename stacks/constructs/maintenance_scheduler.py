"""Scheduled maintenance: the tick function, the schedule group and the role EventBridge Scheduler assumes.

The incident API declares a window and creates one-time schedules (``at(...)``, UTC,
``ActionAfterCompletion: DELETE``) in the group ``outage-comms-maintenance``; each invokes the tick
function at its moment (reminders, start, end, completion). Least privilege throughout:

* the **scheduler role** is trusted only by ``scheduler.amazonaws.com`` for schedules of this
  account's group, and may invoke exactly one function (the tick), send to the dead-letter queue
  and use the core key (schedule payloads and the queue are encrypted with it);
* the **schedule creator** (the incident API function) may ``CreateSchedule`` / ``DeleteSchedule``
  only on the group's schedules and pass only the scheduler role, only to Scheduler;
* the **dead-letter queue** (core key, TLS only, 14 days) receives ticks Scheduler could not
  deliver after its retries and asynchronous invocations the tick function failed.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from outage_comms.maintenance import SCHEDULE_GROUP
from outage_comms_cdk.constructs.dead_letters import dead_letter_queue
from outage_comms_cdk.constructs.intake import grant_incident_path, incident_path_environment
from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime, OutageCommsFunction
from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import physical_name


def schedules_arn(group: str = SCHEDULE_GROUP) -> str:
    """Every schedule of the group (``arn:...:scheduler:region:account:schedule/<group>/*``)."""
    return f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}:schedule/{group}/*"


class MaintenanceScheduler(Construct):
    """The tick function, the schedule group, the scheduler role and the dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: LambdaRuntime,
        key: kms.IKey,
        incidents: dynamodb.ITable,
        idempotency: dynamodb.ITable,
        bus: events.IEventBus,
        state_machine: sfn.IStateMachine,
        schedule_creator: OutageCommsFunction,
        status_publisher: lambda_.IFunction | None = None,
        engine_regions: Sequence[str] = (),
    ) -> None:
        """``engine_regions``: a two-region plan's engines (a phase change may wake an execution waiting
        in the other region, as intake does)."""
        super().__init__(scope, construct_id)
        self.dead_letter_queue = dead_letter_queue(
            self, "DeadLetterQueue", key=key, holds="the maintenance schedules and the tick function"
        )
        environment = incident_path_environment(
            incidents=incidents, idempotency=idempotency, bus=bus, state_machine=state_machine
        )
        if status_publisher is not None:
            environment["STATUS_PUBLISHER_FUNCTION"] = status_publisher.function_name
        self.function = runtime.new_function(
            self,
            "TickFunction",
            handler="handlers.maintenance_tick.handler",
            description="Outage Comms maintenance tick: a window's moment -> its phase, the workflow",
            service_name="maintenance-tick",
            environment=environment,
            dead_letter_queue=self.dead_letter_queue,
        )
        grant_incident_path(
            self.function,
            key=key,
            incidents=incidents,
            idempotency=idempotency,
            bus=bus,
            state_machine=state_machine,
            engine_regions=engine_regions,
        )
        if status_publisher is not None:
            # Rebuild the status site when a window starts verifying (customers are not messaged then).
            self.function.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"], resources=[status_publisher.function_arn]
                )
            )
        self.group = scheduler.CfnScheduleGroup(self, "Group", name=physical_name(self, SCHEDULE_GROUP))
        self.role = self._scheduler_role(key)
        self._let_create_schedules(schedule_creator, key)

    def _scheduler_role(self, key: kms.IKey) -> iam.Role:
        """The role the schedules run as: invoke the tick function, dead-letter, nothing else."""
        role = iam.Role(
            self,
            "SchedulerRole",
            description="Outage Comms maintenance schedules: invoke the tick function, nothing else",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": self.group.attr_arn},
                },
            ),
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self.function.function.function_arn]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.dead_letter_queue.queue_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn])
        )
        return role

    def _let_create_schedules(self, schedule_creator: OutageCommsFunction, key: kms.IKey) -> None:
        """The incident API creates and deletes the group's schedules, passing the scheduler role."""
        creator = schedule_creator.role
        creator.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["scheduler:CreateSchedule", "scheduler:DeleteSchedule"],
                resources=[schedules_arn(physical_name(self, SCHEDULE_GROUP))],
            )
        )
        creator.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )
        for name, value in {
            "MAINTENANCE_SCHEDULE_GROUP": physical_name(self, SCHEDULE_GROUP),
            "MAINTENANCE_TICK_FUNCTION_ARN": self.function.function.function_arn,
            "MAINTENANCE_SCHEDULER_ROLE_ARN": self.role.role_arn,
            "MAINTENANCE_DEAD_LETTER_ARN": self.dead_letter_queue.queue_arn,
            "MAINTENANCE_KMS_KEY_ARN": key.key_arn,
        }.items():
            schedule_creator.function.add_environment(name, value)
        acknowledge(
            creator,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:"
            f"schedule/{physical_name(self, SCHEDULE_GROUP)}/*]",
            "Schedule names are made per maintenance window at run time (window id + moment); the grant "
            f"covers only the schedules of the '{physical_name(self, SCHEDULE_GROUP)}' group in this account "
            "and region.",
        )
