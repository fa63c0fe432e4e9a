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


def test_broken_plan_exits_1_with_path_and_fix(write_plan) -> None:
    path = write_plan(lambda d: d["severities"][0].update(cadence_minutes=1))
    result = lint(str(path), "--format", "json")
    assert result.exit_code == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["where"].endswith("severities[0].cadence_minutes")
    assert finding["fix"]


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
