"""`outage-comms triage`: a platform team checks its mappings before deploying."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from outage_comms_cli.triage_command import register

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "tests" / "fixtures" / "events"
PLAN = ROOT / "plans" / "example.yaml"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Stand-in for the outage-comms app."""

    register(app)
    return app


def run(app: typer.Typer, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["triage", *args])


def test_prints_the_incident_an_event_would_open(app: typer.Typer) -> None:
    result = run(app, str(EVENTS / "alarm_metric_alarm.json"), "--plan", str(PLAN))
    assert result.exit_code == 0, result.stderr
    incident = json.loads(result.stdout)["incident"]
    assert (incident["components"], incident["severity"]) == (["sync"], "sev3")


def test_a_rejection_exits_2_with_the_reason_on_stderr_and_json_on_stdout(app: typer.Typer) -> None:
    result = run(app, str(EVENTS / "alarm_unmapped.json"), "--plan", str(PLAN))
    assert result.exit_code == 2
    assert json.loads(result.stdout)["rejected"]["code"] == "no_matching_component"
    assert "billing-export-lag" in result.stderr


def test_an_event_that_only_acts_on_an_open_incident_is_explained(app: typer.Typer) -> None:
    result = run(app, str(EVENTS / "alarm_metric_ok.json"), "--plan", str(PLAN))
    assert result.exit_code == 2
    assert json.loads(result.stdout)["signal"]["status"] == "monitoring"


def test_a_missing_file_exits_2_with_a_clear_message(app: typer.Typer, tmp_path: Path) -> None:
    result = run(app, str(tmp_path / "nope.json"), "--plan", str(PLAN))
    assert result.exit_code == 2
    assert "file not found" in result.stderr


def test_invalid_json_exits_2_naming_the_line(app: typer.Typer, tmp_path: Path) -> None:
    broken = tmp_path / "event.json"
    broken.write_text('{\n  "source": "aws.cloudwatch",\n  oops\n}')
    result = run(app, str(broken), "--plan", str(PLAN))
    assert result.exit_code == 2
    assert "line 3" in result.stderr


def test_a_broken_plan_exits_2_with_its_problems(app: typer.Typer, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 2\n")
    result = run(app, str(EVENTS / "alarm_metric_alarm.json"), "--plan", str(plan))
    assert result.exit_code == 2
    assert "plan.yaml" in result.stderr
