"""Deployment settings read from CDK context, with ``cdk.json`` as the single source of defaults.

``npx cdk`` merges ``cdk.json``'s context into the app; ``python app.py`` and the tests do not,
so :func:`context_value` falls back to the same file: the team's ``cdk.json`` in the working directory
(where ``cdk`` runs), else the one Outage Comms ships (feature flags, the Powertools layer version).
The plan has no default: ``-c plan=...``, or ``"plan"`` in the team's ``cdk.json`` (``outage-comms init``
writes it), so a forgotten flag never deploys someone else's plan.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Stack
from constructs import Construct

from outage_comms.plan import DEPLOYMENT_ID_PATTERN, Plan
from outage_comms.plan import deployed_name as name_for
from outage_comms.templates_location import templates_dir_for

PLAN_CONTEXT_KEY = "plan"
POWERTOOLS_LAYER_VERSION_CONTEXT_KEY = "powertools_layer_version"
DEPLOYMENT_CONTEXT_KEY = "deployment"
#: Every stack name starts with this; with a deployment id it is ``OutageComms-<id>-<Part>``.
STACK_NAME_PREFIX = "OutageComms"
_DEPLOYED_STACK_NAME = re.compile(r"^OutageComms-(?P<id>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)-[A-Z][A-Za-z0-9]*$")


class SettingsError(ValueError):
    """A context value is missing or malformed; the message says which and how to set it."""


def cdk_json_path() -> Path:
    """The team's ``cdk.json`` (working directory), else the one that ships with Outage Comms."""
    local = Path.cwd() / "cdk.json"
    if local.is_file():
        return local
    from outage_comms.shipped import shipped_path

    return shipped_path("cdk.json")


def cdk_json_context() -> dict[str, Any]:
    """The ``context`` block of ``cdk.json`` (feature flags and project defaults)."""
    return dict(_read_context(cdk_json_path()))


@functools.cache
def _read_context(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")).get("context", {}))


def context_value(scope: Construct, key: str) -> Any:
    """A context value set with ``-c key=value``, else the default in ``cdk.json``."""
    value = scope.node.try_get_context(key)
    if value is None:
        value = cdk_json_context().get(key)
    if value is None and key == PLAN_CONTEXT_KEY:
        raise SettingsError(
            'no plan: pass -c plan=path/to/plan.yaml, or set "plan" in your cdk.json\'s context '
            "(outage-comms init writes it); there is no default plan to deploy"
        )
    if value is None:
        raise SettingsError(f"context '{key}' is not set: pass -c {key}=... or add it to cdk.json")
    return value


@dataclass(frozen=True, kw_only=True)
class DeploymentSettings:
    """What every stack needs to know about this deployment."""

    plan: Plan
    plan_path: Path
    powertools_layer_version: int
    #: The plan's templates folder (``templates:`` in the plan, default ``templates/`` beside it).
    templates_dir: Path | None = None

    @classmethod
    def from_context(
        cls, scope: Construct, *, plan: Plan, plan_path: Path, templates_dir: Path | None = None
    ) -> DeploymentSettings:
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
        return cls(
            plan=plan,
            plan_path=plan_path,
            powertools_layer_version=layer_version,
            templates_dir=templates_dir or templates_dir_for(plan_path, plan.templates),
        )


def deployment_id(scope: Construct, plan: Plan) -> str | None:
    """``-c deployment=<id>``, else the plan's ``deployment.id``, else None (the original names)."""
    value = scope.node.try_get_context(DEPLOYMENT_CONTEXT_KEY)
    if value is None or str(value).strip() == "":
        return plan.deployment.id
    text = str(value).strip()
    if not re.fullmatch(DEPLOYMENT_ID_PATTERN, text):
        raise SettingsError(
            f"context '{DEPLOYMENT_CONTEXT_KEY}' must be lowercase letters, digits and inner hyphens, "
            "at most "
            f"20 characters (e.g. acme-prod), got {text!r}: pass -c {DEPLOYMENT_CONTEXT_KEY}=acme-prod"
        )
    return text


def stack_name(base: str, deployment: str | None) -> str:
    """``OutageCommsCore`` as is without a deployment id, ``OutageComms-<id>-Core`` with one."""
    if deployment is None:
        return base
    part = base.removeprefix(STACK_NAME_PREFIX)
    if part == base or not part:
        raise ValueError(f"stack name {base!r} does not start with {STACK_NAME_PREFIX}")
    return f"{STACK_NAME_PREFIX}-{deployment}-{part}"


def deployment_in(name: str) -> str | None:
    """The deployment id in a stack name made by :func:`stack_name`, None for an original name."""
    match = _DEPLOYED_STACK_NAME.match(name)
    return match.group("id") if match else None


def deployment_of(scope: Construct) -> str | None:
    """The deployment id of the stack ``scope`` is in, read from its name (see :func:`stack_name`)."""
    return deployment_in(Stack.of(scope).stack_name)


def physical_name(scope: Construct, base: str) -> str:
    """:func:`name_for` with the deployment id of ``scope``'s stack."""
    return name_for(base, deployment_of(scope))
