"""The workflow functions' configuration, read once from the environment the stack sets."""

from __future__ import annotations

import functools

from pydantic import Field

from outage_comms.function_settings import PLAN_PATH_DEFAULT, FunctionSettings
from outage_comms.plan import Plan, plan_at


class WorkflowSettings(FunctionSettings):
    """Names and ARNs of what the workflow functions use. Empty string means "not deployed"."""

    set_by = "stacks/workflow_stack.py"

    plan_path: str = Field(default=PLAN_PATH_DEFAULT, alias="PLAN_PATH", min_length=1)
    workflow_table: str = Field(default="", alias="WORKFLOW_TABLE")
    incidents_table: str = Field(default="", alias="INCIDENTS_TABLE_NAME")
    #: Approval requests and task tokens: set only for the two approval functions.
    approval_table: str = Field(default="", alias="APPROVAL_TABLE")
    subscribers_topic_arn: str = Field(default="", alias="SUBSCRIBERS_TOPIC_ARN")
    #: Where a drill's SNS messages go: never the customers' topic (empty: SNS is skipped in drills).
    drill_topic_arn: str = Field(default="", alias="DRILL_TOPIC_ARN")
    internal_chat_topic_arn: str = Field(default="", alias="INTERNAL_CHAT_TOPIC_ARN")
    review_secret_arn: str = Field(default="", alias="REVIEW_SECRET_ARN")
    review_base_url: str = Field(default="", alias="REVIEW_BASE_URL")
    state_machine_arn: str = Field(default="", alias="STATE_MACHINE_ARN")
    email_configuration_set: str = Field(default="", alias="EMAIL_CONFIGURATION_SET")
    #: The feedback table (short links, tallies, SMS replies); empty: this deployment has no feedback API.
    feedback_table: str = Field(default="", alias="FEEDBACK_TABLE")
    #: The region ownership table (multi-region plans); empty: one region, nothing to fence.
    ownership_table: str = Field(default="", alias="OWNERSHIP_TABLE")
    #: Set by Lambda itself; needed only with an ownership table (the fence's own region).
    aws_region: str = Field(default="", alias="AWS_REGION")


@functools.cache
def settings() -> WorkflowSettings:
    """Read once per execution environment (a bad variable raises ``SettingsError``)."""
    return WorkflowSettings.from_environment()


def plan() -> Plan:
    """The validated plan shipped in the asset (``plan.json``)."""
    return plan_at(settings().plan_path)
