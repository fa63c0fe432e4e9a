"""Door 2: AWS Health events for the services the plan maps (issues, investigations, maintenance)."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from outage_comms.plan import Plan
from outage_comms_cdk.constructs.intake import intake_target

ANNOUNCED_CATEGORIES = ("issue", "investigation", "scheduledChange")


def health_services(plan: Plan) -> list[str]:
    """Every Health service code any component lists, upper-case, in plan order."""
    return list(dict.fromkeys(s.upper() for c in plan.components for s in c.signals.health_services))


class HealthTrigger(Construct):
    """A rule on the default bus for the plan's Health services; no rule when the plan maps none.

    AWS Health delivers an event in the region it concerns (global services in us-east-1): deploy
    this stack in each region whose Health events should reach customers.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        services = health_services(plan)
        self.rule: events.Rule | None = None
        if not services:
            return
        self.rule = events.Rule(
            self,
            "Rule",
            description="Outage Comms: AWS Health issues, investigations and scheduled changes the plan maps",
            event_pattern=events.EventPattern(
                source=["aws.health"],
                detail_type=["AWS Health Event"],
                detail={
                    # Health service codes are upper-case; the plan may not be.
                    "service": [{"equals-ignore-case": service} for service in services],
                    "eventTypeCategory": list(ANNOUNCED_CATEGORIES),
                },
            ),
            targets=[intake_target(queue, dead_letter_queue)],
        )
