#!/usr/bin/env python3
"""CDK entry point: validate the plan, build the stacks, gate synthesis on cdk-nag.

    npx cdk synth -c plan=plans/example.yaml

A plan that does not validate stops here, before anything is synthesized: each problem is
printed as ``file: path: message. Fix: ...`` and the exit code is 1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from aws_cdk import App, Environment

from outage_comms.plan import PlanError, load_plan
from stacks.core_stack import OutageCommsCoreStack
from stacks.quality_gates import apply_quality_gates
from stacks.settings import (
    PLAN_CONTEXT_KEY,
    DeploymentSettings,
    SettingsError,
    cdk_json_context,
    context_value,
)

CORE_STACK_NAME = "OutageCommsCore"


def environment() -> Environment | None:
    """The account/region the CLI resolved, or None for an environment-agnostic synth."""
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    if account and region:
        return Environment(account=account, region=region)
    return None


def build_app(app: App | None = None) -> App:
    """Build every stack into ``app`` (a new App by default).

    Raises PlanError for a broken plan and SettingsError for a bad context value.
    """
    app = app or App(context=cdk_json_context())
    plan_path = Path(str(context_value(app, PLAN_CONTEXT_KEY)))
    plan = load_plan(plan_path)
    settings = DeploymentSettings.from_context(app, plan=plan, plan_path=plan_path)
    OutageCommsCoreStack(app, CORE_STACK_NAME, settings=settings, env=environment())
    apply_quality_gates(app)
    return app


def main() -> int:
    try:
        app = build_app()
    except PlanError as error:
        print(f"The plan cannot be deployed ({len(error.problems)} problem(s)):", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except SettingsError as error:
        print(f"The CDK context is not usable: {error}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
