"""Door 4: OpsCenter OpsItems of type /aws/issue, created or updated."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from outage_comms_cdk.constructs.intake import intake_target


class OpsItemTrigger(Construct):
    """A default-bus rule for OpsItem Create / Update of issues (other OpsItem types are not outages)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, queue: sqs.IQueue, dead_letter_queue: sqs.IQueue
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            description="Outage Comms: OpsCenter issues created or updated",
            event_pattern=events.EventPattern(
                source=["aws.ssm"],
                detail_type=["OpsItem Create", "OpsItem Update"],
                detail={
                    "$or": [
                        {"ops-item-type": ["/aws/issue"]},
                        {"ops-item-type": [{"exists": False}]},
                    ]
                },
            ),
            targets=[intake_target(queue, dead_letter_queue)],
        )
