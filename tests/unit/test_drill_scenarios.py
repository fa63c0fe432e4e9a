"""Game-day scenarios: the shipped ones validate; a broken one fails naming the path and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from outage_comms.plan import Plan, load_plan
from outage_comms_cli.drills.scenario import (
    DRILLS_DIR,
    AlarmStep,
    DeclareStep,
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
    assert isinstance(scenario.events[0], AlarmStep | DeclareStep)


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
    assert found[0] == "events[1]" and "action: alarm, declare, update or resolve" in found[2]


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
