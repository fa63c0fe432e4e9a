"""Integration fixtures: the intake's AWS on moto, the example plan, real adapters."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lambdas"))

from intake_harness import IntakeWorld, create_world, example_plan, set_environment

set_environment()  # before any handler module creates its Powertools singletons

from outage_comms.intake.runtime import IntakeDependencies  # noqa: E402
from outage_comms.plan import Plan  # noqa: E402


@pytest.fixture(scope="session")
def plan() -> Plan:
    return example_plan()


@pytest.fixture
def world() -> Iterator[IntakeWorld]:
    with mock_aws():
        yield create_world()


@pytest.fixture
def dependencies(world: IntakeWorld, plan: Plan) -> IntakeDependencies:
    return world.dependencies(plan)
