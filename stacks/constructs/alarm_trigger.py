"""Door 1: CloudWatch alarm state changes on the default bus, narrowed by the plan's alarm mappings."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from outage_comms.plan import Plan
from outage_comms_cdk.constructs.intake import intake_target

_FNMATCH_ONLY = ("?", "[")


def alarm_name_filter(pattern: str) -> str | dict[str, str]:
    """One EventBridge filter for one fnmatch pattern (``signals.alarm_name_patterns``).

    EventBridge knows ``*`` (``wildcard``) but not fnmatch's ``?`` or ``[...]``: such a pattern is
    widened to the text before them (a superset — intake still applies the exact fnmatch rule and
    rejects, with a reason, what the plan does not map).
    """
    cut = min((pattern.index(c) for c in _FNMATCH_ONLY if c in pattern), default=None)
    if cut is not None:
        pattern = pattern[:cut] + "*"
    if "*" not in pattern:
        return pattern
    if pattern.count("*") == 1 and pattern.endswith("*"):
        return {"prefix": pattern[:-1]}
    escaped = pattern.replace("\\", "\\\\")
    while "**" in escaped:  # EventBridge rejects consecutive wildcards
        escaped = escaped.replace("**", "*")
    return {"wildcard": escaped}


def alarm_detail_pattern(plan: Plan) -> dict[str, Any]:
    """``detail`` of the rule: an alarm name the plan maps, an alarm tag set it maps, or a composite
    alarm (mapped through the alarms in its rule, which only intake can read)."""
    names: list[str | dict[str, str]] = []
    for component in plan.components:
        for pattern in component.signals.alarm_name_patterns:
            name_filter = alarm_name_filter(pattern)
            if name_filter not in names:
                names.append(name_filter)
    branches: list[dict[str, Any]] = []
    if names:
        branches.append({"alarmName": names})
    for component in plan.components:
        tags = component.signals.resource_tags
        if tags:
            branch = {"alarmTags": {key: [value] for key, value in sorted(tags.items())}}
            if branch not in branches:
                branches.append(branch)
    branches.append({"configuration": {"alarmRule": [{"exists": True}]}})
    return {"$or": branches}


class AlarmTrigger(Construct):
    """A rule on the account's default bus sending mapped alarm state changes to the intake queue."""

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
        self.rule = events.Rule(
            self,
            "Rule",
            description="Outage Comms: CloudWatch alarm state changes the plan maps to a component",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                detail=alarm_detail_pattern(plan),
            ),
            targets=[intake_target(queue, dead_letter_queue)],
        )
