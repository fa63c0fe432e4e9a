"""CloudWatch alarm state changes (metric and composite), on the account's default bus.

Alarms map to components by ``signals.alarm_name_patterns`` (fnmatch, case-sensitive) or by
``signals.resource_tags`` (every key/value present in the event's ``alarmTags``). A composite
alarm that matches nothing by its own name maps through the alarms named in its ``alarmRule``.
Severity: the alarm tag ``severity`` naming a plan severity id (or an impact word such as
``major``); otherwise the plan's *default severity*, its least severe level whose impact is not
``none`` (an unclassified alarm should not announce a major outage; people escalate).
``ALARM`` opens or escalates; ``OK`` moves toward ``monitoring``; ``INSUFFICIENT_DATA`` is
recorded on an open incident but never announced.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import ConfigDict, Field

from outage_comms.drill_mode import alarm_is_drill
from outage_comms.incident import IncidentSource, IncidentStatus
from outage_comms.intake.signal import MAX_DETAIL, MAX_TITLE, Intent, Rejection, Signal, default_severity
from outage_comms.intake.sources.common import EventDetail, clip, parse_event, utc
from outage_comms.intake.sources.spec import EventRule, RulePattern, SourceSpec
from outage_comms.plan import Plan
from outage_comms.vocabulary import Scenario

_RULE_CHILD = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*\"?([^\"()]+?)\"?\s*\)")
_FNMATCH_ONLY = ("?", "[")


class AlarmState(EventDetail):
    value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    reason: str = ""
    timestamp: str | None = None


class AlarmConfiguration(EventDetail):
    description: str | None = None
    metrics: list[dict[str, Any]] | None = None
    alarm_rule: str | None = Field(default=None, alias="alarmRule", description="composite alarms only")


class AlarmStateChangeDetail(EventDetail):
    alarm_name: str = Field(alias="alarmName", min_length=1)
    state: AlarmState
    previous_state: AlarmState | None = Field(default=None, alias="previousState")
    configuration: AlarmConfiguration = Field(default_factory=AlarmConfiguration)
    alarm_tags: dict[str, str] | None = Field(
        default=None, alias="alarmTags", description="present when the alarm propagates its tags"
    )
    alarm_tags_status: str | None = Field(default=None, alias="alarmTagsStatus")


class AlarmStateChangeEvent(EventBridgeModel):
    model_config = ConfigDict(defer_build=True)
    source: Literal["aws.cloudwatch"]
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    detail: AlarmStateChangeDetail

    @property
    def alarm_arn(self) -> str:
        for resource in self.resources:
            if ":alarm:" in resource:
                return resource
        return f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{self.detail.alarm_name}"


# ---------------------------------------------------------------------------------------------
# The mapping
# ---------------------------------------------------------------------------------------------


def to_signal(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    event = parse_event(raw, AlarmStateChangeEvent, "CloudWatch alarm state change event")
    if isinstance(event, Rejection):
        return event
    detail = event.detail
    name = detail.alarm_name
    composite = detail.configuration.alarm_rule is not None
    components = _alarm_components(plan, name, detail.alarm_tags)
    children: list[str] = []
    if not components and detail.configuration.alarm_rule:
        children = [alarm_name(child) for child in _RULE_CHILD.findall(detail.configuration.alarm_rule)]
        components = components_for_alarm_names(plan, children)
    if not components:
        via = f" nor the alarms in its rule ({', '.join(children)})" if children else ""
        tags = " or its alarmTags" if detail.alarm_tags else ""
        return Rejection(
            "no_matching_component",
            f"Alarm '{name}' maps to no component: no signals.alarm_name_patterns match its name{tags}{via}. "
            "Add a pattern (or resource_tags) to the component it belongs to in the plan, or leave the "
            "alarm out of the EventBridge rule.",
            raw,
        )
    state = detail.state.value
    severity: str | None
    severity, warnings = _alarm_severity(plan, detail.alarm_tags)
    intent: Intent
    status: IncidentStatus | None = None
    scenario: Scenario | None = None
    if state == "ALARM":
        intent = "open"
    elif state == "OK":
        intent, status, scenario, severity = "update", "monitoring", Scenario.MONITORING, None
    else:
        intent, severity = "record", None
    kind = "Composite alarm" if composite else "Alarm"
    drill = alarm_is_drill(detail.alarm_tags)
    return Signal(
        event_id=event.id,
        incident_key=("drill:" if drill else "")
        + f"alarm:{event.alarm_arn}:{detail.state.timestamp or event.time.isoformat()}",
        source=IncidentSource(type="alarm", reference=event.alarm_arn),
        occurred_at=utc(event.time),
        components=components,
        severity=severity,
        intent=intent,
        status=status,
        scenario=scenario,
        internal_title=clip(f"{kind} {name} is {state}", MAX_TITLE),
        detail=clip(detail.state.reason, MAX_DETAIL),
        state=state,
        warnings=warnings,
        drill=drill,
    )


def alarm_name(name_or_arn: str) -> str:
    return name_or_arn.split(":alarm:", 1)[1] if ":alarm:" in name_or_arn else name_or_arn


def _alarm_components(plan: Plan, name: str, tags: Mapping[str, str] | None) -> tuple[str, ...]:
    found = set(components_for_alarm_names(plan, [name]))
    if tags:
        for component in plan.components:
            wanted = component.signals.resource_tags
            if wanted and all(tags.get(key) == value for key, value in wanted.items()):
                found.add(component.id)
    return tuple(c.id for c in plan.components if c.id in found)


def components_for_alarm_names(plan: Plan, names: Iterable[str]) -> tuple[str, ...]:
    """Plan components whose ``alarm_name_patterns`` match any of ``names``, in plan order."""
    names = list(names)
    return tuple(
        c.id
        for c in plan.components
        if any(fnmatch.fnmatchcase(n, p) for n in names for p in c.signals.alarm_name_patterns)
    )


def _alarm_severity(plan: Plan, tags: Mapping[str, str] | None) -> tuple[str, tuple[str, ...]]:
    value = (tags or {}).get("severity")
    if value is None:
        return default_severity(plan).id, ()
    ids = [s.id for s in plan.severities]
    if value in ids:
        return value, ()
    by_impact = [s for s in plan.severities if s.impact.value == value.strip().lower()]
    if by_impact:
        return by_impact[0].id, ()
    fallback = default_severity(plan).id
    return fallback, (
        f"alarm tag severity={value!r} names no plan severity (use one of {ids} or an impact word "
        f"none/minor/major/critical); using the default '{fallback}'",
    )


# ---------------------------------------------------------------------------------------------
# The EventBridge rule
# ---------------------------------------------------------------------------------------------


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


def rule_pattern(plan: Plan) -> RulePattern:
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": alarm_detail_pattern(plan),
    }


SPEC = SourceSpec(
    name="alarm",
    label="CloudWatch alarm",
    event_source="aws.cloudwatch",
    normalise=to_signal,
    rule=EventRule(
        construct_id="Alarms",
        description="Outage Comms: CloudWatch alarm state changes the plan maps to a component",
        pattern=rule_pattern,
        forwarded=True,
    ),
    expected_in_maintenance=True,
    may_lower_severity=False,
    firing_state="ALARM",
)
