"""Incident Manager: its API calls as CloudTrail records them, and the Outage Comms runbook's input.

CloudTrail ``StartIncident`` / ``UpdateIncidentRecord`` / ``CreateTimelineEvent`` and the runbook
input (``aws:executeStateMachine`` from the response plan's SSM Automation document): impact 1-5
maps to the plan severity listing it in ``incident_manager_impact``. Components come from, in
order: ``component:<id>`` tokens in the title; the runbook's ``Components``; alarms (trigger ARN,
related items, involved resources) whose names match ``alarm_name_patterns``; plan component ids
written as whole words in the title (with a warning). Updates and timeline events need no
component: they follow the incident record ARN to the incident it opened. ``RESOLVED`` resolves.

Incident Manager is closed to new customers (2025-11-07); existing accounts keep it. The rule needs
a trail recording management events in the account.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, field_validator

from outage_comms.incident import IncidentSource
from outage_comms.intake.signal import MAX_DETAIL, MAX_TITLE, Intent, Rejection, Signal, default_severity
from outage_comms.intake.sources.alarm import alarm_name, components_for_alarm_names
from outage_comms.intake.sources.common import (
    EventDetail,
    ImpactLevel,
    clip,
    component_ids,
    im_severity,
    parse_event,
    tokens,
    unknown_components,
    utc,
)
from outage_comms.intake.sources.spec import EventRule, RulePattern, SourceSpec
from outage_comms.plan import Plan

INCIDENT_MANAGER_CALLS = ("StartIncident", "UpdateIncidentRecord", "CreateTimelineEvent")


class UserIdentity(EventDetail):
    type: str | None = None
    arn: str | None = None


class RelatedItemValue(EventDetail):
    arn: str | None = None
    url: str | None = None


class RelatedItemIdentifier(EventDetail):
    type: str | None = None
    value: RelatedItemValue = Field(default_factory=RelatedItemValue)


class RelatedItem(EventDetail):
    identifier: RelatedItemIdentifier
    title: str | None = None


class TriggerDetails(EventDetail):
    source: str | None = None
    trigger_arn: str | None = Field(default=None, alias="triggerArn")


class StartIncidentParameters(EventDetail):
    response_plan_arn: str = Field(alias="responsePlanArn")
    title: str | None = None
    impact: ImpactLevel | None = None
    trigger_details: TriggerDetails | None = Field(default=None, alias="triggerDetails")
    related_items: list[RelatedItem] = Field(default_factory=list, alias="relatedItems")


class StartIncidentResponse(EventDetail):
    incident_record_arn: str = Field(alias="incidentRecordArn", min_length=1)


class UpdateIncidentRecordParameters(EventDetail):
    arn: str = Field(min_length=1)
    title: str | None = None
    summary: str | None = None
    impact: ImpactLevel | None = None
    status: Literal["OPEN", "RESOLVED"] | None = None


class CreateTimelineEventParameters(EventDetail):
    incident_record_arn: str = Field(alias="incidentRecordArn", min_length=1)
    event_type: str = Field(default="Custom Event", alias="eventType")
    event_data: str = Field(default="", alias="eventData")


class CreateTimelineEventResponse(EventDetail):
    incident_record_arn: str | None = Field(default=None, alias="incidentRecordArn")
    event_id: str | None = Field(default=None, alias="eventId")


class CloudTrailDetail(EventDetail):
    event_source: Literal["ssm-incidents.amazonaws.com"] = Field(alias="eventSource")
    event_id: str = Field(alias="eventID", min_length=1)
    event_time: datetime = Field(alias="eventTime")
    user_identity: UserIdentity = Field(default_factory=UserIdentity, alias="userIdentity")
    error_code: str | None = Field(default=None, alias="errorCode")
    error_message: str | None = Field(default=None, alias="errorMessage")


class StartIncidentDetail(CloudTrailDetail):
    event_name: Literal["StartIncident"] = Field(alias="eventName")
    request_parameters: StartIncidentParameters = Field(alias="requestParameters")
    response_elements: StartIncidentResponse | None = Field(default=None, alias="responseElements")


class UpdateIncidentRecordDetail(CloudTrailDetail):
    event_name: Literal["UpdateIncidentRecord"] = Field(alias="eventName")
    request_parameters: UpdateIncidentRecordParameters = Field(alias="requestParameters")


class CreateTimelineEventDetail(CloudTrailDetail):
    event_name: Literal["CreateTimelineEvent"] = Field(alias="eventName")
    request_parameters: CreateTimelineEventParameters = Field(alias="requestParameters")
    response_elements: CreateTimelineEventResponse | None = Field(default=None, alias="responseElements")


IncidentManagerDetail = Annotated[
    StartIncidentDetail | UpdateIncidentRecordDetail | CreateTimelineEventDetail,
    Field(discriminator="event_name"),
]


class IncidentManagerEvent(EventBridgeModel):
    model_config = ConfigDict(defer_build=True)
    source: Literal["aws.ssm-incidents"]
    detail_type: Literal["AWS API Call via CloudTrail"] = Field(alias="detail-type")
    detail: IncidentManagerDetail


def _string_list(value: Any) -> Any:
    """Automation passes StringList parameters as lists; accept a comma-separated string too."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class RunbookInput(BaseModel):
    """What the Outage Comms Automation document hands to intake via ``aws:executeStateMachine``."""

    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True)

    IncidentRecordArn: str = Field(pattern=r"^arn:aws[a-z-]*:ssm-incidents::?\d{12}:incident-record/.+")
    Title: str | None = None
    Impact: ImpactLevel | None = None
    Components: list[str] = Field(default_factory=list, description="plan component ids")
    InvolvedResources: list[str] = Field(default_factory=list, description="the INVOLVED_RESOURCES ARNs")
    StartedAt: datetime | None = None

    _lists = field_validator("Components", "InvolvedResources", mode="before")(_string_list)


# ---------------------------------------------------------------------------------------------
# The mapping
# ---------------------------------------------------------------------------------------------


def to_signal(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    event = parse_event(raw, IncidentManagerEvent, "Incident Manager CloudTrail event")
    if isinstance(event, Rejection):
        return event
    d = event.detail
    if d.error_code:
        return Rejection(
            "api_call_failed",
            f"{d.event_name} failed in Incident Manager ({d.error_code}: "
            f"{clip(d.error_message or '', 200)}); "
            "nothing changed, so there is nothing to announce.",
            raw,
        )
    if isinstance(d, StartIncidentDetail):
        return _started(event.id, d, plan, raw, utc(event.time))
    if isinstance(d, UpdateIncidentRecordDetail):
        return _updated(event.id, d, plan, utc(event.time))
    return _timeline(event.id, d, utc(event.time))


def _started(
    event_id: str, d: StartIncidentDetail, plan: Plan, raw: Any, occurred: datetime
) -> Signal | Rejection:
    if d.response_elements is None:
        return Rejection(
            "missing_incident_record",
            "StartIncident has no responseElements.incidentRecordArn, so the incident cannot be "
            "followed. "
            "Check that the trail records management events for ssm-incidents.",
            raw,
        )
    params = d.request_parameters
    alarms = [item.identifier.value.arn or "" for item in params.related_items]
    if params.trigger_details and params.trigger_details.trigger_arn:
        alarms.append(params.trigger_details.trigger_arn)
    return _opened(
        plan,
        raw,
        event_id=event_id,
        arn=d.response_elements.incident_record_arn,
        title=params.title,
        impact=params.impact,
        explicit=[],
        resources=alarms,
        occurred_at=occurred,
        how="StartIncident",
    )


def _updated(event_id: str, d: UpdateIncidentRecordDetail, plan: Plan, occurred: datetime) -> Signal:
    p = d.request_parameters
    severity, warnings = (None, ()) if p.impact is None else im_severity(plan, p.impact)
    intent: Intent
    if p.status == "RESOLVED":
        intent = "resolve"
    elif p.impact is not None or p.status == "OPEN":
        intent = "update"
    else:
        intent = "record"
    fields = (("status", p.status), ("impact", p.impact), ("title", p.title))
    changed = ", ".join(f"{k}={v!r}" for k, v in fields if v is not None)
    return Signal(
        event_id=event_id,
        incident_key=f"incident_manager:{p.arn}",
        source=IncidentSource(type="incident_manager", reference=p.arn),
        occurred_at=occurred,
        components=tokens(plan, p.title or "")[0],
        severity=severity,
        intent=intent,
        internal_title=clip(f"Incident Manager record updated: {changed or 'no change'}", MAX_TITLE),
        detail=clip(p.summary or "", MAX_DETAIL),
        state=p.status,
        warnings=warnings,
    )


def _timeline(event_id: str, d: CreateTimelineEventDetail, occurred: datetime) -> Signal:
    p = d.request_parameters
    return Signal(
        event_id=event_id,
        incident_key=f"incident_manager:{p.incident_record_arn}",
        source=IncidentSource(type="incident_manager", reference=p.incident_record_arn),
        occurred_at=occurred,
        components=(),
        severity=None,
        intent="record",
        internal_title=clip(f"Incident Manager timeline: {p.event_type}", MAX_TITLE),
        detail=clip(p.event_data, MAX_DETAIL),
    )


def runbook_to_signal(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    """The runbook's input (no EventBridge envelope; it carries no time, so ``received_at`` stands in)."""
    runbook = parse_event(raw, RunbookInput, "runbook input")
    if isinstance(runbook, Rejection):
        return runbook
    arn = runbook.IncidentRecordArn
    return _opened(
        plan,
        raw,
        event_id="runbook:" + hashlib.sha256(arn.encode()).hexdigest()[:32],
        arn=arn,
        title=runbook.Title,
        impact=runbook.Impact,
        explicit=runbook.Components,
        resources=runbook.InvolvedResources,
        occurred_at=utc(runbook.StartedAt or received_at),
        how="runbook",
    )


def _opened(
    plan: Plan,
    raw: Any,
    *,
    event_id: str,
    arn: str,
    title: str | None,
    impact: int | None,
    explicit: list[str],
    resources: list[str],
    occurred_at: datetime,
    how: str,
) -> Signal | Rejection:
    chosen = _components(plan, raw, arn, title, explicit, resources)
    if isinstance(chosen, Rejection):
        return chosen
    components, warnings = chosen
    if impact is None:
        severity = default_severity(plan).id
        warnings.append(f"no impact given (the response plan's default applies there); using '{severity}'")
    else:
        severity, extra = im_severity(plan, impact)
        warnings.extend(extra)
    return Signal(
        event_id=event_id,
        incident_key=f"incident_manager:{arn}",
        source=IncidentSource(type="incident_manager", reference=arn),
        occurred_at=occurred_at,
        components=components,
        severity=severity,
        intent="open",
        internal_title=clip(f"Incident Manager ({how}): {title or arn}", MAX_TITLE),
        state="OPEN",
        warnings=tuple(warnings),
    )


def _components(
    plan: Plan, raw: Any, arn: str, title: str | None, explicit: list[str], resources: list[str]
) -> tuple[tuple[str, ...], list[str]] | Rejection:
    """The components an opening names (tokens, the runbook's list, mapped alarms, else title words)."""
    unknown = [c for c in explicit if c not in component_ids(plan)]
    if unknown:
        return unknown_components(unknown, plan, raw, "Components")
    named, unknown_tokens, guessed = tokens(plan, title or "")
    if unknown_tokens:
        return unknown_components(unknown_tokens, plan, raw, "the title's component: tokens")
    from_alarms = components_for_alarm_names(plan, [alarm_name(r) for r in resources if ":alarm:" in r])
    warnings: list[str] = []
    chosen = set(named) | set(explicit) | set(from_alarms)
    if not chosen and guessed:
        chosen = set(guessed)
        warnings.append(
            f"components {sorted(guessed)} were read from words in the title; write 'component:<id>' in the "
            "response plan's incident title to make this explicit"
        )
    if not chosen:
        return Rejection(
            "no_matching_component",
            f"Incident record {arn} names no plan component. Write 'component:<id>' in the incident title "
            "(the response plan's incident template), pass Components to the runbook, or start the incident "
            f"from an alarm the plan maps. Component ids: {sorted(component_ids(plan))}.",
            raw,
        )
    return tuple(c.id for c in plan.components if c.id in chosen), warnings


def rule_pattern(plan: Plan) -> RulePattern:
    return {
        "source": ["aws.ssm-incidents"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["ssm-incidents.amazonaws.com"],
            "eventName": list(INCIDENT_MANAGER_CALLS),
            # A call that failed changed nothing in Incident Manager.
            "errorCode": [{"exists": False}],
        },
    }


SPEC = SourceSpec(
    name="incident_manager",
    label="Incident Manager incident",
    event_source="aws.ssm-incidents",
    normalise=to_signal,
    direct_key="IncidentRecordArn",
    direct_label="runbook input",
    normalise_direct=runbook_to_signal,
    rule=EventRule(
        construct_id="IncidentManager",
        description="Outage Comms: Incident Manager incidents started, updated or annotated (CloudTrail)",
        pattern=rule_pattern,
    ),
    expected_in_maintenance=True,
)
