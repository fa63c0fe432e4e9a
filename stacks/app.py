"""Build the Outage Comms stacks from a plan: the library behind every CDK app that deploys it.

A team's ``app.py`` (``outage-comms init`` writes it) is a few lines::

    import sys
    from outage_comms_cdk.app import main
    sys.exit(main())

Inside an existing CDK app, build the stacks into your own ``App``::

    from aws_cdk import App
    from outage_comms_cdk.app import build_app
    app = App()
    build_app(app, plan_path="comms/plan.yaml")
    app.synth()

A plan that does not validate stops here, before anything is synthesized: each problem is printed as
``file: path: message. Fix: ...``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from aws_cdk import App, Environment

from outage_comms.plan import PlanError, load_plan
from outage_comms.templates_location import templates_dir_for
from outage_comms_cdk.channels_stack import OutageCommsChannelsStack
from outage_comms_cdk.core_stack import OutageCommsCoreStack
from outage_comms_cdk.intake_stack import OutageCommsIntakeStack
from outage_comms_cdk.quality_gates import apply_quality_gates
from outage_comms_cdk.settings import (
    PLAN_CONTEXT_KEY,
    DeploymentSettings,
    SettingsError,
    cdk_json_context,
    context_value,
    deployment_id,
    stack_name,
)
from outage_comms_cdk.status_publisher_stack import OutageCommsStatusPublisherStack
from outage_comms_cdk.status_stack import (
    STATUS_FEEDBACK_URL_CONTEXT_KEY,
    add_status_stacks,
    same_place_feedback_api,
    same_place_subscribe_api,
    status_environment,
    status_in_workload_place,
)
from outage_comms_cdk.workflow_stack import OutageCommsWorkflowStack

CORE_STACK_NAME = "OutageCommsCore"
CHANNELS_STACK_NAME = "OutageCommsChannels"
INTAKE_STACK_NAME = "OutageCommsIntake"
WORKFLOW_STACK_NAME = "OutageCommsWorkflow"
STATUS_PUBLISHER_STACK_NAME = "OutageCommsStatusPublisher"
STATUS_STACK_NAME = "OutageCommsStatus"


def environment() -> Environment | None:
    """The account/region the CLI resolved, or None for an environment-agnostic synth."""
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    if account and region:
        return Environment(account=account, region=region)
    return None


def stack_names(deployment: str | None) -> dict[str, str]:
    """Each stack's name for a deployment id (``OutageComms-<id>-Core``); None keeps the original names."""
    bases = (
        CORE_STACK_NAME,
        CHANNELS_STACK_NAME,
        INTAKE_STACK_NAME,
        WORKFLOW_STACK_NAME,
        STATUS_PUBLISHER_STACK_NAME,
        STATUS_STACK_NAME,
    )
    return {base: stack_name(base, deployment) for base in bases}


def build_app(
    app: App | None = None,
    *,
    plan_path: str | Path | None = None,
    templates_dir: Path | None = None,
    lint: bool = True,
) -> App:
    """Build every stack into ``app`` (a new App with ``cdk.json``'s context by default).

    The plan is ``plan_path``, else the ``plan`` context (``-c plan=...`` or the team's ``cdk.json``);
    its templates are the plan's folder unless ``templates_dir`` is given. The whole ``outage-comms lint``
    runs first (``lint=False`` skips it).
    Raises PlanError for a plan that does not validate, PlanLintError (outage_comms_cdk.lint_gate) for
    lint errors and SettingsError for a bad context value.
    """
    app = app or App(context=cdk_json_context())
    path = Path(str(plan_path or context_value(app, PLAN_CONTEXT_KEY)))
    plan = load_plan(path)
    settings = DeploymentSettings.from_context(app, plan=plan, plan_path=path, templates_dir=templates_dir)
    names = stack_names(deployment_id(app, plan))
    if lint:
        from outage_comms_cdk.lint_gate import lint_gate

        lint_gate(path, settings.templates_dir or templates_dir_for(path, plan.templates))
    core = OutageCommsCoreStack(app, names[CORE_STACK_NAME], settings=settings, env=environment())
    status_env = status_environment(app, environment())
    status_publisher = OutageCommsStatusPublisherStack(
        app,
        names[STATUS_PUBLISHER_STACK_NAME],
        core=core,
        status_account=status_env.account if status_env else None,
        status_region=status_env.region if status_env else None,
        distribution_id=app.node.try_get_context("status_distribution_id"),
        env=environment(),
    )
    channels = OutageCommsChannelsStack(
        app, names[CHANNELS_STACK_NAME], plan=plan, core=core, env=environment()
    )
    workflow = OutageCommsWorkflowStack(
        app,
        names[WORKFLOW_STACK_NAME],
        settings=settings,
        key=core.encryption.key,
        incidents_table=core.data.incidents,
        lambda_runtime=core.lambda_runtime,
        status_publisher=status_publisher.status_publisher,
        channels=channels,
        # Feedback links on the status domain (/f/* is routed to the feedback API), not the execute-api URL.
        feedback_base_url=plan.organization.status_page_url
        if status_in_workload_place(status_env, environment())
        or app.node.try_get_context(STATUS_FEEDBACK_URL_CONTEXT_KEY)
        else None,
        env=environment(),
    )
    OutageCommsIntakeStack(
        app,
        names[INTAKE_STACK_NAME],
        plan=plan,
        core=core,
        state_machine=workflow.state_machine,
        workflow_table=workflow.state.table,
        status_publisher=status_publisher.status_publisher,
        review_signing_key=workflow.signing_key,
        web_acl=workflow.web_acl,
        env=environment(),
    )
    workload = environment()
    add_status_stacks(
        app,
        names[STATUS_STACK_NAME],
        plan=plan,
        status_env=status_env,
        workload_account=workload.account if workload else None,
        workload_region=workload.region if workload else None,
        subscribe_api=same_place_subscribe_api(channels, status_env, workload),
        feedback_api=same_place_feedback_api(workflow, status_env, workload),
    )
    apply_quality_gates(app)
    return app


def main(app: App | None = None, *, plan_path: str | Path | None = None) -> int:
    """Build and synthesize; print what stops a broken plan or context, as lint does. Returns the exit code
    (``outage-comms lint``'s: 2 the plan is unusable, 1 lint errors; 1 also for a bad context value)."""
    from outage_comms_cdk.lint_gate import PlanLintError, report_lines, unusable_report

    try:
        built = build_app(app, plan_path=plan_path)
    except PlanError as error:
        where = str(plan_path or (error.problems[0].file if error.problems else "plan"))
        report = unusable_report(error, where)
        print("\n".join(report_lines(report)), file=sys.stderr)
        return report.exit_code
    except PlanLintError as error:
        print("\n".join(report_lines(error.report)), file=sys.stderr)
        return error.report.exit_code
    except SettingsError as error:
        print(f"The CDK context is not usable: {error}", file=sys.stderr)
        return 1
    built.synth()
    return 0
