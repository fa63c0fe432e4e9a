"""OpsCenter OpsItems of type ``/aws/issue``, created or updated.

Components from ``component:<id>`` tokens in the title or description, else ids as whole words in
the title. Severity: a ``severity:<id>`` token, else the OpsItem ``severity`` (1-4) read on the
Incident Manager impact scale, else the default. ``Resolved`` resolves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import ConfigDict, Field

from outage_comms.incident import IncidentSource
from outage_comms.intake.signal import MAX_DETAIL, MAX_TITLE, Intent, Rejection, Signal, default_severity
from outage_comms.intake.sources.common import (
    SEVERITY_TOKEN,
    EventDetail,
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


def to_signal(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    event = parse_event(raw, OpsItemEvent, "OpsCenter OpsItem event")
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
    named, unknown, _ = tokens(plan, text)
    if unknown:
        return unknown_components(unknown, plan, raw, "the OpsItem's component: tokens")
    _, _, guessed = tokens(plan, d.title)
    warnings: list[str] = []
    components = named
    if not components and guessed:
        components = guessed
        warnings.append(
            f"components {list(guessed)} were read from words in the title; add 'component:<id>' to the "
            "OpsItem title or description to make this explicit"
        )
    status_word = d.status.replace(" ", "").lower()
    intent: Intent
    if status_word == "resolved":
        intent = "resolve"
    elif event.detail_type == "OpsItem Create":
        intent = "open"
    else:
        intent = "update"
    if not components and intent == "open":
        return Rejection(
            "no_matching_component",
            f"OpsItem {d.ops_item_id} names no plan component. Add 'component:<id>' to its title or "
            f"description. Component ids: {sorted(component_ids(plan))}.",
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
        occurred_at=utc(event.time),
        components=components,
        severity=severity,
        intent=intent,
        status="identified" if status_word == "inprogress" else None,
        internal_title=clip(f"OpsItem {d.ops_item_id} ({d.status}): {d.title}", MAX_TITLE),
        detail=clip(d.description or "", MAX_DETAIL),
        state=d.status,
        warnings=tuple(warnings),
    )


def _opsitem_severity(
    plan: Plan, text: str, value: str | None, intent: Intent
) -> tuple[str | Rejection | None, tuple[str, ...]]:
    ids = [s.id for s in plan.severities]
    named = SEVERITY_TOKEN.findall(text)
    if named:
        if named[0] not in ids:
            return Rejection(
                "unknown_severity",
                f"'severity:{named[0]}' names no plan severity; use one of {ids}.",
            ), ()
        return named[0], ()
    if value and value.strip() in {"1", "2", "3", "4", "5"}:
        return im_severity(plan, int(value.strip()))
    if intent != "open":
        return None, ()
    return default_severity(plan).id, ()


def rule_pattern(plan: Plan) -> RulePattern:
    return {
        "source": ["aws.ssm"],
        "detail-type": ["OpsItem Create", "OpsItem Update"],
        "detail": {"$or": [{"ops-item-type": ["/aws/issue"]}, {"ops-item-type": [{"exists": False}]}]},
    }


SPEC = SourceSpec(
    name="opsitem",
    label="OpsCenter OpsItem",
    event_source="aws.ssm",
    normalise=to_signal,
    rule=EventRule(
        construct_id="OpsItems",
        description="Outage Comms: OpsCenter issues created or updated",
        pattern=rule_pattern,
    ),
)
