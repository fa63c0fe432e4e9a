"""AWS Health events for the services the plan maps (issues, investigations, scheduled changes).

``issue`` / ``investigation`` / ``scheduledChange`` events for a service in a component's
``health_services`` (and, when ``health_regions`` is set, a listed region or ``global``).
``closed`` resolves. ``scheduledChange`` becomes maintenance (scheduled, in progress, completed)
at the plan's ``none``-impact severity if it has one. ``issue`` and ``investigation`` use the
default severity. ``accountNotification`` is rejected.

AWS Health delivers an event in the region it concerns (global services in us-east-1), hence a
rule in each region whose Health events should reach customers (forwarded across regions).
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import ConfigDict, Field

from outage_comms.incident import IncidentSource, IncidentStatus
from outage_comms.intake.signal import MAX_DETAIL, MAX_TITLE, Intent, Rejection, Signal, default_severity
from outage_comms.intake.sources.common import EventDetail, clip, parse_event, utc
from outage_comms.intake.sources.spec import EventRule, RulePattern, SourceSpec
from outage_comms.plan import Plan, Severity
from outage_comms.vocabulary import Impact, Scenario

#: The event categories that reach customers (``accountNotification`` is news about the account).
ANNOUNCED_CATEGORIES = ("issue", "investigation", "scheduledChange")


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


def to_signal(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    event = parse_event(raw, HealthEvent, "AWS Health event")
    if isinstance(event, Rejection):
        return event
    d = event.detail
    if d.event_type_category == "accountNotification":
        return Rejection(
            "health_category_not_announced",
            f"AWS Health event {d.event_type_code} is an accountNotification (news about the account, not an "
            "outage); only issue, investigation and scheduledChange events are announced. Nothing to do; "
            "filter detail.eventTypeCategory in the EventBridge rule to stop receiving them.",
            raw,
        )
    service = d.service.upper()
    region = d.event_region
    components = tuple(
        c.id
        for c in plan.components
        if service in {s.upper() for s in c.signals.health_services}
        and _region_matches(region, c.signals.health_regions)
    )
    if not components:
        return Rejection(
            "no_matching_component",
            f"AWS Health service '{service}' in region '{region}' maps to no component. Add '{service}' to "
            "signals.health_services of the affected component (and the region to health_regions if that "
            "component lists regions), or filter detail.service in the EventBridge rule.",
            raw,
        )
    maintenance = d.event_type_category == "scheduledChange"
    intent: Intent = "resolve" if d.status_code == "closed" else "open"
    severity, status, scenario = _how_bad(plan, d)
    english = [x.latest_description for x in d.event_description if x.language.startswith("en")]
    description = (english or [x.latest_description for x in d.event_description] or [""])[0]
    return Signal(
        event_id=event.id,
        incident_key=f"health:{d.event_arn}",
        source=IncidentSource(type="health", reference=d.event_arn),
        occurred_at=utc(event.time),
        components=components,
        severity=None if intent == "resolve" else severity.id,
        intent=intent,
        status=status if intent != "resolve" else None,
        scenario=scenario,
        internal_title=clip(
            f"AWS Health {d.event_type_category} {d.event_type_code} ({service}, {region or 'no region'}) "
            f"is {d.status_code}",
            MAX_TITLE,
        ),
        detail=clip(description or "", MAX_DETAIL),
        state=d.status_code,
        scheduled_for=_health_time(d.start_time) if maintenance else None,
        scheduled_until=_health_time(d.end_time) if maintenance else None,
    )


def _how_bad(plan: Plan, d: HealthEventDetail) -> tuple[Severity, IncidentStatus | None, Scenario | None]:
    """An issue or investigation: the default severity. A scheduled change: maintenance, at the plan's
    ``none``-impact severity if it has one, in the scenario of its status."""
    if d.event_type_category != "scheduledChange":
        return default_severity(plan), None, None
    quiet = [s for s in plan.severities if s.impact is Impact.NONE]
    scenario = {
        "upcoming": Scenario.MAINTENANCE_SCHEDULED,
        "open": Scenario.MAINTENANCE_IN_PROGRESS,
        "closed": Scenario.MAINTENANCE_COMPLETED,
    }[d.status_code]
    return (quiet[-1] if quiet else default_severity(plan)), "identified", scenario


def _region_matches(region: str | None, regions: list[str]) -> bool:
    """An empty list means any region; a global event (or one naming none) touches every region."""
    return not regions or region in (None, "global") or region in regions


def _health_time(value: str | None) -> datetime | None:
    """Health writes RFC 1123 dates ("Wed, 31 Jan 2018 22:00:00 GMT"); accept ISO 8601 too."""
    if not value:
        return None
    try:
        return utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def health_services(plan: Plan) -> list[str]:
    """Every Health service code any component lists, upper-case, in plan order."""
    return list(dict.fromkeys(s.upper() for c in plan.components for s in c.signals.health_services))


def rule_pattern(plan: Plan) -> RulePattern | None:
    """The plan's Health services (none: no rule)."""
    services = health_services(plan)
    if not services:
        return None
    return {
        "source": ["aws.health"],
        "detail-type": ["AWS Health Event"],
        "detail": {
            # Health service codes are upper-case; the plan may not be.
            "service": [{"equals-ignore-case": service} for service in services],
            "eventTypeCategory": list(ANNOUNCED_CATEGORIES),
        },
    }


SPEC = SourceSpec(
    name="health",
    label="AWS Health event",
    event_source="aws.health",
    normalise=to_signal,
    rule=EventRule(
        construct_id="Health",
        description="Outage Comms: AWS Health issues, investigations and scheduled changes the plan maps",
        pattern=rule_pattern,
        forwarded=True,
    ),
    expected_in_maintenance=True,
)
