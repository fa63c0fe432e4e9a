"""Powertools Parser models for every event that can reach intake.

Shapes follow the documented events (see ../shared/docs/aws-facts.md, "Events to accept"):
CloudWatch alarm state changes (metric and composite), AWS Health events, Incident Manager API
calls recorded by CloudTrail, OpsCenter OpsItem notifications, the SSM Automation runbook input
and the human API body. Unknown extra fields are ignored (AWS adds fields over time); missing or
mistyped fields that intake relies on fail validation, which ``normalise`` turns into a Rejection.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from outage_comms.human_text import check_text
from outage_comms.vocabulary import Scenario

ImpactLevel = Annotated[int, Field(ge=1, le=5, description="Incident Manager impact: 1 critical .. 5 none")]


class EventDetail(BaseModel):
    """Base for ``detail`` payloads: extra fields ignored, names by alias or attribute."""

    model_config = ConfigDict(defer_build=True, extra="ignore", populate_by_name=True, frozen=True)


# ---------------------------------------------------------------------------------------------
# CloudWatch alarm state change
# ---------------------------------------------------------------------------------------------


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
# AWS Health
# ---------------------------------------------------------------------------------------------


class HealthEventDescription(EventDetail):
    language: str = "en_US"
    latest_description: str = Field(default="", alias="latestDescription")


class HealthAffectedEntity(EventDetail):
    entity_value: str = Field(default="", alias="entityValue")
    tags: dict[str, str] | None = None


class HealthEventDetail(EventDetail):
    event_arn: str = Field(alias="eventArn", min_length=1)
    service: str = Field(min_length=1)
    event_type_code: str = Field(alias="eventTypeCode")
    event_type_category: Literal["issue", "accountNotification", "scheduledChange", "investigation"] = Field(
        alias="eventTypeCategory"
    )
    status_code: Literal["open", "upcoming", "closed"] = Field(alias="statusCode")
    event_region: str | None = Field(default=None, alias="eventRegion")
    start_time: str | None = Field(default=None, alias="startTime")
    end_time: str | None = Field(default=None, alias="endTime")
    event_description: list[HealthEventDescription] = Field(default_factory=list, alias="eventDescription")
    affected_entities: list[HealthAffectedEntity] = Field(default_factory=list, alias="affectedEntities")


class HealthEvent(EventBridgeModel):
    model_config = ConfigDict(defer_build=True)
    source: Literal["aws.health"]
    detail_type: Literal["AWS Health Event"] = Field(alias="detail-type")
    detail: HealthEventDetail


# ---------------------------------------------------------------------------------------------
# Incident Manager, as CloudTrail records it (EventBridge "AWS API Call via CloudTrail")
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# OpsCenter
# ---------------------------------------------------------------------------------------------


class OpsItemDetail(EventDetail):
    ops_item_id: str = Field(alias="ops-item-id", min_length=1)
    title: str = ""
    status: str = Field(min_length=1, description="Open, InProgress, Resolved, ...")
    source: str | None = None
    description: str | None = None
    ops_item_type: str | None = Field(default=None, alias="ops-item-type")
    severity: str | None = Field(default=None, description="OpsItem severity 1 (critical) .. 4 (low)")
    category: str | None = None
    created_by: str | None = Field(default=None, alias="created-by")
    modified_by: str | None = Field(default=None, alias="modified-by")


class OpsItemEvent(EventBridgeModel):
    model_config = ConfigDict(defer_build=True)
    source: Literal["aws.ssm"]
    detail_type: Literal["OpsItem Create", "OpsItem Update"] = Field(alias="detail-type")
    detail: OpsItemDetail


# ---------------------------------------------------------------------------------------------
# The SSM Automation runbook input (response plan action) and the human API
# ---------------------------------------------------------------------------------------------


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


#: The most characters a person may write per field (after NFC). Titles are internal; a note is
#: what customers read, per locale, and every channel renders it (SMS splits it, social posts cut it).
TITLE_LIMIT = 300
NOTE_LIMIT = 2000
REQUEST_ID_LIMIT = 128
#: Short identifiers people type (component, severity, channel ids; the incident id).
ID_LIMIT = 64


def human_detail(value: str | dict[str, str] | None, field: str) -> str | dict[str, str] | None:
    """A resolve detail (``cause``, ``fix``, ``impact``): one text or one per locale, checked like a note."""
    if value is None:
        return None
    if isinstance(value, str):
        return check_text(value, field=field, limit=NOTE_LIMIT)
    checked: dict[str, str] = {}
    for locale, text in value.items():
        check_text(locale, field=f"{field} (a locale code)", limit=ID_LIMIT, multiline=False)
        checked[locale] = check_text(text, field=f"{field}.{locale}", limit=NOTE_LIMIT)
    return checked


def human_note(note: dict[str, str]) -> dict[str, str]:
    """Every locale's note checked by :func:`outage_comms.human_text.check_text` (``note.<locale>``)."""
    checked: dict[str, str] = {}
    for locale, text in note.items():
        check_text(locale, field="note (a locale code)", limit=ID_LIMIT, multiline=False)
        checked[locale] = check_text(text, field=f"note.{locale}", limit=NOTE_LIMIT)
    return checked


class HumanRequest(BaseModel):
    """Declare, update or resolve, as a person asks through the API or CLI.

    ``principal`` must be set by the API handler from the caller's verified IAM identity, never
    taken from the request body as sent. Every text field passes :mod:`outage_comms.human_text`
    (NFC; no control, bidi or noncharacters; ``title`` at most ``TITLE_LIMIT`` characters on one
    line, each ``note`` locale at most ``NOTE_LIMIT``): a refusal names the field and the limit.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    action: Literal[
        "declare", "update", "resolve", "schedule_maintenance", "complete_maintenance", "cancel_maintenance"
    ]
    request_id: str = Field(min_length=1, max_length=128, description="client idempotency token")
    principal: str = Field(min_length=1)
    incident_id: str | None = Field(default=None, description="required to update or resolve")
    components: list[str] = Field(default_factory=list, description="plan component ids")
    severity: str | None = None
    scenario: Scenario | None = None
    status: Literal["investigating", "identified", "monitoring", "resolved"] | None = None
    title: str | None = Field(default=None, description="internal title")
    note: dict[str, str] = Field(default_factory=dict, description="words for customers, per locale")
    at: datetime | None = None
    drill: bool = Field(default=False, description="declare a game-day drill (only the drill audience hears)")
    drill_failures: list[str] = Field(
        default_factory=list, description="drill only: channel names whose deliveries fail on purpose"
    )
    starts_at: datetime | None = Field(
        default=None, description="maintenance window start (schedule_maintenance)"
    )
    ends_at: datetime | None = Field(
        default=None, description="maintenance window end (schedule_maintenance)"
    )
    cause: str | dict[str, str] | None = Field(
        default=None, description="resolve: what went wrong, for customers (text, or per locale)"
    )
    fix: str | dict[str, str] | None = Field(
        default=None, description="resolve: what was done to fix it (text, or per locale)"
    )
    impact: str | dict[str, str] | None = Field(
        default=None, description="resolve: what customers noticed, past tense (text, or per locale)"
    )

    @field_validator("title", "request_id", "incident_id", "severity", mode="after")
    @classmethod
    def _one_line(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        limit = {"title": TITLE_LIMIT, "request_id": REQUEST_ID_LIMIT}.get(str(info.field_name), ID_LIMIT)
        return check_text(value, field=str(info.field_name), limit=limit, multiline=False)

    @field_validator("components", "drill_failures", mode="after")
    @classmethod
    def _ids(cls, values: list[str], info: ValidationInfo) -> list[str]:
        return [
            check_text(v, field=f"{info.field_name}[{i}]", limit=ID_LIMIT, multiline=False)
            for i, v in enumerate(values)
        ]

    _note = field_validator("note", mode="after")(human_note)

    @field_validator("cause", "fix", "impact", mode="after")
    @classmethod
    def _resolution(
        cls, value: str | dict[str, str] | None, info: ValidationInfo
    ) -> str | dict[str, str] | None:
        return human_detail(value, str(info.field_name))


class HumanEvent(EventBridgeModel):
    """A human request relayed over EventBridge (the API may put it on the bus)."""

    model_config = ConfigDict(defer_build=True)

    source: Literal["outage-comms.human"]
    detail_type: Literal["Human Incident Request"] = Field(alias="detail-type")
    detail: HumanRequest
