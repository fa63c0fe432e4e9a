"""The local deployment: the plan's synthesized stacks on the embedded AWS, kept in a state folder.

Start-up, in order: synthesize the plan's app (cached in the state folder by the plan's and its
templates' content, so a restart skips it), deploy it with the status site (the drill's deployment,
plus the intake stack when the embedded AWS can run it), point the apps' public base URLs (review,
feedback, subscribe pages) at this server, then either restore the snapshot (:mod:`.state`) or, on a
fresh state, confirm the built-in subscribers the drill uses. A background thread collects the inbox
and rewrites the snapshot every few seconds.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import io
import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from outage_comms.incident import Incident
from outage_comms.plan import Plan, load_plan
from outage_comms.templates_location import templates_dir_for
from outage_comms_cli.local import state
from outage_comms_cli.local.apigw import Route, deployed_routes, sort_routes, template_routes
from outage_comms_cli.local.inbox import Inbox
from outage_comms_embedded import EmbeddedAws, session_arn, synthesize_app

DEFAULT_STATE_DIR = Path(".outage-comms/local")
#: Reuse a ``synthesize_app`` output instead of synthesizing (tests, as for the drill).
REUSE_CDK_OUT_ENV = "OUTAGE_COMMS_EMBEDDED_CDK_OUT"
INCIDENT_API_HANDLER = "handlers.incident_api.handler"
COMPOSE_HANDLER = "handlers.compose_page.handler"
SNAPSHOT_SECONDS = 5.0
COLLECT_SECONDS = 0.3

Progress = Callable[[str], None]


def _content_key(plan_path: Path, plan: Plan) -> str:
    """The plan, its templates and the installed package: what the synthesized app depends on."""
    from importlib.metadata import version

    digest = hashlib.sha256(plan_path.read_bytes())
    digest.update(version("outage-comms").encode())
    templates = templates_dir_for(plan_path, plan.templates)
    if templates.is_dir():
        for path in sorted(templates.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(templates)).encode() + path.read_bytes())
    for root in (
        Path(__file__).resolve().parents[2] / "lambdas",
        Path(__file__).resolve().parents[2] / "stacks",
    ):
        if root.is_dir():  # a source checkout: the code is part of what was synthesized
            for path in sorted(root.rglob("*.py")):
                digest.update(str(path).encode() + str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()[:16]


class LocalDeployment:
    """``start()`` / ``stop()``; the server reads :attr:`aws`, :attr:`routes`, :attr:`inbox`."""

    def __init__(
        self,
        plan_path: Path,
        state_dir: Path = DEFAULT_STATE_DIR,
        *,
        reset: bool = False,
        seconds_per_minute: float | None = None,
        progress: Progress = lambda line: None,
    ) -> None:
        self.plan_path = plan_path
        self.plan = load_plan(plan_path)
        self.state_dir = state_dir
        self.reset = reset
        self.seconds_per_minute = seconds_per_minute
        self.progress = progress
        self.aws: EmbeddedAws | None = None
        self.routes: list[Route] = []
        self.mounts: dict[str, str] = {}  # RestApi physical id -> local path prefix
        self.inbox: Inbox | None = None
        self.base_url = ""
        self._api_url = re.compile(r"(?!)")
        self.restored: dict[str, int] = {}
        self.resumed: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()

    # -- identities ------------------------------------------------------------------------------
    def approvers(self) -> list[tuple[str, str]]:
        """(label, session ARN) of every approver the plan names, communications manager first."""
        found: list[tuple[str, str]] = []
        roles = self.plan.roles
        for role in ("communications_manager", "incident_manager", "support_manager"):
            person = getattr(roles, role)
            for number, principal in enumerate(person.approver_principals, start=1):
                label = f"{person.name} ({role.replace('_', ' ')}, {principal.rsplit('/', 1)[-1]})"
                arn = session_arn(principal, f"local-{number}")
                if arn not in {a for _, a in found}:
                    found.append((label, arn))
        return found

    def operator_arn(self) -> str:
        """Who the CLI and the index page act as over the incident API (the incident manager)."""
        principals = self.plan.roles.incident_manager.approver_principals
        user = re.sub(r"[^\w+=,.@-]", "-", getpass.getuser() or "local")[:32]
        if principals:
            return session_arn(principals[0], user)
        return f"arn:aws:sts::123456789012:assumed-role/OutageCommsLocalOperator/{user}"

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        if self.reset and self.state_dir.exists():
            self.progress(f"--reset: removing {self.state_dir}")
            shutil.rmtree(self.state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        cdk_out = self._synthesized()
        self.progress("deploying the stacks into the embedded AWS")
        aws = EmbeddedAws(cdk_out, with_status_site=True)
        intake = self._include_intake(aws)
        try:
            aws.start()
        except RuntimeError as error:
            if not intake:
                raise
            self.progress(
                f"the intake stack did not deploy on the embedded AWS ({str(error)[:300]}); "
                "deploying without it: the incident API's handler runs in this process instead"
            )
            with contextlib.suppress(Exception):
                aws.stop()
            aws = EmbeddedAws(cdk_out, with_status_site=True)
            aws.start()
        self.aws = aws
        self.progress(f"deployed {', '.join(aws.stacks)}")
        if self.seconds_per_minute:
            if not hasattr(aws, "set_plan_clock"):
                raise RuntimeError("this embedded AWS has no plan clock: run without --seconds-per-minute")
            from datetime import UTC, datetime

            aws.set_plan_clock(datetime.now(UTC), self.seconds_per_minute)
            self.progress(f"compressed clock: 1 plan minute = {self.seconds_per_minute:g} s")
        self.routes = deployed_routes(aws)
        if not self._intake_deployed():
            self.routes = sort_routes(self.routes + self._undeployed_routes(aws))
        self._mount_apis()
        snapshot = None if self.reset else state.read_snapshot(self.state_dir)
        self._create_drill_secrets()
        if snapshot is not None:
            self.restored = state.restore_snapshot(aws, snapshot)
            self.progress(
                f"restored {self.restored['items']} stored items, {self.restored['objects']} status-site "
                f"objects and {self.restored['secrets']} secrets from {self.state_dir}"
            )
        else:
            self._seed_subscribers()
        keys = self._webhook_keys()
        self.inbox = Inbox(aws, self.state_dir / "inbox.jsonl", webhook_keys=keys, localize=self.localize)
        if snapshot is not None:
            self.resumed = self._resume_open_incidents()
        self.write_snapshot()
        self._thread = threading.Thread(target=self._background, name="local-collector", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.aws is not None:
            with contextlib.suppress(Exception):
                self.collect()
            self.write_snapshot()
            self.aws.stop()
            self.aws = None

    def write_snapshot(self) -> None:
        if self.aws is None:
            return
        with self._lock:
            try:
                state.write_snapshot(self.aws, self.state_dir)
            except Exception as error:  # a snapshot must never take the server down
                self.progress(f"snapshot not written: {type(error).__name__}: {error}")

    def collect(self) -> None:
        if self.inbox is not None:
            self.inbox.collect()

    def pump(self) -> None:
        """Hand what waits on the intake queue to the intake function (the event-source mapping's job)."""
        aws = self.aws
        if aws is not None and self._intake_deployed():
            with self._lock:
                aws.pump()

    def _background(self) -> None:
        last_snapshot = time.monotonic()
        while not self._stop.wait(COLLECT_SECONDS):
            with contextlib.suppress(Exception):
                self.pump()
            with contextlib.suppress(Exception):
                self.collect()
            if time.monotonic() - last_snapshot >= SNAPSHOT_SECONDS:
                self.write_snapshot()
                last_snapshot = time.monotonic()

    # -- start-up steps --------------------------------------------------------------------------
    def _synthesized(self) -> Path:
        reuse = os.environ.get(REUSE_CDK_OUT_ENV)
        if reuse:
            return Path(reuse)
        key = _content_key(self.plan_path, self.plan)
        target = self.state_dir / "cdk.out"
        marker = self.state_dir / "cdk.out.key"
        if target.is_dir() and marker.exists() and marker.read_text().strip() == key:
            self.progress(f"reusing the synthesized app in {target} (plan and templates unchanged)")
            return target
        self.progress("synthesizing the plan's app (cdk-nag gate on); about 30 s the first time")
        shutil.rmtree(target, ignore_errors=True)
        synthesize_app(target, self.plan_path)
        marker.write_text(key)
        return target

    @staticmethod
    def _include_intake(aws: EmbeddedAws) -> bool:
        """Deploy the intake stack when this embedded AWS runs its path (rule -> queue -> function)."""
        if hasattr(aws, "with_intake") and hasattr(aws, "pump"):
            aws.with_intake = True
            return True
        return False

    def _mount_apis(self) -> None:
        """Each REST API gets a path on this server (the incident API ``/api``, the others by name).

        The functions keep their deployed base URLs (``https://<api>.execute-api…/<stage>``: links in
        messages must be https); :meth:`localize` turns those URLs into this server's paths wherever a
        person follows them here (the inbox, the pages the functions answer with).
        """
        for route in self.routes:
            if route.api_id in self.mounts:
                continue
            if route.handler == INCIDENT_API_HANDLER:
                mount = "/api"
            else:
                name = re.sub(r"^outage-comms-", "", route.api)
                mount = "/" + re.sub(r"[^a-z0-9-]", "-", name.lower())
            self.mounts[route.api_id] = mount
        compose = [r for r in self.routes if r.handler == COMPOSE_HANDLER]
        if compose:  # reminders and escalations link the compose page served here
            self.aws_checked._set_env({"COMPOSE_BASE_URL": self.base_url + self.mounts[compose[0].api_id]})
            self.aws_checked._reset_caches()
        self._api_url = re.compile(
            r"https://(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com/[^/\"'\s<>]*"
        )

    def localize(self, text: str) -> str:
        """Deployed API URLs in ``text`` as this server's URLs (unknown APIs are left alone)."""

        def local(match: re.Match[str]) -> str:
            mount = self.mounts.get(match["api"])
            return self.base_url + mount if mount is not None else match.group(0)

        return self._api_url.sub(local, text)

    def route_for(self, method: str, path: str) -> tuple[Route, str, dict[str, str]] | None:
        """The route serving ``path`` (with its mount), its path inside the API and its parameters."""
        for route in self.routes:
            mount = self.mounts.get(route.api_id, "")
            if not (path == mount or path.startswith(mount + "/")):
                continue
            inner = path[len(mount) :] or "/"
            if route.method not in (method, "ANY"):
                continue
            parameters = route.match(inner)
            if parameters is not None:
                return route, inner, parameters
        return None

    def _create_drill_secrets(self) -> None:
        from outage_comms_cli.drills.embedded import _create_drill_secrets

        assert self.aws is not None
        with contextlib.suppress(Exception):
            _create_drill_secrets(self.aws, self.plan)

    def _seed_subscribers(self) -> None:
        from outage_comms_cli.drills.embedded import _seed_subscribers

        assert self.aws is not None
        seeded = _seed_subscribers(self.aws, self.plan)
        self.progress(f"subscribers confirmed: {', '.join(seeded) or 'none'}")

    def _webhook_keys(self) -> list[bytes]:
        assert self.aws is not None
        client = self.aws.client("secretsmanager")
        keys = []
        settings = self.plan.channels.webhook
        names = [settings.signing_secret] if settings is not None else []
        names += [n for c, n in self.plan.drill.webhook_secrets.items() if c.value == "webhook"]
        for name in names:
            with contextlib.suppress(Exception):
                value = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
                keys.append(str(value.get("signing_key", "")).encode())
        return keys

    def _resume_open_incidents(self) -> list[str]:
        from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway

        resumed = []
        gateway = StepFunctionsWorkflowGateway(self.aws_checked.state_machine_arn)
        for incident in self.incidents():
            if incident.is_open:
                gateway.start(incident)
                resumed.append(incident.id)
        if resumed:
            self.progress(f"open incidents picked up by a new execution: {', '.join(resumed)}")
        return resumed

    # -- reads -----------------------------------------------------------------------------------
    @property
    def aws_checked(self) -> EmbeddedAws:
        if self.aws is None:
            raise RuntimeError("the local deployment is not running")
        return self.aws

    def repository(self) -> Any:
        from outage_comms.intake.store import DynamoIncidentRepository

        return DynamoIncidentRepository(
            self.aws_checked.physical_id("AWS::DynamoDB::Table", contains="Incidents")
        )

    def incidents(self, limit: int = 50) -> list[Incident]:
        return list(self.repository().list_recent(limit))

    def activity(self, incident_id: str) -> dict[str, Any]:
        from outage_comms.workflow.activity import ActivitySettings, DynamoActivityReader

        aws = self.aws_checked
        reader = DynamoActivityReader(
            ActivitySettings(
                incidents_table=aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"),
                workflow_table=aws.physical_id("AWS::DynamoDB::Table", contains="State"),
            ),
            aws.client("dynamodb"),
        )
        return dict(reader.activity(incident_id))

    def status_object(self, key: str) -> tuple[bytes, str] | None:
        aws = self.aws_checked
        try:
            bucket = aws.output("StatusBucketName")
            got = aws.client("s3").get_object(Bucket=bucket, Key=key)
        except Exception:
            return None
        return got["Body"].read(), str(got.get("ContentType") or "")

    def compose_path(self, incident: Incident) -> str | None:
        """A fresh signed compose link for an open incident, as a reminder carries (None: no compose page)."""
        compose = [r for r in self.routes if r.handler == COMPOSE_HANDLER]
        if not compose or not incident.is_open:
            return None
        from outage_comms import clock
        from outage_comms.compose.links import compose_path, compose_reference, link_minutes
        from outage_comms.workflow.adapters import review_signer

        minutes = link_minutes(self.plan, incident.severity)
        reference = compose_reference(review_signer(), incident.id, now=clock.now(), minutes=minutes)
        return f"{self.mounts[compose[0].api_id]}/{compose_path(incident.id, reference)}"

    # -- actions ---------------------------------------------------------------------------------
    def fire_alarm(self, component: str | None, severity: str | None) -> dict[str, Any]:
        """A CloudWatch alarm state change for a component's alarm, through EventBridge when it can."""
        from outage_comms.vocabulary import Scenario
        from outage_comms_cli.drills.embedded import alarm_event

        aws = self.aws_checked
        level = self.plan.severity(severity) if severity else None
        event = alarm_event(
            self.plan,
            level.default_scenario if level and level.default_scenario else Scenario.INVESTIGATING,
            component=component,
            severity=severity,
        )
        if hasattr(aws, "put_events") and self._intake_deployed():
            with self._lock:
                aws.put_events([event])
            return {"alarm": event["detail"]["alarmName"], "path": "EventBridge"}
        return {**self._apply_in_process(event), "alarm": event["detail"]["alarmName"], "path": "intake"}

    def _intake_deployed(self) -> bool:
        return any(route.handler == INCIDENT_API_HANDLER and route.function for route in self.routes)

    @staticmethod
    def _undeployed_routes(aws: EmbeddedAws) -> list[Route]:
        """The REST API routes of stacks that are synthesized but not deployed here (the intake stack
        when the embedded AWS cannot deploy it): served by :meth:`handler_in_process`."""
        routes: list[Route] = []
        for path in sorted(aws.cdk_out.glob("*.template.json")):
            if path.name.removesuffix(".template.json") not in aws.templates:
                routes += template_routes(json.loads(path.read_text()), {})
        return routes

    def _apply_in_process(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Intake's own domain on this deployment's store and state machine (no intake stack here)."""
        from outage_comms.intake.normalise import Signal, to_signal
        from outage_comms.intake.service import apply_signal
        from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway

        signal = to_signal(raw, self.plan)
        if not isinstance(signal, Signal):
            return {"rejected": signal.reason}
        with self._lock:
            return dict(
                apply_signal(
                    signal,
                    plan=self.plan,
                    incidents=self.repository(),
                    workflow=StepFunctionsWorkflowGateway(self.aws_checked.state_machine_arn),
                    changes=_NoChanges(),
                ).as_dict()
            )

    def handler_in_process(self, route: Route, event: dict[str, Any]) -> dict[str, Any]:
        """A route's real handler, in this process, when its stack is not deployed (the intake stack).

        Same handler, same routes and checks. A handler that takes intake ``dependencies`` (the incident
        API, the compose page) gets this deployment's incident store, idempotency table and state machine
        (the intake queue that would hand its work to the intake function is not here, so the gateway
        starts and feeds executions itself).
        """
        from outage_comms.intake.runtime import build_dependencies
        from outage_comms.intake.settings import IntakeSettings
        from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway
        from outage_comms_embedded import lambda_context

        aws = self.aws_checked
        for directory in aws.asset_dirs:
            if str(directory) not in sys.path:
                sys.path.append(str(directory))
        import importlib
        import inspect

        module_name, attribute = route.handler.rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), attribute)
        settings = IntakeSettings(
            PLAN_PATH=os.environ["PLAN_PATH"],
            INCIDENTS_TABLE_NAME=aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"),
            IDEMPOTENCY_TABLE_NAME=aws.physical_id("AWS::DynamoDB::Table", contains="Idempotency"),
            EVENT_BUS_NAME="outage-comms",
            STATE_MACHINE_ARN=aws.state_machine_arn,
        )
        dependencies = build_dependencies(
            settings,
            plan=self.plan,
            incidents=self.repository(),
            workflow=StepFunctionsWorkflowGateway(aws.state_machine_arn),
            changes=_NoChanges(),
        )

        class _Function:
            function_name = f"local-{module_name.rsplit('.', 1)[-1].replace('_', '-')}"
            function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
            memory_size = 256
            timeout = 29

        wants = "dependencies" in inspect.signature(handler).parameters
        with aws._lock, contextlib.redirect_stdout(io.StringIO()):  # Powertools' EMF lines
            if wants:
                return dict(handler(event, lambda_context(_Function()), dependencies=dependencies))
            return dict(handler(event, lambda_context(_Function())))


class _NoChanges:
    """Intake's "incident changed" events have no listener in the local deployment."""

    def publish(self, incident: Incident, decision: Any) -> None:
        return None
