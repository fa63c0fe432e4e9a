"""Door 3: Incident Manager, as CloudTrail records its API calls (needs a trail in the account).

Incident Manager is closed to new customers (2025-11-07); existing accounts keep it. Its response
plans can also start the comms workflow directly through the Outage Comms SSM Automation runbook.
"""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from outage_comms_cdk.constructs.intake import intake_target

INCIDENT_MANAGER_CALLS = ("StartIncident", "UpdateIncidentRecord", "CreateTimelineEvent")


class IncidentManagerTrigger(Construct):
    """A rule on the default bus for successful StartIncident / UpdateIncidentRecord / CreateTimelineEvent."""

    def __init__(
        self, scope: Construct, construct_id: str, *, queue: sqs.IQueue, dead_letter_queue: sqs.IQueue
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            description="Outage Comms: Incident Manager incidents started, updated or annotated (CloudTrail)",
            event_pattern=events.EventPattern(
                source=["aws.ssm-incidents"],
                detail_type=["AWS API Call via CloudTrail"],
                detail={
                    "eventSource": ["ssm-incidents.amazonaws.com"],
                    "eventName": list(INCIDENT_MANAGER_CALLS),
                    # A call that failed changed nothing in Incident Manager.
                    "errorCode": [{"exists": False}],
                },
            ),
            targets=[intake_target(queue, dead_letter_queue)],
        )
