"""cfn-lint finds nothing in any synthesized template (using the repository's .cfnlintrc.yaml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from synthesized_apps import REPO_ROOT

pytestmark = pytest.mark.infrastructure


def test_cfn_lint_passes_on_every_synthesized_template(core: Any, function_stack: Any) -> None:
    templates = [*core.template_files(), *function_stack.template_files()]
    names = {Path(t).name for t in templates}
    # every stack the app builds is linted, not just the first one
    assert {
        f"OutageComms{name}.template.json"
        for name in ("Core", "Intake", "Workflow", "Channels", "Status", "StatusPublisher")
    } <= names, names
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *map(str, templates)],
        cwd=REPO_ROOT,  # picks up .cfnlintrc.yaml
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
