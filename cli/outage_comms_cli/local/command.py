"""``outage-comms local``: start the local deployment and serve it until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from outage_comms.plan import PlanError

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from outage_comms_cli.local.runtime import LocalDeployment

err = Console(stderr=True)
#: A team's repository (outage-comms init) has plan.yaml; this repository has plans/example.yaml.
DEFAULT_PLAN = Path("plan.yaml") if Path("plan.yaml").is_file() else Path("plans/example.yaml")


def local(
    plan: Annotated[Path, typer.Option("--plan", help="The plan YAML file.")] = DEFAULT_PLAN,
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0 picks a free one).")] = 8000,
    state_dir: Annotated[
        Path, typer.Option("--state", help="Folder that keeps the deployment's state across restarts.")
    ] = Path(".outage-comms/local"),
    reset: Annotated[bool, typer.Option("--reset", help="Start clean: forget the saved state.")] = False,
    seconds_per_minute: Annotated[
        float | None,
        typer.Option(
            "--seconds-per-minute",
            min=0.05,
            help="Rehearse on a compressed clock: wall seconds per plan minute (e.g. 2: a 30-minute cadence "
            "reminds after a minute). Default: real time.",
        ),
    ] = None,
) -> None:
    """Run the whole app on the embedded AWS, served on 127.0.0.1: index, inbox, status site, review
    and compose pages, and the incident API for the CLI (OUTAGE_COMMS_API_URL=http://127.0.0.1:PORT/api)."""
    live = Console(file=sys.__stdout__, soft_wrap=True)
    deployment = _deployment(plan, state_dir, reset, seconds_per_minute, live)
    server = _bind(port)
    _serve(server, deployment, live, state_dir)


def _deployment(
    plan: Path, state_dir: Path, reset: bool, seconds_per_minute: float | None, live: Console
) -> LocalDeployment:
    from outage_comms_cli.local.runtime import LocalDeployment

    try:
        return LocalDeployment(
            plan,
            state_dir,
            reset=reset,
            seconds_per_minute=seconds_per_minute,
            progress=lambda line: live.print(f"· {line}", highlight=False),
        )
    except PlanError as exc:
        for problem in exc.problems:
            err.print(str(problem), highlight=False)
        raise typer.Exit(2) from None


def _bind(port: int) -> ThreadingHTTPServer:
    from outage_comms_cli.local.server import bind

    try:
        return bind(port)
    except OSError as error:
        err.print(f"[red]✘[/red] cannot listen on 127.0.0.1:{port} ({error.strerror}); pick another --port")
        raise typer.Exit(2) from None


def _serve(server: ThreadingHTTPServer, deployment: LocalDeployment, live: Console, state_dir: Path) -> None:
    """Start the deployment, serve it until Ctrl-C (or SIGTERM), then stop it and keep its state."""
    from outage_comms_cli.local.server import attach, base_url

    url = base_url(server)
    stopping = threading.Event()

    def interrupt(*_: object) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    serving: threading.Thread | None = None
    try:
        with live.status("starting the local deployment", spinner="dots"):
            deployment.start(url)
        if stopping.is_set():
            return
        attach(server, deployment)
        serving = threading.Thread(target=server.serve_forever, name="local-http", daemon=True)
        serving.start()
        live.print(f"Ready: {url}/", highlight=False)
        live.print(
            f"  inbox {url}/inbox/ · status site {url}/status/ · "
            f"export OUTAGE_COMMS_API_URL={url}/api · Ctrl-C stops",
            highlight=False,
        )
        live.file.flush()
        while not stopping.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        live.print("stopping: running executions stopped, state saved", highlight=False)
        if serving is not None:
            server.shutdown()
        server.server_close()
        deployment.stop()
        live.print(f"Stopped. State kept in {state_dir} (--reset starts clean).", highlight=False)


def register(app: typer.Typer) -> None:
    app.command(name="local")(local)
