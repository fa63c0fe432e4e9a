"""Channel adapters (and phonenumbers with SMS/voice) ship only with the functions that build them.

``lambda_asset`` adds the modules the channel catalogue loads by name only to a function whose closure
imports one of ``DYNAMIC_IMPORT_ENTRIES`` (the delivery step, ``catalog.build``). These tests read the
code to prove no other way to build an adapter exists, and that the closures follow it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from synthesized_apps import EXAMPLE_PLAN

from outage_comms.plan import load_plan
from outage_comms_cdk.lambda_asset import DYNAMIC_IMPORT_ENTRIES, DYNAMIC_IMPORTS, handler_closure

pytestmark = pytest.mark.infrastructure

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"
CATALOG = "outage_comms.channels.catalog"
#: Modules that call ``catalog.build`` only inside the factories ``Services.adapter`` is wired to
#: (workflow.adapters.services, a drill's ``Services.targets``), so only a step calling that field builds
#: an adapter through them.
THROUGH_SERVICES = {"outage_comms/workflow/adapters.py", "outage_comms/drill_mode/targets.py"}


#: ``Services`` fields that build a channel adapter (workflow/services.py, wired in workflow/adapters.py).
ADAPTER_FIELDS = ("adapter", "channel")


def _public_functions_reaching_an_adapter(path: Path) -> set[str]:
    """Public functions of a workflow module that call ``services.<adapter field>(...)``, directly or
    through the module's other functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    calls: dict[str, set[str]] = {}
    direct: set[str] = set()
    for name, node in functions.items():
        calls[name] = set()
        for inner in ast.walk(node):
            if not isinstance(inner, ast.Call):
                continue
            func = inner.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in ADAPTER_FIELDS
                and isinstance(func.value, ast.Name)
                and func.value.id == "services"
            ):
                direct.add(name)
            if isinstance(func, ast.Name) and func.id in functions:
                calls[name].add(func.id)
    reaching = set(direct)
    changed = True
    while changed:
        changed = False
        for name, callees in calls.items():
            if name not in reaching and callees & reaching:
                reaching.add(name)
                changed = True
    return {name for name in reaching if not name.startswith("_")}


def test_only_the_listed_step_builds_channel_adapters() -> None:
    reaching = {
        f"outage_comms.workflow.{path.stem}.{name}"
        for path in sorted((LAMBDAS / "outage_comms" / "workflow").glob("*.py"))
        for name in _public_functions_reaching_an_adapter(path)
    }
    assert reaching  # the delivery step does (the scan finds what it looks for)
    missing = reaching - DYNAMIC_IMPORT_ENTRIES[CATALOG]
    assert not missing, f"functions building adapters not in DYNAMIC_IMPORT_ENTRIES: {missing}"


def test_catalog_build_is_called_only_through_services_or_imported_by_name() -> None:
    offenders = []
    for path in sorted(LAMBDAS.rglob("*.py")):
        relative = path.relative_to(LAMBDAS).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports_build = any(
            isinstance(node, ast.ImportFrom)
            and node.module == CATALOG
            and any(alias.name == "build" for alias in node.names)
            for node in ast.walk(tree)
        )
        calls_attribute = any(
            isinstance(node, ast.Attribute)
            and node.attr == "build"
            and isinstance(node.value, ast.Name)
            and node.value.id == "catalog"
            for node in ast.walk(tree)
        )
        if relative.endswith("channels/catalog.py"):
            continue
        if calls_attribute and relative not in THROUGH_SERVICES:
            offenders.append(relative)
        if imports_build:  # the closure sees this import: the entry must name it
            assert f"{CATALOG}.build" in DYNAMIC_IMPORT_ENTRIES[CATALOG], relative
    assert not offenders, f"call catalog.build by importing it (`from {CATALOG} import build`): {offenders}"


def test_closures_give_adapters_and_phonenumbers_to_delivering_functions_only() -> None:
    plan = load_plan(EXAMPLE_PLAN)  # enables SMS and voice
    assert set(DYNAMIC_IMPORTS) == set(DYNAMIC_IMPORT_ENTRIES)
    delivering = ("handlers.workflow_deliver_channel.handler", "handlers.send_batch.handler")
    for handler in delivering:
        closure = handler_closure(handler, plan=plan)
        assert "outage_comms/channels/sms.py" in dict(closure.own_files), handler
        assert "phonenumbers" in closure.third_party, handler
    # Every other workflow step that imports its stage's module (not the steps facade, which imports the
    # delivery stage too) imports the catalogue (Services is wired to it) but ships no adapter
    steps = sorted(p.stem for p in (LAMBDAS / "handlers").glob("workflow_*.py"))
    others = [
        f"handlers.{name}.handler"
        for name in steps
        if f"handlers.{name}.handler" not in delivering and "deliver" not in name and "notify" not in name
    ]
    for handler in others:
        closure = handler_closure(handler, plan=plan)
        own = dict(closure.own_files)
        if "outage_comms/channels/catalog.py" not in own or "outage_comms/workflow/steps.py" in own:
            continue
        assert "outage_comms/channels/sms.py" not in own, handler
        assert "outage_comms/channels/voice.py" not in own, handler
        assert "phonenumbers" not in closure.third_party, handler
    # A closure that reaches no entry gets no adapter: the by-name loading is added only on an entry
    redrive = handler_closure("handlers.workflow_redrive.handler", plan=plan)
    assert "outage_comms/channels/sms.py" not in dict(redrive.own_files)


def test_an_adapter_module_from_outside_our_packages_ships_as_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from outage_comms.channels import catalog

    # Given a channel whose adapter lives in a team's own package (not installed, not ours)
    package = tmp_path / "pf_team_channels"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "pager.py").write_text(
        "import json\nfrom outage_comms.vocabulary import Channel\nfrom pf_team_channels import helpers\n"
    )
    (package / "helpers.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "pf_team_channels", raising=False)
    built_in = catalog.adapter_modules
    monkeypatch.setattr(
        catalog, "adapter_modules", lambda plan=None: [*built_in(plan), "pf_team_channels.pager"]
    )
    plan = load_plan(EXAMPLE_PLAN)
    # When the delivery step's closure is computed, the module, its package and what it imports ship
    closure = handler_closure("handlers.workflow_deliver_channel.handler", plan=plan)
    own = dict(closure.own_files)
    assert own["pf_team_channels/pager.py"] == package / "pager.py"
    assert "pf_team_channels/__init__.py" in own and "pf_team_channels/helpers.py" in own
    assert "pf_team_channels" not in closure.third_party
    # and a step that builds no adapter ships none of it
    render = handler_closure("handlers.workflow_render.handler", plan=plan)
    assert "pf_team_channels/pager.py" not in dict(render.own_files)
