"""A trigger source added in one place: registered here, in this test alone (no product file names it),
it is normalised, coalesced into an incident by the real intake handler on moto, expected during a
maintenance window like the AWS sources, and the intake stack synthesizes its EventBridge rule.

The source is an uptime monitor that puts "Check State Change" events on the default bus.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from handlers.intake import handler
from intake_harness import FakeContext, IntakeWorld, sqs_batch
from pydantic import BaseModel, ConfigDict, Field

from outage_comms.incident import IncidentSource
from outage_comms.intake import sources
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Rejection, Signal, to_signal
from outage_comms.intake.runtime import IntakeDependencies
from outage_comms.intake.sources.common import parse_event
from outage_comms.plan import Plan

pytestmark = pytest.mark.integration

NAME = "uptime_check"
EVENT_SOURCE = "example.uptime"


class CheckDetail(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore", populate_by_name=True)
    check_id: str = Field(alias="checkId", min_length=1)
    component: str
    status: Literal["down", "up"]


class CheckEvent(EventBridgeModel):
    model_config = ConfigDict(defer_build=True)
    source: Literal["example.uptime"]
    detail_type: Literal["Check State Change"] = Field(alias="detail-type")
    detail: CheckDetail


def check_to_signal(raw: dict[str, Any], plan: Plan, received_at: datetime) -> Signal | Rejection:
    event = parse_event(raw, CheckEvent, "uptime check event")
    if isinstance(event, Rejection):
        return event
    d = event.detail
    if d.component not in {c.id for c in plan.components}:
        return Rejection("no_matching_component", f"check {d.check_id} names no plan component", raw)
    return Signal(
        event_id=event.id,
        incident_key=f"{NAME}:{d.check_id}:{event.time.isoformat()}",
        source=IncidentSource(type=NAME, reference=d.check_id),
        occurred_at=event.time,
        components=(d.component,),
        severity=None,
        intent="open" if d.status == "down" else "resolve",
        internal_title=f"Uptime check {d.check_id} is {d.status}",
        state=d.status,
    )


def check_rule(plan: Plan) -> dict[str, Any]:
    return {
        "source": [EVENT_SOURCE],
        "detail-type": ["Check State Change"],
        "detail": {"component": [c.id for c in plan.components]},
    }


SPEC = sources.SourceSpec(
    name=NAME,
    label="uptime check",
    event_source=EVENT_SOURCE,
    normalise=check_to_signal,
    rule=sources.EventRule(construct_id="UptimeChecks", description="Uptime checks", pattern=check_rule),
    expected_in_maintenance=True,
)


@pytest.fixture
def registered() -> Iterator[sources.SourceSpec]:
    sources.register(SPEC)
    yield SPEC
    sources.unregister(NAME)


def check_event(
    check_id: str, status: str, *, component: str = "sync", at: str = "2026-11-27T14:30:00Z"
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"evt-{check_id}-{status}-{at}",
        "detail-type": "Check State Change",
        "source": EVENT_SOURCE,
        "account": "123456789012",
        "time": at,
        "region": "us-east-1",
        "resources": [],
        "detail": {"checkId": check_id, "component": component, "status": status},
    }


def run(dependencies: IntakeDependencies, bodies: list[Any]) -> dict[str, Any]:
    return handler(sqs_batch(bodies), FakeContext(), dependencies=dependencies)


def test_before_registration_its_events_are_rejected_as_an_unknown_source(plan: Plan) -> None:
    rejected = to_signal(check_event("chk-1", "down"), plan)
    assert isinstance(rejected, Rejection) and rejected.code == "unknown_source"
    assert EVENT_SOURCE not in rejected.reason.split("intake accepts", 1)[1]


def test_a_registered_source_is_normalised(registered: sources.SourceSpec, plan: Plan) -> None:
    signal = to_signal(check_event("chk-1", "down"), plan)
    assert isinstance(signal, Signal), signal
    assert (signal.source.type, signal.source.reference, signal.components, signal.intent) == (
        NAME,
        "chk-1",
        ("sync",),
        "open",
    )
    # its events are read with its own model: a bad one is refused naming the field
    bad = check_event("chk-1", "sideways")
    rejected = to_signal(bad, plan)
    assert isinstance(rejected, Rejection) and rejected.code == "invalid_event"
    assert "detail.status" in rejected.reason
    # and the door's refusal of unknown sources now lists it
    other = to_signal({**bad, "source": "example.other"}, plan)
    assert isinstance(other, Rejection) and EVENT_SOURCE in other.reason.split("intake accepts", 1)[1]


def test_the_intake_handler_opens_one_incident_and_the_next_check_event_follows_it(
    registered: sources.SourceSpec, world: IntakeWorld, dependencies: IntakeDependencies
) -> None:
    assert run(dependencies, [check_event("chk-1", "down")]) == {"batchItemFailures": []}
    (incident,) = dependencies.incidents.list_recent()
    assert (incident.source.type, incident.components, incident.status) == (NAME, ("sync",), "investigating")
    assert [e["name"] for e in world.executions()] == [incident.id]
    # the same check coming back up resolves the incident it opened (found by its reference)
    up = check_event("chk-1", "up", at="2026-11-27T14:40:00Z")
    assert run(dependencies, [up]) == {"batchItemFailures": []}
    (resolved,) = dependencies.incidents.list_recent()
    assert (resolved.id, resolved.status) == (incident.id, "resolved")
    assert [entry.source.type for entry in resolved.timeline] == [NAME, NAME]
    assert world.drain(world.rejected_queue_url) == []


def test_during_a_running_maintenance_window_its_signal_is_expected(
    registered: sources.SourceSpec, plan: Plan
) -> None:
    window = to_signal(
        {
            "action": "schedule_maintenance",
            "request_id": "req-window",
            "principal": "arn:aws:iam::123456789012:user/ops",
            "components": ["sync"],
            "starts_at": "2026-11-27T14:00:00Z",
            "ends_at": "2026-11-27T16:00:00Z",
        },
        plan,
        received_at=datetime.fromisoformat("2026-11-27T13:00:00+00:00"),
    )
    assert isinstance(window, Signal), window
    opened = decide(window, {}, plan, window.occurred_at).incident
    assert opened is not None
    running = opened.evolve(maintenance_phase="in_progress")
    down = to_signal(check_event("chk-2", "down"), plan)
    assert isinstance(down, Signal)
    decision = decide(down, {"sync": running}, plan, down.occurred_at)
    assert (decision.kind, decision.announce) == ("record", False)
    assert decision.incident is not None and decision.incident.id == running.id
    assert decision.incident.timeline[-1].kind == "expected"
    # a source that does not declare itself expected during maintenance opens its own incident
    quiet = sources.SourceSpec(**{**SPEC.__dict__, "expected_in_maintenance": False})
    sources.unregister(NAME)
    sources.register(quiet)
    assert decide(down, {"sync": running}, plan, down.occurred_at).kind == "open"


def test_the_intake_stack_synthesizes_its_rule_next_to_the_built_in_ones(
    registered: sources.SourceSpec, plan: Plan
) -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_sqs as sqs
    from aws_cdk.assertions import Match, Template

    from outage_comms_cdk.constructs.intake import source_rules

    stack = Stack(App(), "Rules")
    queue, dead_letters = sqs.Queue(stack, "Queue"), sqs.Queue(stack, "DeadLetters")
    rules = source_rules(stack, plan, queue=queue, dead_letter_queue=dead_letters)
    assert list(rules) == ["alarm", "health", "incident_manager", "opsitem", NAME]  # people have no rule
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Events::Rule", 5)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Description": "Uptime checks",
            "EventPattern": {
                "source": [EVENT_SOURCE],
                "detail-type": ["Check State Change"],
                "detail": {"component": [c.id for c in plan.components]},
            },
            "Targets": [Match.object_like({"DeadLetterConfig": Match.any_value()})],
        },
    )


def test_the_intake_functions_assets_ship_every_built_in_source() -> None:
    """The registry imports its built-in sources inside a function (cheap cold import): the asset builder
    must still see them, or the deployed intake could read no event."""
    from outage_comms_cdk.lambda_asset import handler_closure

    for entry in ("handlers.intake.handler", "handlers.incident_api.handler"):
        shipped = {path for path, _ in handler_closure(entry).own_files}
        missing = [n for n in sources.built_in() if f"outage_comms/intake/sources/{n}.py" not in shipped]
        assert not missing, (entry, missing)
