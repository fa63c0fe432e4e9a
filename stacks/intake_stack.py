"""The intake stack: the doors through which incidents reach Outage Comms (one rule per intake source
that declares one, the incident API for people)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from outage_comms.plan import Plan
from outage_comms_cdk.constructs.compose_page import ComposePageApi
from outage_comms_cdk.constructs.incident_api import IncidentApi
from outage_comms_cdk.constructs.intake import Intake, source_rules
from outage_comms_cdk.constructs.maintenance_scheduler import MaintenanceScheduler
from outage_comms_cdk.constructs.signing_key import HmacSigningKey
from outage_comms_cdk.constructs.web_acl import PublicWebAcl
from outage_comms_cdk.core_stack import PROJECT_TAG, OutageCommsCoreStack

#: The workflow stack names its state machine this; intake starts executions of it.
INCIDENT_STATE_MACHINE_NAME = "outage-comms-incident"


class OutageCommsIntakeStack(Stack):
    """Every intake source's rule (alarms, AWS Health, Incident Manager, OpsCenter, ...: rules -> intake
    queue -> intake function) and people (the incident API), all leading to the same incident, once."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        core: OutageCommsCoreStack,
        state_machine: sfn.IStateMachine,
        workflow_table: dynamodb.ITable | None = None,
        status_publisher: lambda_.IFunction | None = None,
        review_signing_key: HmacSigningKey | None = None,
        web_acl: PublicWebAcl | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault(
            "description", f"Outage Comms intake for {plan.organization.name}: triggers and API"
        )
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add(*PROJECT_TAG)
        #: What every function on the incident path is built with (tables, key, bus, workflow).
        path: dict[str, Any] = {
            "runtime": core.lambda_runtime,
            "key": core.encryption.key,
            "incidents": core.data.incidents,
            "idempotency": core.data.idempotency,
            "bus": core.events.bus,
            "state_machine": state_machine,
        }
        # Two engines: intake answers a waiting execution's task token in the region that issued it.
        engines = plan.regions.engine_regions if plan.regions is not None else []
        self.intake = Intake(
            self, "Intake", dead_letter_queue=core.events.dead_letter_queue, engine_regions=engines, **path
        )
        queue, undeliverable = self.intake.queue, self.intake.rule_dead_letter_queue
        #: One rule per registered intake source (by source name), straight in this stack's scope.
        self.source_rules = source_rules(self, plan, queue=queue, dead_letter_queue=undeliverable)
        self.api = IncidentApi(self, "Api", intake_queue=queue, workflow_table=workflow_table, **path)
        self.maintenance = MaintenanceScheduler(
            self,
            "Maintenance",
            schedule_creator=self.api.function,
            status_publisher=status_publisher,
            engine_regions=engines,
            **path,
        )
        # The compose page (links in reminders): the incident API's path, links signed with the review key.
        self.compose = (
            ComposePageApi(
                self,
                "ComposePage",
                intake_queue=queue,
                signing_key=review_signing_key,
                web_acl=web_acl,
                **path,
            )
            if review_signing_key is not None
            else None
        )
        if self.compose is not None:
            CfnOutput(self, "ComposePageUrl", value=self.compose.url)
        CfnOutput(
            self, "IncidentApiUrl", value=self.api.api.url, description="OUTAGE_COMMS_API_URL for the CLI"
        )
        CfnOutput(self, "IntakeQueueUrl", value=self.intake.queue.queue_url)
