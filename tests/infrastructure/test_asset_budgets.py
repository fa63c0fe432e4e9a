"""Every function of the synthesized app ships its own asset, within its budget (lambda_asset budgets).

The app is synthesized from the example plan with the real bundler; each function's asset directory is
found through the stacks' asset manifests and measured unzipped, as Lambda counts it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from synthesized_apps import EXAMPLE_PLAN, Synthesized, new_app, synthesize

from outage_comms_cdk.lambda_asset import (
    ASSET_BUDGET_BYTES,
    ASSET_BUDGET_BYTES_BY_PACKAGE,
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


def over_budget(
    assets: dict[str, tuple[str, Path]], budget: Callable[[set[str]], int] = asset_budget
) -> dict[str, str]:
    """Function -> "size > budget" for every asset above the budget of what it ships."""
    over = {}
    for name, (handler, directory) in assets.items():
        shipped = {p.name.split(".")[0] for p in directory.iterdir()}
        size, allowed = asset_size(directory), budget(shipped)
        if size > allowed:
            over[f"{name} ({handler})"] = f"{size / 2**20:.2f} MiB > {allowed / 2**20:.2f} MiB"
    return over


def test_every_function_asset_is_within_its_budget(assets: dict[str, tuple[str, Path]]) -> None:
    over = over_budget(assets)
    assert not over, over


def test_the_budget_check_fails_an_asset_above_its_budget(assets: dict[str, tuple[str, Path]]) -> None:
    # Given budgets of 64 kB (every real asset is larger), the same check reports every function
    assert set(over_budget(assets, lambda _: 64 * 1024)) == {f"{n} ({h})" for n, (h, _) in assets.items()}
    # And with the real budgets minus 1 byte under the largest asset's size, that asset is reported
    largest = max(assets.items(), key=lambda item: asset_size(item[1][1]))
    name, (handler, directory) = largest
    assert f"{name} ({handler})" in over_budget(assets, lambda _: asset_size(directory) - 1)


def test_every_function_but_the_status_publisher_is_within_3_mib(
    assets: dict[str, tuple[str, Path]],
) -> None:
    for handler, directory in assets.values():
        if handler != "handlers.publish_status.handler":
            assert asset_size(directory) <= 3 * 1024 * 1024, (handler, asset_size(directory))
    assert ASSET_BUDGET_BYTES == 3 * 1024 * 1024
    assert set(ASSET_BUDGET_BYTES_BY_PACKAGE) == {"lxml"}  # only the publisher's feeds get more


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
        # our package ships bytecode only, in place of its sources (handlers keep theirs beside __pycache__)
        assert (directory / "outage_comms" / "__init__.pyc").is_file(), handler
        assert not list((directory / "outage_comms").rglob("*.py")), handler
        assert list((directory / "handlers").glob("__pycache__/*.cpython-313.pyc")), handler


def test_unused_vendor_files_are_pruned_and_phone_numbers_still_parse(
    assets: dict[str, tuple[str, Path]],
) -> None:
    import subprocess
    import sys

    carriers = [directory for _, directory in assets.values() if (directory / "phonenumbers").is_dir()]
    assert carriers  # the example plan enables SMS and voice
    # the functions that deliver (or validate subscribers' numbers) carry phonenumbers; any other carrier
    # ships the workflow's delivery stage (test_asset_closure.py: only those build channel adapters)
    carrying = {h for h, d in assets.values() if (d / "phonenumbers").is_dir()}
    assert {
        "handlers.workflow_deliver_channel.handler",
        "handlers.send_batch.handler",
        "handlers.subscribe_api.handler",
    } <= carrying
    for handler, directory in assets.values():
        if handler in carrying and handler.startswith("handlers.workflow_"):
            assert any((directory / "outage_comms" / "workflow").glob("step*_deliver.py*")) or any(
                (directory / "outage_comms" / "workflow").glob("steps.py*")
            ), handler
    assert "handlers.email_suppression.handler" not in carrying
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
