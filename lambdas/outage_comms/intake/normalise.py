"""Turn any raw event into a Signal (what happened, to which components, how badly) or a Rejection.

``to_signal`` never raises: an unknown shape, a wrong field type or a mapping that matches nothing
comes back as a ``Rejection`` whose ``reason`` names the field and what to do.

Mapping rules (the plan decides):

* **Alarms** map to components by ``signals.alarm_name_patterns`` (fnmatch, case-sensitive) or by
  ``signals.resource_tags`` (every key/value present in the event's ``alarmTags``). A composite
  alarm that matches nothing by its own name maps through the alarms named in its ``alarmRule``.
  Severity: the alarm tag ``severity`` naming a plan severity id (or an impact word such as
  ``major``); otherwise the plan's *default severity*, its least severe level whose impact is not
  ``none`` (an unclassified alarm should not announce a major outage; people escalate).
  ``ALARM`` opens or escalates; ``OK`` moves toward ``monitoring``; ``INSUFFICIENT_DATA`` is
  recorded on an open incident but never announced.
* **AWS Health**: ``issue`` / ``investigation`` / ``scheduledChange`` events for a service in a
  component's ``health_services`` (and, when ``health_regions`` is set, a listed region or
  ``global``). ``closed`` resolves. ``scheduledChange`` becomes maintenance (scheduled, in
  progress, completed) at the plan's ``none``-impact severity if it has one. ``issue`` and
  ``investigation`` use the default severity. ``accountNotification`` is rejected.
* **Incident Manager** (CloudTrail ``StartIncident`` / ``UpdateIncidentRecord`` /
  ``CreateTimelineEvent`` and the runbook input): impact 1-5 maps to the plan severity listing it
  in ``incident_manager_impact``. Components come from, in order: ``component:<id>`` tokens in the
  title; the runbook's ``Components``; alarms (trigger ARN, related items, involved resources)
  whose names match ``alarm_name_patterns``; plan component ids written as whole words in the
  title (with a warning). Updates and timeline events need no component: they follow the incident
  record ARN to the incident it opened. ``RESOLVED`` resolves.
* **OpsCenter**: components from ``component:<id>`` tokens in the title or description, else ids as
  whole words in the title. Severity: a ``severity:<id>`` token, else the OpsItem ``severity``
  (1-4) read on the Incident Manager impact scale, else the default. ``Resolved`` resolves.
* **Humans** name components, severity, scenario and status directly.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ConfigDict, ValidationError

from outage_comms.clock import now as clock_now
from outage_comms.drill_mode import alarm_is_drill, drill_failures_problem
from outage_comms.human_text import HumanTextError, clean_text
from outage_comms.incident import (
    IMPACT_RANK,
    RESOLUTION_PARTS,
    IncidentSource,
    IncidentStatus,
    LocalizedText,
    MaintenancePhase,
)
from outage_comms.intake.events import (
    AlarmStateChangeEvent,
    CreateTimelineEventDetail,
    HealthEvent,
    HumanEvent,
    HumanRequest,
    IncidentManagerEvent,
    OpsItemEvent,
    RunbookInput,
    StartIncidentDetail,
    UpdateIncidentRecordDetail,
)
from outage_comms.plan import Plan, Severity, format_path
from outage_comms.vocabulary import Impact, Scenario

Intent = Literal["open", "update", "resolve", "record"]
M = TypeVar("M", bound=BaseModel)

MAX_TITLE = 300
MAX_DETAIL = 2000
_COMPONENT_TOKEN = re.compile(r"(?<![\w-])component:([a-z][a-z0-9-]{0,62})(?![\w-])")
_SEVERITY_TOKEN = re.compile(r"(?<![\w-])severity:([a-z][a-z0-9-]{0,62})(?![\w-])")
_RULE_CHILD = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*\"?([^\"()]+?)\"?\s*\)")
_INCIDENT_ID = re.compile(r"^inc-\d{8}-\d{4}-[0-9a-f]{6}$")
_IM_IMPACT_TO_IMPACT = {1: Impact.CRITICAL, 2: Impact.MAJOR, 3: Impact.MINOR, 4: Impact.MINOR, 5: Impact.NONE}


class Signal(BaseModel):
    """One thing a source said, in the plan's words. ``coalesce.decide`` turns it into a Decision."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    event_id: str
    incident_key: str
    source: IncidentSource
    occurred_at: datetime
    components: tuple[str, ...]
    severity: str | None
    intent: Intent
    status: IncidentStatus | None = None
    scenario: Scenario | None = None
    internal_title: str
    detail: str = ""
    state: str | None = None
    incident_id: str | None = None
    public_note: LocalizedText = {}
    scheduled_for: datetime | None = None
    scheduled_until: datetime | None = None
    maintenance_phase: MaintenancePhase | None = None
    warnings: tuple[str, ...] = ()
    drill: bool = False
    drill_failures: tuple[str, ...] = ()
    #: resolve only: what the person typed as cause / fix / impact, per locale
    resolution: dict[str, LocalizedText] = {}


@dataclass(frozen=True)
class Rejection:
    """Why an event cannot become (part of) an incident. The event travels with it to the DLQ."""

    code: str
    reason: str
    event: Any = field(repr=False, default=None)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "reason": self.reason}


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def to_signal(raw_event: Any, plan: Plan, *, received_at: datetime | None = None) -> Signal | Rejection:
    """Normalise one raw event. Never raises.

    ``received_at`` stands in for the time of sources that carry none (runbook input, human
    requests without ``at``); it defaults to now.
    """
    try:
        found = _dispatch(raw_event, plan, received_at or clock_now())
        return found if isinstance(found, Rejection) else plain_signal(found)
    except Exception as exc:  # the contract is "never raises": a bug must not lose the event
        return Rejection(
            "internal_error",
            f"Intake could not read this event ({type(exc).__name__}). It is kept with this reason; "
            "report it with the event attached.",
            raw_event,
        )


def plain_signal(signal: Signal) -> Signal:
    """``signal`` with every text cleaned by :func:`~outage_comms.human_text.clean_text`.

    People's words were already refused at the door if unclean (``HumanRequest``); what AWS sends
    (alarm reasons, Health descriptions, Incident Manager titles, summaries and timeline data, OpsItem
    text, the runbook's title) cannot be answered with an error, so its control, bidi and
    noncharacters (and lone surrogates, which DynamoDB cannot store) are dropped instead.
    """
    return signal.model_copy(
        update={
            "event_id": clean_text(signal.event_id, multiline=False),
            "incident_key": clean_text(signal.incident_key, multiline=False),
            "source": signal.source.model_copy(
                update={"reference": clean_text(signal.source.reference, multiline=False)}
            ),
            "internal_title": clean_text(signal.internal_title, limit=MAX_TITLE, multiline=False),
            "detail": clean_text(signal.detail, limit=MAX_DETAIL),
            "state": None if signal.state is None else clean_text(signal.state, limit=80, multiline=False),
            "public_note": {k: clean_text(v) for k, v in signal.public_note.items()},
            "resolution": {
                part: {k: clean_text(v) for k, v in text.items()} for part, text in signal.resolution.items()
            },
            "warnings": tuple(clean_text(w, limit=MAX_DETAIL) for w in signal.warnings),
        }
    )


def _dispatch(raw: Any, plan: Plan, received_at: datetime) -> Signal | Rejection:
    if not isinstance(raw, dict):
        return Rejection(
            "not_an_object",
            f"The event is a JSON {_json_type(raw)}, not an object. Send an EventBridge event, the "
            "runbook input or a human request body.",
            raw,
        )
    if "source" in raw or "detail-type" in raw:
        source = raw.get("source")
        handlers = {
            "aws.cloudwatch": _alarm,
            "aws.health": _health,
            "aws.ssm-incidents": _incident_manager,
            "aws.ssm": _opsitem,
            "outage-comms.human": _human_event,
        }
        handler = handlers.get(source) if isinstance(source, str) else None
        if handler is None:
            return Rejection(
                "unknown_source",
                f"'source' is {_show(source)}; intake accepts {', '.join(sorted(handlers))}. Narrow the "
                "EventBridge rule to those sources.",
                raw,
            )
        return handler(raw, plan, received_at)
    if "IncidentRecordArn" in raw:
        return _runbook(raw, plan, received_at)
    if "action" in raw:
        return _human_body(raw, plan, received_at)
    return Rejection(
        "unknown_shape",
        "The event has neither 'source'/'detail-type' (EventBridge), 'IncidentRecordArn' (runbook input) "
        "nor 'action' (human request). Check what the rule or caller sends.",
        raw,
    )


# ---------------------------------------------------------------------------------------------
# CloudWatch alarms
# ---------------------------------------------------------------------------------------------


def _alarm(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    event = _parse(raw, AlarmStateChangeEvent, "CloudWatch alarm state change event")
    if isinstance(event, Rejection):
        return event
    detail = event.detail
    name = detail.alarm_name
    composite = detail.configuration.alarm_rule is not None
    components = _alarm_components(plan, name, detail.alarm_tags)
    children: list[str] = []
    if not components and detail.configuration.alarm_rule:
        children = [_alarm_name(child) for child in _RULE_CHILD.findall(detail.configuration.alarm_rule)]
        components = _components_for_alarm_names(plan, children)
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
        occurred_at=_utc(event.time),
        components=components,
        severity=severity,
        intent=intent,
        status=status,
        scenario=scenario,
        internal_title=_clip(f"{kind} {name} is {state}", MAX_TITLE),
        detail=_clip(detail.state.reason, MAX_DETAIL),
        state=state,
        warnings=warnings,
        drill=drill,
    )


def _alarm_name(name_or_arn: str) -> str:
    return name_or_arn.split(":alarm:", 1)[1] if ":alarm:" in name_or_arn else name_or_arn


def _alarm_components(plan: Plan, name: str, tags: Mapping[str, str] | None) -> tuple[str, ...]:
    found = set(_components_for_alarm_names(plan, [name]))
    if tags:
        for component in plan.components:
            wanted = component.signals.resource_tags
            if wanted and all(tags.get(key) == value for key, value in wanted.items()):
                found.add(component.id)
    return tuple(c.id for c in plan.components if c.id in found)


def _components_for_alarm_names(plan: Plan, names: Iterable[str]) -> tuple[str, ...]:
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


def default_severity(plan: Plan) -> Severity:
    """The least severe level whose impact is not ``none`` (last listed on a tie)."""
    candidates = [s for s in plan.severities if s.impact is not Impact.NONE] or list(plan.severities)
    lowest = min(IMPACT_RANK[s.impact] for s in candidates)
    return [s for s in candidates if IMPACT_RANK[s.impact] == lowest][-1]


# ---------------------------------------------------------------------------------------------
# AWS Health
# ---------------------------------------------------------------------------------------------


def _health(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    event = _parse(raw, HealthEvent, "AWS Health event")
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
    scenario: Scenario | None = None
    status: IncidentStatus | None = None
    severity = default_severity(plan)
    if maintenance:
        quiet = [s for s in plan.severities if s.impact is Impact.NONE]
        severity = quiet[-1] if quiet else severity
        status = "identified"
        scenario = {
            "upcoming": Scenario.MAINTENANCE_SCHEDULED,
            "open": Scenario.MAINTENANCE_IN_PROGRESS,
            "closed": Scenario.MAINTENANCE_COMPLETED,
        }[d.status_code]
    english = [x.latest_description for x in d.event_description if x.language.startswith("en")]
    description = (english or [x.latest_description for x in d.event_description] or [""])[0]
    return Signal(
        event_id=event.id,
        incident_key=f"health:{d.event_arn}",
        source=IncidentSource(type="health", reference=d.event_arn),
        occurred_at=_utc(event.time),
        components=components,
        severity=None if intent == "resolve" else severity.id,
        intent=intent,
        status=status if intent != "resolve" else None,
        scenario=scenario,
        internal_title=_clip(
            f"AWS Health {d.event_type_category} {d.event_type_code} ({service}, {region or 'no region'}) "
            f"is {d.status_code}",
            MAX_TITLE,
        ),
        detail=_clip(description or "", MAX_DETAIL),
        state=d.status_code,
        scheduled_for=_health_time(d.start_time) if maintenance else None,
        scheduled_until=_health_time(d.end_time) if maintenance else None,
    )


def _region_matches(region: str | None, regions: list[str]) -> bool:
    """An empty list means any region; a global event (or one naming none) touches every region."""
    return not regions or region in (None, "global") or region in regions


def _health_time(value: str | None) -> datetime | None:
    """Health writes RFC 1123 dates ("Wed, 31 Jan 2018 22:00:00 GMT"); accept ISO 8601 too."""
    if not value:
        return None
    try:
        return _utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Incident Manager: CloudTrail events and the runbook input
# ---------------------------------------------------------------------------------------------


def _incident_manager(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    event = _parse(raw, IncidentManagerEvent, "Incident Manager CloudTrail event")
    if isinstance(event, Rejection):
        return event
    d = event.detail
    if d.error_code:
        return Rejection(
            "api_call_failed",
            f"{d.event_name} failed in Incident Manager ({d.error_code}: "
            f"{_clip(d.error_message or '', 200)}); "
            "nothing changed, so there is nothing to announce.",
            raw,
        )
    occurred = _utc(event.time)
    if isinstance(d, StartIncidentDetail):
        if d.response_elements is None:
            return Rejection(
                "missing_incident_record",
                "StartIncident has no responseElements.incidentRecordArn, so the incident cannot be "
                "followed. "
                "Check that the trail records management events for ssm-incidents.",
                raw,
            )
        arn = d.response_elements.incident_record_arn
        params = d.request_parameters
        alarms = [item.identifier.value.arn or "" for item in params.related_items]
        if params.trigger_details and params.trigger_details.trigger_arn:
            alarms.append(params.trigger_details.trigger_arn)
        return _im_open(
            plan,
            raw,
            event_id=event.id,
            arn=arn,
            title=params.title,
            impact=params.impact,
            explicit=[],
            resources=alarms,
            occurred_at=occurred,
            how="StartIncident",
        )
    if isinstance(d, UpdateIncidentRecordDetail):
        p = d.request_parameters
        severity, warnings = (None, ()) if p.impact is None else _im_severity(plan, p.impact)
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
            event_id=event.id,
            incident_key=f"incident_manager:{p.arn}",
            source=IncidentSource(type="incident_manager", reference=p.arn),
            occurred_at=occurred,
            components=_tokens(plan, p.title or "")[0],
            severity=severity,
            intent=intent,
            internal_title=_clip(f"Incident Manager record updated: {changed or 'no change'}", MAX_TITLE),
            detail=_clip(p.summary or "", MAX_DETAIL),
            state=p.status,
            warnings=warnings,
        )
    assert isinstance(d, CreateTimelineEventDetail)
    p2 = d.request_parameters
    return Signal(
        event_id=event.id,
        incident_key=f"incident_manager:{p2.incident_record_arn}",
        source=IncidentSource(type="incident_manager", reference=p2.incident_record_arn),
        occurred_at=occurred,
        components=(),
        severity=None,
        intent="record",
        internal_title=_clip(f"Incident Manager timeline: {p2.event_type}", MAX_TITLE),
        detail=_clip(p2.event_data, MAX_DETAIL),
    )


def _runbook(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    runbook = _parse(raw, RunbookInput, "runbook input")
    if isinstance(runbook, Rejection):
        return runbook
    arn = runbook.IncidentRecordArn
    return _im_open(
        plan,
        raw,
        event_id="runbook:" + hashlib.sha256(arn.encode()).hexdigest()[:32],
        arn=arn,
        title=runbook.Title,
        impact=runbook.Impact,
        explicit=runbook.Components,
        resources=runbook.InvolvedResources,
        occurred_at=_utc(runbook.StartedAt or received_at),
        how="runbook",
    )


def _im_open(
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
    unknown = [c for c in explicit if c not in _component_ids(plan)]
    if unknown:
        return _unknown_components(unknown, plan, raw, "Components")
    tokens, unknown_tokens, guessed = _tokens(plan, title or "")
    if unknown_tokens:
        return _unknown_components(unknown_tokens, plan, raw, "the title's component: tokens")
    alarm_names = [_alarm_name(r) for r in resources if ":alarm:" in r]
    from_alarms = _components_for_alarm_names(plan, alarm_names)
    warnings: list[str] = []
    chosen = set(tokens) | set(explicit) | set(from_alarms)
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
            f"from an alarm the plan maps. Component ids: {sorted(_component_ids(plan))}.",
            raw,
        )
    if impact is None:
        severity = default_severity(plan).id
        warnings.append(f"no impact given (the response plan's default applies there); using '{severity}'")
    else:
        severity, extra = _im_severity(plan, impact)
        warnings.extend(extra)
    return Signal(
        event_id=event_id,
        incident_key=f"incident_manager:{arn}",
        source=IncidentSource(type="incident_manager", reference=arn),
        occurred_at=occurred_at,
        components=tuple(c.id for c in plan.components if c.id in chosen),
        severity=severity,
        intent="open",
        internal_title=_clip(f"Incident Manager ({how}): {title or arn}", MAX_TITLE),
        state="OPEN",
        warnings=tuple(warnings),
    )


def _im_severity(plan: Plan, impact: int) -> tuple[str, tuple[str, ...]]:
    for severity in plan.severities:
        if impact in severity.incident_manager_impact:
            return severity.id, ()
    same = [s for s in plan.severities if s.impact is _IM_IMPACT_TO_IMPACT[impact]]
    chosen = same[0] if same else default_severity(plan)
    return chosen.id, (
        f"no severity lists incident_manager_impact {impact}; using '{chosen.id}' (add {impact} to one "
        "severity's incident_manager_impact)",
    )


# ---------------------------------------------------------------------------------------------
# OpsCenter
# ---------------------------------------------------------------------------------------------


def _opsitem(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    event = _parse(raw, OpsItemEvent, "OpsCenter OpsItem event")
    if isinstance(event, Rejection):
        return event
    d = event.detail
    if d.ops_item_type not in (None, "/aws/issue"):
        return Rejection(
            "opsitem_type_not_incident",
            f"OpsItem {d.ops_item_id} is of type {d.ops_item_type}; only /aws/issue OpsItems are incidents. "
            "Filter detail.ops-item-type in the EventBridge rule.",
            raw,
        )
    text = f"{d.title}\n{d.description or ''}"
    tokens, unknown, _ = _tokens(plan, text)
    if unknown:
        return _unknown_components(unknown, plan, raw, "the OpsItem's component: tokens")
    _, _, guessed = _tokens(plan, d.title)
    warnings: list[str] = []
    components = tokens
    if not components and guessed:
        components = guessed
        warnings.append(
            f"components {list(guessed)} were read from words in the title; add 'component:<id>' to the "
            "OpsItem title or description to make this explicit"
        )
    created = event.detail_type == "OpsItem Create"
    status_word = d.status.replace(" ", "").lower()
    intent: Intent
    if status_word == "resolved":
        intent = "resolve"
    elif created:
        intent = "open"
    else:
        intent = "update"
    if not components and intent == "open":
        return Rejection(
            "no_matching_component",
            f"OpsItem {d.ops_item_id} names no plan component. Add 'component:<id>' to its title or "
            f"description. Component ids: {sorted(_component_ids(plan))}.",
            raw,
        )
    severity, sev_warnings = _opsitem_severity(plan, text, d.severity, intent)
    if isinstance(severity, Rejection):
        return Rejection(severity.code, severity.reason, raw)
    warnings.extend(sev_warnings)
    return Signal(
        event_id=event.id,
        incident_key=f"opsitem:{d.ops_item_id}",
        source=IncidentSource(type="opsitem", reference=d.ops_item_id),
        occurred_at=_utc(event.time),
        components=components,
        severity=severity,
        intent=intent,
        status="identified" if status_word == "inprogress" else None,
        internal_title=_clip(f"OpsItem {d.ops_item_id} ({d.status}): {d.title}", MAX_TITLE),
        detail=_clip(d.description or "", MAX_DETAIL),
        state=d.status,
        warnings=tuple(warnings),
    )


def _opsitem_severity(
    plan: Plan, text: str, value: str | None, intent: Intent
) -> tuple[str | Rejection | None, tuple[str, ...]]:
    ids = [s.id for s in plan.severities]
    named = _SEVERITY_TOKEN.findall(text)
    if named:
        if named[0] not in ids:
            return Rejection(
                "unknown_severity",
                f"'severity:{named[0]}' names no plan severity; use one of {ids}.",
            ), ()
        return named[0], ()
    if value and value.strip() in {"1", "2", "3", "4", "5"}:
        return _im_severity(plan, int(value.strip()))
    if intent != "open":
        return None, ()
    return default_severity(plan).id, ()


# ---------------------------------------------------------------------------------------------
# Humans
# ---------------------------------------------------------------------------------------------


def _human_event(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    event = _parse(raw, HumanEvent, "human request event")
    if isinstance(event, Rejection):
        return event
    return _human(event.detail, plan, received_at, raw)


def _human_body(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    request = _parse(raw, HumanRequest, "human request")
    if isinstance(request, Rejection):
        return request
    return _human(request, plan, received_at, raw)


def _human(request: HumanRequest, plan: Plan, received_at: datetime, raw: Any) -> Signal | Rejection:
    unknown = [c for c in request.components if c not in _component_ids(plan)]
    if unknown:
        return _unknown_components(unknown, plan, raw, "components")
    ids = [s.id for s in plan.severities]
    if request.severity is not None and request.severity not in ids:
        return Rejection("unknown_severity", f"'severity' is {request.severity!r}; use one of {ids}.", raw)
    bad_locales = sorted(set(request.note) - set(plan.locale_codes))
    if bad_locales:
        return Rejection(
            "unknown_locale",
            f"'note' has locales {bad_locales} the plan does not declare; use {plan.locale_codes}.",
            raw,
        )
    drill_problem = drill_failures_problem(plan, request.drill, request.drill_failures, request.action)
    if drill_problem is not None:
        return Rejection("invalid_drill_failures", drill_problem, raw)
    resolution = _resolution_details(request, plan, raw)
    if isinstance(resolution, Rejection):
        return resolution
    if request.action in _MAINTENANCE_ACTIONS:
        return _maintenance(request, plan, received_at, raw)
    if request.action == "declare":
        if not request.components:
            return Rejection(
                "missing_components",
                "'components' is empty; a declaration names the affected components, from "
                f"{sorted(_component_ids(plan))}.",
                raw,
            )
        intent: Intent = "open"
    else:
        if request.incident_id is None or not _INCIDENT_ID.match(request.incident_id):
            return Rejection(
                "missing_incident_id",
                f"'incident_id' is {_show(request.incident_id)}; to {request.action} an incident, pass "
                "its id "
                "(inc-YYYYMMDD-HHMM-xxxxxx, as shown when it was declared).",
                raw,
            )
        intent = "resolve" if request.action == "resolve" or request.status == "resolved" else "update"
    severity = request.severity
    if intent == "open" and severity is None:
        severity = default_severity(plan).id
    words = {"declare": "declared", "update": "updated", "resolve": "resolved"}[request.action]
    return Signal(
        event_id=f"human:{request.request_id}",
        incident_key=("drill:" if request.drill else "") + f"human:{request.request_id}",
        source=IncidentSource(type="human", reference=request.principal),
        occurred_at=_utc(request.at or received_at),
        components=tuple(c.id for c in plan.components if c.id in set(request.components)),
        severity=severity,
        intent=intent,
        status=None if intent == "resolve" else request.status,
        scenario=request.scenario,
        internal_title=_clip(request.title or f"{words.capitalize()} by {request.principal}", MAX_TITLE),
        detail=f"{words} by {request.principal}",
        incident_id=request.incident_id,
        public_note=dict(request.note),
        drill=request.drill,
        drill_failures=tuple(dict.fromkeys(request.drill_failures)) if request.action == "declare" else (),
        resolution=resolution,
    )


def _resolution_details(request: HumanRequest, plan: Plan, raw: Any) -> dict[str, LocalizedText] | Rejection:
    """``cause`` / ``fix`` / ``impact`` per locale (one text is the plan's default locale's); resolve only."""
    given = {part: getattr(request, part) for part in RESOLUTION_PARTS if getattr(request, part)}
    if not given:
        return {}
    if request.action != "resolve":
        return Rejection(
            "resolution_details_need_resolve",
            f"{sorted(given)} describe a resolved incident; send them with resolve "
            "(POST /incidents/{id}/resolve, or outage-comms resolve --cause ... --fix ... --impact ...).",
            raw,
        )
    details: dict[str, LocalizedText] = {}
    for part, value in given.items():
        text = {plan.default_locale: value} if isinstance(value, str) else dict(value)
        unknown = sorted(set(text) - set(plan.locale_codes))
        if unknown:
            return Rejection(
                "unknown_locale",
                f"'{part}' has locales {unknown} the plan does not declare; use {plan.locale_codes}.",
                raw,
            )
        details[part] = {code: words.strip() for code, words in text.items() if words.strip()}
    return details


_MAINTENANCE_ACTIONS = frozenset({"schedule_maintenance", "complete_maintenance", "cancel_maintenance"})
#: Said to customers when a person cancels a window without words of their own (the templates
#: already say it was called off: ``maintenance.cancelled``).
_CANCELLED_NOTE = {
    "en": "We will tell you before we plan this work again",
    "pt": "Avisaremos antes de agendar este trabalho de novo",
}


def _maintenance(request: HumanRequest, plan: Plan, received_at: datetime, raw: Any) -> Signal | Rejection:
    """Schedule, complete or cancel a maintenance window (see ``outage_comms.maintenance``)."""
    from outage_comms import maintenance

    now = _utc(received_at)
    source = IncidentSource(type="human", reference=request.principal)
    if request.action != "schedule_maintenance":
        verb = request.action.split("_")[0]
        if request.incident_id is None or not _INCIDENT_ID.match(request.incident_id):
            return Rejection(
                "missing_incident_id",
                f"'incident_id' is {_show(request.incident_id)}; to {verb} a maintenance window, pass its id "
                "(inc-YYYYMMDD-HHMM-xxxxxx, as shown when it was scheduled).",
                raw,
            )
        phase: MaintenancePhase = "completed" if request.action == "complete_maintenance" else "cancelled"
        note = dict(request.note)
        if phase == "cancelled" and not note:
            note = {c: _CANCELLED_NOTE["pt" if c.startswith("pt") else "en"] for c in plan.locale_codes}
        return Signal(
            event_id=f"human:{request.request_id}",
            incident_key=f"human:{request.request_id}",
            source=source,
            occurred_at=_utc(request.at or received_at),
            components=(),
            severity=None,
            intent="resolve",
            internal_title=_clip(request.title or f"Maintenance {phase} by {request.principal}", MAX_TITLE),
            detail=f"maintenance {phase} by {request.principal}",
            incident_id=request.incident_id,
            public_note=note,
            maintenance_phase=phase,
        )
    ids = sorted(_component_ids(plan))
    if not request.components:
        return Rejection(
            "missing_components",
            f"'components' is empty; a maintenance window names the components it affects, from {ids}.",
            raw,
        )
    if request.starts_at is None or request.ends_at is None:
        missing = " and ".join(repr(n) for n in ("starts_at", "ends_at") if getattr(request, n) is None)
        return Rejection(
            "missing_window",
            f"{missing} missing; a maintenance window needs both, as ISO 8601 times with a zone, "
            "e.g. 2026-12-01T02:00:00Z.",
            raw,
        )
    starts_at, ends_at = _utc(request.starts_at), _utc(request.ends_at)
    if starts_at < now + timedelta(minutes=maintenance.MIN_LEAD_MINUTES):
        return Rejection(
            "window_in_past",
            f"'starts_at' is {starts_at.isoformat()}, which is in the past or less than "
            f"{maintenance.MIN_LEAD_MINUTES} minutes from now ({now.isoformat()}). Pick a later start; for "
            "work already under way, declare an incident with scenario maintenance_in_progress.",
            raw,
        )
    if ends_at <= starts_at:
        return Rejection(
            "window_end_before_start",
            f"'ends_at' ({ends_at.isoformat()}) is not after 'starts_at' ({starts_at.isoformat()}); "
            "the window must end after it starts.",
            raw,
        )
    if ends_at - starts_at > timedelta(days=maintenance.MAX_WINDOW_DAYS):
        return Rejection(
            "window_too_long",
            f"The window lasts {ends_at - starts_at}, more than {maintenance.MAX_WINDOW_DAYS} days; "
            "split the work into several windows.",
            raw,
        )
    if starts_at - now > timedelta(days=maintenance.MAX_LEAD_DAYS):
        return Rejection(
            "window_too_far",
            f"'starts_at' ({starts_at.isoformat()}) is more than {maintenance.MAX_LEAD_DAYS} days ahead; "
            "schedule the window closer to the date.",
            raw,
        )
    return Signal(
        event_id=f"human:{request.request_id}",
        incident_key=f"maintenance:{request.request_id}",
        source=source,
        occurred_at=now,
        components=tuple(c.id for c in plan.components if c.id in set(request.components)),
        severity=request.severity or maintenance.least_severe(plan),
        intent="open",
        status="identified",
        scenario=Scenario.MAINTENANCE_SCHEDULED,
        internal_title=_clip(request.title or f"Maintenance scheduled by {request.principal}", MAX_TITLE),
        detail=f"maintenance scheduled by {request.principal}",
        public_note=dict(request.note),
        scheduled_for=starts_at,
        scheduled_until=ends_at,
        maintenance_phase="scheduled",
        drill=request.drill,  # a drilled window speaks only to the drill audience, like a drill incident
    )


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


def _parse(raw: dict[str, Any], model: type[M], what: str) -> M | Rejection:
    try:
        return parse(event=raw, model=model)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        refused = [
            e["ctx"]["error"] for e in errors if isinstance(e.get("ctx", {}).get("error"), HumanTextError)
        ]
        if refused:
            return Rejection("invalid_text", f"{refused[0]}.", raw)
        shown = []
        for error in errors[:3]:
            where = format_path(str(part) if not isinstance(part, int) else part for part in error["loc"])
            shown.append(f"'{where or '<root>'}': {error['msg']} (got {_json_type(error.get('input'))})")
        more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
        return Rejection(
            "invalid_event",
            f"Not a valid {what}: {'; '.join(shown)}{more}. Send the event as AWS documents it (see "
            "tests/fixtures/events for examples).",
            raw,
        )


def _tokens(plan: Plan, text: str) -> tuple[tuple[str, ...], list[str], tuple[str, ...]]:
    """(known ``component:<id>`` tokens, unknown token ids, plan ids written as whole words)."""
    ids = _component_ids(plan)
    named = _COMPONENT_TOKEN.findall(text)
    known = tuple(c.id for c in plan.components if c.id in set(named))
    unknown = sorted({n for n in named if n not in ids})
    lowered = _COMPONENT_TOKEN.sub(" ", text).lower()
    guessed = tuple(
        c.id for c in plan.components if re.search(rf"(?<![\w-]){re.escape(c.id)}(?![\w-])", lowered)
    )
    return known, unknown, guessed


def _unknown_components(unknown: list[str], plan: Plan, raw: Any, where: str) -> Rejection:
    return Rejection(
        "unknown_component",
        f"{where} name {unknown}, which the plan does not define; use ids from "
        f"{sorted(_component_ids(plan))}.",
        raw,
    )


def _component_ids(plan: Plan) -> set[str]:
    return {c.id for c in plan.components}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    if value is None:
        return "missing"
    return _clip(json.dumps(value, default=str), 80)
