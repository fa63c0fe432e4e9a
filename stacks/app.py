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
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import App, CfnOutput, Environment

from outage_comms.plan import Plan, PlanError, load_plan
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
INCIDENT_MANAGER_STACK_NAME = "OutageCommsIncidentManager"
ROUTING_STACK_NAME = "OutageCommsRouting"
#: Stack-name suffixes of a two-region engine (``OutageCommsCorePrimary``, ``OutageCommsIntakeStandby``).
PRIMARY_ROLE, STANDBY_ROLE = "Primary", "Standby"


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
        INCIDENT_MANAGER_STACK_NAME,
        ROUTING_STACK_NAME,
    )
    return {base: stack_name(base, deployment) for base in bases}


@dataclass(frozen=True)
class Engine:
    """One region's comms engine: its stacks and where they are (``role`` None: the single-region engine)."""

    role: str | None
    env: Environment | None
    core: OutageCommsCoreStack
    publisher: OutageCommsStatusPublisherStack
    channels: OutageCommsChannelsStack
    workflow: OutageCommsWorkflowStack
    intake: OutageCommsIntakeStack


def engine_environments(plan: Plan) -> list[tuple[str | None, Environment | None]]:
    """Where the engines go: the CLI's environment (no ``regions``), the primary alone, or the primary
    and the standby (stack names then carry the role: ``OutageCommsCorePrimary``, ``...CoreStandby``)."""
    regions = plan.regions
    if regions is None:
        return [(None, environment())]
    account = os.environ.get("CDK_DEFAULT_ACCOUNT") or None
    if regions.standby is None:
        return [(None, Environment(account=account, region=regions.primary))]
    return [
        (PRIMARY_ROLE, Environment(account=account, region=regions.primary)),
        (STANDBY_ROLE, Environment(account=account, region=regions.standby)),
    ]


def _add_engine(
    app: App,
    names: dict[str, str],
    *,
    settings: DeploymentSettings,
    env: Environment | None,
    role: str | None,
    status_env: Environment | None,
) -> Engine:
    plan = settings.plan

    def name(base: str) -> str:
        return names[base] + (role or "")

    core = OutageCommsCoreStack(app, name(CORE_STACK_NAME), settings=settings, env=env)
    status_publisher = OutageCommsStatusPublisherStack(
        app,
        name(STATUS_PUBLISHER_STACK_NAME),
        core=core,
        status_account=status_env.account if status_env else None,
        status_region=status_env.region if status_env else None,
        distribution_id=app.node.try_get_context("status_distribution_id"),
        env=env,
    )
    channels = OutageCommsChannelsStack(app, name(CHANNELS_STACK_NAME), plan=plan, core=core, env=env)
    workflow = OutageCommsWorkflowStack(
        app,
        name(WORKFLOW_STACK_NAME),
        settings=settings,
        key=core.encryption.key,
        incidents_table=core.data.incidents,
        lambda_runtime=core.lambda_runtime,
        status_publisher=status_publisher.status_publisher,
        channels=channels,
        # Feedback links on the status domain (/f/* is routed to the feedback API), not the execute-api URL.
        feedback_base_url=plan.organization.status_page_url
        if status_in_workload_place(status_env, env)
        or app.node.try_get_context(STATUS_FEEDBACK_URL_CONTEXT_KEY)
        else None,
        env=env,
    )
    intake = OutageCommsIntakeStack(
        app,
        name(INTAKE_STACK_NAME),
        plan=plan,
        core=core,
        state_machine=workflow.state_machine,
        workflow_table=workflow.state.table,
        status_publisher=status_publisher.status_publisher,
        review_signing_key=workflow.signing_key,
        web_acl=workflow.web_acl,
        env=env,
    )
    return Engine(role, env, core, status_publisher, channels, workflow, intake)


def add_region_routing(app: App, names: dict[str, str], *, plan: Plan, engines: list[Engine]) -> None:
    """Two engines: forwarding from each workload region's default bus, forwarded events into each
    engine's intake, the global endpoint (primary) and the synthetic check (standby). docs/regions.md."""
    if len(engines) < 2 or plan.regions is None:
        return
    from outage_comms_cdk.constructs.region_routing import ForwardedEventIntake, GlobalEndpoint
    from outage_comms_cdk.constructs.synthetic_check import SyntheticCheckCanary

    primary, standby = engines[0], engines[1]
    _fence_every_sender(engines)
    for engine in engines:
        intake = engine.intake
        ForwardedEventIntake(
            intake,
            "ForwardedEvents",
            plan=plan,
            bus=engine.core.events.bus,
            queue=intake.intake.queue,
            dead_letter_queue=intake.intake.rule_dead_letter_queue,
        )
        CfnOutput(intake, "EngineRegionRole", value=str(engine.role).lower())
    _forward_workload_regions(app, names, plan=plan, engines=engines)
    assert standby.env is not None and standby.env.region is not None
    GlobalEndpoint(
        primary.intake,
        "GlobalEndpoint",
        intake_queue=primary.intake.intake.queue,
        standby_region=standby.env.region,
    )
    _add_region_failover(plan, engines)
    check = plan.regions.synthetic_check
    if check is not None:
        SyntheticCheckCanary(standby.intake, "SyntheticCheck", check=check, key=standby.core.encryption.key)


def _fence_every_sender(engines: list[Engine]) -> None:
    """Every workflow and status-publisher function checks the incident's owner before it sends or
    publishes (the runtime's fence reads OWNERSHIP_TABLE)."""
    from aws_cdk import aws_lambda as lambda_

    for engine in engines:
        for stack in (engine.workflow, engine.publisher):
            for construct in stack.node.find_all():
                if isinstance(construct, lambda_.Function):
                    engine.core.data.grant_ownership(construct, engine.core.encryption.key)


def _forward_workload_regions(app: App, names: dict[str, str], *, plan: Plan, engines: list[Engine]) -> None:
    """Each workload region's alarm and AWS Health events reach the engines in the other regions: from an
    engine's own intake stack, or from a small forwarding stack where no engine runs."""
    from outage_comms_cdk.constructs.region_routing import (
        EventForwarding,
        engine_health_alarm_name,
        engine_health_pattern,
    )

    assert plan.regions is not None
    by_region = {str(engine.env.region): engine for engine in engines if engine.env is not None}
    for region in plan.regions.workload_regions:
        target_regions = [r for r in by_region if r != region]
        if region not in by_region:
            _forwarding_stack(
                app, names, plan=plan, region=region, target_regions=target_regions, primary=engines[0]
            )
            continue
        intake = by_region[region].intake
        # The primary also forwards its engine-health alarm: the standby's failover function hears it.
        health = (
            {"EngineHealth": engine_health_pattern(engine_health_alarm_name(intake))}
            if region == plan.regions.primary
            else {}
        )
        EventForwarding(
            intake,
            "Forwarding",
            plan=plan,
            target_regions=target_regions,
            dead_letter_queue=intake.intake.rule_dead_letter_queue,
            extra_patterns=health,
        )


def _forwarding_stack(
    app: App, names: dict[str, str], *, plan: Plan, region: str, target_regions: list[str], primary: Engine
) -> None:
    """A workload region with no engine: a small stack there forwards to both engines."""
    from aws_cdk import Stack, Tags
    from aws_cdk import aws_sqs as sqs

    from outage_comms_cdk.constructs.region_routing import EventForwarding
    from outage_comms_cdk.core_stack import PROJECT_TAG
    from outage_comms_cdk.quality_gates import acknowledge

    account = primary.env.account if primary.env else None
    stack = Stack(
        app,
        names[ROUTING_STACK_NAME] + "".join(part.capitalize() for part in region.split("-")),
        env=Environment(account=account, region=region),
        description=f"Outage Comms: forward {region}'s alarm and AWS Health events to both engines",
    )
    Tags.of(stack).add(*PROJECT_TAG)
    undeliverable = sqs.Queue(
        stack, "Undeliverable", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True
    )
    acknowledge(
        undeliverable,
        "AwsSolutions-SQS3",
        "This queue is itself the dead-letter queue of the forwarding rules (events EventBridge "
        "could not deliver to either engine after 24 hours of retries).",
    )
    EventForwarding(
        stack, "Forwarding", plan=plan, target_regions=target_regions, dead_letter_queue=undeliverable
    )


def _add_region_failover(plan: Plan, engines: list[Engine]) -> None:
    """Both engines run the failover function: the standby takes over, and either hands back on failback."""
    from outage_comms_cdk.constructs.region_routing import RegionFailover, engine_health_alarm_name

    assert plan.regions is not None
    primary = engines[0]
    for engine in engines:
        RegionFailover(
            engine.intake,
            "RegionFailover",
            runtime=engine.core.lambda_runtime,
            key=engine.core.encryption.key,
            data=engine.core.data,
            workflow_table=engine.workflow.state.table,
            bus=engine.core.events.bus,
            queue_dead_letters=engine.core.events.dead_letter_queue,
            rule_dead_letters=engine.intake.intake.rule_dead_letter_queue,
            health_alarms={engine_health_alarm_name(primary.intake): plan.regions.primary},
        )


def add_incident_manager(app: App, names: dict[str, str], *, plan: Plan, engines: list[Engine]) -> None:
    """Incident Manager response plans in each engine region, contacts (and the replication set) in the
    primary; each region's response plans run that region's runbook."""
    from aws_cdk import Stack, Tags

    from outage_comms_cdk.constructs.incident_manager_plan import IncidentManagerPlan
    from outage_comms_cdk.core_stack import PROJECT_TAG

    settings = plan.incident_manager
    assert settings is not None
    primary = engines[0]
    primary_region = primary.workflow.region
    regions = [str(engine.env.region) for engine in engines if engine.env is not None]
    first: Stack | None = None
    for engine in engines:
        stack = Stack(
            app,
            names[INCIDENT_MANAGER_STACK_NAME] + (engine.role or ""),
            env=engine.env,
            description=f"Outage Comms Incident Manager for {plan.organization.name}: response plans, "
            "contacts, chat channel",
        )
        Tags.of(stack).add(*PROJECT_TAG)
        # Incident Manager posts to the encrypted chat topic: it may use the engine's key for that.
        engine.core.encryption.allow_service_deliveries(
            sid="IncidentManagerUsesTheKeyForItsChatChannel", service="ssm-incidents.amazonaws.com"
        )
        IncidentManagerPlan(
            stack,
            "IncidentManager",
            plan=plan,
            settings=settings,
            runbook=engine.workflow.runbook,
            key=engine.core.encryption.key,
            contact_region=primary_region,
            replication_regions=regions if settings.create_replication_set and first is None else (),
        )
        if first is not None:
            stack.add_stack_dependency(first)  # the standby engages the primary's contacts
        first = first or stack


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
    environments = engine_environments(plan)
    status_env = status_environment(app, environments[0][1])
    engines = [
        _add_engine(app, names, settings=settings, env=env, role=role, status_env=status_env)
        for role, env in environments
    ]
    primary = engines[0]
    if len(engines) == 2:
        # The global tables are created in the primary with the standby's key (by alias) for their
        # replicas, so the standby's core (its key) deploys first and the rest of it after the tables.
        primary.core.add_stack_dependency(engines[1].core)
        for stack in (engines[1].channels, engines[1].workflow, engines[1].intake, engines[1].publisher):
            stack.add_stack_dependency(primary.core)
    add_region_routing(app, names, plan=plan, engines=engines)
    if plan.incident_manager is not None and plan.incident_manager.enabled:
        add_incident_manager(app, names, plan=plan, engines=engines)
    workload = primary.env
    add_status_stacks(
        app,
        names[STATUS_STACK_NAME],
        plan=plan,
        status_env=status_env,
        workload_account=workload.account if workload else None,
        workload_region=workload.region if workload else None,
        subscribe_api=same_place_subscribe_api(primary.channels, status_env, workload),
        feedback_api=same_place_feedback_api(primary.workflow, status_env, workload),
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
