"""What every intake source produces: a ``Signal`` (what happened, to which components, how badly) or a
``Rejection`` (why the event cannot become part of an incident).

Pure data and the plan's one shared severity rule; the sources that make them are in
:mod:`outage_comms.intake.sources`, the dispatcher in :mod:`outage_comms.intake.normalise`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from outage_comms.human_text import clean_text
from outage_comms.incident import (
    IMPACT_RANK,
    IncidentSource,
    IncidentStatus,
    LocalizedText,
    MaintenancePhase,
)
from outage_comms.plan import Plan, Severity
from outage_comms.vocabulary import Impact, Scenario

Intent = Literal["open", "update", "resolve", "record"]

MAX_TITLE = 300
MAX_DETAIL = 2000


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


def default_severity(plan: Plan) -> Severity:
    """The least severe level whose impact is not ``none`` (last listed on a tie)."""
    candidates = [s for s in plan.severities if s.impact is not Impact.NONE] or list(plan.severities)
    lowest = min(IMPACT_RANK[s.impact] for s in candidates)
    return [s for s in candidates if IMPACT_RANK[s.impact] == lowest][-1]


# Words every source uses in its Signals and Rejections.


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def show(value: Any) -> str:
    if value is None:
        return "missing"
    return clip(json.dumps(value, default=str), 80)
