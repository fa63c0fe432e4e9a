"""Names agree (issue 16.6): handler module ``handlers.workflow_<name>`` = step function ``<name>`` in
``outage_comms.workflow.steps`` = state machine function key (``WorkflowFunctions.<name>``) = key of the
workflow stack's ``functions``."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

import pytest

from outage_comms.workflow import steps
from outage_comms_cdk.constructs.incident_workflow import WorkflowFunctions
from outage_comms_cdk.constructs.workflow_functions import STEP_FUNCTIONS, STEPS_RUN_BY

HANDLERS = Path(__file__).resolve().parents[3] / "lambdas" / "handlers"


def _step_called_by(module: Path) -> set[str]:
    """The names the handler imports from a stage module (``outage_comms.workflow.step_*``): its step."""
    return {
        alias.name
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("outage_comms.workflow.step_")
        for alias in node.names
    }


@pytest.mark.parametrize("name", sorted(STEP_FUNCTIONS))
def test_handler_module_runs_the_step_of_its_name(name: str) -> None:
    module = HANDLERS / f"workflow_{name}.py"
    assert STEP_FUNCTIONS[name].handler(name) == f"handlers.workflow_{name}.handler"
    assert module.exists(), f"{name}: no handler module {module.name}"
    assert callable(getattr(steps, name, None)), f"outage_comms.workflow.steps has no step {name}"
    hosted = {step for step, host in STEPS_RUN_BY.items() if host == name}
    assert _step_called_by(module) == {name, *hosted}


@pytest.mark.parametrize("step", sorted(STEPS_RUN_BY))
def test_a_step_run_by_another_function_has_no_function_or_handler_of_its_own(step: str) -> None:
    assert callable(getattr(steps, step, None)), f"outage_comms.workflow.steps has no step {step}"
    assert step not in STEP_FUNCTIONS and STEPS_RUN_BY[step] in STEP_FUNCTIONS
    assert not (HANDLERS / f"workflow_{step}.py").exists()
    host = HANDLERS / f"workflow_{STEPS_RUN_BY[step]}.py"
    assert step in _step_called_by(host)
    assert f'"{step}"' in host.read_text()  # the handler dispatches on {"step": "<step>"}


def test_the_state_machine_keys_are_the_step_names() -> None:
    assert [field.name for field in fields(WorkflowFunctions)] == list(STEP_FUNCTIONS)
