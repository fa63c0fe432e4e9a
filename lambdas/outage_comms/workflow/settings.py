"""The workflow functions' configuration, read once from the environment the stack sets."""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, ConfigDict

from outage_comms.plan import Plan, plan_at


class WorkflowSettings(BaseModel):
    """Names and ARNs of what the workflow functions use. Empty string means "not deployed"."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    plan_path: str
    workflow_table: str
    incidents_table: str
    #: Approval requests and task tokens: set only for the two approval functions.
    approval_table: str = ""
    subscribers_topic_arn: str = ""
    #: Where a drill's SNS messages go: never the customers' topic (empty: SNS is skipped in drills).
    drill_topic_arn: str = ""
    internal_chat_topic_arn: str = ""
    review_secret_arn: str = ""
    review_base_url: str = ""
    state_machine_arn: str = ""
    email_configuration_set: str = ""

    @classmethod
    def from_environment(cls) -> WorkflowSettings:
        env = os.environ
        return cls(
            plan_path=env.get("PLAN_PATH", "plan.json"),
            workflow_table=env.get("WORKFLOW_TABLE", ""),
            incidents_table=env.get("INCIDENTS_TABLE_NAME", ""),
            approval_table=env.get("APPROVAL_TABLE", ""),
            subscribers_topic_arn=env.get("SUBSCRIBERS_TOPIC_ARN", ""),
            drill_topic_arn=env.get("DRILL_TOPIC_ARN", ""),
            internal_chat_topic_arn=env.get("INTERNAL_CHAT_TOPIC_ARN", ""),
            review_secret_arn=env.get("REVIEW_SECRET_ARN", ""),
            review_base_url=env.get("REVIEW_BASE_URL", ""),
            state_machine_arn=env.get("STATE_MACHINE_ARN", ""),
            email_configuration_set=env.get("EMAIL_CONFIGURATION_SET", ""),
        )


@functools.cache
def settings() -> WorkflowSettings:
    return WorkflowSettings.from_environment()


def plan() -> Plan:
    """The validated plan shipped in the asset (``plan.json``)."""
    return plan_at(settings().plan_path)
