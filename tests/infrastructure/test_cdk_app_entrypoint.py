"""app.py: a broken plan or context stops synthesis with lint's messages and exit code.

2: the plan is unusable; 1: lint findings (or a bad context value).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from synthesized_apps import EXAMPLE_PLAN, REPO_ROOT, new_app

pytestmark = pytest.mark.infrastructure


def run_app(plan: Path, outdir: Path) -> subprocess.CompletedProcess[str]:
    """Run app.py the way the CDK CLI does: context in CDK_CONTEXT_JSON, output dir in CDK_OUTDIR."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({"plan": str(plan)}),
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_broken_plan_exits_1_naming_the_file_the_field_and_the_fix(tmp_path: Path) -> None:
    # Given the example plan with a cadence below the minimum
    broken = tmp_path / "broken.yaml"
    text = EXAMPLE_PLAN.read_text(encoding="utf-8")
    assert "cadence_minutes: 30" in text
    broken.write_text(text.replace("cadence_minutes: 30", "cadence_minutes: 1", 1), encoding="utf-8")

    # When app.py runs on it
    result = run_app(broken, tmp_path / "cdk.out")

    # Then it stops before synthesizing, with one actionable line per problem (lint's exit code: unusable)
    assert result.returncode == 2, result.stderr
    assert f"{broken}: severities[0].cadence_minutes:" in result.stderr
    assert "Fix:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cdk.out" / "manifest.json").exists()


def test_a_missing_plan_file_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    result = run_app(missing, tmp_path / "cdk.out")
    assert result.returncode == 2
    assert f"error {missing}: : file not found.\n    Fix:" in result.stderr  # as outage-comms lint says it
    assert "Traceback" not in result.stderr


def test_a_bad_powertools_layer_version_is_refused_with_the_fix(tmp_path: Path) -> None:
    from app import build_app
    from outage_comms_cdk.settings import SettingsError

    app = new_app(tmp_path, plan=str(EXAMPLE_PLAN), powertools_layer_version="latest")
    with pytest.raises(SettingsError, match=r"powertools_layer_version.*'latest': set it in cdk\.json"):
        build_app(app)


def test_synth_runs_the_whole_lint_and_stops_on_a_template_leak(tmp_path: Path) -> None:
    # Given a team's plan whose own template leaks an ARN (schema and references are fine)
    import shutil

    import yaml

    shutil.copytree(REPO_ROOT / "templates", tmp_path / "templates")
    path = tmp_path / "templates" / "messages" / "en" / "investigating.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["email"]["body"] = (
        "arn:aws:lambda:us-east-1:123456789012:function:checkout is down. " + data["email"]["body"]
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    plan = yaml.safe_load(EXAMPLE_PLAN.read_text(encoding="utf-8"))
    plan["templates"] = "templates"
    (tmp_path / "plan.yaml").write_text(
        yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )

    # When app.py runs on it
    result = run_app(tmp_path / "plan.yaml", tmp_path / "cdk.out")

    # Then synthesis stops with lint's finding, fix and exit code (1), and nothing is synthesized
    assert result.returncode == 1, result.stderr
    assert "investigating.yaml" in result.stderr and "ARN" in result.stderr and "Fix:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cdk.out" / "manifest.json").exists()
