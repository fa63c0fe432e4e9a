"""No runtime code scans a DynamoDB table: every read is a GetItem, a BatchGetItem or a Query.

A Scan reads the whole table, so its cost grows with the history (issue 13). This test reads the
source of everything that ships (``lambdas/``) and fails on any ``.scan(...)`` call, any
``get_paginator("scan")`` and any ``dynamodb:Scan`` string. ``tests/integration/intake/
test_store_indexes_on_moto.py`` proves the same at run time (no Scan request during a publish and an
SLO tick); the CDK tests prove no role may Scan the incidents table.
"""

from __future__ import annotations

import ast
from pathlib import Path

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


def scans_in(source: str, filename: str = "<source>") -> list[str]:
    """``file:line what`` for every scan the source would send."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name.lower() == "scan":
                found.append((node.lineno, f"{filename}:{node.lineno} .{name}(...)"))
            elif name == "get_paginator" and any(
                isinstance(a, ast.Constant) and str(a.value).lower() == "scan" for a in node.args
            ):
                found.append((node.lineno, f"{filename}:{node.lineno} get_paginator('scan')"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value == "dynamodb:Scan":
            found.append((node.lineno, f"{filename}:{node.lineno} 'dynamodb:Scan'"))
    return [what for _, what in sorted(found)]


def test_the_detector_finds_every_way_of_scanning() -> None:
    source = "\n".join(
        [
            "client.scan(TableName='t')",
            "table.scan()",
            "client.get_paginator('scan').paginate(TableName='t')",
            "actions = ['dynamodb:Scan']",
            "client.query(TableName='t', ScanIndexForward=False)",  # a Query: allowed
            "leaks.scan_text('x')",  # not a DynamoDB call
        ]
    )
    assert [f.split(" ", 1)[1] for f in scans_in(source)] == [
        ".scan(...)",
        ".scan(...)",
        "get_paginator('scan')",
        "'dynamodb:Scan'",
    ]


def test_runtime_code_never_scans() -> None:
    sources = sorted(LAMBDAS.rglob("*.py"))
    assert len(sources) > 50  # the whole runtime was read, not an empty folder
    found = [
        f
        for path in sources
        for f in scans_in(path.read_text(encoding="utf-8"), str(path.relative_to(LAMBDAS)))
    ]
    assert found == []
