"""Issue 13's two cuts of cold functions on the alarm's path, at the handler:

* ``Register incident`` runs in the render function (``{"step": "register_incident"}``);
* a team chat's branch of ``Fan out to channels`` sends only for an update that needed no approval
  (``$.render.team_with_customers``); after an approval the team already heard in ``Notify team first``.

The services given are a recorder that fails on first use, so a test sees which step the handler ran and
whether it reached the domain at all.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from outage_comms.workflow import step_register, step_render


class _Context:
    function_name = "step"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:111122223333:function:step"
    aws_request_id = "req"


class _Reached(Exception):
    """The handler reached the step's domain code (it asked the services for something)."""


class _Untouchable:
    def __getattr__(self, name: str) -> Any:
        raise _Reached(name)


def _run(module: str, event: dict[str, Any]) -> Any:
    # (the wheel's name for lambdas/handlers: "handlers" here is this test folder)
    handler = importlib.import_module(f"outage_comms_handlers.{module}").handler
    return handler(event, _Context(), services=_Untouchable())


def test_the_render_function_registers_when_the_state_names_the_register_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[str] = []
    monkeypatch.setattr(step_register, "register_incident", lambda e, s: ran.append("register") or {"ok": 1})
    monkeypatch.setattr(step_render, "render", lambda e, s: ran.append("render") or {"ok": 2})
    register = {"step": "register_incident", "input": {"incident_id": "inc-1"}, "execution_arn": "arn:x:1"}
    assert _run("workflow_render", register) == {"ok": 1}
    assert _run("workflow_render", {"incident_id": "inc-1", "update": {}}) == {"ok": 2}
    assert ran == ["register", "render"]


def test_the_real_register_step_runs_in_the_render_function() -> None:
    # no monkeypatching: the real step asks the services for the incident
    with pytest.raises(_Reached, match="repository"):
        _run(
            "workflow_render",
            {"step": "register_incident", "input": {"incident_id": "i"}, "execution_arn": "a"},
        )


@pytest.mark.parametrize(
    "render",
    [
        {"update_id": "u1", "needs_approval": True},  # the team heard in Notify team first
        {"update_id": "u1", "needs_approval": False},  # the holding statement after an approval timed out
        {"update_id": "u1", "needs_approval": True, "team_with_customers": False},
    ],
)
def test_a_fan_out_team_branch_after_an_approval_sends_nothing(render: dict[str, Any]) -> None:
    event = {"channel": "slack", "incident_id": "inc-1", "update_id": "u1", "render": render}
    assert _run("workflow_notify_team", event) == {"channel": "slack", "status": "heard_before_approval"}


@pytest.mark.parametrize(
    "event",
    [
        # no approval needed: the team hears in the fan-out, with the customers
        {"channel": "slack", "incident_id": "i", "update_id": "u1",
         "render": {"update_id": "u1", "needs_approval": False, "team_with_customers": True}},
        # Notify team first, and the redrive of a dead-lettered team notice: no render summary
        {"channel": "slack", "incident_id": "i", "update_id": "u1"},
    ],
)  # fmt: skip
def test_the_team_branch_sends_without_approval_and_from_notify_team_first(event: dict[str, Any]) -> None:
    with pytest.raises(_Reached):
        _run("workflow_notify_team", event)
