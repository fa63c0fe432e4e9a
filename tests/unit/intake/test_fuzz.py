"""No JSON input makes intake raise, and every rejection says why."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outage_comms.intake.normalise import Rejection, Signal, to_signal
from outage_comms.intake.triage import triage
from outage_comms.plan import Plan, load_plan

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "tests" / "fixtures" / "events"
PLAN: Plan = load_plan(ROOT / "plans" / "example.yaml")
NAMES = sorted(p.stem for p in EVENTS.glob("*.json"))


def load_event(name: str) -> Any:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# Values that look like the real thing, so mutations reach deep into the mapping rules.
PLAUSIBLE = st.sampled_from(
    [
        "ALARM",
        "OK",
        "INSUFFICIENT_DATA",
        "open",
        "closed",
        "upcoming",
        "issue",
        "scheduledChange",
        "RESOLVED",
        "OPEN",
        "Resolved",
        "InProgress",
        "sync",
        "component:sync",
        "component:nope",
        "severity:sev1",
        "sev9",
        "",
        "global",
        "DYNAMODB",
        "2026-11-27T14:05:00Z",
        "Fri, 27 Nov 2026 14:09:00 GMT",
        "arn:aws:cloudwatch:x:1:alarm:api-1",
    ]
) | st.integers(min_value=-2, max_value=7)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    raw = copy.deepcopy(load_event(draw(st.sampled_from(NAMES))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        targets = [p for p in paths(raw) if p]
        if not targets:
            return draw(JSON)
        path = draw(st.sampled_from(targets))
        parent = raw
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["delete", "replace", "plausible"]))
        if action == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON if action == "replace" else PLAUSIBLE)
    return raw


def check(raw: Any) -> None:
    result = to_signal(raw, PLAN)
    assert isinstance(result, Signal | Rejection)
    if isinstance(result, Rejection):
        assert result.reason.strip() and result.code
        assert result.code != "internal_error", result.reason
    outcome = triage(raw, PLAN)
    json.dumps(outcome)
    assert ("incident" in outcome) != ("rejected" in outcome)
    if "rejected" in outcome:
        assert outcome["rejected"]["reason"].strip()
        assert outcome["rejected"]["code"] != "internal_error", outcome["rejected"]["reason"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_arbitrary_json_never_raises(raw: Any) -> None:
    check(raw)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_events())
def test_mutated_documented_events_never_raise(raw: Any) -> None:
    check(raw)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(NAMES), st.sampled_from(["source", "detail-type", "detail", "id", "time"]), JSON)
def test_envelope_fields_of_any_type_are_rejected_not_raised(name: str, field: str, value: Any) -> None:
    raw = load_event(name)
    raw[field] = value
    check(raw)
