"""A team's own repository: templates found from its plan, `outage-comms init`, no default plan to deploy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from outage_comms.plan import load_plan
from outage_comms.templates_location import templates_dir_for
from outage_comms_cli.main import app

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:lambda:us-east-1:123456789012:function:checkout"


def run(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def _plant_arn(templates: Path) -> None:
    path = templates / "messages" / "en" / "investigating.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["email"]["body"] = f"Resource {ARN} is down. " + data["email"]["body"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_templates_default_to_the_folder_beside_the_plan(tmp_path: Path) -> None:
    assert templates_dir_for(tmp_path / "plan.yaml") == (tmp_path / "templates").resolve()
    assert templates_dir_for(tmp_path / "plans" / "x.yaml", "../words") == (tmp_path / "words").resolve()
    assert templates_dir_for(
        ROOT / "plans" / "example.yaml", load_plan(ROOT / "plans" / "example.yaml").templates
    ) == (ROOT / "templates")


def test_lint_checks_the_team_templates_not_the_shipped_ones(tmp_path: Path) -> None:
    # Given a team's repository: its plan and its own templates, one of which leaks an ARN
    result = run(
        "init", str(tmp_path / "team"), "--org", "Acme Cloud", "--channel", "email", "--non-interactive"
    )
    assert result.exit_code == 0, result.output
    _plant_arn(tmp_path / "team" / "templates")
    # When the team lints its plan (no --templates)
    result = run("lint", str(tmp_path / "team" / "plan.yaml"), "--format", "json")
    report = json.loads(result.stdout)
    # Then its own folder is checked, and the leak is a finding
    assert report["templates"] == str((tmp_path / "team" / "templates").resolve())
    assert result.exit_code == 1
    assert any("ARN" in f["message"] and "investigating.yaml" in f["where"] for f in report["findings"])


def test_lint_says_when_the_plan_has_no_templates_folder(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    data = yaml.safe_load((ROOT / "plans" / "example.yaml").read_text(encoding="utf-8"))
    del data["templates"]
    plan.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = run("lint", str(plan))
    assert result.exit_code == 1
    assert "templates folder" in result.stdout and "outage-comms init" in result.stdout


@pytest.mark.parametrize(
    ("locales", "channels"),
    [(["en"], ["email"]), (["en", "de"], ["email", "slack", "status_page"]), (["pt-BR"], ["sms", "webhook"])],
)
def test_init_scaffolds_a_repository_that_lints_clean(
    tmp_path: Path, locales: list[str], channels: list[str]
) -> None:
    target = tmp_path / "team"
    args = ["init", str(target), "--org", "Acme Cloud", "--non-interactive"]
    args += [a for code in locales for a in ("--locale", code)] + [
        a for c in channels for a in ("--channel", c)
    ]
    result = run(*args)
    assert result.exit_code == 0, result.output
    for name in (
        "app.py",
        "cdk.json",
        "plan.yaml",
        "README.md",
        "drills/default.yaml",
        ".github/workflows/outage-comms.yml",
    ):
        assert (target / name).is_file(), name
    plan = load_plan(target / "plan.yaml")
    assert plan.organization.name == "Acme Cloud" and plan.locale_codes == locales
    assert sorted(c.value for c in plan.channels.enabled()) == sorted(channels)
    assert "Nimbus" not in (target / "plan.yaml").read_text(encoding="utf-8")
    assert sorted(p.name for p in (target / "templates" / "messages").iterdir()) == sorted(locales)
    assert json.loads((target / "cdk.json").read_text())["context"]["plan"] == "plan.yaml"
    assert "outage_comms_cdk.app" in (target / "app.py").read_text()
    if "de" in locales:
        assert "start as a copy of English" in result.output
    linted = run("lint", str(target / "plan.yaml"), "--format", "json")
    assert linted.exit_code == 0, linted.stdout


def test_init_refuses_a_non_empty_folder_without_force(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = run("init", str(tmp_path), "--non-interactive")
    assert result.exit_code == 2 and "--force" in result.output
    assert run("init", str(tmp_path), "--non-interactive", "--force").exit_code == 0


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.startswith("outage-comms ")


def test_there_is_no_default_plan_to_deploy() -> None:
    context = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    assert "plan" not in context


def test_a_missing_plan_context_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_cdk import App

    from outage_comms_cdk.settings import PLAN_CONTEXT_KEY, SettingsError, context_value

    monkeypatch.chdir(tmp_path)  # a folder without cdk.json: the shipped defaults, which name no plan
    with pytest.raises(SettingsError, match=r"no plan: pass -c plan=.*outage-comms init"):
        context_value(App(), PLAN_CONTEXT_KEY)
    shutil.copyfile(ROOT / "cdk.json", tmp_path / "cdk.json")
    data = json.loads((tmp_path / "cdk.json").read_text())
    data["context"]["plan"] = "plan.yaml"
    (tmp_path / "cdk.json").write_text(json.dumps(data))
    assert context_value(App(), PLAN_CONTEXT_KEY) == "plan.yaml"
