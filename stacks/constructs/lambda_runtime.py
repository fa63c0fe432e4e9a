"""How every Outage Comms Lambda function is built: one runtime, one layer, a code asset per handler.

Later constructs never call ``lambda_.Function`` directly; they ask :class:`LambdaRuntime` for
a function, so runtime, architecture, Powertools, tracing, logging and failure handling stay the
same everywhere and the nag gate is satisfied once, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import jsii
from aws_cdk import Aws, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IValidation

from outage_comms.plan import Plan
from outage_comms_cdk.constructs.encryption import LOG_GROUP_PREFIX
from outage_comms_cdk.lambda_asset import PLAN_FILE, TASK_ROOT, lambda_code
from outage_comms_cdk.quality_gates import acknowledge

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
#: e.g. AWSLambdaPowertoolsPythonV3-python313-arm64: follows the runtime and the architecture.
POWERTOOLS_LAYER_NAME = f"AWSLambdaPowertoolsPythonV3-{RUNTIME.name.replace('.', '')}-{ARCHITECTURE.name}"
METRICS_NAMESPACE = "OutageComms"
DEFAULT_MEMORY_MB = 256
DEFAULT_TIMEOUT = Duration.seconds(30)
#: What CDK adds to a role when granting access to a resource encrypted with a KMS key.
KEY_GRANT_WILDCARD_ACTIONS = ("kms:GenerateDataKey*", "kms:ReEncrypt*")
#: The only actions a function role may hold on Resource "*": X-Ray has no resource-level permissions.
EVERY_RESOURCE_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})


def powertools_layer_arn(version: int) -> str:
    """The public Powertools for AWS Lambda (Python) v3 layer for python3.13 on arm64, in this region."""
    return (
        f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"{POWERTOOLS_LAYER_NAME}:{version}"
    )


class LambdaRuntime(Construct):
    """The shared pieces: the Powertools layer, the code asset (built on first use) and the key for logs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        key: kms.IKey,
        powertools_layer_version: int,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        templates_dir: Path | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.plan = plan
        #: The plan's templates folder the asset ships (None: the shipped templates).
        self.templates_dir = templates_dir
        self.key = key
        self.log_retention = log_retention
        self.powertools_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "PowertoolsLayer", powertools_layer_arn(powertools_layer_version)
        )
        self._code_by_stack: dict[tuple[str, str], lambda_.AssetCode] = {}

    def code_for(self, scope: Construct, handler: str) -> lambda_.AssetCode:
        """The code asset of ``handler``'s function for ``scope``'s stack, bundled on first use.

        Each function ships only what its handler imports (``lambda_asset``). CDK binds an asset to one
        stack, so each stack gets its own ``AssetCode`` per handler; functions with the same closure share
        a content hash, so the directory is bundled once and uploaded once.
        """
        key = (Stack.of(scope).node.path, handler)
        if key not in self._code_by_stack:
            self._code_by_stack[key] = lambda_code(
                plan=self.plan, handler=handler, templates_dir=self.templates_dir
            )
        return self._code_by_stack[key]

    def new_function(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        service_name: str,
        memory_size: int = DEFAULT_MEMORY_MB,
        timeout: Duration = DEFAULT_TIMEOUT,
        environment: Mapping[str, str] | None = None,
        reserved_concurrent_executions: int | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        on_failure: lambda_.IDestination | None = None,
        synchronous_only_reason: str | None = None,
    ) -> OutageCommsFunction:
        """A function built the Outage Comms way. See :class:`OutageCommsFunction`."""
        return OutageCommsFunction(
            scope,
            construct_id,
            runtime=self,
            handler=handler,
            description=description,
            service_name=service_name,
            memory_size=memory_size,
            timeout=timeout,
            environment=environment,
            reserved_concurrent_executions=reserved_concurrent_executions,
            dead_letter_queue=dead_letter_queue,
            on_failure=on_failure,
            synchronous_only_reason=synchronous_only_reason,
        )


class OutageCommsFunction(Construct):
    """One Lambda function: python3.13 on arm64, Powertools layer, X-Ray, JSON logs in an encrypted group.

    Failure handling is a decision each caller makes explicitly:

    * ``dead_letter_queue``: asynchronous invocations that exhaust their retries land there;
    * ``on_failure``: an asynchronous-invocation destination, e.g. ``SqsDestination(queue)``
      (records the error as well as the request);
    * ``synchronous_only_reason``: the function is only invoked synchronously (Step Functions
      task, API), so failures return to the caller; say which caller retries.

    The role holds only what the function is granted: writing to its own log group, X-Ray, and
    what the caller adds with ``grant_*``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: LambdaRuntime,
        handler: str,
        description: str,
        service_name: str,
        memory_size: int = DEFAULT_MEMORY_MB,
        timeout: Duration = DEFAULT_TIMEOUT,
        environment: Mapping[str, str] | None = None,
        reserved_concurrent_executions: int | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        on_failure: lambda_.IDestination | None = None,
        synchronous_only_reason: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if dead_letter_queue is None and on_failure is None and not synchronous_only_reason:
            raise ValueError(
                f"{self.node.path}: say where failed invocations go: pass dead_letter_queue, on_failure, "
                "or synchronous_only_reason (who retries when the function fails)"
            )

        self.log_group, self.role = self._log_group_and_role(runtime, service_name)

        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=runtime.code_for(self, handler),
            handler=handler,
            description=description,
            role=self.role,
            layers=[runtime.powertools_layer],
            memory_size=memory_size,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=self.log_group,
            reserved_concurrent_executions=reserved_concurrent_executions,
            dead_letter_queue=dead_letter_queue,
            on_failure=on_failure,
            environment={
                "POWERTOOLS_SERVICE_NAME": service_name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "PLAN_PATH": f"{TASK_ROOT}/{PLAN_FILE}",
                "TEMPLATES_DIR": f"{TASK_ROOT}/templates",
                # No Pydantic plugin ships: skip scanning every package's entry points on the first model.
                "PYDANTIC_DISABLE_PLUGINS": "__all__",
                **(environment or {}),
            },
        )

        self._acknowledge(dead_letter_queue, on_failure, synchronous_only_reason)

    def _log_group_and_role(
        self, runtime: LambdaRuntime, service_name: str
    ) -> tuple[logs.LogGroup, iam.Role]:
        """Its own encrypted log group, and a role that may write there (and nothing else yet)."""
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=LOG_GROUP_PREFIX + Names.unique_resource_name(self, separator="-", max_length=200),
            retention=runtime.log_retention,
            encryption_key=runtime.key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Outage Comms {service_name} function",
        )
        log_group.grant_write(role)
        role.node.add_validation(_OnlyTracingOnEveryResource(role))
        return log_group, role

    def _acknowledge(
        self,
        dead_letter_queue: sqs.IQueue | None,
        on_failure: lambda_.IDestination | None,
        synchronous_only_reason: str | None,
    ) -> None:
        """Why the nag rules this function trips hold: X-Ray on '*', the pinned runtime, where failures go."""
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support "
            "resource-level permissions, so CDK grants them on '*'. A synth-time validation on this role "
            "rejects any other action on '*', so this acknowledgment covers X-Ray only.",
        )
        if RUNTIME.name != _latest_python().name:
            reason = (
                f"Pinned to {RUNTIME.name}: the Powertools layer ({POWERTOOLS_LAYER_NAME}) and the vendored "
                "cp313 wheels are built for it, and pyproject supports Python < 3.14. Move runtime, layer "
                "and wheels together."
            )
            acknowledge(self.function, "AwsSolutions-L1", reason)
            acknowledge(self.function, "Serverless-LambdaLatestVersion", reason)
        if dead_letter_queue is not None or on_failure is not None:
            self.acknowledge_key_grants()
        if dead_letter_queue is None:
            acknowledge(
                self.function,
                "Serverless-LambdaDLQ",
                "Failed asynchronous invocations go to the on-failure destination, which records the error "
                "as well as the event (richer than a DLQ)."
                if on_failure is not None
                else f"Invoked synchronously only: {synchronous_only_reason}",
            )

    def acknowledge_key_grants(self) -> None:
        """Accept the wildcard KMS actions that CDK's ``grant_*`` on an encrypted resource adds to the role.

        Call it after granting this function access to a KMS-encrypted table, queue or topic.
        """
        for action in KEY_GRANT_WILDCARD_ACTIONS:
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Action::{action}]",
                f"{action} comes from CDK's grant on a resource encrypted with the Outage Comms "
                "customer-managed key; the statement's Resource is that one key's ARN, never '*'.",
            )


@jsii.implements(IValidation)
class _OnlyTracingOnEveryResource:
    """Fails synthesis if the role allows anything but X-Ray on Resource "*" (keeps the IAM5 ack honest)."""

    def __init__(self, role: iam.Role) -> None:
        self._role = role

    def validate(self) -> list[str]:
        policy = self._role.node.try_find_child("DefaultPolicy")
        if not isinstance(policy, iam.Policy):
            return []
        document = Stack.of(self._role).resolve(policy.document)
        errors = []
        for statement in document.get("Statement", []):
            resources = statement.get("Resource", [])
            actions = statement.get("Action", [])
            resources = resources if isinstance(resources, list) else [resources]
            actions = set(actions if isinstance(actions, list) else [actions])
            if statement.get("Effect") == "Allow" and "*" in resources and actions - EVERY_RESOURCE_ACTIONS:
                errors.append(
                    f"{sorted(actions - EVERY_RESOURCE_ACTIONS)} on Resource '*': grant on the specific "
                    "resources instead (only X-Ray may use '*')"
                )
        return errors


def _latest_python() -> lambda_.Runtime:
    pythons = [r for r in lambda_.Runtime.ALL if r.family == lambda_.RuntimeFamily.PYTHON]
    return max(pythons, key=lambda r: tuple(int(p) for p in r.name.removeprefix("python").split(".")))
