"""Cold path: an alarm state change on the EventBridge bus -> first customer delivery, every function cold.

The synthesized app runs on the embedded AWS (moto) with the intake stack: the event goes through
``PutEvents`` on the bus, the synthesized rule, the intake queue, the intake function (pumped as the
SQS event-source mapping does), the workflow's state machine and its functions, until the first
``deliver_channel`` invocation that delivered.

*Cold*: the first invocation of every function runs in a **fresh interpreter** (a subprocess) with
that function's deployed layout (its synthesized asset as the task root, no bytecode, the Powertools
layer's packages, the runtime's boto3; ``LAMBDA_TASK_ROOT`` and the function's own environment as
deployed, X-Ray tracing on), exactly as Lambda starts a new execution environment: the handler
module is imported (init), then invoked once. Its AWS calls reach the same moto backends through a
loopback endpoint (``AWS_ENDPOINT_URL``); outbound web traffic is pointed at a closed local proxy,
so nothing leaves the machine. Later invocations of the same function run warm, in-process.

*Warm*: the same path with every function already initialised (a warm execution environment).

Reported: both totals, each function's cold init and first invocation on the path next to its warm
invocation, the sum of cold inits, and our code's share of the cold path (the time inside our
functions, init included; it also holds moto's own service time, so it is an upper bound). AWS's
own latencies (EventBridge delivery, SQS polling, Lambda's runtime start, Step Functions
transitions) are not measured on moto: docs/performance.md lists them from AWS documentation.

.venv/bin/python bench/run.py --only cold_path      # writes bench/results/cold_path.json
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

RESULTS = ROOT / "bench" / "results" / "cold_path.json"
WARM_SAMPLES = 3
TARGET_OUR_CODE_S = 1.5
CUSTOMER_HANDLER = "handlers.workflow_deliver_channel.handler"
#: Signing name (in the SigV4 credential scope) -> moto's endpoint host for it.
ENDPOINT_HOSTS = {
    "ses": "email.{region}.amazonaws.com",
    "s3": "s3.{region}.amazonaws.com",
    "sts": "sts.amazonaws.com",
    "iam": "iam.amazonaws.com",
    "cloudwatch": "monitoring.{region}.amazonaws.com",
    "execute-api": "execute-api.{region}.amazonaws.com",
}
#: Headers the forwarder must not copy (hop-by-hop, or recomputed by requests).
_DROP_HEADERS = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}


# --------------------------------------------------------------------------- loopback endpoint to moto


class MotoEndpoint:
    """An HTTP endpoint on 127.0.0.1 that hands every AWS request to this process's moto backends.

    A subprocess's botocore signs for the real service (the credential scope names it); the request is
    re-sent here with ``requests`` to that service's AWS host, which moto's active mock answers from the
    same in-memory backends the embedded deployment lives in.
    """

    def __init__(self, region: str) -> None:
        import requests

        session = requests.Session()
        session.trust_env = False
        lock = threading.Lock()
        endpoint = self
        #: Seconds spent answering requests (moto's service time plus this hop), and how many.
        self.served_s = 0.0
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The answer's status line, headers and body go out as separate small writes: without
            # TCP_NODELAY, Nagle's algorithm and the client's delayed ACK hold each answer ~40 ms on the
            # loopback — a stall of this harness, not of AWS or of our code, counted in the wall figures.
            disable_nagle_algorithm = True

            def log_message(self, *_: Any) -> None:
                return None

            def _forward(self) -> None:
                received = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                auth = self.headers.get("Authorization", "")
                service = auth.split("Credential=", 1)[1].split("/")[3] if "Credential=" in auth else "s3"
                host = ENDPOINT_HOSTS.get(service, "{service}.{region}.amazonaws.com").format(
                    service=service, region=region
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _DROP_HEADERS}
                with lock:  # moto's backends and the harness's router are not meant for parallel calls
                    answer = session.request(
                        self.command, f"https://{host}{self.path}", data=body, headers=headers, timeout=60
                    )
                content = answer.content
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in _DROP_HEADERS | {"content-encoding"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
                with lock:
                    endpoint.served_s += time.perf_counter() - received
                    endpoint.requests += 1

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MotoEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- one cold execution environment

_RUNNER = """
import os, sys, time
# the protocol with the bench goes through a copy of stdout; the handler's own stdout (Powertools' EMF
# and log lines) goes nowhere, as on Lambda it goes to CloudWatch
protocol = os.fdopen(os.dup(1), "w")
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
sys.path[:0] = {path!r}
started, started_cpu = time.perf_counter(), time.process_time()
import importlib
module = importlib.import_module({module!r})
imported, imported_cpu = time.perf_counter(), time.process_time()
import json, uuid
handler = getattr(module, {attribute!r})

class Context:
    function_name = {name!r}
    function_version = "$LATEST"
    invoked_function_arn = {arn!r}
    memory_limit_in_mb = {memory!r}
    log_group_name = "/aws/lambda/" + {name!r}
    log_stream_name = "cold"

    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + {timeout!r}

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))

first = True
for line in sys.stdin:  # one invocation per line: this execution environment serves until stdin closes
    request = json.loads(line)
    os.environ["_X_AMZN_TRACE_ID"] = request["trace"]
    event = json.load(open(request["event"]))
    error = None
    profile = None
    if first and {profile!r}:
        import cProfile
        profile = cProfile.Profile()
        profile.enable()
    began, began_cpu = time.perf_counter(), time.process_time()
    try:
        payload = json.dumps(handler(event, Context()), default=str)
    except Exception as exc:
        error = type(exc).__name__
        payload = json.dumps({{"errorType": error, "errorMessage": str(exc)}})
    done, done_cpu = time.perf_counter(), time.process_time()
    if profile is not None:
        profile.disable()
        profile.dump_stats({profile!r})
    outcome = {{"invoke_s": done - began, "invoke_cpu_s": done_cpu - began_cpu, "error": error,
               "payload": payload, "init_s": 0.0, "init_cpu_s": 0.0, "startup_cpu_s": 0.0}}
    if first:  # the cold start: interpreter start-up, init (the handler's import) and the first invocation
        outcome.update(init_s=imported - started, init_cpu_s=imported_cpu - started_cpu,
                       startup_cpu_s=started_cpu, invoke_s=done - imported,
                       invoke_cpu_s=done_cpu - imported_cpu)
    first = False
    with open(request["result"], "w") as out:
        json.dump(outcome, out)
    print("done", file=protocol, flush=True)
"""


class Environment:
    """One execution environment: a fresh interpreter in the function's deployed layout, kept alive to
    serve later invocations warm, as Lambda keeps an environment between invocations."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path, stderr: Path) -> None:
        self._command, self._env, self._cwd = command, env, cwd
        self._stderr_path = stderr
        self._stderr = stderr.open("w")
        self.process: subprocess.Popen[str] | None = None
        self.invocations = 0

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def invoke(self, event_file: Path, result_file: Path) -> bool:
        """Run one invocation (the first starts the interpreter: the cold start, timed with it); False when
        the environment died (a runtime error)."""
        if self.process is None:
            self.process = subprocess.Popen(
                self._command, env=self._env, cwd=self._cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._stderr, text=True,
            )  # fmt: skip
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {"event": str(event_file), "result": str(result_file), "trace": _trace_header()}
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            answered = self.process.stdout.readline().strip() == "done"
        except (BrokenPipeError, OSError):
            answered = False
        self.invocations += 1
        return answered and result_file.exists()

    def stderr(self) -> str:
        self._stderr.flush()
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    def close(self) -> None:
        if self.process is not None:
            if self.process.stdin is not None:
                with contextlib.suppress(OSError):
                    self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._stderr.close()


def _trace_header() -> str:
    """An X-Ray trace header as Lambda sets it for a sampled invocation."""
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1"


@dataclass
class ColdRun:
    function: str
    handler: str
    init_s: float
    invoke_s: float
    wall_s: float
    error: str | None
    #: Time the loopback endpoint spent answering this run's AWS calls (moto's own service time + the hop).
    aws_s: float = 0.0
    aws_calls: int = 0
    #: CPU seconds of the process (``time.process_time``): what the machine's load does not inflate.
    init_cpu_s: float = 0.0
    invoke_cpu_s: float = 0.0
    startup_cpu_s: float = 0.0
    #: False: a later invocation served by an environment this run started (warm, in its own process).
    cold: bool = True


class ColdStarts:
    """Routes the first invocation of each function to a fresh interpreter in its deployed layout."""

    def __init__(
        self,
        aws: Any,
        cdk_out: Path,
        endpoint: MotoEndpoint,
        workdir: Path,
        profile_dir: Path | None = None,
        layouts: Any = None,
    ) -> None:
        import cold_init

        self.aws = aws
        self.moto = endpoint
        self.endpoint = endpoint.url
        self.profile_dir = profile_dir
        self.workdir = workdir
        self.layouts = layouts or cold_init.DeployedLayouts(workdir / f"layouts-{uuid.uuid4().hex[:8]}")
        self.cold_init = cold_init
        by_logical = {(f.stack, f.logical_id): f for f in cold_init.functions(cdk_out)}
        self.synthesized: dict[str, Any] = {}
        for stack, resources in aws.stacks.items():
            for logical_id, physical in resources.items():
                if (stack, logical_id) in by_logical:
                    self.synthesized[physical] = by_logical[(stack, logical_id)]
        self.enabled = False
        self.seen: set[str] = set()
        #: Execution environments per function not serving an invocation right now. As on Lambda, a
        #: later invocation goes to an idle environment of its function (warm, in that environment's own
        #: process); one arriving while every environment of its function is busy (a Parallel's branches)
        #: starts another cold one.
        self.idle: dict[str, list[Environment]] = {}
        self.environments: list[Environment] = []
        self._idle_lock = threading.Lock()
        self._cold_lock = threading.Lock()
        self.runs: list[ColdRun] = []
        self._original = aws._run_handler
        aws._run_handler = self._run_handler

    def _environment(self, function: Any, layout: Any, synthesized: Any) -> dict[str, str]:
        config = self.aws.client("lambda").get_function_configuration(FunctionName=function.function_name)
        env = self.cold_init.lambda_environment(layout, synthesized)
        for key, value in (config.get("Environment", {}).get("Variables", {}) or {}).items():
            value = self.aws._renamed.get(value, value)
            env[key] = (
                str(layout.task_root) + value.removeprefix("/var/task")
                if value.startswith("/var/task")
                else value
            )
        for key in ("OUTAGE_COMMS_PLAN_CLOCK",):
            if os.environ.get(key):
                env[key] = os.environ[key]
        env.update(
            {
                "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
                "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(getattr(function, "memory_size", 256) or 256),
                "AWS_ENDPOINT_URL": self.endpoint,
                # X-Ray on, as deployed: segments go to a local UDP port nobody reads.
                "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
                "_X_AMZN_TRACE_ID": _trace_header(),
                # Nothing leaves the machine: web channels meet a closed proxy port (AWS: the endpoint).
                "HTTPS_PROXY": "http://127.0.0.1:9",
                "HTTP_PROXY": "http://127.0.0.1:9",
                "NO_PROXY": "127.0.0.1,localhost",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            }
        )
        return env

    def _run_handler(self, function: Any, body: Any, response_headers: dict[str, str], *more: Any) -> bytes:
        """The harness's ``_run_handler`` (``more``: its later arguments, e.g. the region, passed on)."""
        name = function.function_name
        synthesized = self.synthesized.get(name)
        if not self.enabled or synthesized is None:
            return bytes(self._original(function, body, response_headers, *more))
        with self._idle_lock:
            idle = self.idle.get(name) or []
            environment = idle.pop() if idle else None
        if environment is None:
            with self._cold_lock:  # one cold start at a time: layouts are built on first use, not thread-safe
                environment = self._start(function, synthesized)
        try:
            return self._invoke(environment, function, body, response_headers)
        finally:
            if environment.alive():  # the environment now serves later invocations
                with self._idle_lock:
                    self.idle.setdefault(name, []).append(environment)

    def _start(self, function: Any, synthesized: Any) -> Environment:
        """A new execution environment for ``function``: its interpreter starts and imports the handler
        (init) when it is sent its first invocation, under the harness's lock (cold starts one at a time,
        none competing with another's for the machine's two cores)."""
        self.seen.add(function.function_name)
        layout = self.layouts.for_function(synthesized)
        module, attribute = function.handler.rsplit(".", 1)
        code = _RUNNER.format(
            path=layout.path,
            module=module,
            attribute=attribute,
            name=function.function_name,
            arn=function.function_arn,
            memory=int(getattr(function, "memory_size", 256) or 256),
            timeout=float(getattr(function, "timeout", 30) or 30),
            profile=str(self.profile_dir / f"{module}.prof") if self.profile_dir else "",
        )
        environment = Environment(
            [layout.python, "-S", "-c", code],
            self._environment(function, layout, synthesized),
            layout.task_root,
            self.workdir / f"{uuid.uuid4().hex}.stderr.txt",
        )
        self.environments.append(environment)
        return environment

    def close(self) -> None:
        """End every execution environment this run started; the harness runs functions itself again."""
        self.enabled = False
        for environment in self.environments:
            environment.close()
        self.aws._run_handler = self._original

    def _invoke(
        self, environment: Environment, function: Any, body: Any, response_headers: dict[str, str]
    ) -> bytes:
        from outage_comms_embedded import Invocation

        name = function.function_name
        event_file = self.workdir / f"{uuid.uuid4().hex}.event.json"
        result_file = event_file.with_suffix(".result.json")
        event = json.loads(body) if body else {}
        event_file.write_text(json.dumps(event), encoding="utf-8")
        cold = environment.invocations == 0
        with self.aws._lock:
            served, calls = self.moto.served_s, self.moto.requests
            started = time.perf_counter()
            answered = environment.invoke(event_file, result_file)
            wall = time.perf_counter() - started
            aws_s, aws_calls = self.moto.served_s - served, self.moto.requests - calls
            if not answered:  # the environment died: a function error
                message = f"{function.handler} died: {environment.stderr()}"
                print(message, file=sys.stderr, flush=True)
                outcome: dict[str, Any] = {
                    "init_s": 0.0,
                    "invoke_s": wall,
                    "error": "Runtime.ExitError",
                    "payload": json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}),
                }
            else:
                outcome = json.loads(result_file.read_text(encoding="utf-8"))
                if outcome["error"]:
                    print(f"{function.handler}: {outcome['payload'][:2000]}", file=sys.stderr)
            error = outcome["error"]
            if error:
                response_headers["x-amz-function-error"] = "Unhandled"
            self.runs.append(
                ColdRun(
                    name,
                    function.handler,
                    outcome["init_s"],
                    outcome["invoke_s"],
                    wall,
                    error,
                    aws_s,
                    aws_calls,
                    outcome.get("init_cpu_s", 0.0),
                    outcome.get("invoke_cpu_s", 0.0),
                    outcome.get("startup_cpu_s", 0.0),
                    cold,
                )
            )
            self.aws.invocations.append(
                Invocation(
                    name,
                    function.handler,
                    event,
                    started,
                    wall,
                    error,
                    "" if not error else outcome["payload"],
                )
            )
        return str(outcome["payload"]).encode()


# --------------------------------------------------------------------------- one incident through the path


def _alarm(plan: Any) -> dict[str, Any]:
    from outage_comms.vocabulary import Scenario
    from outage_comms_cli.drills.embedded import alarm_event

    event = alarm_event(plan, Scenario.INVESTIGATING)  # auto-send severity in the example plan: no approval
    unique = f"cold{time.time_ns()}"
    event["detail"]["alarmName"] = event["detail"]["alarmName"].replace("drill", unique)
    event["resources"] = [arn.replace("drill", unique) for arn in event["resources"]]
    event["detail"]["state"]["timestamp"] = datetime.now(UTC).isoformat()
    event["time"] = datetime.now(UTC).isoformat(timespec="seconds")
    alarm: dict[str, Any] = event
    return alarm


def _sample(aws: Any, plan: Any, *, timeout: float = 240.0) -> dict[str, Any]:
    first = len(aws.invocations)
    event = _alarm(plan)
    trigger = time.perf_counter()
    aws.put_events([event])  # bus -> rule -> intake queue; pumped to the intake function
    deadline = time.monotonic() + timeout
    done: list[Any] = []
    shown = 0
    while time.monotonic() < deadline:
        done = [i for i in aws.invocations[first:] if i.handler == CUSTOMER_HANDLER and i.error is None]
        if done:
            break
        if len(aws.invocations) > first + shown:  # progress on stderr: a long wait says where it is
            for i in aws.invocations[first + shown :]:
                print(f"  {i.handler} {i.seconds * 1000:.0f} ms {i.error or ''}", file=sys.stderr, flush=True)
            shown = len(aws.invocations) - first
        time.sleep(0.005)
    if not done:
        seen = [(i.handler, i.error) for i in aws.invocations[first:]]
        raise RuntimeError(f"no customer delivery within {timeout:.0f} s; invocations: {seen}")
    delivered_at = min(i.started + i.seconds for i in done)
    path = sorted((i for i in aws.invocations[first:] if i.started < delivered_at), key=lambda i: i.started)
    critical = critical_path(
        [(parallel_group(i.handler, i.event), i.seconds, i.started + i.seconds == delivered_at) for i in path]
    )
    off_path = sum(i.seconds for index, i in enumerate(path) if index not in critical)
    _settle(aws)
    return {
        "first_delivery_s": delivered_at - trigger,
        # Parallel branches run in parallel on Lambda; here cold starts run one at a time, so the branches
        # not on the critical path are taken out of the measured time.
        "first_delivery_critical_s": delivered_at - trigger - off_path,
        "our_code_s": sum(i.seconds for i in path),
        "our_code_critical_s": sum(path[index].seconds for index in critical),
        "path": [(i.function_name, i.handler, i.seconds, i.error) for i in path],
        "critical": sorted(critical),
    }


NOTIFY_HANDLER = "handlers.workflow_notify_team.handler"


def parallel_group(handler: str, event: dict[str, Any]) -> str:
    """Which Parallel state an invocation is a branch of, or the handler and a unique mark for a plain task.

    Branch tasks name a ``channel``: a team chat's before an approval is ``Notify team first``'s (its event
    carries no ``render``); every other (customer channels, and the team chats that hear with the
    customers) is ``Fan out to channels``'s. Two tasks of one function in a row (``Register incident``
    then ``Render update``, both the render function) are two groups.
    """
    if not isinstance(event, dict) or "channel" not in event:
        return f"{handler}#{id(event)}"
    if handler == NOTIFY_HANDLER and "render" not in event:
        return "Notify team first"
    return "Fan out to channels"


def critical_path(path: list[tuple[str, float, bool]]) -> set[int]:
    """Indexes of the invocations on the critical path of ``path`` ((group, seconds, delivered), in start
    order; the group from :func:`parallel_group`): consecutive invocations of one group are the branches
    of one Parallel state (the team notices, the channel fan-out), so each group counts once, by its
    longest branch; the last group counts by the invocation that delivered first (its branch ended the
    wait)."""
    groups: list[list[int]] = []
    for index, (group, _, _) in enumerate(path):
        if groups and path[groups[-1][0]][0] == group:
            groups[-1].append(index)
        else:
            groups.append([index])
    chosen = set()
    for number, group_indexes in enumerate(groups):
        last = number == len(groups) - 1
        delivered = [index for index in group_indexes if path[index][2]]
        chosen.add(
            delivered[0] if last and delivered else max(group_indexes, key=lambda index: path[index][1])
        )
    return chosen


def _settle(aws: Any, *, timeout: float = 240.0) -> None:
    """Let the incident's execution finish its first update (every channel, then 'Wait for next update')
    and stop it, so the next sample's first delivery is its own."""
    sfn = aws.client("stepfunctions")
    for execution in sfn.list_executions(stateMachineArn=aws.state_machine_arn, statusFilter="RUNNING")[
        "executions"
    ]:
        arn = execution["executionArn"]
        with contextlib.suppress(Exception):  # ended meanwhile, or never waits: stop it as it is
            aws.wait_for_state(arn, "Wait for next update", timeout=timeout)
        with contextlib.suppress(Exception):  # moto cannot stop an execution whose worker already ended
            sfn.stop_execution(executionArn=arn)


def _close_open_incidents(aws: Any) -> None:
    """Each sample opens a new incident; resolve the previous one so coalescing never joins them."""
    from outage_comms.intake.store import DynamoIncidentRepository

    repository = DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"))
    for incident in repository.list_open():
        repository.save(incident.evolve(status="resolved", resolved_at=datetime.now(UTC)), incident.version)


#: Cold samples per assembly (each with fresh execution environments); the median by CPU is reported.
COLD_ROUNDS = 3


def _synthesized(cdk_out: Path | None, work: Path, plan_path: Path) -> Path:
    from outage_comms_embedded import synthesize_app

    reuse = cdk_out or (
        Path(os.environ["OUTAGE_COMMS_EMBEDDED_CDK_OUT"])
        if os.environ.get("OUTAGE_COMMS_EMBEDDED_CDK_OUT")
        else None
    )
    if reuse is not None:
        return reuse
    cwd = Path.cwd()
    os.chdir(ROOT)  # the asset builder's wheel cache is ./.build
    try:
        return synthesize_app(work / "cdk.out", plan_path)
    finally:
        os.chdir(cwd)


def _deployment(
    assembly: Path, work: Path, plan: Any, *, rounds: int, warm_samples: int, profile: bool
) -> dict[str, Any]:
    """One assembly on the embedded AWS: ``rounds`` cold samples (fresh environments each), then warm ones."""
    from _results import load

    from outage_comms_embedded import EmbeddedAws

    measured: dict[str, Any] = {"load_before": load(), "cold": [], "warm": []}
    with (
        EmbeddedAws(assembly, with_intake=True) as aws,
        MotoEndpoint(os.environ.get("AWS_REGION", "us-east-1")) as endpoint,
    ):
        profile_dir = os.environ.get("OUTAGE_COMMS_COLD_PROFILE") if profile else None
        if profile_dir:  # cProfile each cold first invocation here
            Path(profile_dir).mkdir(parents=True, exist_ok=True)
        # The harness process warms its own imports once (not measured): later warm invocations then
        # cost what a warm Lambda costs. Cold invocations never use this process's modules.
        _sample(aws, plan)
        _close_open_incidents(aws)
        layouts = None
        for round_number in range(rounds):
            cold_starts = ColdStarts(
                aws,
                assembly,
                endpoint,
                work,
                Path(profile_dir) if profile_dir and round_number == 0 else None,
                layouts,
            )
            layouts = cold_starts.layouts
            cold_starts.enabled = True
            try:
                cold = _sample(aws, plan)
            finally:
                cold_starts.close()
            _close_open_incidents(aws)
            measured["cold"].append((cold, cold_starts.runs))
        for _ in range(warm_samples):
            measured["warm"].append(_sample(aws, plan))
            _close_open_incidents(aws)
        measured["boto3_cpu"] = _import_boto3_cpu(layouts.bare()) if layouts is not None else 0.0
    measured["load_after"] = load()
    _forget_handlers(assembly)
    return measured


def _merged(deployments: list[dict[str, Any]]) -> dict[str, Any]:
    """One assembly's deployments (taking turns with another's) as one measurement."""
    return {
        "load_before": deployments[0]["load_before"],
        "load_after": deployments[-1]["load_after"],
        "cold": [sample for d in deployments for sample in d["cold"]],
        "warm": [sample for d in deployments for sample in d["warm"]],
        "boto3_cpu": statistics.median(d["boto3_cpu"] for d in deployments),
    }


def _forget_handlers(assembly: Path) -> None:
    """The harness runs warm invocations in this process, importing ``handlers`` from the assembly's
    assets: forget them, so a second assembly measured in the same run gets its own handlers."""
    sys.path[:] = [entry for entry in sys.path if not entry.startswith(str(assembly))]
    for name in [name for name in sys.modules if name == "handlers" or name.startswith("handlers.")]:
        del sys.modules[name]


def run(cdk_out: Path | None = None, before: Path | None = None, rounds: int = COLD_ROUNDS) -> dict[str, Any]:
    """Measure ``cdk_out`` (default: synthesize this tree); with ``before`` (an assembly synthesized from
    an earlier revision), measure it in the same run, the same way, taking turns, as the baseline."""
    from _results import BenchRun

    from outage_comms.plan import load_plan

    bench = BenchRun("cold_path", title="Alarm on the bus -> first customer delivery, cold and warm")
    plan_path = ROOT / "plans" / "example.yaml"
    plan = load_plan(plan_path)
    with tempfile.TemporaryDirectory(prefix="cold-path-") as scratch:
        work = Path(scratch)
        assembly = _synthesized(cdk_out, work, plan_path)
        # With a baseline, the two assemblies take turns, one cold sample each, so a change in the machine's
        # load (other jobs on these 2 cores) falls on both alike; the warm samples run once, at the end.
        earlier_rounds: list[dict[str, Any]] = []
        after_rounds: list[dict[str, Any]] = []
        turns = rounds if before is not None else 1
        for number in range(turns):
            last = number == turns - 1
            if before is not None:
                earlier_rounds.append(
                    _deployment(before, work, plan, rounds=1, warm_samples=0, profile=False)
                )
            after_rounds.append(
                _deployment(
                    assembly,
                    work,
                    plan,
                    rounds=1 if before is not None else rounds,
                    warm_samples=WARM_SAMPLES if last else 0,
                    profile=number == 0,
                )
            )
        earlier = _merged(earlier_rounds) if earlier_rounds else None
        after = _merged(after_rounds)
    return _report(bench, after, earlier)


_IMPORT_BOTO3 = "import sys, time; sys.path[:0] = {path!r}; import boto3; print(time.process_time())"


def _import_boto3_cpu(layout: Any, rounds: int = 5) -> float:
    """Median CPU seconds of a fresh interpreter that imports boto3 in the deployed layout (start-up
    included, as in the cold functions' CPU): the same-run baseline of one cold function's floor."""
    samples = []
    for _ in range(rounds):
        result = subprocess.run(
            [layout.python, "-S", "-c", _IMPORT_BOTO3.format(path=layout.path)],
            capture_output=True, text=True, check=True, cwd=layout.task_root,
        )  # fmt: skip
        samples.append(float(result.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


@dataclass
class ColdSample:
    """One cold sample's critical path, split: our code (wall, CPU), start-up, moto's answers."""

    cold: dict[str, Any]
    runs: list[ColdRun]
    path_runs: list[tuple[int, ColdRun]]
    critical: set[int]
    on_critical: list[ColdRun]
    ours_s: float
    ours_cpu_s: float

    @classmethod
    def of(cls, cold: dict[str, Any], runs: list[ColdRun]) -> ColdSample:
        # the runs on the path are those whose invocation (name, wall time) the path lists
        by_invocation = {(r.function, r.wall_s): r for r in runs}
        path_runs = [
            (index, by_invocation[(name, seconds)])
            for index, (name, _, seconds, _) in enumerate(cold["path"])
            if (name, seconds) in by_invocation
        ]
        critical = set(cold["critical"])
        # Our share: each function's init + invocation on the critical path, with what is not our code
        # taken out: the interpreter's start-up before init (Lambda's runtime start) and moto answering the
        # AWS calls (timed at the loopback endpoint). A warm invocation in an environment this sample
        # started counts its own invocation; an in-process one (none while cold starts are on) counts whole.
        ours = ours_cpu = 0.0
        for index in sorted(critical):
            name, _, seconds, _ = cold["path"][index]
            run = by_invocation.get((name, seconds))
            ours += (run.init_s + run.invoke_s - run.aws_s) if run is not None else seconds
            ours_cpu += (run.init_cpu_s + run.invoke_cpu_s) if run is not None else seconds
        on_critical = [r for index, r in path_runs if index in critical]
        return cls(cold, runs, path_runs, critical, on_critical, ours, ours_cpu)

    @property
    def cold_on_critical(self) -> list[ColdRun]:
        """The cold starts on the critical path (not the warm invocations of environments it started)."""
        return [r for r in self.on_critical if r.cold]

    @property
    def startup_cpu_s(self) -> float:
        return sum(r.startup_cpu_s for r in self.cold_on_critical)


def _median_sample(measured: dict[str, Any]) -> tuple[ColdSample, list[ColdSample]]:
    samples = [ColdSample.of(cold, runs) for cold, runs in measured["cold"]]
    ordered = sorted(samples, key=lambda sample: sample.ours_cpu_s)
    return ordered[len(ordered) // 2], samples


def _report(bench: Any, after: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    warm = after["warm"]
    warm_first = statistics.median(s["first_delivery_critical_s"] for s in warm)
    warm_ours = statistics.median(s["our_code_critical_s"] for s in warm)
    sample, samples = _median_sample(after)
    earlier, earlier_samples = _median_sample(before) if before is not None else (None, [])
    cold = sample.cold
    bench.figure(
        "alarm on bus -> first customer delivery, every function cold (critical path)",
        cold["first_delivery_critical_s"] * 1000,
        "ms",
        baseline=("same path, warm", warm_first * 1000),
        note="parallel branches count once (the longest); as run here, cold starts one at a time: "
        f"{cold['first_delivery_s'] * 1000:,.0f} ms",
    )
    if earlier is not None:
        bench.figure(
            "alarm on bus -> first customer delivery, cold (critical path), vs before in this run",
            cold["first_delivery_critical_s"] * 1000,
            "ms",
            baseline=("before, same run", earlier.cold["first_delivery_critical_s"] * 1000),
        )
    bench.figure(
        "our code's CPU on the cold critical path (init + invocations, process CPU; start-up out)",
        sample.ours_cpu_s * 1000,
        "ms",
        baseline=("before, same run", earlier.ours_cpu_s * 1000) if earlier is not None else None,
        target=f"< {TARGET_OUR_CODE_S * 1000:.0f} ms",
        met=sample.ours_cpu_s < TARGET_OUR_CODE_S,
        note=f"median of {len(samples)} cold samples by CPU: "
        + ", ".join(f"{s.ours_cpu_s * 1000:,.0f}" for s in samples)
        + (
            " ms; before: " + ", ".join(f"{s.ours_cpu_s * 1000:,.0f}" for s in earlier_samples) + " ms"
            if earlier_samples
            else " ms"
        )
        + ". CPU is what the machine's load inflates least; moto answers in another process",
    )
    bench.figure(
        "our code on the cold critical path, wall (init + invocations; start-up and moto's answers out)",
        sample.ours_s * 1000,
        "ms",
        baseline=("before, same run", earlier.ours_s * 1000) if earlier is not None else None,
        target=f"< {TARGET_OUR_CODE_S * 1000:.0f} ms",
        met=sample.ours_s < TARGET_OUR_CODE_S,
        note=f"same, warm: {warm_ours * 1000:,.0f} ms. Wall also holds the waits of a 2-core machine shared "
        "with the harness (moto, Step Functions) and other jobs",
    )
    cold_on_critical = sample.cold_on_critical
    bench.figure(
        "CPU time of the cold critical path (start-up + init + invocations) vs a bare import boto3 each",
        (sample.ours_cpu_s + sample.startup_cpu_s) * 1000,
        "ms",
        baseline=(
            f"{len(cold_on_critical)} x a fresh interpreter importing boto3 (CPU)",
            len(cold_on_critical) * after["boto3_cpu"] * 1000,
        ),
    )
    bench.figure(
        "cold functions on the critical path",
        len(cold_on_critical),
        "functions",
        baseline=("before, same run", len(earlier.cold_on_critical)) if earlier is not None else None,
        note=", ".join(r.handler.split(".")[1] for r in cold_on_critical)
        + "; warm in an environment started on the path: "
        + (", ".join(r.handler.split(".")[1] for r in sample.on_critical if not r.cold) or "none")
        + (
            "; before: " + ", ".join(r.handler.split(".")[1] for r in earlier.cold_on_critical)
            if earlier is not None
            else ""
        ),
    )
    bench.figure(
        "sum of cold inits (handler imports) on the critical path",
        sum(r.init_s for r in cold_on_critical) * 1000,
        "ms",
        note="a part of the CPU figure above; per function next to import boto3: cold_init.json",
    )
    bench.figure(
        "interpreter start-up of the cold functions on the critical path (Lambda's, not ours)",
        sum(max(0.0, r.wall_s - r.init_s - r.invoke_s) for r in cold_on_critical) * 1000,
        "ms",
        note="not ours: taken out of our share; no baseline (Lambda's runtime start is not measurable here)",
    )
    bench.figure(
        "moto answering the AWS calls of the cold critical path",
        sum(r.aws_s for r in sample.on_critical) * 1000,
        "ms",
        note="not ours: taken out of our share (timed at the loopback endpoint); AWS's: docs/performance.md",
    )
    warm_by_handler: dict[str, list[float]] = {}
    for warm_sample in warm:
        for _, handler, seconds, _ in warm_sample["path"]:
            warm_by_handler.setdefault(handler, []).append(seconds)
    bench.detail("cold_functions_on_path", _functions(sample, warm_by_handler))
    if earlier is not None:
        bench.detail("before_cold_functions_on_path", _functions(earlier, warm_by_handler))
        bench.detail("before_load", {"before": before["load_before"], "after": before["load_after"]})  # type: ignore[index]
    bench.detail("after_load", {"before": after["load_before"], "after": after["load_after"]})
    bench.detail(
        "cold_path",
        [(h, round(s * 1000, 1), e, i in sample.critical) for i, (_, h, s, e) in enumerate(cold["path"])],
    )
    bench.detail(
        "cold_path_serial",
        {
            "first_delivery_ms": round(cold["first_delivery_s"] * 1000, 1),
            "our_code_all_invocations_ms": round(cold["our_code_s"] * 1000, 1),
            "note": "every invocation before the first delivery, parallel branches one after another",
        },
    )
    bench.detail(
        "cold_runs_all",
        [
            (r.handler, round(r.init_s * 1000, 1), round(r.invoke_s * 1000, 1), r.error, r.cold)
            for r in sample.runs
        ],
    )
    bench.detail("warm_first_delivery_ms", [round(s["first_delivery_critical_s"] * 1000, 1) for s in warm])
    bench.detail(
        "not_measured",
        "AWS's own latencies (EventBridge -> SQS delivery, the event-source mapping's polling and batching "
        "window, Lambda's runtime start before our init, Step Functions transitions): docs/performance.md",
    )
    written: dict[str, Any] = bench.write(RESULTS)
    return written


def _functions(sample: ColdSample, warm_by_handler: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Each invocation of the sample's path that ran in an environment the sample started."""
    return [
        {
            "handler": r.handler,
            "cold": r.cold,
            "on_critical_path": index in sample.critical,
            "init_ms": round(r.init_s * 1000, 1),
            "first_invocation_ms": round(r.invoke_s * 1000, 1),
            "init_cpu_ms": round(r.init_cpu_s * 1000, 1),
            "first_invocation_cpu_ms": round(r.invoke_cpu_s * 1000, 1),
            "startup_cpu_ms": round(r.startup_cpu_s * 1000, 1),
            "process_wall_ms": round(r.wall_s * 1000, 1),
            "aws_calls": r.aws_calls,
            "aws_answer_ms": round(r.aws_s * 1000, 1),
            "warm_invocation_ms": round(statistics.median(warm_by_handler[r.handler]) * 1000, 1)
            if r.handler in warm_by_handler
            else None,
            "error": r.error,
        }
        for index, r in sample.path_runs
    ]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cdk_out", nargs="?", type=Path, help="an assembly to measure (default: synthesize)")
    parser.add_argument(
        "--before", type=Path, help="an earlier revision's assembly, measured first as baseline"
    )
    parser.add_argument("--rounds", type=int, default=COLD_ROUNDS, help="cold samples per assembly")
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.cdk_out, arguments.before, arguments.rounds), indent=2))
