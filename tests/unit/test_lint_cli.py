"""`outage-comms lint` on the example plan and on plans/templates with mistakes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from outage_comms_cli.main import app

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def lint(*args: str):
    return runner.invoke(app, ["lint", *args])


@pytest.fixture
def templates_copy(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", target)
    return target


def edit_template(templates: Path, locale: str, scenario: str, fmt: str, field: str, value: str) -> None:
    path = templates / "messages" / locale / f"{scenario}.yaml"
    data = yaml.safe_load(path.read_text())
    data[fmt][field] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def test_example_plan_is_clean() -> None:
    result = lint(str(ROOT / "plans" / "example.yaml"), "--format", "json")
    report = json.loads(result.stdout)
    assert report["findings"] == [], report["findings"][:5]
    assert result.exit_code == 0
    # every scenario x enabled format x locale was rendered and checked
    assert report["messages_checked"] >= 12 * 2 * 9
    assert {row["locale"] for row in report["sms"]} == {"en", "pt-BR"}
    assert all(row["segments"] <= 3 for row in report["sms"])  # the plan allows 3


def test_missing_file_is_unusable_input(tmp_path: Path) -> None:
    result = lint(str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2
    assert "file not found" in result.stdout


def test_a_plan_with_schema_errors_is_unusable_exit_2_with_path_and_fix(write_plan) -> None:
    # The README: "exit 0 clean, 1 findings, 2 unusable"; a plan that does not validate is unusable.
    path = write_plan(lambda d: d["severities"][0].update(cadence_minutes=1))
    result = lint(str(path), "--format", "json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["exit_code"] == 2
    (finding,) = report["findings"]
    assert finding["where"].endswith("severities[0].cadence_minutes")
    assert finding["fix"]


def test_a_plan_with_reference_errors_is_unusable_exit_2(write_plan) -> None:
    path = write_plan(lambda d: d["components"][0].update(group="apss"))
    result = lint(str(path))
    assert result.exit_code == 2
    text = " ".join(result.stdout.split())
    assert "did you mean 'apps'" in text and "unusable" in text


def test_a_secret_in_the_plan_is_unusable_and_not_echoed(write_plan) -> None:
    url = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx"
    path = write_plan(lambda d: d["channels"]["slack"].update(webhook_url_secret=url))
    for output in ("human", "json"):
        result = lint(str(path), "--format", output)
        assert result.exit_code == 2
        text = "".join(result.stdout.split())  # the console wraps long lines anywhere
        assert "awssecretsmanagercreate-secret" in text
        assert "hooks.slack" not in text and "T0AAAAAAA" not in text


@pytest.mark.parametrize("command", ["preview", "triage"])
def test_every_command_that_loads_a_plan_exits_2_on_a_schema_error(write_plan, tmp_path, command) -> None:
    path = write_plan(lambda d: d["severities"][0].update(cadence_minutes=1))
    event = tmp_path / "event.json"
    event.write_text("{}")
    args = {
        "preview": ["preview", str(path)],
        "triage": ["triage", str(event), "--plan", str(path)],
    }[command]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "cadence_minutes" in result.output


def _slack_off(data: dict) -> None:
    data["channels"]["slack"]["enabled"] = False


def test_a_plan_scenario_naming_a_disabled_channel_is_a_lint_error(write_plan) -> None:
    # Given a plan whose post-incident summary lists slack while slack is off
    path = write_plan(_slack_off)
    # When it is linted
    result = lint(str(path), "--format", "json")
    # Then it is a finding (exit 1) naming the list entry and the fix
    assert result.exit_code == 1
    (finding,) = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "scenario.channels"]
    assert finding["where"].endswith("plan.yaml: scenarios.post_incident_summary.channels[5]")
    assert "'slack' is not enabled" in finding["message"]
    assert "remove it from this list" in finding["fix"] and "channels.slack" in finding["fix"]


def _drill_beside(plan_path: Path, name: str, text: str) -> Path:
    folder = plan_path.parent / "drills"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


DRILL_INJECTING = """name: chat-down
description: chat is down
components: [sync]
events:
  - {{at: 0m, action: declare}}
  - {{at: 5m, action: resolve}}
inject:
  - {{channel: {channel}, how: both}}
"""


@pytest.mark.parametrize(
    ("channel", "message"),
    [("slack", "channel 'slack' is not enabled in the plan"), ("whatsapp", "'whatsapp' is not allowed")],
)
def test_a_drill_scenario_naming_a_disabled_or_unknown_channel_is_a_lint_error(
    write_plan, channel: str, message: str
) -> None:
    # Given a plan with slack off (and its scenarios not naming it) and a game day that fails slack
    def change(d: dict) -> None:
        _slack_off(d)
        d["scenarios"]["post_incident_summary"]["channels"].remove("slack")

    plan = write_plan(change)
    drill = _drill_beside(plan, "chat-down.yaml", DRILL_INJECTING.format(channel=channel))
    # When the plan is linted
    result = lint(str(plan), "--format", "json")
    # Then the scenario file, its step and the fix are named
    assert result.exit_code == 1, result.stdout
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["code"] == "drill.scenario"
    assert finding["where"] == f"{drill}: inject[0].channel"
    assert finding["message"] == message
    assert finding["fix"]
    human = lint(str(plan))
    assert "chat-down.yaml" in "".join(human.stdout.split()) and "Fix:" in human.stdout


def test_the_shipped_drills_are_linted_with_the_example_plan(tmp_path: Path) -> None:
    # plans/<name>.yaml and drills/ side by side (this repository's layout): the drills are checked too
    plans = tmp_path / "plans"
    plans.mkdir()
    data = yaml.safe_load((ROOT / "plans" / "example.yaml").read_text())
    _slack_off(data)
    data["scenarios"]["post_incident_summary"]["channels"].remove("slack")
    (plans / "mine.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    shutil.copytree(ROOT / "drills", tmp_path / "drills")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    result = lint(str(plans / "mine.yaml"), "--templates", str(tmp_path / "templates"), "--format", "json")
    wheres = [f["where"] for f in json.loads(result.stdout)["findings"]]
    assert wheres == [f"{tmp_path / 'drills' / 'slack-down.yaml'}: inject[0].channel"]


def test_missing_template_is_reported_once_per_file(templates_copy: Path) -> None:
    (templates_copy / "messages" / "pt-BR" / "identified.yaml").unlink()
    result = lint(
        str(ROOT / "plans" / "example.yaml"), "--templates", str(templates_copy), "--format", "json"
    )
    findings = json.loads(result.stdout)["findings"]
    assert result.exit_code == 1
    assert [f["where"] for f in findings] == ["templates/messages/pt-BR/identified.yaml"]


def test_missing_format_in_template_names_the_section(templates_copy: Path) -> None:
    path = templates_copy / "messages" / "en" / "monitoring.yaml"
    data = yaml.safe_load(path.read_text())
    del data["push"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    findings = json.loads(lint("--templates", str(templates_copy), "--format", "json").stdout)["findings"]
    assert any(
        "monitoring.yaml: push" in f["where"] and "add a 'push:' section" in f["fix"] for f in findings
    )


@pytest.mark.parametrize(
    ("fmt", "field", "text", "code"),
    [
        ("email", "body", "We are looking into it. Next update {{ next_update_at }}.", "quality.impact"),
        ("email", "body", "{{ impact }}. {% if eta %}{{ eta }}{% endif %}", "quality.next_update"),
        ("email", "body", "{{ impact }}. Next update {{ next_update_at }}.", "quality.eta_slot"),
        (
            "email",
            "body",
            "{{ impact }}. {{ eta }}. Next update {{ next_update_at }}.",
            "quality.eta_missing",
        ),
        (
            "sms",
            "body",
            "{{ impact }}. Next update {{ next_update_at }}. {% if eta %}{{ eta }}{% endif %}"
            + " More words." * 40,
            "limit.sms_segments",
        ),
        ("social", "body", "{{ impact }}. " + "x" * 300, "limit.length"),
        (
            "push",
            "title",
            "A push title that is far too long to fit on any lock screen at all",
            "limit.length",
        ),
        (
            "email",
            "body",
            "{{ impact }} ({{ incident.internal_title }}). Next update {{ next_update_at }}. "
            "{% if eta %}{{ eta }}{% endif %}",
            "jargon",
        ),
        (
            "email",
            "body",
            "{{ impact }} on db1.corp.nimbusnotes.example. Next update {{ next_update_at }}. "
            "{% if eta %}{{ eta }}{% endif %}",
            "identifier.internal_host",
        ),
        (
            "email",
            "body",
            "{{ impact }} in account 123456789012. Next update {{ next_update_at }}. "
            "{% if eta %}{{ eta }}{% endif %}",
            "identifier.account_id",
        ),
        (
            "email",
            "body",
            "{{ impact }}. Notwithstanding considerable organizational complexity, comprehensive "
            "infrastructural remediation necessitates substantial investigative deliberation. Next update "
            "{{ next_update_at }}. {% if eta %}{{ eta }}{% endif %}",
            "quality.readability",
        ),
        ("sns", "subject", "Problème\tavec {{ components_text }}", "limit.sns_subject"),
        (
            "voice",
            "body",
            "{{ impact }}. See https://status.example.com. Next update {{ next_update_at }}. "
            "{% if eta %}{{ eta }}{% endif %}",
            "limit.voice_url",
        ),
        ("email", "body", "{{ impact }} {{ undefined_variable }}", "template"),
    ],
)
def test_quality_findings(templates_copy: Path, fmt: str, field: str, text: str, code: str) -> None:
    # Given one English investigating template with one flaw
    edit_template(templates_copy, "en", "investigating", fmt, field, text)
    # When the plan is linted
    result = lint("--templates", str(templates_copy), "--format", "json")
    # Then the flaw is reported at that template, and nothing else is
    findings = json.loads(result.stdout)["findings"]
    assert result.exit_code == 1
    assert any(f["code"] == code for f in findings), findings
    assert all("en/investigating.yaml" in f["where"] for f in findings), findings


def test_human_report_names_fix(templates_copy: Path) -> None:
    edit_template(templates_copy, "en", "investigating", "sms", "body", "Hello")
    result = lint("--templates", str(templates_copy))
    assert result.exit_code == 1
    assert "Fix:" in result.stdout and "investigating.yaml" in result.stdout


def test_preview_prints_one_rendered_message() -> None:
    result = runner.invoke(
        app, ["preview", "--scenario", "investigating", "--channel", "sms", "--locale", "pt-BR"]
    )
    assert result.exit_code == 0, result.stdout
    assert "segment" in result.stdout
    assert "Alguns clientes" in result.stdout
