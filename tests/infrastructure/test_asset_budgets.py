"""Every function of the synthesized app ships its own asset, within its budget (lambda_asset budgets).

The app is synthesized from the example plan with the real bundler; each function's asset directory is
found through the stacks' asset manifests and measured unzipped, as Lambda counts it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from synthesized_apps import EXAMPLE_PLAN, Synthesized, new_app, synthesize

from outage_comms_cdk.lambda_asset import (
    ASSET_BUDGET_BYTES,
    NEVER_AT_RUNTIME,
    RUNTIME_PROVIDED,
    asset_budget,
    asset_size,
    python313,
)

pytestmark = pytest.mark.infrastructure


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    from outage_comms_cdk.app import build_app

    return synthesize(
        build_app(new_app(tmp_path_factory.mktemp("asset-budget-cdk.out")), plan_path=EXAMPLE_PLAN)
    )


@pytest.fixture(scope="module")
def assets(app: Synthesized) -> dict[str, tuple[str, Path]]:
    """Function (stack/logical id) -> (handler, its asset directory)."""
    found: dict[str, tuple[str, Path]] = {}
    for stack, template in app.raw.items():
        manifest_file = app.outdir / f"{stack}.assets.json"
        manifest: dict[str, Any] = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::Lambda::Function" or "Handler" not in resource["Properties"]:
                continue
            properties = resource["Properties"]
            if not properties["Handler"].startswith("handlers."):
                continue  # CDK's own helper functions (e.g. bucket deployment) are not ours
            key = properties["Code"]["S3Key"]
            source = manifest["files"][key.removesuffix(".zip")]["source"]
            found[f"{stack}/{logical_id}"] = (properties["Handler"], app.outdir / source["path"])
    return found


def test_the_app_has_functions_and_each_gets_the_asset_of_its_own_handler(
    assets: dict[str, tuple[str, Path]],
) -> None:
    assert len(assets) >= 20
    for name, (handler, directory) in assets.items():
        module = handler.rsplit(".", 1)[0].split(".")[1]
        shipped_handlers = {p.stem for p in (directory / "handlers").glob("*.py")}
        assert module in shipped_handlers, name
        assert (directory / "plan.json").is_file(), name
    # different handlers, different closures: not one asset for all
    assert len({directory for _, directory in assets.values()}) > len(assets) // 2


def test_every_function_asset_is_within_its_budget(assets: dict[str, tuple[str, Path]]) -> None:
    over = {}
    for name, (handler, directory) in assets.items():
        shipped = {p.name.split(".")[0] for p in directory.iterdir()}
        size, budget = asset_size(directory), asset_budget(shipped)
        if size > budget:
            over[f"{name} ({handler})"] = f"{size / 1e6:.2f} MB > {budget / 1e6:.2f} MB"
    assert not over, over


def test_only_the_status_publisher_carries_lxml_and_feedgen(assets: dict[str, tuple[str, Path]]) -> None:
    carriers = {handler for handler, directory in assets.values() if (directory / "lxml").exists()}
    assert carriers == {"handlers.publish_status.handler"}
    feeds = {handler for handler, directory in assets.values() if (directory / "feedgen").exists()}
    assert feeds == carriers


def test_functions_that_render_nothing_stay_under_the_goal(assets: dict[str, tuple[str, Path]]) -> None:
    light = {h: d for h, d in assets.values() if not (d / "babel").exists() and not (d / "lxml").exists()}
    assert light  # e.g. the redrive, SLO watchdog, e-mail suppression functions
    for handler, directory in light.items():
        assert asset_size(directory) <= ASSET_BUDGET_BYTES, handler


def test_no_asset_shadows_the_runtime_or_ships_yaml(assets: dict[str, tuple[str, Path]]) -> None:
    for handler, directory in assets.values():
        top = {p.name.split(".")[0] for p in directory.iterdir()}
        assert not (top & (RUNTIME_PROVIDED | set(NEVER_AT_RUNTIME))), (handler, top & RUNTIME_PROVIDED)
        assert not list((directory / "templates").rglob("*.yaml")), handler
        assert not list((directory / "templates").rglob("*.yml")), handler


@pytest.mark.skipif(python313() is None, reason="no CPython 3.13 on this machine: assets ship sources only")
def test_bytecode_is_for_cpython_313(assets: dict[str, tuple[str, Path]]) -> None:
    interpreter = python313()
    assert interpreter is not None
    magic = bytes.fromhex(interpreter[1])
    for handler, directory in assets.values():
        compiled = list(directory.rglob("*.pyc"))
        assert compiled, handler
        for path in compiled[:50]:
            head = path.read_bytes()[:8]
            # PEP 552: magic, then flags 0b01 = hash-based, unchecked (reproducible, never re-validated)
            assert head[:4] == magic and int.from_bytes(head[4:8], "little") == 0b01, path
        assert list((directory / "outage_comms").rglob("__pycache__/*.cpython-313.pyc")), handler


def test_unused_vendor_files_are_pruned_and_phone_numbers_still_parse(
    assets: dict[str, tuple[str, Path]],
) -> None:
    import subprocess
    import sys

    carriers = [directory for _, directory in assets.values() if (directory / "phonenumbers").is_dir()]
    assert carriers  # the example plan enables SMS and voice
    for directory in {d for _, d in assets.values()}:
        assert not list(directory.glob("*.dist-info/RECORD")), directory
        assert not list(directory.rglob("*.pyi")), directory
        assert not list(directory.glob("phonenumbers/shortdata/region_*")), directory
    # phonenumbers is pure Python: it validates and formats numbers of several regions from the asset alone
    code = (
        "import sys; sys.path[:0] = [sys.argv[1]]; import phonenumbers as p; "
        "print(*[p.format_number(n, p.PhoneNumberFormat.E164) for n in "
        "(p.parse(x, None) for x in sys.argv[2:]) if p.is_valid_number(n)])"
    )
    numbers = ["+1 650-253-0000", "+55 11 91234-5678", "+44 20 7946 0018"]
    interpreter = (python313() or (sys.executable,))[0]  # the asset's bytecode is for CPython 3.13
    result = subprocess.run(
        [interpreter, "-I", "-c", code, str(carriers[0]), *numbers],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.split() == ["+16502530000", "+5511912345678", "+442079460018"], result.stderr[-2000:]
