"""``scripts/prune_assets.py`` removes the cached function assets the current synth does not reference.

The referenced directories are fingerprinted by the real ``lambda_asset.asset_fingerprint`` for the
handlers of a synthesized template; stale ones go, recent ones and anything not named like an asset stay,
and nothing goes when the fingerprints do not match the cache (another plan or tree).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "plans" / "example.yaml"
HANDLER = "handlers.intake.handler"
DAY = 24 * 3600


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prune_assets", ROOT / "scripts" / "prune_assets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


prune_assets = _script()


def _cdk_out(folder: Path, *handlers: str) -> Path:
    resources = {
        f"Fn{i}": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": handler}}
        for i, handler in enumerate(handlers)
    }
    resources["Queue"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    folder.mkdir()
    (folder / "OutageCommsIntake.template.json").write_text(json.dumps({"Resources": resources}))
    return folder


def _asset(assets: Path, name: str, age_seconds: float) -> Path:
    path = assets / name
    (path / "handlers").mkdir(parents=True)
    (path / "handlers" / "intake.py").write_text("x" * 1000)
    (path / "plan.json").write_text("{}")
    when = time.time() - age_seconds
    os.utime(path, (when, when))
    return path


def test_the_referenced_asset_is_the_one_lambda_code_fingerprints(tmp_path: Path) -> None:
    from outage_comms.plan import load_plan
    from outage_comms_cdk.lambda_asset import asset_fingerprint, vendored_requirements

    cdk_out = _cdk_out(tmp_path / "cdk.out", HANDLER, HANDLER)
    assert prune_assets.handlers_in(cdk_out) == [HANDLER]
    plan = load_plan(PLAN)
    expected = asset_fingerprint(plan, vendored_requirements(), ROOT / "templates", handler=HANDLER)[:24]
    assert prune_assets.referenced_dirs(PLAN, [HANDLER]) == {expected}


def test_stale_assets_go_referenced_recent_and_foreign_ones_stay(tmp_path: Path) -> None:
    cdk_out = _cdk_out(tmp_path / "cdk.out", HANDLER)
    (referenced,) = prune_assets.referenced_dirs(PLAN, [HANDLER])
    assets = tmp_path / "assets"
    _asset(assets, referenced, 3 * DAY)
    stale = _asset(assets, "0" * 24, 2 * DAY)
    crashed_build = _asset(assets, ".tmp-abc123", 2 * DAY)
    recent = _asset(assets, "1" * 24, 600)
    foreign = _asset(assets, "keep-me", 9 * DAY)
    argv = ["--plan", str(PLAN), "--cdk-out", str(cdk_out), "--assets", str(assets)]

    assert prune_assets.main([*argv, "--dry-run"]) == 0
    assert stale.is_dir() and crashed_build.is_dir()

    assert prune_assets.main(argv) == 0
    assert sorted(p.name for p in assets.iterdir()) == sorted([referenced, recent.name, foreign.name])

    assert prune_assets.main([*argv, "--keep-hours", "0"]) == 0
    assert sorted(p.name for p in assets.iterdir()) == sorted([referenced, foreign.name])


def test_nothing_goes_when_the_synth_does_not_match_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdk_out = _cdk_out(tmp_path / "cdk.out", HANDLER)
    assets = tmp_path / "assets"
    stale = _asset(assets, "0" * 24, 9 * DAY)  # the referenced asset is absent: another plan or tree
    argv = ["--plan", str(PLAN), "--cdk-out", str(cdk_out), "--assets", str(assets), "--keep-hours", "0"]
    assert prune_assets.main(argv) == 1
    assert stale.is_dir() and "Nothing removed" in capsys.readouterr().out

    gone = _cdk_out(tmp_path / "old.out", "handlers.no_such_step.handler")
    assert prune_assets.main(["--plan", str(PLAN), "--cdk-out", str(gone), "--assets", str(assets)]) == 1
    assert stale.is_dir() and "nothing removed" in capsys.readouterr().out


def test_without_a_synth_it_refuses(tmp_path: Path) -> None:
    (tmp_path / "cdk.out").mkdir()
    assert prune_assets.main(["--cdk-out", str(tmp_path / "cdk.out"), "--assets", str(tmp_path)]) == 1
