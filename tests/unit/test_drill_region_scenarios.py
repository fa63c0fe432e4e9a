"""Scenario actions region_outage / region_recovery: validated against the plan's engine regions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from outage_comms.plan import Plan, load_plan
from outage_comms_cli.drills.scenario import (
    DEFAULT_SCENARIO,
    REGION_STEPS,
    RegionOutageStep,
    RegionRecoveryStep,
    ScenarioError,
    parse_scenario,
    region_name,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def two_regions() -> Plan:
    return load_plan(ROOT / "tests" / "fixtures" / "two_region_plan.yaml")


@pytest.fixture(scope="module")
def one_region() -> Plan:
    return load_plan(ROOT / "plans" / "example.yaml")


def default_with(*extra: dict[str, Any]) -> dict[str, Any]:
    """The shipped default story with region events slotted in by time."""
    import yaml

    data: dict[str, Any] = yaml.safe_load(DEFAULT_SCENARIO.read_text())
    data["events"] = sorted([*data["events"], *extra], key=lambda e: float(str(e["at"]).rstrip("m")))
    return data


OUTAGE = {"at": "10m", "action": "region_outage", "region": "primary"}
RECOVERY = {"at": "40m", "action": "region_recovery", "region": "primary"}


def problems(data: dict[str, Any], plan: Plan | None = None) -> list[tuple[str, str, str]]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "game.yaml", plan)
    return [(p.path, p.message, p.fix) for p in caught.value.problems]


def test_the_default_story_with_an_outage_at_10_and_recovery_at_40_validates(two_regions: Plan) -> None:
    scenario = parse_scenario(default_with(OUTAGE, RECOVERY), "game.yaml", two_regions)
    outage, recovery = [e for e in scenario.events if isinstance(e, REGION_STEPS)]
    assert isinstance(outage, RegionOutageStep) and isinstance(recovery, RegionRecoveryStep)
    assert (outage.at, recovery.at) == (10.0, 40.0)
    assert region_name(two_regions, outage.region) == "eu-west-1"
    assert region_name(two_regions, "standby") == "eu-central-1"
    assert region_name(two_regions, "eu-central-1") == "eu-central-1"


def test_a_region_the_plan_does_not_run_in_is_named_with_the_allowed_ones(two_regions: Plan) -> None:
    found = problems(default_with({**OUTAGE, "region": "us-east-1"}), two_regions)
    assert found == [
        (
            "events[1].region",
            "'us-east-1' is not one of the plan's engine regions",
            "use one of primary (eu-west-1), standby (eu-central-1)",
        )
    ]


def test_a_one_region_plan_cannot_lose_a_region(one_region: Plan) -> None:
    ((path, message, fix), _) = problems(default_with(OUTAGE, RECOVERY), one_region)
    assert path == "events[1].region" and "two engine regions" in message and "regions:" in fix


def test_recovery_without_an_outage_and_a_second_outage_are_story_problems() -> None:
    found = problems(default_with(RECOVERY))
    assert found[0][0] == "events[2].region" and "no earlier region_outage" in found[0][1]
    twice = problems(default_with(OUTAGE, {**OUTAGE, "at": "20m"}))
    assert twice[0][:2] == ("events[2].region", "'primary' is already down")


def test_region_events_may_follow_the_resolution_but_a_person_may_not() -> None:
    late_recovery = {**RECOVERY, "at": "50m"}
    parse_scenario(default_with(OUTAGE, late_recovery))  # the region recovers after the resolve: fine
    data = default_with(OUTAGE)
    data["events"].append({"at": "60m", "action": "update", "scenario": "monitoring"})
    assert any(message == "events follow the resolution" for _, message, _ in problems(data))


def test_an_unknown_field_on_a_region_event_points_at_it_without_the_tag() -> None:
    found = problems(default_with({**OUTAGE, "regoin": "primary"}))
    assert ("events[1].regoin", "unknown field 'regoin'") in [(p, m) for p, m, _ in found]
