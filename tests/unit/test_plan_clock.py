"""outage_comms.clock: real UTC in production; the plan clock only where the embedded harness sets it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from outage_comms import clock
from outage_comms.clock import PLAN_CLOCK_ENV, PlanClock, execution_clock

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def test_without_the_variable_it_is_real_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PLAN_CLOCK_ENV, raising=False)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=2)
    assert execution_clock() == {}


def test_a_plan_clock_maps_wall_seconds_to_plan_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    plan_clock = PlanClock(START, wall_anchor=1000.0, seconds_per_minute=0.5)
    assert plan_clock.at(1000.0) == START
    assert plan_clock.at(1022.5) == START + timedelta(minutes=45)  # 22.5 s at 0.5 s per minute
    monkeypatch.setenv(PLAN_CLOCK_ENV, plan_clock.to_env())
    assert execution_clock() == {"clock": {"seconds_per_minute": 0.5}}
    frozen = PlanClock(START, 1000.0, 0.5, frozen=START + timedelta(minutes=3))
    monkeypatch.setenv(PLAN_CLOCK_ENV, frozen.to_env())
    assert clock.now() == START + timedelta(minutes=3)  # while the deployment works, time stands still


@pytest.mark.parametrize(
    "value", ["", "yes", "{}", '{"anchor": "2026-03-10T14:00:00", "wall_anchor": 1, "seconds_per_minute": 1}']
)
def test_a_malformed_value_means_real_utc(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(PLAN_CLOCK_ENV, value)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=2)


def test_nothing_a_deployment_or_a_plan_is_built_from_sets_the_plan_clock() -> None:
    # Only the embedded harness (CLI, never packaged into a function) names the variable
    places = [
        *(ROOT / "stacks").rglob("*.py"),
        *(ROOT / "lambdas").rglob("*.py"),
        *(ROOT / "plans").rglob("*"),
    ]
    naming = [p for p in places if p.is_file() and PLAN_CLOCK_ENV in p.read_text(errors="replace")]
    assert naming == [ROOT / "lambdas" / "outage_comms" / "clock.py"]
    assert "PLAN_CLOCK" not in (ROOT / "lambdas" / "outage_comms" / "plan.py").read_text()
