"""Deploy the synthesized Outage Comms app into moto and run the real handlers in-process.

What happens, in order (:meth:`EmbeddedAws.start`):

1. :func:`synthesize_app` builds the library's app (``outage_comms_cdk.app.build_app``, nag gate on) with
   ``DefaultStackSynthesizer(generate_bootstrap_version_rule=False)``: moto has no bootstrap
   SSM parameter to check.
2. The stacks are deployed, each in its region, with the documented template patches (:mod:`.deploy`,
   :mod:`.template_patches`). A two-region plan deploys both engines (moto keeps a backend per region);
   the harness's home region is the primary's (or ``us-east-1`` for an environment-agnostic app).
3. moto's no-docker Lambda backend is routed to the real handlers, one at a time, each in its region's
   environment (:mod:`.lambda_router`).
4. With ``with_intake``, the intake stack is deployed too: events enter through :meth:`put_events` and
   :meth:`pump` (:mod:`.event_routing`).
5. The outside world the channels reach, for the harness's lifetime only: a recording HTTP server on
   127.0.0.1 for Slack, Teams, Mastodon, Bluesky, the outbound webhook and the support desk
   (:mod:`.channel_sink`), and End User Messaging SMS/voice/push, which moto lacks, answered at the
   botocore client boundary with every request validated against the service model
   (:mod:`.provider_fakes`).
6. A drill can take a region down and bring it back (:meth:`region_outage`, :mod:`.outage`) and run the
   plan clock (:meth:`set_plan_clock`, :mod:`.plan_clock`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outage_comms_embedded.channel_sink import ChannelSink, LoopbackRoute
from outage_comms_embedded.deploy import Deployment, is_incident_state_machine
from outage_comms_embedded.event_routing import EventRouting, EventSource, PumpedBatch, event_entry
from outage_comms_embedded.lambda_router import (
    PER_FUNCTION_VARIABLES,
    Fault,
    Invocation,
    LambdaRouting,
    _Context,
)
from outage_comms_embedded.lookups import Lookups
from outage_comms_embedded.outage import OBSERVER_KEY, RegionOutages
from outage_comms_embedded.plan_clock import PlanClockHooks
from outage_comms_embedded.provider_fakes import ProviderFake

__all__ = [
    "ACCOUNT",
    "PER_FUNCTION_VARIABLES",
    "REGION",
    "EmbeddedAws",
    "EventSource",
    "Fault",
    "Invocation",
    "PumpedBatch",
    "_Context",
    "event_entry",
    "is_incident_state_machine",
    "synthesize_app",
]

ACCOUNT = "123456789012"
REGION = "us-east-1"
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
INCIDENT_STATE_MACHINE = "outage-comms-incident"
#: The status stack's role the publisher assumes (stacks/constructs/status_site.py): marks that stack.
STATUS_ACCESS_ROLE = "OutageCommsStatusPublisherAccess"

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
_IN_HANDLER = threading.local()


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


@dataclass
class EmbeddedAws(Lookups, Deployment, LambdaRouting, EventRouting, PlanClockHooks):
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
    #: Stacks to deploy (with their dependencies). Default: the workflow's stack(s) and what they depend
    #: on; stacks nothing here depends on (status site, intake triggers) are left out.
    only_stacks: list[str] = field(default_factory=list)
    #: Also deploy the status site's stack (bucket, public dashboard, the publisher's access role) into
    #: the same account, so the workflow's status publisher writes a real bucket.
    with_status_site: bool = False
    #: Also deploy the intake stack(s) (EventBridge rules -> intake queue -> intake function; the incident
    #: API): events enter through :meth:`put_events` and :meth:`pump`.
    with_intake: bool = False
    #: The SQS event-source mappings of the deployed stacks, pumped by :meth:`pump`.
    event_sources: list[EventSource] = field(default_factory=list)
    pumped: list[PumpedBatch] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.account = ACCOUNT
        self.region = self._home_region()
        self.region_environments: dict[str, dict[str, str]] = {}
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._lock = threading.RLock()
        self._original_invoke: Any = None
        self._original_send_to_targets: Any = None
        self._renamed: dict[str, str] = {}  # moto object repr -> the physical id it stands for
        self._shared_tables: dict[str, set[str]] = {}  # global table name -> the regions sharing it
        self._original_transact: Any = None  # moto's TransactWriteItems, while it is wrapped
        self._plan_clock: Any = None  # outage_comms.clock.PlanClock once set_plan_clock ran
        self._clock_lock = threading.RLock()
        self._clock_hooks: dict[tuple[Any, str], Any] = {}
        self._depth = 0  # handlers running (nested invocations count once each)
        self._running = 0  # executions running
        self._waiting = 0  # executions waiting (task token, Wait state, a region that is down)
        self._woken: set[Any] = set()  # task tokens handed over, their execution not yet awake
        self._awaited: set[Any] = set()  # task tokens an execution is waiting for right now
        #: Wall seconds the handlers took since the plan clock was set (not counted as plan time).
        self.processing_seconds = 0.0
        self.sink = ChannelSink()
        self.providers = ProviderFake()
        self._route = LoopbackRoute(self.sink)
        #: plan secret name -> what it was set to (URLs of the sink; generated tokens)
        self.channel_secrets: dict[str, dict[str, str]] = {}
        #: Regions taken down by a drill (:meth:`region_outage`), and what that refused.
        self.outages = RegionOutages(
            on_hold=lambda delta: self._count("_waiting", delta),
            in_handler=lambda: bool(getattr(_IN_HANDLER, "depth", 0)),
        )

    def _home_region(self) -> str:
        """The region of the first stack holding the incident state machine (the primary's), else REGION."""
        manifest = self.cdk_out / "manifest.json"
        if not manifest.exists():
            return REGION
        for name, artifact in json.loads(manifest.read_text())["artifacts"].items():
            environment = str(artifact.get("environment", ""))
            region = environment.rsplit("/", 1)[-1]
            template = self.cdk_out / f"{name}.template.json"
            if artifact.get("type") != "aws:cloudformation:stack" or region.startswith("unknown-"):
                continue
            if template.exists() and '"StateMachineName": "outage-comms' in template.read_text():
                return region
        return REGION

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> EmbeddedAws:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        from moto import mock_aws

        self._set_env({**HARNESS_ENVIRONMENT, "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region})
        self.providers.install()
        self._mock = mock_aws(config=MOTO_CONFIG)  # type: ignore[arg-type]
        self._mock.start()
        self.outages.install()
        self.sink.start()
        self._route.install()
        self._reset_caches()
        self._route_lambda()
        self._route_events()
        self._upload_assets()
        for stack in self._stack_order():
            self._create_stack(stack)
        self._keep_tables_shared()
        self._apply_function_environments()
        self._fix_parameter_stage_names()
        self._detach_event_sources()
        self._register_state_machines()
        self._verify_senders()
        self._create_channel_secrets()

    def stop(self) -> None:
        if self._mock is not None:
            self._stop_running_executions()
        self.outages.uninstall()
        self._forget_shared_tables()
        self._unroute_lambda()
        self._remove_clock_hooks()
        self._unroute_events()
        if self._mock is not None:
            self._mock.stop()
            self._route.uninstall()
            self.sink.stop()
        self.providers.uninstall()
        with self._clock_lock:  # an execution thread still winding down must not write the clock back
            self._plan_clock = None
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
        running: list[tuple[Any, str]] = []
        for region in self._deployed_regions():
            sfn = self.client("stepfunctions", region=region)
            machines: list[dict[str, Any]] = []
            with contextlib.suppress(Exception):  # best effort while tearing down
                machines = sfn.list_state_machines()["stateMachines"]
            for machine in machines:
                for page in sfn.get_paginator("list_executions").paginate(
                    stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
                ):
                    running += [(sfn, e["executionArn"]) for e in page["executions"]]
        for sfn, arn in running:
            with contextlib.suppress(Exception):  # an execution still starting has no worker to stop
                sfn.stop_execution(executionArn=arn, cause="embedded AWS shutting down")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
            sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" for sfn, arn in running
        ):
            time.sleep(0.05)

    # -- regions ---------------------------------------------------------------------------------
    @property
    def regions(self) -> list[str]:
        """The regions the deployment runs in, the home (primary) region first."""
        return self._deployed_regions()

    def region_outage(self, region: str) -> None:
        """From now every call to ``region``'s endpoints fails (or, from its own machinery, waits)."""
        self.outages.apply("region_outage", region)

    def region_recovery(self, region: str) -> None:
        """``region`` answers again; what waited for it goes on."""
        self.outages.apply("region_recovery", region)

    @contextlib.contextmanager
    def in_region(self, region: str) -> Iterator[None]:
        """Run code of this process as ``region``'s engine (its functions' environment, ``AWS_REGION``),
        one at a time with the handlers: e.g. a person's request applied by that region's intake."""
        with self._lock, self._in_region(region):
            yield

    def _region_answers(self, region: str) -> bool:
        return self.outages.answers(region or self.region)

    # -- clients and lookups ---------------------------------------------------------------------
    def client(self, service: str, *, region: str | None = None) -> Any:
        """A client of ``region`` (default: home) for the harness's own reads and set-up: it signs with
        the observer's key, which a region outage never refuses (:mod:`.outage`)."""
        import boto3

        return boto3.client(
            service,
            region_name=region or self.region,
            aws_access_key_id=OBSERVER_KEY,
            aws_secret_access_key="testing",  # noqa: S106 (moto's)
        )

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
            ("handlers.region_failover", ("default_engine",)),
            ("outage_comms.regions.fence", ("fenced_services",)),
        ):
            module = sys.modules.get(module_name)
            for name in names:
                cached = getattr(module, name, None) if module else None
                if cached is not None and hasattr(cached, "cache_clear"):
                    cached.cache_clear()

    def _run_handler(
        self, function: Any, body: Any, response_headers: dict[str, str], region: str = ""
    ) -> bytes:
        _IN_HANDLER.depth = getattr(_IN_HANDLER, "depth", 0) + 1
        try:
            return super()._run_handler(function, body, response_headers, region)
        finally:
            _IN_HANDLER.depth -= 1
