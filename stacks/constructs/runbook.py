"""The SSM Automation runbook an Incident Manager response plan runs to start incident comms.

Attach it to a response plan (``AWS::SSMIncidents::ResponsePlan``)::

    Actions:
      - SsmAutomation:
          DocumentName: <RunbookDocumentName output>
          RoleArn: <ResponsePlanRoleArn output>
          Parameters:
            - {Key: AutomationAssumeRole, Values: [<AutomationRoleArn output>]}
            - {Key: Components, Values: [sync]}          # optional: plan component ids
          DynamicParameters:
            - {Key: IncidentRecordArn, Value: {Variable: INCIDENT_RECORD_ARN}}

The document's one step, ``aws:executeStateMachine``, starts the incident-comms workflow with
``{"IncidentRecordArn": ..., "Title": ..., "Impact": ..., "Components": ...}``. The workflow's
first state registers the incident through the intake domain and ends early if the incident
already has a running execution (one execution per incident).
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import physical_name

DOCUMENT_NAME = "OutageComms-StartIncidentComms"


class IncidentRunbook(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        state_machine_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.automation_role = self._automation_role(state_machine, state_machine_name)
        content = document_content(state_machine, self.automation_role)
        self.document = ssm.CfnDocument(
            self,
            "Document",
            name=physical_name(self, DOCUMENT_NAME),
            document_type="Automation",
            document_format="JSON",
            content=content,
            update_method="NewVersion",
        )
        self.response_plan_role = self._response_plan_role(self.automation_role)

    def _automation_role(self, state_machine: sfn.IStateMachine, state_machine_name: str) -> iam.Role:
        """Starts the workflow and polls the execution it started; nothing else."""
        role = iam.Role(
            self,
            "AutomationRole",
            assumed_by=iam.ServicePrincipal("ssm.amazonaws.com"),
            description="Outage Comms runbook: starts the incident-comms workflow, nothing else",
        )
        state_machine.grant_start_execution(role)
        executions = Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        role.add_to_policy(iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions]))
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f"{state_machine_name}:*]",
            "aws:executeStateMachine polls the execution it started; execution names are chosen at run time, "
            "so DescribeExecution is scoped to this one state machine's executions (…:execution:<name>:*).",
        )
        return role

    def _response_plan_role(self, automation_role: iam.Role) -> iam.Role:
        """Lets Incident Manager response plans start this one document."""
        document_arn = Stack.of(self).format_arn(
            service="ssm",
            resource="automation-definition",
            resource_name=f"{physical_name(self, DOCUMENT_NAME)}:*",
        )
        role = iam.Role(
            self,
            "ResponsePlanRole",
            assumed_by=iam.ServicePrincipal(
                "ssm-incidents.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description="Lets Incident Manager response plans run the Outage Comms runbook",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["ssm:StartAutomationExecution"], resources=[document_arn])
        )
        automation_role.grant_pass_role(role)
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:"
            f"automation-definition/{physical_name(self, DOCUMENT_NAME)}:*]",
            "StartAutomationExecution is authorized on the automation definition ARN, which carries the "
            "document version (…:automation-definition/<this document>:*); only this document.",
        )
        return role


def document_content(state_machine: sfn.IStateMachine, automation_role: iam.Role) -> dict[str, Any]:
    """The Automation document: one aws:executeStateMachine step with the incident's parameters."""
    return {
        "schemaVersion": "0.3",
        "description": "Start Outage Comms for an Incident Manager incident: customers hear quickly, "
        "clearly and often, with approval.",
        "assumeRole": "{{ AutomationAssumeRole }}",
        "parameters": {
            "AutomationAssumeRole": {
                "type": "String",
                "description": "Role the automation runs as (the AutomationRoleArn output)",
                "default": automation_role.role_arn,
            },
            "IncidentRecordArn": {
                "type": "String",
                "description": "The response plan's INCIDENT_RECORD_ARN dynamic parameter",
            },
            "Title": {"type": "String", "default": "", "description": "Internal title (optional)"},
            "Impact": {"type": "String", "default": "", "description": "Incident Manager impact 1-5"},
            "Components": {
                "type": "String",
                "default": "",
                "description": "Comma-separated plan component ids (or component:<id> in the title)",
            },
        },
        "mainSteps": [
            {
                "name": "StartIncidentComms",
                "action": "aws:executeStateMachine",
                "inputs": {
                    "stateMachineArn": state_machine.state_machine_arn,
                    "input": json.dumps(
                        {
                            "IncidentRecordArn": "{{ IncidentRecordArn }}",
                            "Title": "{{ Title }}",
                            "Impact": "{{ Impact }}",
                            "Components": "{{ Components }}",
                        }
                    ),
                },
            }
        ],
    }
