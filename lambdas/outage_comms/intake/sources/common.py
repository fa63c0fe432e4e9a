"""What several sources share: reading an event with its model, the plan's component and severity
words, and the small text helpers every mapping uses. Pure."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from outage_comms.human_text import HumanTextError
from outage_comms.intake.signal import Rejection, clip, default_severity, json_type, show, utc
from outage_comms.plan import Plan, format_path
from outage_comms.vocabulary import Impact

M = TypeVar("M", bound=BaseModel)

__all__ = ["clip", "json_type", "show", "utc"]  # re-exported for the source modules

ImpactLevel = Annotated[int, Field(ge=1, le=5, description="Incident Manager impact: 1 critical .. 5 none")]

COMPONENT_TOKEN = re.compile(r"(?<![\w-])component:([a-z][a-z0-9-]{0,62})(?![\w-])")
SEVERITY_TOKEN = re.compile(r"(?<![\w-])severity:([a-z][a-z0-9-]{0,62})(?![\w-])")
INCIDENT_ID = re.compile(r"^inc-\d{8}-\d{4}-[0-9a-f]{6}$")
_IM_IMPACT_TO_IMPACT = {1: Impact.CRITICAL, 2: Impact.MAJOR, 3: Impact.MINOR, 4: Impact.MINOR, 5: Impact.NONE}


class EventDetail(BaseModel):
    """Base for ``detail`` payloads: extra fields ignored, names by alias or attribute."""

    model_config = ConfigDict(defer_build=True, extra="ignore", populate_by_name=True, frozen=True)


def parse_event(raw: dict[str, Any], model: type[M], what: str) -> M | Rejection:
    """``raw`` read with the Powertools Parser ``model``, or a Rejection naming what is wrong."""
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
            shown.append(f"'{where or '<root>'}': {error['msg']} (got {json_type(error.get('input'))})")
        more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
        return Rejection(
            "invalid_event",
            f"Not a valid {what}: {'; '.join(shown)}{more}. Send the event as AWS documents it (see "
            "tests/fixtures/events for examples).",
            raw,
        )


def tokens(plan: Plan, text: str) -> tuple[tuple[str, ...], list[str], tuple[str, ...]]:
    """(known ``component:<id>`` tokens, unknown token ids, plan ids written as whole words)."""
    ids = component_ids(plan)
    named = COMPONENT_TOKEN.findall(text)
    known = tuple(c.id for c in plan.components if c.id in set(named))
    unknown = sorted({n for n in named if n not in ids})
    lowered = COMPONENT_TOKEN.sub(" ", text).lower()
    guessed = tuple(
        c.id for c in plan.components if re.search(rf"(?<![\w-]){re.escape(c.id)}(?![\w-])", lowered)
    )
    return known, unknown, guessed


def unknown_components(unknown: list[str], plan: Plan, raw: Any, where: str) -> Rejection:
    return Rejection(
        "unknown_component",
        f"{where} name {unknown}, which the plan does not define; use ids from "
        f"{sorted(component_ids(plan))}.",
        raw,
    )


def component_ids(plan: Plan) -> set[str]:
    return {c.id for c in plan.components}


def im_severity(plan: Plan, impact: int) -> tuple[str, tuple[str, ...]]:
    """The plan severity for an Incident Manager impact (1-5), with a warning when none lists it."""
    for severity in plan.severities:
        if impact in severity.incident_manager_impact:
            return severity.id, ()
    same = [s for s in plan.severities if s.impact is _IM_IMPACT_TO_IMPACT[impact]]
    chosen = same[0] if same else default_severity(plan)
    return chosen.id, (
        f"no severity lists incident_manager_impact {impact}; using '{chosen.id}' (add {impact} to one "
        "severity's incident_manager_impact)",
    )
