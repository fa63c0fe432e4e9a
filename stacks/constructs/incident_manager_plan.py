"""Incident Manager, for teams that already have it (plan ``incident_manager``; closed to new customers
since 2025-11-07 — every other trigger works without it).

In each engine region: an encrypted chat-channel SNS topic (Amazon Q Developer in chat applications
subscribes to it; a Slack channel configuration when the plan names one), one response plan per
severity — its impact from the severity's ``incident_manager_impact``, the plan's roles engaged, the
chat channel, and the Outage Comms runbook (``runbook.py``) as its action, so starting an incident
starts the customer-comms workflow. In the primary only: the roles as SSM Incident Manager contacts
(email / SMS / voice channels and an engagement plan each) and, if asked, the replication set over both
regions (one per account).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssmcontacts as contacts
from aws_cdk import aws_ssmincidents as incidents
from constructs import Construct

from outage_comms.plan import IncidentManagerSettings, Plan, Severity, incident_manager_impact
from outage_comms_cdk.constructs.runbook import IncidentRunbook
from outage_comms_cdk.settings import physical_name

#: Each contact channel is tried for this long before the next stage (minutes).
STAGE_MINUTES = 5
RETRY_MINUTES = 2
#: What people in the chat channel may do through Amazon Q Developer (read, never change).
CHAT_GUARDRAIL_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def display_name(text: str) -> str:
    """A contact's display name: letters, digits, spaces, ``_`` and ``-`` only (accents dropped)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_\-\s]", "", ascii_text)[:255]


def contact_alias(scope: Construct, role: str) -> str:
    """``outage-comms-incident-manager`` (with the deployment id when there is one)."""
    return str(physical_name(scope, f"outage-comms-{role.replace('_', '-')}"))


def contact_arn(scope: Construct, region: str, role: str) -> str:
    """A contact's ARN, known before it exists (region, account and alias): the standby's response plans
    engage the primary's contacts."""
    return Stack.of(scope).format_arn(
        service="ssm-contacts",
        region=region,
        account=Aws.ACCOUNT_ID,
        resource="contact",
        resource_name=contact_alias(scope, role),
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        partition=Aws.PARTITION,
    )


class IncidentManagerContacts(Construct):
    """The plan's engaged roles as Incident Manager contacts, each with its channels and engagement plan."""

    def __init__(self, scope: Construct, construct_id: str, *, plan: Plan, settings: IncidentManagerSettings):
        super().__init__(scope, construct_id)
        self.contacts: dict[str, contacts.CfnContact] = {}
        for role in settings.engage_roles:
            person = getattr(plan.roles, role)
            contact = contacts.CfnContact(
                self,
                f"{role}",
                alias=contact_alias(self, role),
                display_name=display_name(f"{person.name} - {role.replace('_', ' ')}"),
                type="PERSONAL",
            )
            channels = []
            for kind in settings.contact_channels:
                channel = contacts.CfnContactChannel(
                    self,
                    f"{role}-{kind}",
                    contact_id=contact.attr_arn,
                    channel_name=f"{role}-{kind}".replace("_", "-"),
                    channel_type=kind.upper(),
                    channel_address=person.email if kind == "email" else person.phone,
                    # The person confirms the channel with the code Incident Manager sends.
                    defer_activation=False,
                )
                channels.append(channel)
            contacts.CfnPlan(
                self,
                f"{role}-plan",
                contact_id=contact.attr_arn,
                stages=[
                    contacts.CfnPlan.StageProperty(
                        duration_in_minutes=STAGE_MINUTES * index,
                        targets=[
                            contacts.CfnPlan.TargetsProperty(
                                channel_target_info=contacts.CfnPlan.ChannelTargetInfoProperty(
                                    channel_id=channel.attr_arn, retry_interval_in_minutes=RETRY_MINUTES
                                )
                            )
                        ],
                    )
                    for index, channel in enumerate(channels)
                ],
            )
            self.contacts[role] = contact


class IncidentManagerPlan(Construct):
    """The chat channel and one response plan per severity in this region (see the module docstring)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        settings: IncidentManagerSettings,
        runbook: IncidentRunbook,
        key: kms.IKey,
        contact_region: str,
        replication_regions: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.contacts = (
            IncidentManagerContacts(self, "Contacts", plan=plan, settings=settings)
            if contact_region == stack.region
            else None
        )
        engagements = [
            self.contacts.contacts[role].attr_arn
            if self.contacts
            else contact_arn(self, contact_region, role)
            for role in settings.engage_roles
        ]
        self._chat_channel(settings, key)
        self.replication_set = (
            incidents.CfnReplicationSet(
                self,
                "ReplicationSet",
                # AWS-owned keys: a replication set uses one kind of key in all of its regions.
                regions=[
                    incidents.CfnReplicationSet.ReplicationRegionProperty(region_name=r)
                    for r in replication_regions
                ],
                deletion_protected=True,
            )
            if replication_regions
            else None
        )
        self.response_plans: dict[str, incidents.CfnResponsePlan] = {}
        for severity in plan.severities:
            response_plan = self._response_plan(plan, severity, engagements, runbook)
            if self.replication_set is not None:
                response_plan.add_resource_dependency(self.replication_set)
            self.response_plans[severity.id] = response_plan

    def _chat_channel(self, settings: IncidentManagerSettings, key: kms.IKey) -> None:
        """The chat channel topic Incident Manager posts to, and its Slack channel when the plan names one."""
        stack = Stack.of(self)
        self.chat_topic = sns.Topic(
            self,
            "ChatChannel",
            topic_name=physical_name(self, "outage-comms-incident-chat"),
            display_name="Outage Comms incidents (Incident Manager chat channel)",
            master_key=key,
            enforce_ssl=True,
        )
        self.chat_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="IncidentManagerPostsToTheChatChannel",
                principals=[iam.ServicePrincipal("ssm-incidents.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.chat_topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        self.slack: chatbot.CfnSlackChannelConfiguration | None = None
        if settings.slack_workspace_id and settings.slack_channel_id:
            chat_role = iam.Role(
                self,
                "ChatRole",
                assumed_by=iam.ServicePrincipal("chatbot.amazonaws.com"),
                description="Outage Comms incident chat: notifications only (no permissions)",
            )
            self.slack = chatbot.CfnSlackChannelConfiguration(
                self,
                "Slack",
                configuration_name=physical_name(self, f"outage-comms-incidents-{stack.region}")[:128],
                iam_role_arn=chat_role.role_arn,
                slack_workspace_id=settings.slack_workspace_id,
                slack_channel_id=settings.slack_channel_id,
                sns_topic_arns=[self.chat_topic.topic_arn],
                guardrail_policies=[CHAT_GUARDRAIL_POLICY],
                logging_level="ERROR",
            )

    def _response_plan(
        self, plan: Plan, severity: Severity, engagements: list[str], runbook: IncidentRunbook
    ) -> incidents.CfnResponsePlan:
        """One severity's response plan: impact, chat channel, engagements, the Outage Comms runbook."""
        impact = incident_manager_impact(plan, severity)
        title = f"{plan.organization.name}: {severity.name.get(plan.default_locale, severity.id)}"
        return incidents.CfnResponsePlan(
            self,
            f"Severity-{severity.id}",
            name=physical_name(self, f"outage-comms-{severity.id}")[:200],
            display_name=title[:200],
            incident_template=incidents.CfnResponsePlan.IncidentTemplateProperty(
                title=title[:200],
                impact=impact,
                summary=f"Customer communication runs on the {severity.id} cadence "
                f"(every {severity.cadence_minutes} minutes) through Outage Comms.",
                notification_targets=[
                    incidents.CfnResponsePlan.NotificationTargetItemProperty(
                        sns_topic_arn=self.chat_topic.topic_arn
                    )
                ],
            ),
            chat_channel=incidents.CfnResponsePlan.ChatChannelProperty(
                chatbot_sns=[self.chat_topic.topic_arn]
            ),
            engagements=engagements,
            actions=[
                incidents.CfnResponsePlan.ActionProperty(
                    ssm_automation=incidents.CfnResponsePlan.SsmAutomationProperty(
                        document_name=runbook.document.ref,
                        document_version="$LATEST",
                        role_arn=runbook.response_plan_role.role_arn,
                        target_account="RESPONSE_PLAN_OWNER_ACCOUNT",
                        parameters=[
                            incidents.CfnResponsePlan.SsmParameterProperty(
                                key="AutomationAssumeRole", values=[runbook.automation_role.role_arn]
                            ),
                            incidents.CfnResponsePlan.SsmParameterProperty(
                                key="Impact", values=[str(impact)]
                            ),
                        ],
                        dynamic_parameters=[
                            incidents.CfnResponsePlan.DynamicSsmParameterProperty(
                                key="IncidentRecordArn",
                                value=incidents.CfnResponsePlan.DynamicSsmParameterValueProperty(
                                    variable="INCIDENT_RECORD_ARN"
                                ),
                            )
                        ],
                    )
                )
            ],
        )
