"""One Lambda code asset per function, holding only what that function's handler imports; bundled locally.

Layout of an asset (the Lambda task root, ``/var/task``)::

    handlers/<name>.py   the function's handler (``handlers`` is a namespace package: no ``__init__``)
    outage_comms/...     the modules of the domain package the handler imports, directly or not
    templates/           the plan's templates folder; every YAML file compiled to JSON (no YAML at run time)
    plan.json            the validated plan, as the Lambda reads it
    jinja2/ babel/ ...   the third-party packages the handler's modules import, and theirs, except what
                         the python3.13 runtime (boto3, botocore, dateutil, ...) or the Powertools layer
                         (powertools, pydantic) already provides
    **/__pycache__/      bytecode for CPython 3.13 (unchecked-hash .pyc: reproducible, never re-validated),
                         when a python3.13 interpreter is on this machine

The closure is computed from the handler module's ``import`` statements (AST, every nesting level; ``if
TYPE_CHECKING:`` blocks skipped), through our packages and then through the vendored packages' own
imports: no hand-kept list per function. The dependencies are installed once per pinned set as aarch64 /
CPython 3.13 wheels into ``.build/vendor/<key>/`` and each assembled asset is cached in
``.build/assets/<fingerprint>/`` (beside the team's ``cdk.json``), so repeated synths are fast and offline.
CDK, moto, typer, rich and textstat are never copied.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, BundlingOutput, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from outage_comms.plan import Plan

#: Bump when the asset layout changes without any source file changing.
ASSET_LAYOUT_VERSION = "6"
LAMBDA_PYTHON_VERSION = "3.13"
WHEEL_PLATFORMS = ("manylinux2014_aarch64",)
#: Wheels fetched for the assets (their exact versions from constraints.txt). A function's asset copies only
#: those its handler's import closure reaches (yaml: never, dateutil/six: never, the runtime has them).
VENDORED_DIRECT = (
    "jinja2",
    "markupsafe",
    "pyyaml",
    "tzdata",
    # status feeds (RSS/Atom) are written by feedgen, never by hand
    "feedgen",
    "lxml",
    "python-dateutil",
    "six",
    # E.164 validation for SMS and voice (imports as `phonenumbers`)
    "phonenumberslite",
    # subscriber email addresses (subscribers/addresses.py)
    "email-validator",
    # dates, lists, numbers in the plan's locales (outage_comms.locale_format); CLDR data pruned below
    "babel",
)
#: Pure-Python packages published only as source; pip builds them (no compiler involved).
SOURCE_ONLY = ("feedgen",)
#: Transitive runtime dependencies to vendor (markupsafe comes with jinja2), pinned in constraints.txt too.
#: email-validator needs idna (international domains). Its other dependency, dnspython, is imported
#: only for deliverability checks, which we never run (check_deliverability=False): not shipped.
VENDORED_TRANSITIVE_PINS: tuple[str, ...] = ("idna",)

TASK_ROOT = "/var/task"
PLAN_FILE = "plan.json"
#: Our packages, by the name the handler string and the imports use (asset directory = import name).
OWN_PACKAGES = ("outage_comms", "handlers")
#: In the python3.13 Lambda runtime itself (AWS docs, "Runtime-included SDK versions" / the runtime's
#: /var/runtime): a copy in the asset would shadow it and add megabytes.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six"})
#: In the Powertools for AWS Lambda (Python) v3 layer every function carries (and what it depends on).
LAYER_PROVIDED = frozenset(
    {
        "aws_lambda_powertools",
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "typing_extensions",
        "typing_inspection",
        "aws_xray_sdk",
        "wrapt",
    }
)
#: Imported only on paths a deployed function never takes; never shipped (name -> why).
NEVER_AT_RUNTIME: Mapping[str, str] = {
    "yaml": "templates are compiled to JSON at synth and the plan ships as plan.json",
    "dns": "email-validator imports dnspython only for deliverability checks, which are never run",
    "_yaml": "PyYAML's C extension",
}
#: Packages the standard library loads without an import statement (zoneinfo reads tzdata's files when the
#: system has no tz database, as the Lambda image does not).
IMPLICIT_IMPORTS: Mapping[str, tuple[str, ...]] = {"zoneinfo": ("tzdata",)}
#: Unzipped bytes a function's asset may hold (the Powertools layer is separate): the goal, 3 MiB, for every
#: function, unless it ships one of the packages below, which carry their own budget. One place; tests/
#: infrastructure/test_asset_budgets.py checks every function of the synthesized app against it (and that the
#: check fails with a tiny budget). Measured with the example plan (docs/performance.md, "Function assets"):
#: 0.2-2.9 MiB; the largest, workflow_deliver_channel (SMS + voice: phonenumbers), 2.92 MiB.
ASSET_BUDGET_BYTES = 3 * 1024 * 1024
ASSET_BUDGET_BYTES_BY_PACKAGE: Mapping[str, int] = {
    # Status feeds (RSS/Atom): feedgen needs lxml, a 9.7 MB C library. The status publisher only
    # (11.7 MiB measured, plus ~5 %).
    "lxml": 12 * 1024 * 1024 + 256 * 1024,
}
IGNORED_NAMES = ("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache", ".DS_Store")
#: Build-only sources some wheels carry (lxml: ~2 MB of Cython/C headers), type stubs and the wheels'
#: RECORD file lists (phonenumbers, tzdata: ~80 kB each, and wrong once an asset is pruned); never read at
#: run time. The dist-info's METADATA and licence files stay.
VENDOR_BUILD_ONLY = ("*.pyx", "*.pxd", "*.pxi", "*.h", "*.c", "*.pyi", "py.typed", "RECORD")
#: Data files of vendored packages no function reads (asset-relative glob -> why), removed after copying.
VENDOR_UNUSED: Mapping[str, str] = {
    # Short-number metadata (112, 911, ...; ~230 kB), loaded per region only by phonenumbers.shortnumberinfo's
    # functions, which we never call: subscribers' numbers are full E.164 numbers (channels.sms.e164).
    "phonenumbers/shortdata/region_*": "short numbers are never parsed",
    # Modules of vendored packages nothing imports: Jinja2 loads an extension only when an Environment names
    # one (ours name none), NativeEnvironment and meta are separate APIs; Babel's gettext support and
    # official-languages table are never imported by dates, numbers, lists or units (~0.09 MB).
    "jinja2/ext.py": "no Jinja2 extension is enabled",
    "jinja2/nativetypes.py": "templates render to strings",
    "jinja2/meta.py": "template introspection is never called",
    "babel/support.py": "gettext catalogs are never loaded (the plan's words are JSON)",
    "babel/languages.py": "official languages per territory are never asked",
}
#: Modules our code imports by name (importlib), not by an import statement: trigger module -> the
#: function listing the modules it may load for a plan. The channel catalogue loads the adapter of each
#: channel the plan enables (channels.catalog.adapter_modules), so phonenumbers ships only with SMS or voice.
DYNAMIC_IMPORTS: Mapping[str, str] = {"outage_comms.channels.catalog": "adapter_modules"}
#: Where a by-name loading above is reached from: a function's closure gets the trigger's modules only when
#: it imports one of these names (``from <module> import <name>``), not merely the trigger module. Every
#: workflow step imports the catalogue (``workflow.adapters`` wires the ``Services`` adapter fields to it),
#: but only the delivery steps ask ``services`` for an adapter (``deliver_channel``, ``notify_team``); the
#: bulk sender imports
#: ``catalog.build`` itself. So phonenumbers (0.76 MB) ships with the functions that deliver, not with every
#: step. tests/infrastructure/test_asset_closure.py fails if another public function of ``workflow/``
#: reaches ``services.adapter/channel/drill_channel``, or another module calls ``catalog.build``.
DYNAMIC_IMPORT_ENTRIES: Mapping[str, frozenset[str]] = {
    "outage_comms.channels.catalog": frozenset(
        {
            "outage_comms.channels.catalog.build",
            "outage_comms.workflow.steps.deliver_channel",
            "outage_comms.workflow.steps.notify_team",
            "outage_comms.workflow.step_deliver.deliver_channel",
            "outage_comms.workflow.step_deliver.notify_team",
        }
    )
}
#: Our packages shipped as bytecode only (``module.pyc`` in place of ``module.py``, as the vendored packages
#: are), when a python3.13 compiles them: -0.68 MB per function. Tracebacks in CloudWatch keep the file and
#: line, not the source line's text; docstrings are left out of this bytecode (-14 %: nothing reads
#: ``__doc__`` at run time; asserts stay). ``handlers`` keeps its source (2 kB; the embedded AWS imports a
#: handler from its asset in the test interpreter, which cannot load 3.13 bytecode).
SOURCELESS_OWN_PACKAGES = ("outage_comms",)
_IGNORED_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


def build_dir() -> Path:
    """``.build/`` beside the team's ``cdk.json`` (where ``cdk synth`` runs), never in site-packages."""
    return Path.cwd() / ".build"


def source_dirs(templates_dir: Path | None = None) -> dict[str, Path]:
    """Asset directory -> where it comes from: the installed packages and the plan's templates folder."""
    import outage_comms
    import outage_comms_handlers
    from outage_comms.shipped import shipped_path

    return {
        "outage_comms": Path(outage_comms.__file__).resolve().parent,
        "handlers": Path(outage_comms_handlers.__file__).resolve().parent,
        "templates": templates_dir or shipped_path("templates"),
    }


def vendored_requirements(constraints: Path | None = None) -> list[str]:
    """``name==version`` for every vendored package, sorted, as constraints.txt pins them."""
    from outage_comms.shipped import shipped_path

    constraints = constraints or shipped_path("constraints.txt")
    pins: dict[str, str] = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*==\s*([A-Za-z0-9_.+-]+)\s*(#.*)?", line)
        if match:
            pins[_normalise(match.group(1))] = match.group(2)
    names = [_normalise(name) for name in (*VENDORED_DIRECT, *VENDORED_TRANSITIVE_PINS)]
    missing = [name for name in names if name not in pins]
    if missing:
        raise ValueError(f"{constraints}: pin {missing} with '==' (they ship in the Lambda)")
    return [f"{name}=={pins[name]}" for name in sorted(set(names))]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def vendor_cache_dir(requirements: Sequence[str]) -> Path:
    """The cache directory for exactly these pins on the Lambda's platform."""
    key = hashlib.sha256(
        json.dumps([list(requirements), WHEEL_PLATFORMS, LAMBDA_PYTHON_VERSION]).encode()
    ).hexdigest()[:16]
    return build_dir() / "vendor" / key


def ensure_vendored(requirements: Sequence[str]) -> Path:
    """Install the wheels once (``pip install --target``) and return the cached directory."""
    target = vendor_cache_dir(requirements)
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-input", "--no-compile", "--no-deps",
        "--only-binary=:all:", *(f"--no-binary={name}" for name in SOURCE_ONLY),
        "--implementation", "cp", "--python-version", LAMBDA_PYTHON_VERSION,
        *(arg for platform in WHEEL_PLATFORMS for arg in ("--platform", platform)),
        "--target", str(staging), *requirements,
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise RuntimeError(
                f"could not fetch the Lambda's runtime dependencies {list(requirements)} for "
                f"{WHEEL_PLATFORMS[0]} / CPython {LAMBDA_PYTHON_VERSION}:\n{result.stderr.strip()}\n"
                "Fix: check network access to PyPI, or that these versions publish aarch64 wheels."
            )
        shutil.rmtree(staging / "bin", ignore_errors=True)
        (staging / ".complete").write_text("\n".join(requirements) + "\n", encoding="utf-8")
        try:
            staging.rename(target)
        except OSError:  # another process (pytest -n) finished first: theirs is identical
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _source_files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not (_IGNORED_PARTS & set(relative.parts)) and path.suffix != ".pyc":
            yield path


def plan_json(plan: Plan) -> str:
    """The plan as the Lambda reads it: validated, defaults filled in, JSON."""
    return json.dumps(plan.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


# --- the import closure of one handler -------------------------------------------------------------------


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk_runtime(node: ast.AST) -> Iterator[ast.AST]:
    """Every node, except the bodies of ``if TYPE_CHECKING:`` (never executed) and of a module's lazy
    ``__getattr__`` (PEP 562: followed per attribute instead, see :func:`_lazy_exports`)."""
    for child in ast.iter_child_nodes(node):
        if (
            isinstance(child, ast.FunctionDef)
            and child.name == "__getattr__"
            and isinstance(node, ast.Module)
        ):
            continue
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _walk_runtime(other)
            continue
        yield child
        yield from _walk_runtime(child)


@functools.lru_cache(maxsize=4096)
def _imports_in(path: Path, package: str, mtime_ns: int) -> tuple[str, ...]:
    """The absolute module names a file's import statements name (``from a import b`` gives a and a.b)."""
    del mtime_ns  # part of the cache key only
    tree = ast.parse(path.read_bytes(), filename=str(path))
    found: list[str] = []
    for node in _walk_runtime(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                keep = len(parts) - (node.level - 1)
                if keep < 1:
                    continue
                base = ".".join(parts[:keep] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if not base:
                continue
            found.append(base)
            found.extend(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return tuple(found)


def _imports(path: Path, package: str) -> tuple[str, ...]:
    return _imports_in(path, package, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=1024)
def _lazy_exports(path: Path, mtime_ns: int) -> dict[str, str]:
    """For a package ``__init__`` with a PEP 562 ``__getattr__``: attribute -> the module that defines it,
    read from its ``if TYPE_CHECKING: from <module> import <names>`` block (which states the same)."""
    del mtime_ns
    tree = ast.parse(path.read_bytes(), filename=str(path))
    if not any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in tree.body):
        return {}
    exports: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module and not inner.level:
                    exports.update({alias.asname or alias.name: inner.module for alias in inner.names})
    return exports


def _module_file(roots: Mapping[str, Path], module: str) -> Path | None:
    top, *rest = module.split(".")
    base = roots[top].joinpath(*rest)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


@dataclass(frozen=True)
class ImportClosure:
    """What one handler needs in its asset: our files (asset-relative) and the third-party top-level names."""

    own_files: tuple[tuple[str, Path], ...]
    third_party: tuple[str, ...]


def _dynamic_imports(trigger: str, plan: Plan | None) -> list[str]:
    """The modules :data:`DYNAMIC_IMPORTS` says ``trigger`` loads by name for ``plan`` (None: all)."""
    import importlib

    return list(getattr(importlib.import_module(trigger), DYNAMIC_IMPORTS[trigger])(plan))


def _reached_by_name(seen: set[str], expanded: set[str], plan: Plan | None) -> list[str]:
    """Once the static closure is complete: the modules it loads by name (:data:`DYNAMIC_IMPORTS`, each
    trigger once, only when an entry of :data:`DYNAMIC_IMPORT_ENTRIES` is imported), to close over next."""
    found: list[str] = []
    for trigger in DYNAMIC_IMPORTS:
        if trigger in seen and trigger not in expanded and seen & DYNAMIC_IMPORT_ENTRIES[trigger]:
            expanded.add(trigger)
            found.extend(_dynamic_imports(trigger, plan))
    return found


def _source_root(top: str) -> Path | None:
    """Where a top-level package or module loaded by name lives, when it is source outside the installed
    packages (a team's own channel adapter, a test's fake channel); None for an installed distribution
    (vendored, runtime or layer: handled as third party) or the standard library."""
    import importlib.util
    import sysconfig

    if top in sys.stdlib_module_names:
        return None
    spec = importlib.util.find_spec(top)
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    origin = Path(locations[0]) if locations else Path(spec.origin) if spec.origin else None
    if origin is None:
        return None
    installed = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib", "stdlib")}
    if any(origin.resolve().is_relative_to(root) for root in installed):
        return None
    return origin if locations else origin.with_suffix("")


def _visit(
    name: str, roots: dict[str, Path], external: set[str], own: dict[str, Path], outside: set[str]
) -> list[str]:
    """One module of a closure: record it (ours in ``own``, a third party's top name in ``outside``) and
    return the modules to visit next (its parent packages first, then what it imports)."""
    top = name.split(".")[0]
    if top not in OWN_PACKAGES and top not in external:
        outside.add(top)
        return []
    path = _module_file(roots, name)
    if path is None:  # ``from pkg import attribute``: not a module, unless pkg exports it lazily
        package_init = _module_file(roots, name.rsplit(".", 1)[0]) if "." in name else None
        if package_init is not None and package_init.name == "__init__.py":
            lazy = _lazy_exports(package_init, package_init.stat().st_mtime_ns)
            if name.rsplit(".", 1)[1] in lazy:
                return [lazy[name.rsplit(".", 1)[1]]]
        return []
    parts = name.split(".")
    following = [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages run first
    relative = Path(*parts[:-1], path.name) if path.name != "__init__.py" else Path(*parts, "__init__.py")
    if relative.as_posix() == "handlers/__init__.py":
        # a namespace package: several assets' handlers/ can share one sys.path (embedded AWS)
        return following
    own[relative.as_posix()] = path
    package = name if path.name == "__init__.py" else ".".join(parts[:-1])
    return following + list(_imports(path, package))


def _adopt_outside_modules(reached: Iterable[str], roots: dict[str, Path], external: set[str]) -> None:
    """A module loaded by name from outside our packages (a team's own channel) ships as our own files."""
    for name in reached:
        top = name.split(".")[0]
        if top not in OWN_PACKAGES and top not in external:
            where = _source_root(top)
            if where is not None:
                external.add(top)
                roots[top] = where


def handler_closure(
    handler: str, roots: Mapping[str, Path] | None = None, *, plan: Plan | None = None
) -> ImportClosure:
    """The import closure of ``handler`` (``handlers.<module>.<function>``) through our packages.

    ``plan`` narrows the modules loaded by name (:data:`DYNAMIC_IMPORTS`) to those it needs; without a
    plan every one is included. A module loaded by name from outside our packages (a channel a team
    registers from its own package) ships as source beside ours, closed over the same way.

    Third-party names are returned as imported (top level), without the standard library, the runtime's
    and the layer's packages and :data:`NEVER_AT_RUNTIME`; :data:`IMPLICIT_IMPORTS` are added.
    """
    roots = dict(roots or source_dirs())
    module = handler.rsplit(".", 1)[0]
    if module.split(".")[0] not in OWN_PACKAGES or _module_file(roots, module) is None:
        raise ValueError(
            f"handler {handler!r}: no module {module!r} in {sorted(OWN_PACKAGES)} "
            f"(looked in {roots.get(module.split('.')[0])})"
        )
    own: dict[str, Path] = {}
    outside: set[str] = set()
    queue = [module]
    seen: set[str] = set()
    expanded: set[str] = set()
    external: set[str] = set()
    while queue:
        while queue:
            name = queue.pop()
            if name not in seen:
                seen.add(name)
                queue.extend(_visit(name, roots, external, own, outside))
        # the static closure is complete: add what it loads by name, and close over that too
        reached = _reached_by_name(seen, expanded, plan)
        _adopt_outside_modules(reached, roots, external)
        queue.extend(reached)
    stdlib = set(sys.stdlib_module_names)
    third = {name for name in outside if name not in stdlib and not name.startswith("_")}
    for trigger, implied in IMPLICIT_IMPORTS.items():
        if trigger in outside:
            third.update(implied)
    third -= RUNTIME_PROVIDED | LAYER_PROVIDED | set(NEVER_AT_RUNTIME)
    return ImportClosure(own_files=tuple(sorted(own.items())), third_party=tuple(sorted(third)))


def _top_level_entries(vendor: Path) -> dict[str, list[str]]:
    """Vendored top-level import name -> the entries (dirs, modules, dist-info) to copy for it."""
    entries: dict[str, list[str]] = {}
    for item in sorted(vendor.iterdir()):
        if item.name.endswith(".dist-info") or item.name.startswith("."):
            continue
        name = item.name.split(".")[0] if item.is_file() else item.name
        if item.is_file() and item.suffix not in (".py", ".so"):
            continue
        entries.setdefault(name, []).append(item.name)
    for info in sorted(vendor.glob("*.dist-info")):
        record = info / "RECORD"
        tops = (
            {line.split("/", 1)[0].split(".")[0] for line in record.read_text(encoding="utf-8").splitlines()}
            if record.is_file()
            else set()
        )
        for top in sorted(tops & set(entries)):
            entries[top].append(info.name)
    return entries


@functools.lru_cache(maxsize=16)
def _vendored_imports(vendor: Path) -> dict[str, frozenset[str]]:
    """Vendored top-level name -> the other vendored top-level names its files import (any level)."""
    entries = _top_level_entries(vendor)
    graph: dict[str, frozenset[str]] = {}
    for name, items in entries.items():
        found: set[str] = set()
        for item in items:
            root = vendor / item
            files = [root] if root.suffix == ".py" else sorted(root.rglob("*.py")) if root.is_dir() else []
            for path in files:
                try:
                    tree = ast.parse(path.read_bytes())
                except SyntaxError:
                    continue
                for node in _walk_runtime(tree):
                    if isinstance(node, ast.Import):
                        found.update(alias.name.split(".")[0] for alias in node.names)
                    elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                        found.add(node.module.split(".")[0])
        graph[name] = frozenset(found & set(entries) - {name})
    return graph


def vendored_closure(third_party: Iterable[str], vendor: Path) -> list[str]:
    """The vendored top-level names to ship for ``third_party``: they and what they import, transitively.

    A name neither vendored, nor in the runtime or the layer fails synthesis (the function would fail to
    import): vendor it (constraints.txt and :data:`VENDORED_DIRECT`) or list it in :data:`NEVER_AT_RUNTIME`.
    """
    graph = _vendored_imports(vendor)
    skipped = RUNTIME_PROVIDED | LAYER_PROVIDED | set(NEVER_AT_RUNTIME)
    missing = sorted(set(third_party) - set(graph) - skipped)
    if missing:
        raise ValueError(
            f"the Lambda code imports {missing}, which neither the vendored wheels ({vendor}), the "
            "python3.13 runtime nor the Powertools layer provide: vendor them (constraints.txt, "
            "VENDORED_DIRECT)"
        )
    shipped: set[str] = set()
    queue = [name for name in third_party if name in graph]
    while queue:
        name = queue.pop()
        if name in shipped or name in skipped:
            continue
        shipped.add(name)
        queue.extend(graph[name])
    return sorted(shipped)


# --- bytecode ---------------------------------------------------------------------------------------------


_PROBE = "import sys, importlib.util as u; print(sys.version_info[:2] == (3, 13), u.MAGIC_NUMBER.hex())"


@functools.lru_cache(maxsize=1)
def python313() -> tuple[str, str] | None:
    """(interpreter, magic number hex) of a CPython 3.13 on this machine, or None.

    Looked for in ``$OUTAGE_COMMS_PYTHON313``, ``python3.13`` on PATH, pyenv's and uv's installs. A .pyc
    from another version is useless (its magic number differs: Lambda would ignore it and compile at
    every cold start, where /var/task is read-only).
    """
    candidates = [os.environ.get("OUTAGE_COMMS_PYTHON313", ""), shutil.which("python3.13") or ""]
    home = Path.home()
    candidates += sorted(glob.glob(str(home / ".pyenv" / "versions" / "3.13*" / "bin" / "python3.13")))
    candidates += sorted(
        glob.glob(str(home / ".local" / "share" / "uv" / "python" / "cpython-3.13*" / "bin" / "python3.13"))
    )
    for candidate in candidates:
        if not candidate:
            continue
        try:
            probe = subprocess.run(  # noqa: S603
                [candidate, "-c", _PROBE],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            continue
        ok, _, magic = probe.stdout.strip().partition(" ")
        if probe.returncode == 0 and ok == "True":
            return candidate, magic
    return None


def bytecode_tag() -> str:
    """What the fingerprint records about bytecode: the 3.13 magic number, or ``none``."""
    found = python313()
    return f"cpython-313:{found[1]}" if found else "none"


#: Run by the python3.13: compile each (source, .pyc, path shown in tracebacks) without docstrings (the
#: first string statement of a module, class or function; asserts stay, unlike ``-OO``), as an
#: unchecked-hash .pyc. Our code never reads ``__doc__`` at run time; its bytecode is 14 % smaller.
_COMPILE_WITHOUT_DOCSTRINGS = r"""
import ast, importlib._bootstrap_external as external, importlib.util, json, sys
for source, target, shown in json.load(sys.stdin):
    data = open(source, "rb").read()
    tree = ast.parse(data, filename=shown)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                first.value.value, str
            ):
                node.body = body[1:] or [ast.copy_location(ast.Pass(), first)]
    code = compile(tree, shown, "exec", dont_inherit=True)
    with open(target, "wb") as out:
        out.write(external._code_to_hash_pyc(code, importlib.util.source_hash(data), False))
"""


def compile_bytecode(
    out: Path, *, sourceless: Sequence[Path] = (), without_docstrings: Sequence[Path] = ()
) -> bool:
    """Compile every .py under ``out`` for CPython 3.13 (unchecked-hash .pyc, paths as /var/task/...).

    Unchecked-hash pycs carry no timestamp, so the same sources give the same bytes on every machine; the
    code never changes inside a deployed asset, so the interpreter need not re-validate them. The packages
    in ``sourceless`` (the vendored ones and :data:`SOURCELESS_OWN_PACKAGES`) ship their bytecode only
    (``module.pyc`` in place of ``module.py``: half the bytes); the others (``handlers``) keep their
    source beside ``__pycache__``.
    Without a python3.13 nothing is compiled and False is returned.
    """
    found = python313()
    if found is None:
        return False
    environment = {**os.environ, "PYTHONHASHSEED": "0", "SOURCE_DATE_EPOCH": "0"}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    own = [path for path in sorted(out.iterdir()) if path.is_dir() and path not in set(sourceless)]
    common = [found[0], "-m", "compileall", "-q", "-f", "--invalidation-mode", "unchecked-hash",
              "-s", str(out), "-p", TASK_ROOT]  # fmt: skip
    for legacy, targets in ((False, own), (True, [p for p in sourceless if p.is_dir() or p.suffix == ".py"])):
        if not targets:
            continue
        command = [*common, *(["-b"] if legacy else []), *map(str, targets)]
        result = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)  # noqa: S603
        if result.returncode != 0:
            raise RuntimeError(
                f"compiling the asset for CPython 3.13 failed:\n{result.stdout}{result.stderr}"
            )
    stripped = [
        [str(source), str(source.with_suffix(".pyc")), f"{TASK_ROOT}/{source.relative_to(out).as_posix()}"]
        for package in without_docstrings
        if package in set(sourceless) and package.is_dir()
        for source in sorted(package.rglob("*.py"))
    ]
    if stripped:
        result = subprocess.run(  # noqa: S603
            [found[0], "-I", "-c", _COMPILE_WITHOUT_DOCSTRINGS],
            input=json.dumps(stripped), capture_output=True, text=True, check=False, env=environment,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"compiling our code for CPython 3.13 failed:\n{result.stderr}")
    for target in sourceless:
        sources = (
            [target] if target.suffix == ".py" else sorted(target.rglob("*.py")) if target.is_dir() else []
        )
        for source in sources:
            if source.with_suffix(".pyc").is_file():
                source.unlink()
    return True


# --- templates compiled for the run time -------------------------------------------------------------------


def compile_templates(source: Path, out: Path) -> None:
    """Copy the templates folder; each YAML file becomes its JSON twin, so no function needs a YAML parser."""
    import yaml

    from outage_comms.templates_location import YAML_SUFFIXES, compiled_path

    for path in _source_files(source):
        relative = path.relative_to(source)
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in YAML_SUFFIXES:
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise ValueError(f"{path}: invalid YAML: {exc} (outage-comms lint shows where)") from None
            compiled_path(target).write_text(
                json.dumps(data, ensure_ascii=False, sort_keys=False, default=str), encoding="utf-8"
            )
        elif path.name != ".DS_Store":
            shutil.copyfile(path, target)


# --- one function's asset -----------------------------------------------------------------------------------


def asset_fingerprint(
    plan: Plan,
    requirements: Sequence[str],
    templates_dir: Path | None = None,
    *,
    handler: str | None = None,
) -> str:
    """A stable hash over everything that goes into a function's asset (unchanged inputs: unchanged asset).

    ``handler`` None: over every source file (the asset of a handler hashes only its closure).
    """
    sources = source_dirs(templates_dir)
    digest = hashlib.sha256()
    digest.update(f"layout={ASSET_LAYOUT_VERSION};python={LAMBDA_PYTHON_VERSION};".encode())
    digest.update(f"bytecode={bytecode_tag()};".encode())
    digest.update(json.dumps([list(requirements), WHEEL_PLATFORMS]).encode())
    if handler is None:
        files = [
            (f"{name}/{path.relative_to(root).as_posix()}", path)
            for name, root in sorted(sources.items())
            if name != "templates"
            for path in _source_files(root)
        ]
        third: tuple[str, ...] = ()
    else:
        closure = handler_closure(handler, sources, plan=plan)
        files, third = list(closure.own_files), closure.third_party
    digest.update(json.dumps(sorted(third)).encode())
    for relative, path in files:
        digest.update(f"\0{relative}\0".encode())
        digest.update(path.read_bytes())
    for path in _source_files(sources["templates"]):
        digest.update(f"\0templates/{path.relative_to(sources['templates']).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    digest.update(f"\0{PLAN_FILE}\0".encode())
    digest.update(plan_json(plan).encode())
    return digest.hexdigest()


def build_asset(
    out: Path,
    *,
    plan: Plan,
    handler: str,
    requirements: Sequence[str],
    templates_dir: Path | None = None,
    bytecode: bool = True,
) -> None:
    """Assemble ``handler``'s asset into the empty directory ``out`` (``bytecode=False``: sources only)."""
    sources = source_dirs(templates_dir)
    closure = handler_closure(handler, sources, plan=plan)
    vendor = ensure_vendored(requirements)
    entries = _top_level_entries(vendor)
    for name in vendored_closure(closure.third_party, vendor):
        for item in entries[name]:
            source = vendor / item
            if source.is_dir():
                shutil.copytree(
                    source, out / item, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*VENDOR_BUILD_ONLY)
                )
            else:
                shutil.copyfile(source, out / item)
    prune_unused_vendor_files(out)
    prune_babel_locale_data(out, list(plan.locale_codes))
    prune_tzdata(out, plan_timezones(plan))
    vendored = sorted(p.name for p in out.iterdir())
    for relative, path in closure.own_files:
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out / relative)
    (out / "templates").mkdir(exist_ok=True)
    compile_templates(sources["templates"], out / "templates")
    (out / PLAN_FILE).write_text(plan_json(plan), encoding="utf-8")
    if bytecode:
        sourceless = [*vendored, *(name for name in SOURCELESS_OWN_PACKAGES if (out / name).exists())]
        compile_bytecode(
            out,
            sourceless=[out / name for name in sourceless],
            without_docstrings=[out / name for name in SOURCELESS_OWN_PACKAGES],
        )
    # Deterministic modes: the zip (and so the deployed code hash) does not depend on umask.
    for path in out.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def cached_asset(
    *, plan: Plan, handler: str, requirements: Sequence[str], templates_dir: Path | None = None
) -> Path:
    """``.build/assets/<fingerprint>/``: built once per distinct asset, then only copied."""
    fingerprint = asset_fingerprint(plan, requirements, templates_dir, handler=handler)
    target = build_dir() / "assets" / fingerprint[:24]
    if (target / PLAN_FILE).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        build_asset(
            staging, plan=plan, handler=handler, requirements=requirements, templates_dir=templates_dir
        )
        with contextlib.suppress(OSError):  # another process (pytest -n) finished first: theirs is identical
            staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def asset_size(directory: Path) -> int:
    """Unzipped bytes of an asset directory (what counts against Lambda's 250 MB and our budget)."""
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def asset_budget(shipped: Iterable[str]) -> int:
    """The unzipped byte budget of an asset shipping the top-level names ``shipped``."""
    return max([ASSET_BUDGET_BYTES, *(ASSET_BUDGET_BYTES_BY_PACKAGE.get(name, 0) for name in shipped)])


@jsii.implements(ILocalBundling)
class LocalLambdaBundler:
    """Builds a function's asset directory on this machine; CDK never falls back to Docker."""

    def __init__(
        self, *, plan: Plan, handler: str, requirements: Sequence[str], templates_dir: Path | None = None
    ) -> None:
        self._plan = plan
        self._handler = handler
        self._requirements = list(requirements)
        self._templates_dir = templates_dir

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: Any) -> bool:
        built = cached_asset(
            plan=self._plan,
            handler=self._handler,
            requirements=self._requirements,
            templates_dir=self._templates_dir,
        )
        shutil.copytree(built, output_dir, dirs_exist_ok=True)
        return True


def plan_timezones(plan: Plan) -> set[str]:
    """Every IANA zone the plan names (fields called ``timezone``), and UTC."""

    def walk(value: Any, key: str | None = None) -> Iterator[str]:
        if isinstance(value, dict):
            for inner_key, inner in value.items():
                yield from walk(inner, inner_key)
        elif isinstance(value, list):
            for inner in value:
                yield from walk(inner, key)
        elif key == "timezone" and isinstance(value, str):
            yield value

    return set(walk(plan.model_dump(mode="json"))) | {"UTC", "Etc/UTC"}


def prune_tzdata(out: Path, zones: Iterable[str]) -> None:
    """Keep only the plan's zones of the tzdata package (zoneinfo falls back to it where the system has no
    tz database): times are only ever shown in a zone the plan names (``locale_format.format_moment``)."""
    root = out / "tzdata" / "zoneinfo"
    if not root.is_dir():
        return
    keep = {root.joinpath(*zone.split("/")) for zone in zones}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix != ".py" and path not in keep:
            path.unlink()
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if not any(child.is_file() and child.suffix != ".py" for child in folder.rglob("*")):
            shutil.rmtree(folder)


def prune_unused_vendor_files(out: Path) -> None:
    """Remove the vendored data files :data:`VENDOR_UNUSED` lists (no function reads them)."""
    for pattern in VENDOR_UNUSED:
        for path in sorted(out.glob(pattern)):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


#: The top-level CLDR keys of a locale's data (``babel/locale-data/<name>.dat``) our code reads through Babel:
#: dates and times (``format_skeleton``, ``format_time``, ``format_date``, ``get_datetime_format``,
#: ``match_skeleton``), lists, numbers and percentages (``format_decimal``, ``parse_pattern``), plural rules
#: and duration units (``format_unit``), and the few small ones those functions may consult (eras, days,
#: week data, numbering systems). Display names (languages, territories, scripts, currencies, zones),
#: relative, interval and compact formats are never formatted: 0.60 MB -> 0.04 MB for the example plan.
#: Found by recording the keys read while formatting in 12 locales; tests/infrastructure/test_asset_babel.py
#: fails if the pruned data formats anything differently from Babel's full data.
BABEL_LOCALE_KEYS = frozenset(
    {
        "date_formats", "datetime_formats", "datetime_skeletons", "day_period_rules", "day_periods",
        "days", "decimal_formats", "default_numbering_system", "eras", "list_patterns", "locale_id",
        "months", "number_symbols", "numbering_systems", "ordinal_form", "percent_formats", "plural_form",
        "quarters", "time_formats", "unit_patterns", "week_data",
    }
)  # fmt: skip
#: Of ``unit_patterns`` (the largest key), the units we format: durations (``locale_format.format_span``).
BABEL_UNIT_PREFIXES = ("duration-",)
#: Of ``babel/global.dat`` (0.47 MB): what ``Locale.parse`` and ``localedata.load`` read (aliases, parents,
#: likely subtags, the latter only for the plan's languages): 0.47 MB -> ~0.01 MB.
BABEL_GLOBAL_KEYS = (
    "likely_subtags", "parent_exceptions", "language_aliases", "territory_aliases", "script_aliases",
    "variant_aliases",
)  # fmt: skip


def babel_locale_data_kept(locales: Sequence[str]) -> set[str]:
    """The CLDR files (``babel/locale-data/<name>.dat``) the plan's locales load: each one's chain to root."""
    from outage_comms.locale_format import cldr_chain

    return {name for code in locales for name in cldr_chain(code)} | {"root"}


def prune_babel_locale_data(out: Path, locales: Sequence[str]) -> None:
    """Keep only the plan's locales (and their parents) of Babel's 1,149 CLDR files (35 MB in all).

    Babel reads ``babel/global.dat`` (kept: it is beside the folder) and, per locale, its ``.dat`` and each
    parent's down to ``root.dat``. A locale the plan does not declare is never formatted at run time.
    """
    # babel.messages is gettext catalog tooling (~0.5 MB): never imported by dates, numbers, lists, units.
    shutil.rmtree(out / "babel" / "messages", ignore_errors=True)
    data = out / "babel" / "locale-data"
    if not data.is_dir():
        return
    kept = babel_locale_data_kept(locales)
    for path in data.glob("*.dat"):
        if path.stem not in kept:
            path.unlink()
    prune_babel_keys(out / "babel", locales)


def _repickle(path: Path, data: Any) -> None:
    import pickle

    path.write_bytes(pickle.dumps(data, protocol=4))  # deterministic: the same dict gives the same bytes


def prune_babel_keys(babel_dir: Path, locales: Sequence[str]) -> None:
    """Keep only :data:`BABEL_LOCALE_KEYS` in each remaining CLDR file and :data:`BABEL_GLOBAL_KEYS` in
    ``global.dat`` (re-pickled with the synth's Babel, the same pin as the asset's)."""
    import pickle

    from outage_comms.locale_format import babel_locale

    for path in sorted((babel_dir / "locale-data").glob("*.dat")):
        data = pickle.loads(path.read_bytes())  # noqa: S301 - Babel's own data file, from the pinned wheel
        kept = {key: value for key, value in data.items() if key in BABEL_LOCALE_KEYS}
        if "unit_patterns" in kept:
            kept["unit_patterns"] = {
                unit: patterns
                for unit, patterns in kept["unit_patterns"].items()
                if unit.startswith(BABEL_UNIT_PREFIXES)
            }
        _repickle(path, kept)
    global_file = babel_dir / "global.dat"
    if global_file.is_file():
        data = pickle.loads(global_file.read_bytes())  # noqa: S301 - Babel's own data file
        languages = {babel_locale(code).language for code in locales}
        kept = {key: data[key] for key in BABEL_GLOBAL_KEYS if key in data}
        kept["likely_subtags"] = {
            key: value
            for key, value in data.get("likely_subtags", {}).items()
            if key.split("_", 1)[0] in languages
        }
        _repickle(global_file, kept)


def lambda_code(*, plan: Plan, handler: str, templates_dir: Path | None = None) -> lambda_.AssetCode:
    """The code asset of the function whose handler is ``handler`` (bind it once per stack).

    ``templates_dir`` is the plan's templates folder (None: the shipped templates). Functions whose
    handlers need the same files get the same hash, so CDK stages (and uploads) that asset once.
    """
    requirements = vendored_requirements()
    sources = source_dirs(templates_dir)
    return lambda_.Code.from_asset(
        str(sources["handlers"]),  # never read: the local bundler builds the directory
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_fingerprint(plan, requirements, templates_dir, handler=handler),
        bundling=BundlingOptions(
            # Required by the API, never pulled: the local bundler always succeeds or raises.
            image=DockerImage.from_registry("none"),
            local=LocalLambdaBundler(
                plan=plan, handler=handler, requirements=requirements, templates_dir=templates_dir
            ),
            output_type=BundlingOutput.NOT_ARCHIVED,
        ),
    )
