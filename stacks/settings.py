"""Deployment settings read from CDK context, with ``cdk.json`` as the single source of defaults.

``npx cdk`` merges ``cdk.json``'s context into the app; ``python app.py`` and the tests do not,
so :func:`context_value` falls back to the same file. A value therefore lives in one place.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs import Construct

from outage_comms.plan import Plan

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = REPO_ROOT / "cdk.json"

PLAN_CONTEXT_KEY = "plan"
POWERTOOLS_LAYER_VERSION_CONTEXT_KEY = "powertools_layer_version"


class SettingsError(ValueError):
    """A context value is missing or malformed; the message says which and how to set it."""


@functools.cache
def cdk_json_context() -> dict[str, Any]:
    """The ``context`` block of ``cdk.json`` (feature flags and project defaults)."""
    return dict(json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {}))


def context_value(scope: Construct, key: str) -> Any:
    """A context value set with ``-c key=value``, else the default in ``cdk.json``."""
    value = scope.node.try_get_context(key)
    if value is None:
        value = cdk_json_context().get(key)
    if value is None:
        raise SettingsError(f"context '{key}' is not set: pass -c {key}=... or add it to cdk.json")
    return value


@dataclass(frozen=True, kw_only=True)
class DeploymentSettings:
    """What every stack needs to know about this deployment."""

    plan: Plan
    plan_path: Path
    powertools_layer_version: int

    @classmethod
    def from_context(cls, scope: Construct, *, plan: Plan, plan_path: Path) -> DeploymentSettings:
        version = context_value(scope, POWERTOOLS_LAYER_VERSION_CONTEXT_KEY)
        try:
            layer_version = int(version)
        except (TypeError, ValueError):
            layer_version = 0
        if layer_version < 1:
            raise SettingsError(
                f"context '{POWERTOOLS_LAYER_VERSION_CONTEXT_KEY}' must be a layer version number (>= 1), "
                f"got {version!r}: set it in cdk.json"
            )
        return cls(plan=plan, plan_path=plan_path, powertools_layer_version=layer_version)
