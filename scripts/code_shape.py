"""The code's shape, measured from its AST: long modules, long functions, import cycles, imports in functions.

    python scripts/code_shape.py [--root DIR] [--json]

Issue 16's numbers come from here (before: run it on a checkout of the base commit; after: on the tree). The
import graph is between modules of our packages (lambdas/outage_comms, lambdas/handlers, stacks, cli); a
cycle is a strongly connected component of more than one module, counting imports at module level only
(imports inside functions are counted separately: they are how cycles hide).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

PACKAGES = {
    "outage_comms": "lambdas/outage_comms",
    "outage_comms_handlers": "lambdas/handlers",
    "outage_comms_cdk": "stacks",
    "outage_comms_cli": "cli/outage_comms_cli",
    "outage_comms_embedded": "cli/outage_comms_embedded",
}
# names the repository uses for the same packages when run from the checkout
ALIASES = {"handlers": "outage_comms_handlers", "stacks": "outage_comms_cdk"}
LONG_FUNCTION = 60
LONG_MODULE = 400


def _modules(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        base = root / folder
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    head, _, rest = name.partition(".")
    name = ".".join(filter(None, [ALIASES.get(head, head), rest]))
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, tree: ast.Module, known: dict[str, Path], is_package: bool):
    """(target, at_module_level, line) for every import of one of our modules."""
    nested: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            nested.update(id(n) for n in ast.walk(node) if n is not node)
    type_checking: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_checking.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(filter(None, [*anchor, base]))
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        for name in names:
            target = _resolve(name, known)
            if target and target != module and id(node) not in type_checking:
                yield target, id(node) not in nested, node.lineno


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _by_package(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between our packages' first-level parts (outage_comms.channels, outage_comms.plan, ...)."""

    def part(name: str) -> str:
        return ".".join(name.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for source, targets in graph.items():
        packages.setdefault(part(source), set()).update(part(t) for t in targets if part(t) != part(source))
    return packages


def _cycle_imports(
    cycles: list[list[str]], full: dict[str, set[str]], lines: dict[tuple[str, str], list[str]]
) -> list[list[str]]:
    """Per package cycle, the imports that make it: ``source -> target  file:line`` between its parts."""

    def part(name: str) -> str:
        return ".".join(name.split(".")[:2])

    found = []
    for cycle in cycles:
        members = set(cycle)
        found.append(
            [
                f"{source} -> {target}  {', '.join(dict.fromkeys(lines[(source, target)]))}"
                for source in sorted(full)
                for target in sorted(full[source])
                if part(source) in members and part(target) in members and part(source) != part(target)
            ]
        )
    return found


def measure(root: Path) -> dict:
    known = _modules(root)
    graph: dict[str, set[str]] = {name: set() for name in known}
    full: dict[str, set[str]] = {name: set() for name in known}
    lines: dict[tuple[str, str], list[str]] = {}
    functions: list[tuple[int, str]] = []
    modules: list[tuple[int, str]] = []
    in_function = 0
    for name, path in known.items():
        try:
            source = path.read_text(encoding="utf-8")
        except FileNotFoundError:  # deleted while we measured (someone is editing the tree)
            continue
        tree = ast.parse(source)
        rel = str(path.relative_to(root))
        modules.append((len(source.splitlines()), rel))
        for target, top, line in _imports(name, tree, known, path.name == "__init__.py"):
            full[name].add(target)
            lines.setdefault((name, target), []).append(f"{rel}:{line}" + ("" if top else " (in a function)"))
            if top:
                graph[name].add(target)
            else:
                in_function += 1
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                functions.append((length, f"{rel}:{node.lineno} {node.name}"))
    functions.sort(reverse=True)
    modules.sort(reverse=True)
    long_functions = [f for f in functions if f[0] > LONG_FUNCTION]
    long_modules = [m for m in modules if m[0] > LONG_MODULE]
    packages = _by_package(full)
    package_cycles = _cycles(packages)
    return {
        "modules": len(known),
        "cycles": _cycles(graph),
        "cycles_with_function_imports": _cycles(full),
        "package_cycles_with_function_imports": package_cycles,
        "package_cycle_imports": _cycle_imports(package_cycles, full, lines),
        "imports_inside_functions": in_function,
        "functions_over_60_lines": len(long_functions),
        "longest_functions": long_functions[:15],
        "modules_over_400_lines": len(long_modules),
        "longest_modules": long_modules[:15],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--edges", action="store_true", help="list the imports that make each package cycle")
    args = parser.parse_args()
    report = measure(args.root)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"modules: {report['modules']}")
    print(f"import cycles: {len(report['cycles'])}")
    for cycle in report["cycles"]:
        print("  " + " <-> ".join(cycle))
    print(f"import cycles, counting imports inside functions: {len(report['cycles_with_function_imports'])}")
    for cycle in report["cycles_with_function_imports"]:
        print("  " + " <-> ".join(cycle[:12]) + (f" (+{len(cycle) - 12})" if len(cycle) > 12 else ""))
    package_cycles = report["package_cycles_with_function_imports"]
    print(f"cycles between first-level parts (outage_comms.X), all imports: {len(package_cycles)}")
    for cycle, imports in zip(package_cycles, report["package_cycle_imports"], strict=True):
        print("  " + " <-> ".join(cycle[:12]) + (f" (+{len(cycle) - 12})" if len(cycle) > 12 else ""))
        if args.edges:
            print("\n".join(f"      {line}" for line in imports))
    print(f"imports inside functions (our modules): {report['imports_inside_functions']}")
    print(f"functions over {LONG_FUNCTION} lines: {report['functions_over_60_lines']}")
    for length, where in report["longest_functions"]:
        print(f"  {length:4d} {where}")
    print(f"modules over {LONG_MODULE} lines: {report['modules_over_400_lines']}")
    for length, where in report["longest_modules"]:
        print(f"  {length:4d} {where}")


if __name__ == "__main__":
    main()
