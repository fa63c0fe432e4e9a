"""Deploy the synthesized Outage Comms app into moto and run the real handlers in-process.

What happens, in order (:meth:`EmbeddedAws.start`):

1. :func:`synthesize_app` builds the library's app (``outage_comms_cdk.app.build_app``, nag gate on) with
   ``DefaultStackSynthesizer(generate_bootstrap_version_rule=False)``: moto has no bootstrap
   SSM parameter to check.
2. Every file asset in ``cdk.out/*.assets.json`` is zipped (or copied) into a moto bucket named
   as the manifest says (``cdk-hnb659fds-assets-<account>-<region>``).
3. Every stack is created in moto CloudFormation in dependency order, after the documented
   template patches in :mod:`.template_patches` (none touches a state machine definition).
4. moto keeps CloudFormation-created state machines in its non-executing backend: the definition
   moto resolved from the template (``Fn::Join`` / ``Fn::GetAtt``) is re-registered, unchanged,
   through the Step Functions API, whose backend executes it.
5. moto's no-docker Lambda backend is routed to the real handler named by each function's
   ``Handler`` in the template, imported from the asset directory CDK built (``handlers`` comes
   from the asset; ``outage_comms`` is the same source, already imported by this process). Each
   function's environment from the template is applied (``/var/task`` -> the asset directory).
   Handlers run one at a time: in Lambda each function has its own execution environment, here
   they share module-level singletons (Powertools Metrics), so the router serializes them.
6. Harness-only setup that a real account does once, by hand: the plan's sender address is a
   verified SES identity (SES v1 and v2 share moto's backend); SSM parameters that templates read
   (``AWS::SSM::Parameter::Value`` parameters, e.g. the push application id) exist; the channel
   secrets the plan names exist in Secrets Manager, pointing at :class:`.channel_sink.ChannelSink`.
7. With ``with_intake``, the intake stack is deployed too: :meth:`EmbeddedAws.put_events` puts events on
   the bus, moto's EventBridge matches the synthesized rules and sends them to the intake queue, and
   :meth:`EmbeddedAws.pump` does what the Lambda event-source mapping does: it receives up to the
   mapping's batch size, invokes the real intake function with an SQS event, and deletes the records
   the function did not report as failed (``ReportBatchItemFailures``). moto's own mapping (which
   would invoke through its Docker path) is detached: patch ``event-source-mapping-pumped``. moto
   offers every put event to schedule-only rules (no pattern matches all) and cannot deliver to a
   Lambda target: the harness routes rules as EventBridge does (``events-routing``): a schedule rule
   never receives a put event, a Lambda target is invoked with the event, and a target without an
   input transformer receives the whole event (moto's default template drops ``account``).
8. The outside world the channels reach, for the harness's lifetime only: a recording HTTP server on
   127.0.0.1 for Slack, Teams, Mastodon, Bluesky, the outbound webhook and the support desk
   (:mod:`.channel_sink`), and End User Messaging SMS/voice/push, which moto lacks, answered at the
   botocore client boundary with every request validated against the service model
   (:mod:`.provider_fakes`).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import re
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outage_comms_embedded.channel_sink import ChannelSink, LoopbackRoute
from outage_comms_embedded.provider_fakes import ProviderFake
from outage_comms_embedded.template_patches import patch_template

ACCOUNT = "123456789012"
REGION = "us-east-1"
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
TASK_ROOT = "/var/task"
INCIDENT_STATE_MACHINE = "outage-comms-incident"
#: The status stack's role the publisher assumes (stacks/constructs/status_site.py): marks that stack.
STATUS_ACCESS_ROLE = "OutageCommsStatusPublisherAccess"
#: The same names with a deployment id in them (``outage-comms-<id>-incident``; outage_comms_cdk.settings).
_INCIDENT_STATE_MACHINE_NAMES = re.compile(r"^outage-comms(-[a-z0-9-]+)?-incident$")
_STATUS_ACCESS_ROLE_NAMES = re.compile(r'"RoleName": "OutageComms(-[a-z0-9-]+-)?StatusPublisherAccess"')
_INCIDENT_STATE_MACHINE_IN_TEMPLATE = re.compile(r'"StateMachineName": "outage-comms(-[a-z0-9-]+)?-incident"')


def is_incident_state_machine(name: object) -> bool:
    """Whether ``name`` is the incident-comms state machine's, with or without a deployment id."""
    return isinstance(name, str) and bool(_INCIDENT_STATE_MACHINE_NAMES.match(name))


#: Variables whose mere presence changes what a function does (the incident API hands work to the
#: intake queue instead of starting executions): set only while a function that has them runs, with the
#: settings caches that read them cleared around the call, never merged into the shared environment.
PER_FUNCTION_VARIABLES = frozenset({"WORKFLOW_HANDOFF_QUEUE_URL"})
INTAKE_HANDLER = "handlers.intake.handler"


#: Environment the harness sets for every handler (moto credentials, quiet Powertools).
HARNESS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "AWS_LAMBDA_LOG_LEVEL": "WARNING",
}


def synthesize_app(outdir: Path, plan_path: Path, templates_dir: Path | None = None) -> Path:
    """The plan's app, synthesized for moto (no bootstrap-version rule). Returns ``outdir``.

    Built by the installed library (``outage_comms_cdk.app.build_app``), as a team's ``app.py`` does;
    the templates are the plan's folder unless ``templates_dir`` is given.
    """
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App, DefaultStackSynthesizer

    from outage_comms_cdk.app import build_app
    from outage_comms_cdk.settings import cdk_json_context

    app = App(
        outdir=str(outdir),
        context={**cdk_json_context(), "plan": str(plan_path)},
        default_stack_synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    build_app(app, plan_path=plan_path, templates_dir=templates_dir).synth()
    return outdir


@dataclass(frozen=True)
class Invocation:
    """One routed Lambda invocation: which handler, with what, how long our code took."""

    function_name: str
    handler: str
    event: Any
    started: float
    seconds: float
    error: str | None
    #: The exception's message when ``error`` is set (what Step Functions sees as the cause).
    error_message: str = ""


class _Context:
    """The Lambda context object the handlers (and Powertools) read."""

    def __init__(self, function: Any) -> None:
        self.function_name = function.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.function_arn
        self.memory_limit_in_mb = int(getattr(function, "memory_size", 256) or 256)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.function_name}"
        self.log_stream_name = "embedded"
        self._deadline = time.monotonic() + float(getattr(function, "timeout", 30) or 30)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


Fault = Callable[[dict[str, Any]], Exception | None]


@dataclass(frozen=True)
class EventSource:
    """A deployed SQS event-source mapping the harness pumps (moto's own is detached)."""

    logical_id: str
    queue_url: str
    queue_arn: str
    function_name: str
    batch_size: int
    report_failures: bool


@dataclass(frozen=True)
class PumpedBatch:
    """One batch the pump handed to a function: how many records, how many it reported failed."""

    function_name: str
    records: int
    failed: int
    error: str | None


@dataclass
class EmbeddedAws:
    """The deployed app on moto. Use as a context manager, or ``start()`` / ``stop()``."""

    cdk_out: Path
    stacks: dict[str, dict[str, str]] = field(default_factory=dict)  # stack -> logical id -> physical id
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)  # as synthesized
    patches: dict[str, list[str]] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    #: handler name (e.g. "handlers.workflow_deliver_channel.handler") -> fault injector
    faults: dict[str, Fault] = field(default_factory=dict)
    asset_dirs: list[Path] = field(default_factory=list)
    #: Stacks to deploy (with their dependencies). Default: the workflow's stack and what it depends on;
    #: stacks nothing here depends on (status site, intake triggers) are left out.
    only_stacks: list[str] = field(default_factory=list)
    #: Also deploy the status site's stack (bucket, public dashboard, the publisher's access role) into
    #: the same account and region, so the workflow's status publisher writes a real bucket.
    with_status_site: bool = False
    #: Also deploy the intake stack (EventBridge rules -> intake queue -> intake function; the incident
    #: API): events enter through :meth:`put_events` and :meth:`pump`.
    with_intake: bool = False
    skipped_stacks: list[str] = field(default_factory=list)
    #: The SQS event-source mappings of the deployed stacks, pumped by :meth:`pump`.
    event_sources: list[EventSource] = field(default_factory=list)
    pumped: list[PumpedBatch] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._lock = threading.RLock()
        self._original_invoke: Any = None
        self._original_send_to_targets: Any = None
        self._renamed: dict[str, str] = {}  # moto object repr -> the physical id it stands for
        self._plan_clock: Any = None  # outage_comms.clock.PlanClock once set_plan_clock ran
        self._clock_lock = threading.RLock()
        self._clock_hooks: dict[tuple[Any, str], Any] = {}
        self._depth = 0  # handlers running (nested invocations count once each)
        self._running = 0  # executions running
        self._waiting = 0  # executions waiting (task token, Wait state)
        self._woken: set[Any] = set()  # task tokens handed over, their execution not yet awake
        self._awaited: set[Any] = set()  # task tokens an execution is waiting for right now
        #: Wall seconds the handlers took since the plan clock was set (not counted as plan time).
        self.processing_seconds = 0.0
        self.sink = ChannelSink()
        self.providers = ProviderFake()
        self._route = LoopbackRoute(self.sink)
        #: plan secret name -> what it was set to (URLs of the sink; generated tokens)
        self.channel_secrets: dict[str, dict[str, str]] = {}

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> EmbeddedAws:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        from moto import mock_aws

        self._set_env(HARNESS_ENVIRONMENT)
        self.providers.install()
        self._mock = mock_aws(config=MOTO_CONFIG)  # type: ignore[arg-type]
        self._mock.start()
        self.sink.start()
        self._route.install()
        self._reset_caches()
        self._route_lambda()
        self._route_events()
        self._upload_assets()
        for stack in self._stack_order():
            self._create_stack(stack)
        self._apply_function_environments()
        self._fix_parameter_stage_names()
        self._detach_event_sources()
        self._register_state_machines()
        self._verify_senders()
        self._create_channel_secrets()

    def stop(self) -> None:
        from moto.awslambda_simple.models import LambdaSimpleBackend

        if self._mock is not None:
            self._stop_running_executions()

        if self._original_invoke is not None:
            LambdaSimpleBackend.invoke = self._original_invoke  # type: ignore[method-assign]
        self._remove_clock_hooks()
        if self._original_send_to_targets is not None:
            from moto.events.models import Rule

            Rule.send_to_targets = self._original_send_to_targets  # type: ignore[method-assign]
        if self._mock is not None:
            self._mock.stop()
            self._route.uninstall()
            self.sink.stop()
        self.providers.uninstall()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._reset_caches()
        for directory in self.asset_dirs:
            if str(directory) in sys.path:
                sys.path.remove(str(directory))

    def _stop_running_executions(self) -> None:
        """Executions run on moto's threads: stop them before the mock goes, or they call real endpoints."""
        sfn = self.client("stepfunctions")
        try:
            machines = sfn.list_state_machines()["stateMachines"]
        except Exception:  # best effort while tearing down
            return
        running: list[str] = []
        for machine in machines:
            for page in sfn.get_paginator("list_executions").paginate(
                stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
            ):
                running += [e["executionArn"] for e in page["executions"]]
        for arn in running:
            with contextlib.suppress(Exception):  # an execution still starting has no worker to stop
                sfn.stop_execution(executionArn=arn, cause="embedded AWS shutting down")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
            sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" for arn in running
        ):
            time.sleep(0.05)

    # -- clients and lookups ---------------------------------------------------------------------
    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=REGION)

    def physical_id(self, resource_type: str, *, stack: str | None = None, contains: str = "") -> str:
        """The physical id of the one resource of ``resource_type`` whose logical id contains ``contains``."""
        found = [
            self.stacks[name][logical_id]
            for name, template in self.templates.items()
            if stack in (None, name)
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == resource_type
            and contains in logical_id
            and logical_id in self.stacks[name]
        ]
        if len(found) != 1:
            raise LookupError(f"{len(found)} resources of type {resource_type} matching {contains!r}")
        return found[0]

    def output(self, name: str) -> str:
        for outputs in self.outputs.values():
            if name in outputs:
                return outputs[name]
        raise KeyError(name)

    def _incident_state_machine(self) -> tuple[str, str, dict[str, Any]]:
        """(stack, logical id, resource) of the incident-comms state machine (channels has another)."""
        (found,) = [
            (name, logical_id, resource)
            for name, template in self.templates.items()
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == "AWS::StepFunctions::StateMachine"
            and is_incident_state_machine(resource["Properties"].get("StateMachineName"))
        ]
        return found

    @property
    def workflow_stack(self) -> str:
        """The name of the stack holding the incident-comms state machine."""
        return self._incident_state_machine()[0]

    @property
    def state_machine_arn(self) -> str:
        stack, logical_id, _ = self._incident_state_machine()
        return self.stacks[stack][logical_id]

    def synthesized_definition(self) -> Any:
        """The ``DefinitionString`` exactly as synthesized (an ``Fn::Join`` over intrinsics)."""
        return self._incident_state_machine()[2]["Properties"]["DefinitionString"]

    # -- running executions ----------------------------------------------------------------------
    def start_execution(self, payload: Mapping[str, Any], name: str | None = None) -> str:
        kwargs: dict[str, Any] = {
            "stateMachineArn": self.state_machine_arn,
            "input": json.dumps(dict(payload)),
        }
        if name:
            kwargs["name"] = name
        return str(self.client("stepfunctions").start_execution(**kwargs)["executionArn"])

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def states_entered(self, execution_arn: str) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(execution_arn)
            if "stateEnteredEventDetails" in e
        ]

    def wait_until(
        self, condition: Callable[[], bool], *, timeout: float = 20.0, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.02)
        raise TimeoutError(f"timed out after {timeout}s waiting for {what}")

    def wait_for_state(
        self, execution_arn: str, state: str, *, count: int = 1, timeout: float = 20.0
    ) -> None:
        self.wait_until(
            lambda: self.states_entered(execution_arn).count(state) >= count,
            timeout=timeout,
            what=f"state '{state}' entered {count}x",
        )

    def wait_for_end(self, execution_arn: str, *, timeout: float = 30.0) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        self.wait_until(
            lambda: sfn.describe_execution(executionArn=execution_arn)["status"] != "RUNNING",
            timeout=timeout,
            what="execution end",
        )
        return dict(sfn.describe_execution(executionArn=execution_arn))

    def invoke(self, function_physical_name: str, event: Mapping[str, Any]) -> Any:
        response = self.client("lambda").invoke(
            FunctionName=function_physical_name, Payload=json.dumps(dict(event))
        )
        return json.loads(response["Payload"].read())

    def function_name(self, handler_module: str) -> str:
        """The physical name of the function whose handler is ``handlers.<handler_module>.handler``."""
        for name, template in self.templates.items():
            for logical_id, resource in template["Resources"].items():
                if (
                    resource["Type"] == "AWS::Lambda::Function"
                    and resource["Properties"].get("Handler") == f"handlers.{handler_module}.handler"
                ):
                    return self.stacks[name][logical_id]
        raise LookupError(handler_module)

    # -- what people and customers received ------------------------------------------------------
    def sent_emails(self) -> list[Any]:
        from moto.ses.models import ses_backends

        return list(ses_backends[ACCOUNT][REGION].sent_messages)

    def published(self, topic_arn: str) -> list[dict[str, Any]]:
        from moto.sns.models import sns_backends

        topic = sns_backends[ACCOUNT][REGION].topics[topic_arn]
        return [
            {"message_id": n[0], "message": n[1], "subject": n[2], "attributes": n[3]}
            for n in list(topic.sent_notifications)
        ]

    def status_objects(self) -> dict[str, bytes]:
        """Every object in the status bucket (``with_status_site``), key -> body, as published."""
        s3, bucket = self.client("s3"), self.output("StatusBucketName")
        keys = [
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for item in page.get("Contents", [])
        ]
        return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}

    # -- internals -------------------------------------------------------------------------------
    def _set_env(self, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    @staticmethod
    def _reset_caches() -> None:
        from outage_comms.aws_clients import reset_clients

        reset_clients()
        for module_name, names in (
            ("outage_comms.plan", ("plan_at",)),
            ("outage_comms.workflow.settings", ("settings",)),
            ("outage_comms.workflow.adapters", ("services", "review_signer", "channel_context")),
            ("outage_comms.channels.settings", ("channel_settings",)),
            ("outage_comms.channels.secrets", ("default_cache",)),
            ("outage_comms.intake.runtime", ("intake_dependencies",)),
            ("outage_comms.intake.settings", ("intake_settings",)),
            ("outage_comms.workflow.activity", ("activity_reader",)),
            ("outage_comms.feedback.runtime", ("feedback_linker", "feedback_service", "signing_secret")),
            ("handlers.publish_status", ("default_publisher",)),
        ):
            module = sys.modules.get(module_name)
            for name in names:
                cached = getattr(module, name, None) if module else None
                if cached is not None and hasattr(cached, "cache_clear"):
                    cached.cache_clear()

    def _manifest(self) -> dict[str, Any]:
        return dict(json.loads((self.cdk_out / "manifest.json").read_text()))

    def _stack_order(self) -> list[str]:
        artifacts = self._manifest()["artifacts"]
        stacks = {k: v for k, v in artifacts.items() if v["type"] == "aws:cloudformation:stack"}
        ordered: list[str] = []

        def visit(name: str) -> None:
            if name in ordered:
                return
            for dependency in stacks[name].get("dependencies", []):
                if dependency in stacks:
                    visit(dependency)
            ordered.append(name)

        wanted = self.only_stacks or [
            name
            for name in stacks
            if _INCIDENT_STATE_MACHINE_IN_TEMPLATE.search(
                (self.cdk_out / f"{name}.template.json").read_text()
            )
        ]
        if self.with_intake:
            wanted += [
                name
                for name in stacks
                if f'"Handler": "{INTAKE_HANDLER}"' in (self.cdk_out / f"{name}.template.json").read_text()
            ]
        if self.with_status_site:
            wanted += [
                name
                for name in stacks
                if _STATUS_ACCESS_ROLE_NAMES.search((self.cdk_out / f"{name}.template.json").read_text())
            ]
        for name in wanted:
            visit(name)
        self.skipped_stacks = [name for name in stacks if name not in ordered]
        return ordered

    def _upload_assets(self) -> None:
        s3 = self.client("s3")
        buckets: set[str] = set()
        for manifest in sorted(self.cdk_out.glob("*.assets.json")):
            for asset in json.loads(manifest.read_text()).get("files", {}).values():
                source = self.cdk_out / asset["source"]["path"]
                for destination in asset["destinations"].values():
                    bucket = (
                        destination["bucketName"]
                        .replace("${AWS::AccountId}", ACCOUNT)
                        .replace("${AWS::Region}", REGION)
                    )
                    if bucket not in buckets:
                        s3.create_bucket(Bucket=bucket)
                        buckets.add(bucket)
                    if asset["source"].get("packaging") == "zip":
                        if source not in self.asset_dirs:
                            self.asset_dirs.append(source)
                        body = _zip_directory(source)
                    else:
                        body = source.read_bytes()
                    s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body)

    def _create_stack(self, name: str) -> None:
        template = json.loads((self.cdk_out / f"{name}.template.json").read_text())
        self.templates[name] = template
        patched, applied = patch_template(
            template,
            lambda stack, output: self.outputs[stack][output],
            self._create_secret(name),
            self._create_schedule_group,
        )
        self.patches[name] = list(dict.fromkeys(applied))
        s3, cfn = self.client("s3"), self.client("cloudformation")
        bucket = f"embedded-templates-{ACCOUNT}"
        if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=f"{name}.json", Body=json.dumps(patched).encode())
        self._create_ssm_parameters(patched)
        try:
            self._cfn_create(cfn, name, bucket)
        except Exception as exc:
            raise RuntimeError(f"moto could not create stack {name}: {exc}") from exc
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            reason = stack.get("StackStatusReason")
            raise RuntimeError(f"moto could not create {name}: {stack['StackStatus']} {reason}")
        self._record_stack(cfn, name, stack)

    @staticmethod
    def _cfn_create(cfn: Any, name: str, bucket: str) -> None:
        cfn.create_stack(
            StackName=name,
            TemplateURL=f"https://{bucket}.s3.amazonaws.com/{name}.json",
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )

    def _record_stack(self, cfn: Any, name: str, stack: dict[str, Any]) -> None:
        resources: dict[str, str] = {}
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name):
            for resource in page["StackResourceSummaries"]:
                physical = str(resource["PhysicalResourceId"])
                if resource["ResourceType"] == "AWS::Events::EventBus":
                    # Patch ``event-bus-ref``: moto's EventBus has no physical id, and ``Ref`` to it
                    # (an output, a function's EVENT_BUS_NAME) is the object's repr: both become its name.
                    props = self.templates[name]["Resources"][resource["LogicalResourceId"]]["Properties"]
                    physical = str(props["Name"])
                    self._renamed.update(_event_bus_reprs())
                    self.patches.setdefault(name, []).append(f"event-bus-ref:{resource['LogicalResourceId']}")
                resources[resource["LogicalResourceId"]] = physical
        self.stacks[name] = resources
        self.outputs[name] = {
            o["OutputKey"]: self._renamed.get(o["OutputValue"], o["OutputValue"])
            for o in stack.get("Outputs", [])
        }

    def _create_ssm_parameters(self, template: Mapping[str, Any]) -> None:
        """SSM-typed template parameters read a parameter the account holds; here the harness writes it."""
        ssm = self.client("ssm")
        for name, parameter in template.get("Parameters", {}).items():
            path = parameter.get("Default")
            if not str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value") or not path:
                continue
            if path.startswith("/cdk-bootstrap/"):
                continue
            ssm.put_parameter(Name=path, Value=f"embedded-{name.lower()}", Type="String", Overwrite=True)
            self.patches.setdefault("ssm-parameters", []).append(path)

    def _create_schedule_group(self, logical_id: str, props: Mapping[str, Any]) -> tuple[str, str]:
        name = str(props.get("Name") or logical_id)
        response = self.client("scheduler").create_schedule_group(Name=name)
        return name, str(response["ScheduleGroupArn"])

    def _create_secret(self, stack: str) -> Callable[[str, Mapping[str, Any]], str]:
        def create(logical_id: str, props: Mapping[str, Any]) -> str:
            import secrets as random

            generate = props.get("GenerateSecretString") or {}
            value = random.token_urlsafe(int(generate.get("PasswordLength", 32)))
            response = self.client("secretsmanager").create_secret(
                Name=f"{stack}-{logical_id}",
                SecretString=value,
                Description=str(props.get("Description", "")),
            )
            return str(response["ARN"])

        return create

    def _apply_function_environments(self) -> None:
        lambda_client = self.client("lambda")
        merged: dict[str, str] = {}
        for name, template in self.templates.items():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] != "AWS::Lambda::Function":
                    continue
                config = lambda_client.get_function_configuration(FunctionName=self.stacks[name][logical_id])
                variables = config.get("Environment", {}).get("Variables", {})
                for key, value in variables.items():
                    if key == "POWERTOOLS_SERVICE_NAME" or key in PER_FUNCTION_VARIABLES:
                        continue
                    value = self._with_stage_names(self._renamed.get(value, value))
                    if value.startswith(TASK_ROOT) and self.asset_dirs:
                        value = str(self.asset_dirs[0]) + value.removeprefix(TASK_ROOT)
                    merged[key] = value
        self._set_env(merged)
        self._reset_caches()

    def _stage_names(self) -> dict[str, str]:
        """REST API id -> its stage's name, from the templates (moto's CloudFormation skips
        ``AWS::ApiGateway::Stage``, so ``Ref`` to a stage resolves to ``None``)."""
        names: dict[str, str] = {}
        for stack, template in self.templates.items():
            for resource in template["Resources"].values():
                props = resource.get("Properties", {})
                api = props.get("RestApiId")
                if resource["Type"] == "AWS::ApiGateway::Stage" and isinstance(api, dict) and "Ref" in api:
                    physical = self.stacks.get(stack, {}).get(api["Ref"])
                    if physical and props.get("StageName"):
                        names[physical] = str(props["StageName"])
        return names

    def _with_stage_names(self, value: str) -> str:
        """Patch ``api-stage-name``: ``https://<api>.execute-api.<region>.amazonaws.com/None/...`` gets the
        stage the template names, so no link a person reads carries ``None``."""
        if "/None" not in value or ".execute-api." not in value:
            return value
        stages = self._stage_names()

        def named(match: re.Match[str]) -> str:
            stage = stages.get(match.group(2))
            return f"{match.group(1)}/{stage}" if stage else match.group(0)

        fixed = re.sub(
            r"(https://([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com)/None(?=/|$)", named, value
        )
        applied = self.patches.setdefault("api-stage-name", [])
        if fixed != value and fixed[:120] not in applied:
            applied.append(fixed[:120])
        return fixed

    def _fix_parameter_stage_names(self) -> None:
        """The same for SSM parameters the templates create (the compose page's URL)."""
        ssm = self.client("ssm")
        for template in self.templates.values():
            for resource in template["Resources"].values():
                name = resource.get("Properties", {}).get("Name")
                if resource["Type"] != "AWS::SSM::Parameter" or not isinstance(name, str):
                    continue
                with contextlib.suppress(Exception):
                    value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
                    fixed = self._with_stage_names(value)
                    if fixed != value:
                        ssm.put_parameter(Name=name, Value=fixed, Type="String", Overwrite=True)

    def _register_state_machines(self) -> None:
        from moto.stepfunctions.models import stepfunctions_backends

        plain = stepfunctions_backends[ACCOUNT][REGION]
        sfn = self.client("stepfunctions")
        for name, template in self.templates.items():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] != "AWS::StepFunctions::StateMachine":
                    continue
                created = plain.describe_state_machine(self.stacks[name][logical_id])
                try:
                    sfn.create_state_machine(
                        name=created.name,
                        definition=created.definition,
                        roleArn=created.roleArn,
                        type=resource["Properties"].get("StateMachineType", "STANDARD"),
                    )
                except sfn.exceptions.ClientError as error:
                    if is_incident_state_machine(created.name):
                        raise
                    # Harness patch ``state-machine-not-executable``: moto's ASL parser refuses the
                    # channels stack's Distributed Map (ItemBatcher, ResultWriter, EXPRESS children).
                    # It stays as CloudFormation created it (described, not executed); the incident
                    # workflow's definition is never touched. Only a bulk hand-off (audiences above
                    # INLINE_LIMIT) would start it, and the drill's audience is smaller.
                    reason = str(error).split("[", 1)[0].strip()
                    self.patches.setdefault(name, []).append(
                        f"state-machine-not-executable:{logical_id} ({reason})"
                    )

    def _verify_senders(self) -> None:
        import yaml

        plan_file = self.asset_dirs[0] / "plan.json" if self.asset_dirs else None
        if plan_file is None or not plan_file.exists():
            return
        plan = yaml.safe_load(plan_file.read_text())
        addresses = {plan["roles"][role]["email"] for role in plan["roles"]}
        email = (plan.get("channels") or {}).get("email") or {}
        if email.get("from_address"):
            addresses.add(email["from_address"])
        ses = self.client("ses")
        for address in sorted(addresses):
            ses.verify_email_identity(EmailAddress=address)

    def _plan_document(self) -> dict[str, Any]:
        import yaml

        plan_file = self.asset_dirs[0] / "plan.json" if self.asset_dirs else None
        if plan_file is None or not plan_file.exists():
            return {}
        return dict(yaml.safe_load(plan_file.read_text()))

    def _create_channel_secrets(self) -> None:
        """The plan's channel secrets, as an operator would store them, aimed at the local sink.

        Slack, Teams and the support desk read their URL from the secret (the sink's, on 127.0.0.1);
        Mastodon, Bluesky and the webhook keep the plan's https URL, whose host is routed to the sink.
        Tokens, app passwords and signing keys are generated.
        """
        import secrets as random

        channels = self._plan_document().get("channels") or {}
        sink = self.sink.url

        def enabled(name: str) -> dict[str, Any] | None:
            settings = channels.get(name)
            return settings if isinstance(settings, dict) and settings.get("enabled", True) else None

        values: dict[str, dict[str, str]] = {}
        if slack := enabled("slack"):
            values[slack["webhook_url_secret"]] = {"url": f"{sink}/slack/services/T000/B000/embedded"}
        if teams := enabled("teams"):
            values[teams["webhook_url_secret"]] = {"url": f"{sink}/teams/webhookb2/embedded"}
        if support := enabled("support"):
            values[support["ticketing_webhook_secret"]] = {
                "url": f"{sink}/support/api/v2/tickets",
                "token": random.token_urlsafe(24),
            }
        if mastodon := enabled("mastodon"):
            values[mastodon["access_token_secret"]] = {"access_token": random.token_urlsafe(24)}
            self.sink.route_host(str(mastodon["instance_url"]), "mastodon")
        if bluesky := enabled("bluesky"):
            values[bluesky["app_password_secret"]] = {"app_password": random.token_urlsafe(16)}
            self.sink.route_host(str(bluesky.get("service_url") or "https://bsky.social"), "bluesky")
        if webhook := enabled("webhook"):
            values[webhook["signing_secret"]] = {"signing_key": random.token_urlsafe(32)}
            self.sink.route_host(str(webhook["url"]), "webhook")
        client = self.client("secretsmanager")
        for name, value in values.items():
            client.create_secret(Name=name, SecretString=json.dumps(value))
        self.channel_secrets = values

    def subscribe(
        self,
        channel: str,
        address: str,
        locale: str,
        *,
        components: tuple[str, ...] = ("*",),
        audiences: tuple[str, ...] = (),
        platform: str = "",
    ) -> str:
        """A confirmed, active subscriber in the deployed subscribers table (as after double opt-in)."""
        from outage_comms.subscribers.store import Subscriber, SubscriberStore, subscriber_id

        store = SubscriberStore.named(self.physical_id("AWS::DynamoDB::Table", contains="Subscribers"))
        sid = subscriber_id(channel, address)
        subscriber = Subscriber(
            id=sid,
            channel=channel,  # type: ignore[arg-type]
            address=address,
            locale=locale,
            components=components,
            audiences=audiences,
            platform=platform,
            created_at=int(time.time()),
        )
        store.activate(subscriber, now=int(time.time()))
        return sid

    # -- the plan clock ---------------------------------------------------------------------------
    def set_plan_clock(self, anchor: Any, seconds_per_minute: float) -> Any:
        """From now, ``outage_comms.clock.now()`` reads ``anchor`` and runs on a virtual clock, for the
        handlers and this process (restored at stop); new executions get the compressed waits.

        The plan clock runs only while the deployment *waits*: every running execution blocked on a
        task token or in a Wait state, and no handler running. While anything works (a handler, a
        state transition, a token just handed over) it stands still at the time the work started, so
        processing takes no plan time however busy the machine is; the wall seconds the handlers take
        are counted apart (:attr:`processing_seconds`). Waits keep the definition's compressed
        seconds, so a plan minute of waiting is ``seconds_per_minute`` wall seconds.
        """
        from outage_comms.clock import PLAN_CLOCK_ENV, PlanClock

        with self._clock_lock:
            self._plan_clock = PlanClock(anchor, time.time(), seconds_per_minute)
            self._set_env({PLAN_CLOCK_ENV: self._plan_clock.to_env()})  # restored at stop
            self._install_clock_hooks()
            self._clock_changed()
        return self._plan_clock

    def _busy(self) -> bool:
        return self._depth > 0 or self._waiting < self._running or bool(self._woken)

    def _clock_changed(self) -> None:
        """Freeze or run the plan clock as the deployment turns busy or idle (call under _clock_lock)."""
        from dataclasses import replace

        from outage_comms.clock import PLAN_CLOCK_ENV

        plan_clock = self._plan_clock
        if plan_clock is None:
            return
        now = time.time()
        if self._busy() and plan_clock.frozen is None:
            plan_clock = replace(plan_clock, frozen=plan_clock.at(now))
        elif not self._busy() and plan_clock.frozen is not None:
            plan_clock = replace(plan_clock, anchor=plan_clock.frozen, wall_anchor=now, frozen=None)
        self._plan_clock = plan_clock
        os.environ[PLAN_CLOCK_ENV] = plan_clock.to_env()

    def _count(self, name: str, delta: int) -> None:
        with self._clock_lock:
            setattr(self, name, getattr(self, name) + delta)
            self._clock_changed()

    def _install_clock_hooks(self) -> None:
        """Count running executions, executions waiting (task token, Wait state) and tokens handed over."""
        if self._clock_hooks:
            return
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_callback as callback_module,
        )
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function
        from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
        from moto.stepfunctions.parser.backend import execution_worker

        harness = self
        worker = execution_worker.ExecutionWorker
        task = callback_module.StateTaskServiceCallback
        waits = wait_function.WaitFunction
        originals: dict[tuple[Any, str], Any] = {
            (worker, "start"): worker.start,
            (worker, "_execution_logic"): worker._execution_logic,
            (task, "_wait_for_task_token_timeout"): task._wait_for_task_token_timeout,
            (waits, "_wait_interval"): waits._wait_interval,
            (CallbackEndpoint, "notify"): CallbackEndpoint.notify,
        }

        def start(self: Any) -> None:
            harness._count("_running", 1)  # before its thread exists: no idle gap
            originals[(worker, "start")](self)

        def execution_logic(self: Any) -> None:
            try:
                originals[(worker, "_execution_logic")](self)
            finally:
                harness._count("_running", -1)

        def wait_for_token(self: Any, timeout_seconds: int, callback_endpoint: Any) -> Any:
            with harness._clock_lock:
                harness._awaited.add(callback_endpoint.callback_id)
                harness._waiting += 1
                harness._clock_changed()
            try:
                return originals[(task, "_wait_for_task_token_timeout")](
                    self, timeout_seconds, callback_endpoint
                )
            finally:
                with harness._clock_lock:
                    harness._waiting -= 1
                    harness._awaited.discard(callback_endpoint.callback_id)
                    harness._woken.discard(callback_endpoint.callback_id)
                    harness._clock_changed()

        def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
            harness._count("_waiting", 1)
            try:
                originals[(waits, "_wait_interval")](self, env, wait_seconds)
            finally:
                harness._count("_waiting", -1)

        def notify(self: Any, outcome: Any) -> Any:
            with harness._clock_lock:  # busy from the hand-over until the execution has woken
                if self.callback_id in harness._awaited:  # a stale token wakes nobody: no lasting freeze
                    harness._woken.add(self.callback_id)
                    harness._clock_changed()
            return originals[(CallbackEndpoint, "notify")](self, outcome)

        worker.start = start  # type: ignore[method-assign]
        worker._execution_logic = execution_logic  # type: ignore[method-assign]
        task._wait_for_task_token_timeout = wait_for_token  # type: ignore[method-assign]
        waits._wait_interval = wait_interval  # type: ignore[method-assign]
        CallbackEndpoint.notify = notify  # type: ignore[method-assign]
        self._clock_hooks = originals

    def _remove_clock_hooks(self) -> None:
        for (owner, name), original in self._clock_hooks.items():
            setattr(owner, name, original)
        self._clock_hooks = {}

    @contextmanager
    def _processing(self) -> Iterator[None]:
        """A handler's run: the plan clock stands still; its wall seconds are counted apart."""
        self._count("_depth", 1)
        started = time.time()
        try:
            yield
        finally:
            if self._depth == 1 and self._plan_clock is not None:
                self.processing_seconds += time.time() - started
            self._count("_depth", -1)

    # -- events: EventBridge -> SQS -> function ------------------------------------------------
    def put_events(self, entries: list[Mapping[str, Any]], *, pump: bool = True) -> dict[str, Any]:
        """``PutEvents`` on the bus; with ``pump`` the queues are then pumped to their functions.

        ``entries`` are PutEvents entries (``Source``, ``DetailType``, ``Detail`` ...) or whole
        EventBridge events (``source``, ``detail-type``, ``detail`` ...), converted by :func:`event_entry`.
        The synthesized rules decide where each goes (moto's EventBridge matches their patterns).
        Raises when the bus refused an entry.
        """
        converted = [event_entry(e) if "Source" not in e else dict(e) for e in entries]
        response = dict(self.client("events").put_events(Entries=converted))
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"the bus refused events: {response['Entries']}")
        if pump:
            self.pump()
        return response

    def pump(self, *, max_batches: int = 1000) -> int:
        """Deliver what waits in the pumped queues, as the event-source mapping would. Returns batches.

        Per mapping: receive up to its batch size, invoke the function with the SQS event, delete the
        records it processed (all of them, or with ``ReportBatchItemFailures`` all but those it lists;
        none when the function failed: they return after the queue's visibility timeout, as in Lambda).
        Stops when no queue has a visible message.
        """
        sqs = self.client("sqs")
        batches = 0
        while batches < max_batches:
            moved = False
            for source in self.event_sources:
                messages = self._receive(sqs, source)
                if not messages:
                    continue
                moved = True
                batches += 1
                self._deliver_batch(sqs, source, messages)
            if not moved:
                break
        return batches

    def _receive(self, sqs: Any, source: EventSource) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < source.batch_size:
            page = sqs.receive_message(
                QueueUrl=source.queue_url,
                MaxNumberOfMessages=min(10, source.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not page:
                break
            messages += page
        return messages

    def _deliver_batch(self, sqs: Any, source: EventSource, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [_sqs_record(m, source.queue_arn) for m in messages]}
        response = self.client("lambda").invoke(FunctionName=source.function_name, Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read() or b"null")
        error = response.get("FunctionError")
        failed: set[str] = set()
        if error:
            failed = {m["MessageId"] for m in messages}
        elif source.report_failures and isinstance(payload, dict):
            failed = {str(f.get("itemIdentifier")) for f in payload.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        self.pumped.append(PumpedBatch(source.function_name, len(messages), len(failed), error))

    def _detach_event_sources(self) -> None:
        """Record each SQS event-source mapping; detach moto's own (patch ``event-source-mapping-pumped``)."""
        from moto.sqs.models import sqs_backends

        lambda_client, sqs = self.client("lambda"), self.client("sqs")
        queues = sqs_backends[ACCOUNT][REGION].queues
        for name, template in self.templates.items():
            for logical_id, resource in template["Resources"].items():
                if (
                    resource["Type"] != "AWS::Lambda::EventSourceMapping"
                    or logical_id not in self.stacks[name]
                ):
                    continue
                mapping = lambda_client.get_event_source_mapping(UUID=self.stacks[name][logical_id])
                queue_arn = str(mapping["EventSourceArn"])
                if ":sqs:" not in queue_arn:
                    continue
                queue_name = queue_arn.rsplit(":", 1)[1]
                function_arn = str(mapping["FunctionArn"])
                self.event_sources.append(
                    EventSource(
                        logical_id=logical_id,
                        queue_url=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
                        queue_arn=queue_arn,
                        function_name=function_arn.split(":function:", 1)[1].split(":", 1)[0],
                        batch_size=int(mapping.get("BatchSize") or 10),
                        report_failures="ReportBatchItemFailures"
                        in (mapping.get("FunctionResponseTypes") or []),
                    )
                )
                queue = queues.get(queue_name)
                if queue is not None:
                    queue.lambda_event_source_mappings.clear()
                self.patches.setdefault(name, []).append(f"event-source-mapping-pumped:{logical_id}")

    @contextmanager
    def _own_variables(self, function: Any) -> Iterator[None]:
        """The function's own :data:`PER_FUNCTION_VARIABLES` for the call (caches that read them cleared)."""
        variables = (getattr(function, "environment_vars", None) or {}) if PER_FUNCTION_VARIABLES else {}
        own = {k: v for k, v in variables.items() if k in PER_FUNCTION_VARIABLES}
        if not own:
            yield
            return
        saved = {k: os.environ.get(k) for k in own}
        os.environ.update(own)
        self._reset_caches()
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._reset_caches()

    def _route_events(self) -> None:
        """Rules as EventBridge routes them (see ``events-routing`` in the module docstring)."""
        from moto.events.models import Rule

        harness = self
        original = self._original_send_to_targets = Rule.send_to_targets

        def send_to_targets(rule: Any, event: Any, transform_input: bool = True) -> None:
            if rule.scheduled_expression and not rule.event_pattern.get_pattern():
                return  # a schedule rule fires on its schedule, never on a put event
            if not rule.event_pattern.matches_event(event):
                return
            lambda_targets = [t for t in rule.targets if ":lambda:" in str(t.get("Arn", ""))]
            others = [t for t in rule.targets if t not in lambda_targets]
            for target in lambda_targets:
                name = str(target["Arn"]).split(":function:", 1)[1].split(":", 1)[0]
                threading.Thread(target=harness.invoke, args=(name, dict(event)), daemon=True).start()
            plain = [t for t in others if not t.get("InputTransformer")]
            shaped = [t for t in others if t.get("InputTransformer")]
            whole = {k: v for k, v in dict(event).items() if k != "ingestion-time"}
            for targets, payload, transform in ((plain, whole, False), (shaped, event, transform_input)):
                if not targets:
                    continue
                saved = rule.targets
                rule.targets = targets
                try:
                    original(rule, payload, transform)  # type: ignore[arg-type]
                finally:
                    rule.targets = saved

        Rule.send_to_targets = send_to_targets  # type: ignore[method-assign, assignment]

    def _route_lambda(self) -> None:
        from moto.awslambda_simple.models import LambdaSimpleBackend

        harness = self
        self._original_invoke = LambdaSimpleBackend.invoke

        def invoke(
            backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
        ) -> bytes:
            function = backend.get_function(function_name, qualifier)
            return harness._run_handler(function, body, response_headers)

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]

    def _run_handler(self, function: Any, body: Any, response_headers: dict[str, str]) -> bytes:
        for directory in self.asset_dirs:
            if str(directory) not in sys.path:
                sys.path.append(str(directory))  # after the venv: only ``handlers`` comes from here
        event = json.loads(body) if body else {}
        handler_path = function.handler
        module_name, attribute = handler_path.rsplit(".", 1)
        with self._lock, self._processing():
            started = time.perf_counter()
            error: str | None = None
            message = ""
            fault = self.faults.get(handler_path)
            try:
                injected = fault(event) if fault else None
                if injected is not None:
                    raise injected
                handler = getattr(importlib.import_module(module_name), attribute)
                with self._own_variables(function), contextlib.redirect_stdout(io.StringIO()):
                    result = handler(event, _Context(function))  # (stdout: Powertools' EMF lines)
                payload = json.dumps(result, default=str).encode()
            except Exception as exc:  # reported to Step Functions as the function error
                error, message = type(exc).__name__, str(exc)
                response_headers["x-amz-function-error"] = "Unhandled"
                payload = json.dumps({"errorType": error, "errorMessage": str(exc)}).encode()
            self.invocations.append(
                Invocation(
                    function.function_name,
                    handler_path,
                    event,
                    started,
                    time.perf_counter() - started,
                    error,
                    message,
                )
            )
        return payload


def _zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


@contextmanager
def embedded_aws(cdk_out: Path) -> Iterator[EmbeddedAws]:
    with EmbeddedAws(cdk_out) as aws:
        yield aws


def event_entry(event: Mapping[str, Any]) -> dict[str, Any]:
    """A PutEvents entry for an EventBridge-shaped event (what ``put_events`` then delivers as it)."""
    entry: dict[str, Any] = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event.get("detail", {})),
        "Resources": list(event.get("resources", [])),
    }
    if event.get("time"):
        from datetime import datetime

        entry["Time"] = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    return entry


def _sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """An SQS message as the Lambda event-source mapping hands it to a function."""
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def _event_bus_reprs() -> dict[str, str]:
    """moto's event buses by the repr moto's CloudFormation gives for ``Ref`` to them -> their names."""
    from moto.events.models import events_backends

    return {str(bus): bus.name for bus in events_backends[ACCOUNT][REGION].event_buses.values()}
