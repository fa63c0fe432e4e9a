"""Game-day scenarios for the CLI: the shipped ones, and the scenario model (re-exported).

The model, its validation and ``lint_scenarios`` live in the library (:mod:`outage_comms.drill_scenario`),
so ``cdk synth``'s lint gate checks scenarios without importing the CLI. What stays here reads the CLI's
shipped data: the shipped scenarios folder and which scenario a plan's drill plays by default.
"""

from __future__ import annotations

from pathlib import Path

from outage_comms.drill_scenario import (
    DEFAULT_SCENARIO_NAME,
    DEFAULT_START,
    OPENING_STEPS,
    REGION_STEPS,
    AlarmStep,
    ApprovalExpectation,
    CancelMaintenanceStep,
    DeclareStep,
    DrillScenario,
    Expectations,
    Injection,
    MaintenanceStep,
    RegionOutageStep,
    RegionRecoveryStep,
    ResolveStep,
    ScenarioError,
    UpdateStep,
    lint_scenarios,
    load_scenario,
    parse_minutes,
    parse_scenario,
    plan_problems,
    region_name,
    scenario_files,
    story_problems,
)
from outage_comms.shipped import shipped_path

__all__ = [
    "DEFAULT_SCENARIO",
    "DEFAULT_START",
    "DRILLS_DIR",
    "OPENING_STEPS",
    "REGION_STEPS",
    "AlarmStep",
    "ApprovalExpectation",
    "CancelMaintenanceStep",
    "DeclareStep",
    "DrillScenario",
    "Expectations",
    "Injection",
    "MaintenanceStep",
    "RegionOutageStep",
    "RegionRecoveryStep",
    "ResolveStep",
    "ScenarioError",
    "UpdateStep",
    "default_scenario",
    "lint_scenarios",
    "load_scenario",
    "parse_minutes",
    "parse_scenario",
    "plan_problems",
    "region_name",
    "scenario_files",
    "story_problems",
]

#: The shipped game-day scenarios (package data in the wheel; ``drills/`` in a checkout).
DRILLS_DIR = shipped_path("drills")
DEFAULT_SCENARIO = DRILLS_DIR / DEFAULT_SCENARIO_NAME


def default_scenario(plan_path: str | Path) -> Path:
    """The plan's own ``drills/default.yaml`` (init writes it), else the shipped one."""
    for path in scenario_files(plan_path):
        if path.name == DEFAULT_SCENARIO_NAME:
            return path
    return DEFAULT_SCENARIO
