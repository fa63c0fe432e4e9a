"""People: declare, update or resolve an incident, or schedule, complete or cancel a maintenance
window, through the incident API (its body) or over EventBridge (``outage-comms.human``).

Humans name components, severity, scenario and status directly. Every text they write passes
:mod:`outage_comms.human_text` at the door (``HumanRequest``): a refusal names the field and limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from outage_comms.drill_mode import drill_failures_problem
from outage_comms.human_text import check_text
from outage_comms.incident import RESOLUTION_PARTS, IncidentSource, LocalizedText
from outage_comms.intake.signal import MAX_TITLE, Intent, Rejection, Signal, default_severity
from outage_comms.intake.sources.common import (
    INCIDENT_ID,
    clip,
    component_ids,
    parse_event,
    show,
    unknown_components,
    utc,
)
from outage_comms.intake.sources.human_maintenance import maintenance_signal
from outage_comms.intake.sources.spec import SourceSpec
from outage_comms.plan import Plan
from outage_comms.vocabulary import Scenario

#: The most characters a person may write per field (after NFC). Titles are internal; a note is
#: what customers read, per locale, and every channel renders it (SMS splits it, social posts cut it).
TITLE_LIMIT = 300
NOTE_LIMIT = 2000
REQUEST_ID_LIMIT = 128
#: Short identifiers people type (component, severity, channel ids; the incident id).
ID_LIMIT = 64
MAINTENANCE_ACTIONS = frozenset({"schedule_maintenance", "complete_maintenance", "cancel_maintenance"})


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


# ---------------------------------------------------------------------------------------------
# The mapping
# ---------------------------------------------------------------------------------------------


def event_to_signal(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    event = parse_event(raw, HumanEvent, "human request event")
    if isinstance(event, Rejection):
        return event
    return request_to_signal(event.detail, plan, received_at, raw)


def body_to_signal(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    request = parse_event(raw, HumanRequest, "human request")
    if isinstance(request, Rejection):
        return request
    return request_to_signal(request, plan, received_at, raw)


def request_to_signal(
    request: HumanRequest, plan: Plan, received_at: datetime, raw: Any
) -> Signal | Rejection:
    problem = _refusal(request, plan, raw)
    if problem is not None:
        return problem
    resolution = _resolution_details(request, plan, raw)
    if isinstance(resolution, Rejection):
        return resolution
    if request.action in MAINTENANCE_ACTIONS:
        return maintenance_signal(request, plan, received_at, raw)
    if request.action == "declare":
        if not request.components:
            return Rejection(
                "missing_components",
                "'components' is empty; a declaration names the affected components, from "
                f"{sorted(component_ids(plan))}.",
                raw,
            )
        intent: Intent = "open"
    else:
        if request.incident_id is None or not INCIDENT_ID.match(request.incident_id):
            return Rejection(
                "missing_incident_id",
                f"'incident_id' is {show(request.incident_id)}; to {request.action} an incident, pass "
                "its id "
                "(inc-YYYYMMDD-HHMM-xxxxxx, as shown when it was declared).",
                raw,
            )
        intent = "resolve" if request.action == "resolve" or request.status == "resolved" else "update"
    return _signal(request, plan, received_at, intent, resolution)


def _refusal(request: HumanRequest, plan: Plan, raw: Any) -> Rejection | None:
    """What the plan refuses in a request whatever its action: unknown ids, locales, drill failures."""
    unknown = [c for c in request.components if c not in component_ids(plan)]
    if unknown:
        return unknown_components(unknown, plan, raw, "components")
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
    return None


def _signal(
    request: HumanRequest,
    plan: Plan,
    received_at: datetime,
    intent: Intent,
    resolution: dict[str, LocalizedText],
) -> Signal:
    severity = request.severity
    if intent == "open" and severity is None:
        severity = default_severity(plan).id
    words = {"declare": "declared", "update": "updated", "resolve": "resolved"}[request.action]
    return Signal(
        event_id=f"human:{request.request_id}",
        incident_key=("drill:" if request.drill else "") + f"human:{request.request_id}",
        source=IncidentSource(type="human", reference=request.principal),
        occurred_at=utc(request.at or received_at),
        components=tuple(c.id for c in plan.components if c.id in set(request.components)),
        severity=severity,
        intent=intent,
        status=None if intent == "resolve" else request.status,
        scenario=request.scenario,
        internal_title=clip(request.title or f"{words.capitalize()} by {request.principal}", MAX_TITLE),
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


SPEC = SourceSpec(
    name="human",
    label="person (incident API)",
    event_source="outage-comms.human",
    normalise=event_to_signal,
    direct_key="action",
    direct_label="human request",
    normalise_direct=body_to_signal,
    # No rule: people reach intake through the incident API; an EventBridge relay brings its own rule.
    identifies_incident=False,
)
