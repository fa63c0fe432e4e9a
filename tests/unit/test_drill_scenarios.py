"""Game-day scenarios: the shipped ones validate; a broken one fails naming the path and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from outage_comms.plan import Plan, load_plan
from outage_comms_cli.drills.scenario import (
    DRILLS_DIR,
    OPENING_STEPS,
    MaintenanceStep,
    ScenarioError,
    UpdateStep,
    load_scenario,
    parse_minutes,
    parse_scenario,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(ROOT / "plans" / "example.yaml")


def story(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "game-day",
        "description": "a test story",
        "components": ["sync"],
        "events": [
            {"at": "0m", "action": "declare"},
            {
                "at": "35m",
                "action": "update",
                "scenario": "identified",
                "note": {"en": "Found", "pt-BR": "Achamos"},
            },
            {"at": "45m", "action": "resolve"},
        ],
    }
    base.update(changes)
    return base


def problems(data: dict[str, Any], plan: Plan | None = None) -> list[tuple[str, str, str]]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "game.yaml", plan)
    assert all(p.file == "game.yaml" for p in caught.value.problems)
    return [(p.path, p.message, p.fix) for p in caught.value.problems]


@pytest.mark.parametrize("path", sorted(DRILLS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenario_validates_against_the_example_plan(path: Path, plan: Plan) -> None:
    scenario = load_scenario(path, plan)
    assert isinstance(scenario.events[0], OPENING_STEPS)


def test_a_maintenance_story_schedules_before_it_cancels(plan: Plan) -> None:
    cancel_first = story(events=[{"at": "0m", "action": "cancel_maintenance"}])
    found = problems(cancel_first, plan)
    assert any(
        path == "events[0]" and "start with action: alarm, declare or maintenance" in fix
        for path, _, fix in found
    )
    scheduled = parse_scenario(
        story(
            events=[
                {"at": "0m", "action": "maintenance", "starts_in": "2h", "lasts": "30m"},
                {"at": "10m", "action": "cancel_maintenance"},
            ]
        ),
        "game.yaml",
        plan,
    )
    first = scheduled.events[0]
    assert isinstance(first, MaintenanceStep) and (first.starts_in, first.lasts) == (120, 30)


def test_the_default_and_slack_down_stories_say_what_they_rehearse(plan: Plan) -> None:
    default = load_scenario(DRILLS_DIR / "default.yaml", plan)
    assert [e.action for e in default.events] == ["alarm", "update", "resolve"]
    assert isinstance(default.events[1], UpdateStep) and default.events[1].after == "reminder"
    assert default.events[1].at == 35 and default.expect.reminders == 1
    slack = load_scenario(DRILLS_DIR / "slack-down.yaml", plan)
    assert slack.injected() == ["slack"] and slack.expect.escalations == 1


@pytest.mark.parametrize(("text", "minutes"), [("0m", 0), ("35m", 35), ("1.5h", 90), (12, 12), (" 2 min", 2)])
def test_offsets_are_plan_minutes(text: object, minutes: float) -> None:
    assert parse_minutes(text) == minutes


def test_an_unknown_field_names_its_path_and_the_close_match() -> None:
    data = story()
    data["events"][1] = {**data["events"][1], "scenaro": "identified"}
    (found,) = problems(data)
    assert found == (
        "events[1].scenaro",
        "unknown field 'scenaro'",
        "remove it or rename it; did you mean 'scenario'?",
    )


def test_a_bad_offset_says_how_to_write_one() -> None:
    data = story()
    data["events"][1] = {**data["events"][1], "at": "35 minutes"}
    (found,) = problems(data)
    assert found[0] == "events[1].at" and "35 minutes" in found[1] and "35m" in found[1] + found[2]


def test_an_event_without_action_lists_the_actions() -> None:
    data = story()
    data["events"][1] = {"at": "5m"}
    (found,) = problems(data)
    assert (
        found[0] == "events[1]"
        and "action: alarm, declare, update, resolve" in found[2]
        and "region_outage" in found[2]
    )


def test_the_story_must_open_once_at_zero_run_forward_and_end_with_the_resolution() -> None:
    data = story(
        events=[
            {"at": "5m", "action": "declare"},
            {"at": "45m", "action": "resolve"},
            {"at": "35m", "action": "update"},
        ]
    )
    found = {path: fix for path, _, fix in problems(data)}
    assert found == {
        "events[0].at": "open the incident at 0m",
        "events[2].at": "list events in time order",
        "events[1]": "make resolve the last event",
    }


def test_names_are_checked_against_the_plan(plan: Plan) -> None:
    data = story(
        components=["synk"],
        severity="sev9",
        inject=[{"channel": "webhook", "how": "drill"}],
    )
    data["events"][1] = {**data["events"][1], "note": {"en": "Found"}}
    found = {path: (message, fix) for path, message, fix in problems(data, plan)}
    assert found["components[0]"] == ("no component 'synk' in the plan", "did you mean 'sync'?")
    assert found["severity"][1].startswith("use one of ['sev1'")
    assert found["events[1].note.pt-BR"] == (
        "the note has no 'pt-BR' text",
        "add pt-BR: the same words in pt-BR",
    )
    assert "inject[0].how" not in found  # a declared drill may fail channels on purpose


def test_an_unknown_channel_is_refused() -> None:
    ((path, message, fix),) = problems(story(inject=[{"channel": "whatsapp"}]))
    assert path == "inject[0].channel" and message == "'whatsapp' is not allowed" and "'slack'" in fix


def test_drill_failures_need_a_declared_drill() -> None:
    data = story(
        events=[{"at": "0m", "action": "alarm"}, {"at": "5m", "action": "resolve"}],
        inject=[{"channel": "slack", "how": "drill"}],
    )
    ((path, message, fix),) = problems(data)
    assert path == "inject[0].how" and "opens with an alarm" in message and "action: declare" in fix


def test_the_cli_refuses_a_broken_scenario_before_running_anything(tmp_path: Path) -> None:
    from outage_comms_cli.main import app

    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ndescription: y\nevents:\n  - {at: 0m, action: alarm, colour: red}\n")
    result = CliRunner().invoke(app, ["drill", "--scenario", str(broken), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    # The console wraps long lines wherever it likes (even inside the path): compare without spaces.
    output = "".join(result.output.split())
    expected = f"{broken}: events[0].colour: unknown field 'colour'. Fix: remove it or rename it"
    assert "".join(expected.split()) in output
    assert not (tmp_path / "out").exists()


def _plan_without(plan: Plan, channel: str) -> Plan:
    """The example plan with one channel switched off (and its scenarios not naming it)."""
    settings = getattr(plan.channels, channel).model_copy(update={"enabled": False})
    return plan.model_copy(update={"channels": plan.channels.model_copy(update={channel: settings})})


def test_a_disabled_channel_names_the_step_and_the_fix(plan: Plan) -> None:
    # Given a plan with slack off and a game day that fails slack on purpose
    without_slack = _plan_without(plan, "slack")
    # When the scenario is checked against it
    ((path, message, fix),) = problems(story(inject=[{"channel": "slack"}]), without_slack)
    # Then the injection, what is wrong and both ways out are named
    assert path == "inject[0].channel"
    assert message == "channel 'slack' is not enabled in the plan"
    assert fix.startswith("remove this injection, or turn the channel on in the plan (channels.slack)")
    assert "teams" in fix  # what is on now


def test_an_approver_edit_of_a_disabled_channel_or_unknown_locale_is_refused(plan: Plan) -> None:
    approvals = [
        {
            "by": ["communications_manager"],
            "decision": "edit",
            "edits": {"text:slack:en:body": "x", "text:email:de:subject": "y", "body": "z"},
        }
    ]
    found = {p: (m, f) for p, m, f in problems(story(approvals=approvals), _plan_without(plan, "slack"))}
    assert found["approvals[0].edits.text:slack:en:body"][0] == "channel 'slack' is not enabled in the plan"
    assert found["approvals[0].edits.text:email:de:subject"][0] == "locale 'de' is not in the plan"
    assert found["approvals[0].edits.body"][1] == "write text:CHANNEL:LOCALE:FIELD"


def test_lint_finds_the_scenarios_beside_the_plan(tmp_path: Path, plan: Plan) -> None:
    from outage_comms_cli.drills.scenario import lint_scenarios, scenario_files

    # A team's repository: plan.yaml with drills/ beside it
    (tmp_path / "drills").mkdir()
    good = tmp_path / "drills" / "good.yaml"
    good.write_text((DRILLS_DIR / "default.yaml").read_text())
    bad = tmp_path / "drills" / "bad.yml"
    bad.write_text((DRILLS_DIR / "slack-down.yaml").read_text())
    assert scenario_files(tmp_path / "plan.yaml") == [good, bad]
    found = [(p.file, p.path) for p in lint_scenarios(_plan_without(plan, "slack"), tmp_path / "plan.yaml")]
    assert found == [(str(bad), "inject[0].channel")]
    # This repository: plans/example.yaml and drills/ side by side
    assert scenario_files(ROOT / "plans" / "example.yaml") == sorted(DRILLS_DIR.glob("*.yaml"))
    assert lint_scenarios(plan, ROOT / "plans" / "example.yaml") == []
    # A plan with no drills folder near it: nothing to check
    (tmp_path / "elsewhere").mkdir()
    assert scenario_files(tmp_path / "elsewhere" / "plan.yaml") == []


def test_a_token_pasted_into_a_scenario_is_not_echoed() -> None:
    token = "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
    ((path, message, _),) = problems(story(name=token))
    assert path == "name" and token not in message and token[:12] not in message
    assert "xoxb-123" in message
