"""Issue 16: the layers hold, checked by import-linter's contracts in pyproject.toml ([tool.importlinter]).

`make lint` runs the same check (``lint-imports``); this test runs it in ``make test`` too, so CI (which runs
the tests) refuses an import that breaks a layer: the runtime importing the CDK app, the CLI or the embedded
AWS; anything but the embedded AWS importing a handler; the stacks importing the CLI; a status-site part
importing the builder or another part.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"


def test_every_layer_contract_is_kept(capsys):
    from importlinter.cli import lint_imports

    # When import-linter checks the project's contracts (no cache: the tree as it is now)
    exit_code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    # Then every contract is kept (the output names each broken import otherwise)
    assert exit_code == 0, capsys.readouterr().out


def test_the_contracts_issue_16_asks_for_are_configured():
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]

    def subject(contract: dict) -> tuple[str, ...]:
        for key in ("source_modules", "protected_modules", "containers", "ancestors"):
            if key in contract:
                return tuple(contract[key])
        raise AssertionError(f"unknown contract shape: {contract}")

    kinds = {(c["type"], subject(c)): c for c in config["contracts"]}
    runtime = kinds["forbidden", ("outage_comms", "outage_comms_handlers")]["forbidden_modules"]
    assert {
        "outage_comms_cdk",
        "outage_comms_cli",
        "outage_comms_embedded",
        "aws_cdk",
        "moto",
        "typer",
    } <= set(runtime)
    assert kinds["protected", ("outage_comms_handlers",)]["allowed_importers"][0] == "outage_comms_embedded"
    assert (
        "outage_comms_embedded"
        in kinds["forbidden", ("outage_comms", "outage_comms_handlers", "outage_comms_cdk")][
            "forbidden_modules"
        ]
    )
    assert "outage_comms_cli" in kinds["forbidden", ("outage_comms_cdk",)]["forbidden_modules"]
    assert "site" in kinds["layers", ("outage_comms.status",)]["layers"][1]  # the builder above its parts
    assert (
        "acyclic_siblings",
        ("outage_comms_cli",),
    ) in kinds  # the drills/local/commands cycle stays broken
    assert config["include_external_packages"] is True  # else aws_cdk, moto, typer, rich cannot be forbidden
