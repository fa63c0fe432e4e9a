from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLAN = ROOT / "plans" / "example.yaml"


@pytest.fixture(scope="session")
def example_data() -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE_PLAN.read_text())
    data["templates"] = str(ROOT / "templates")  # copies live in tmp folders, away from ../templates
    return data


@pytest.fixture
def write_plan(
    tmp_path: Path, example_data: dict[str, Any]
) -> Callable[[Callable[[dict[str, Any]], None]], Path]:
    """Write a copy of the example plan after applying ``change`` to it; return its path."""

    def _write(change: Callable[[dict[str, Any]], None]) -> Path:
        data = copy.deepcopy(example_data)
        change(data)
        path = tmp_path / "plan.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        return path

    return _write
