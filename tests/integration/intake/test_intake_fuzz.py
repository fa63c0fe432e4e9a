"""Hypothesis: whatever arrives on the intake queue, no exception escapes the handler, no record fails,
and every rejected event reaches the rejected queue with a reason."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from handlers.intake import handler
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intake_harness import EVENTS, FakeContext, IntakeWorld, create_world, example_plan, load_event, sqs_batch
from moto import mock_aws

from outage_comms.intake.runtime import IntakeDependencies

pytestmark = pytest.mark.integration

NAMES = sorted(p.stem for p in EVENTS.glob("*.json"))
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
PLAUSIBLE = st.sampled_from(
    ["ALARM", "OK", "closed", "open", "RESOLVED", "Resolved", "component:sync", "sync", ""]
)


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
def bodies(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["mutated", "mutated", "random", "text"]))
    if kind == "text":
        return draw(st.text(max_size=60))
    if kind == "random":
        return json.dumps(draw(JSON))
    event = copy.deepcopy(load_event(draw(st.sampled_from(NAMES))))
    where = draw(st.sampled_from(paths(event)[1:]))
    parent = event
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = draw(JSON | PLAUSIBLE)
    return json.dumps(event)


@pytest.fixture(scope="module")
def fuzz_world() -> Iterator[tuple[IntakeWorld, IntakeDependencies]]:
    with mock_aws():
        world = create_world()
        yield world, world.dependencies(example_plan())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(bodies(), min_size=1, max_size=5))
def test_no_event_escapes_the_handler_and_every_rejection_has_a_reason(
    fuzz_world: tuple[IntakeWorld, IntakeDependencies], batch: list[Any]
) -> None:
    world, dependencies = fuzz_world
    response = handler(sqs_batch(batch), FakeContext(), dependencies=dependencies)
    assert response == {"batchItemFailures": []}
    for message in world.drain(world.rejected_queue_url):
        attributes = message["MessageAttributes"]
        assert attributes["rejection_code"]["StringValue"]
        assert len(attributes["rejection_reason"]["StringValue"]) > 20
