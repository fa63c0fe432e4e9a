"""Build and synthesize CDK apps for the infrastructure tests, the way the CLI would."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLAN = REPO_ROOT / "plans" / "example.yaml"
FUNCTION_STACK = "FunctionFactoryTest"

# `stacks` and `app` live at the repository root, which the installed package does not cover.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
# jsii prints a banner for end-of-life Node 20 unless told not to; keep test output readable.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Stack  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from outage_comms_cdk.settings import cdk_json_context  # noqa: E402


@dataclass(frozen=True)
class Synthesized:
    """One synthesized app: its output directory and its stacks' templates (assertable and raw)."""

    outdir: Path
    templates: dict[str, Template]
    raw: dict[str, dict[str, Any]]

    def template_files(self) -> list[Path]:
        return sorted(self.outdir.glob("*.template.json"))


def new_app(outdir: Path, **context: Any) -> App:
    """An App with cdk.json's context (feature flags included), as ``npx cdk`` would build it."""
    return App(outdir=str(outdir), context={**cdk_json_context(), **context})


def synthesize(app: App) -> Synthesized:
    assembly = app.synth()
    stacks = [child for child in app.node.children if Stack.is_stack(child)]
    return Synthesized(
        outdir=Path(assembly.directory),
        templates={stack.stack_name: Template.from_stack(stack) for stack in stacks},
        raw={stack.stack_name: assembly.get_stack_by_name(stack.stack_name).template for stack in stacks},
    )
