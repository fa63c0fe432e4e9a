"""A function's asset is enough to run it: its handler and every module it ships import with only the
asset, the Powertools layer's packages and the runtime's (nothing else from this machine), and the
bytecode is reproducible and loads on CPython 3.13."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from synthesized_apps import EXAMPLE_PLAN

from outage_comms.plan import Plan, load_plan
from outage_comms_cdk.lambda_asset import (
    LAYER_PROVIDED,
    NEVER_AT_RUNTIME,
    RUNTIME_PROVIDED,
    build_asset,
    handler_closure,
    python313,
    vendored_requirements,
)

pytestmark = pytest.mark.infrastructure

HANDLERS_DIR = Path(__file__).resolve().parents[2] / "lambdas" / "handlers"

#: Imports each handler in one interpreter where a top-level module comes from the asset unless the
#: standard library, the layer or the runtime provides it; anything else is "not in the asset".
#: Packages whose wheels are aarch64 C extensions are taken from this machine once the asset is seen to
#: hold them (their native code cannot load on the test machine's CPU).
PROBE = r"""
import ast, importlib, importlib.abc, importlib.machinery, json, os, sys
from pathlib import Path

spec = json.loads(sys.argv[1])
allowed = set(spec["allowed"]) | set(sys.stdlib_module_names)
native = set(spec["native"])
never = set(spec["never"])
state = {"asset": None}


class AssetOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        asset = Path(state["asset"])
        top = name.split(".")[0]
        if "." in name:  # a submodule of a package from the asset comes from the asset (no editable finder)
            if top in allowed or top in native or top.startswith("_") or not (asset / top).is_dir():
                return None
            found = importlib.machinery.PathFinder.find_spec(name, path)
            if found is None:
                raise ModuleNotFoundError(f"{name} is not in the asset", name=name)
            return found
        if name in allowed or name.startswith("_"):
            return None
        shipped = (asset / name).is_dir() or (asset / f"{name}.py").is_file()
        if not shipped:
            raise ModuleNotFoundError(f"{name} is not in the asset", name=name)
        if name in native:
            return None
        return importlib.machinery.PathFinder.find_spec(name, [str(asset)])


def lazy_targets(path):
    tree = ast.parse(path.read_bytes())
    skipped = set()
    for node in tree.body:  # a PEP 562 __getattr__ is checked through its importers' names (hasattr)
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            skipped.update(id(inner) for inner in ast.walk(node))
    for node in ast.walk(tree):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and getattr(test, "id", getattr(test, "attr", "")) == "TYPE_CHECKING":
            skipped.update(id(inner) for part in node.body for inner in ast.walk(part))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from ((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            yield node.module, tuple(alias.name for alias in node.names if alias.name != "*")


sys.meta_path.insert(0, AssetOnly())
failures = {}
for asset, handler in spec["assets"]:
    state["asset"] = asset
    shipped = {p.name.split(".")[0] for p in Path(asset).iterdir()}
    for name in list(sys.modules):
        if name.split(".")[0] in shipped:
            del sys.modules[name]
    os.environ.update(PLAN_PATH=f"{asset}/plan.json", TEMPLATES_DIR=f"{asset}/templates")
    os.environ["LAMBDA_TASK_ROOT"] = asset
    modules = [(handler.rsplit(".", 1)[0], ())] + sorted(
        (".".join(p.relative_to(asset).with_suffix("").parts).removesuffix(".__init__"), ())
        for p in Path(asset, "outage_comms").rglob("*.py")
    )
    # and what functions import where first used (lazily), as their import statements name it
    for path in sorted(Path(asset).rglob("*.py")):
        if path.parts[len(Path(asset).parts)] in ("outage_comms", "handlers"):
            modules.extend(lazy_targets(path))
    for module, names in dict.fromkeys(modules):
        if module.split(".")[0] in never:
            continue
        try:
            loaded = importlib.import_module(module)
            for name in names:  # ``from package import module`` names a module, unless an attribute
                if not hasattr(loaded, name):
                    importlib.import_module(f"{module}.{name}")
        except Exception as exc:
            failures[f"{handler}: {module} {names}"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(failures))
"""


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(EXAMPLE_PLAN)


def distinct_handlers() -> list[str]:
    """One handler per distinct closure (several workflow steps share theirs)."""
    seen: dict[tuple[object, ...], str] = {}
    for path in sorted(HANDLERS_DIR.glob("[a-z]*.py")):
        handler = f"handlers.{path.stem}.handler"
        closure = handler_closure(handler)
        key = (tuple(sorted(relative for relative, _ in closure.own_files if "handlers/" not in relative)),)
        seen.setdefault(key, handler)
    return sorted(seen.values())


def test_every_handler_imports_from_its_asset_the_layer_and_the_runtime_alone(
    plan: Plan, tmp_path: Path
) -> None:
    requirements = vendored_requirements()
    assets = []
    for handler in distinct_handlers():
        out = tmp_path / handler.split(".")[1]
        out.mkdir()
        build_asset(out, plan=plan, handler=handler, requirements=requirements, bytecode=False)
        assets.append((str(out), handler))
    spec = {
        "assets": assets,
        "allowed": sorted(RUNTIME_PROVIDED | LAYER_PROVIDED | {"pydantic_settings"}),
        "native": ["markupsafe", "lxml"],
        "never": sorted(NEVER_AT_RUNTIME),
    }
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert not failures, failures


def test_an_unknown_handler_fails_synthesis_with_its_name() -> None:
    with pytest.raises(ValueError, match=r"handlers\.nowhere"):
        handler_closure("handlers.nowhere.handler")


@pytest.mark.skipif(python313() is None, reason="no CPython 3.13 on this machine: assets ship sources only")
def test_bytecode_is_reproducible_and_loads_on_cpython_313(plan: Plan, tmp_path: Path) -> None:
    # Given the same handler's asset built twice into different folders
    requirements = vendored_requirements()
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        out.mkdir()
        build_asset(out, plan=plan, handler="handlers.feedback_api.handler", requirements=requirements)
    # Then every file is byte-identical (so is the zip CDK makes of it)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(first, second, [str(f) for f in files], shallow=False)
    assert not mismatch and not errors
    # And CPython 3.13 imports the vendored, bytecode-only Jinja2 from it (no source beside it)
    assert not (first / "jinja2" / "__init__.py").exists()
    interpreter = python313()
    assert interpreter is not None
    code = (
        f"import sys; sys.path[:0] = [{str(first)!r}]; import jinja2; "
        "print(jinja2.__spec__.loader.__class__.__name__, jinja2.Template('{{ 6 * 7 }}').render())"
    )
    result = subprocess.run(
        [interpreter[0], "-I", "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stdout.split() == ["SourcelessFileLoader", "42"], result.stderr


def test_the_channel_catalogue_loads_each_adapter_module_by_name_where_first_built(plan: Plan) -> None:
    from outage_comms.channels import catalog

    # Every channel the catalogue builds names the module of its adapter, and that module exists
    assert set(catalog.ADAPTER_MODULES) == set(catalog.FACTORIES)
    roots = {"outage_comms": HANDLERS_DIR.parent / "outage_comms", "handlers": HANDLERS_DIR}
    for module in catalog.ADAPTER_MODULES.values():
        assert (roots["outage_comms"].joinpath(*module.split(".")[1:]).with_suffix(".py")).is_file(), module
    # Importing the catalogue imports no adapter module (a fresh interpreter: nothing cached)
    code = (
        "import sys; from outage_comms.channels import catalog; "
        "print(sorted(m for m in catalog.ADAPTER_MODULES.values() if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr[-2000:]


def test_a_function_ships_only_the_channels_its_plan_enables(plan: Plan) -> None:
    handler = "handlers.workflow_deliver_channel.handler"
    # Given the example plan, which enables SMS and voice: the adapters and phonenumbers ship
    with_sms = handler_closure(handler, plan=plan)
    assert "outage_comms/channels/sms.py" in dict(with_sms.own_files)
    assert "phonenumbers" in with_sms.third_party
    # When a plan enables neither SMS nor voice, neither adapter nor phonenumbers ship
    channels = plan.channels.model_copy(update={"sms": None, "voice": None})
    without = handler_closure(handler, plan=plan.model_copy(update={"channels": channels}))
    shipped = dict(without.own_files)
    assert "outage_comms/channels/sms.py" not in shipped
    assert "outage_comms/channels/voice.py" not in shipped
    assert "phonenumbers" not in without.third_party
    # and the other enabled channels still ship (e-mail here)
    assert "outage_comms/channels/email.py" in shipped
    # Without a plan, every channel's adapter is in the closure (the conservative superset)
    assert "outage_comms/channels/sms.py" in dict(handler_closure(handler).own_files)
