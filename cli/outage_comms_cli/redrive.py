"""`outage-comms redrive`: resend the deliveries that failed after their retries, exactly once each.

A team chat or customer channel that still fails after the workflow's retries leaves its delivery in
that channel's dead-letter queue. This command invokes the deployed redrive function (the workflow
stack's ``RedriveFunctionName`` output), which resends each one through the same function that
delivers the channel in the workflow. The CLI needs only ``lambda:InvokeFunction`` on that function
(and ``cloudformation:DescribeStacks`` to find it, unless ``--function`` is given); it never reads a
channel secret. A delivery that already went out is reported and not sent again; a message leaves
its queue only after its delivery succeeded.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.console import Console

#: The workflow stack's name in app.py, and the output that names the redrive function.
WORKFLOW_STACK = "OutageCommsWorkflow"
DEPLOYMENT_ENV = "OUTAGE_COMMS_DEPLOYMENT"
REDRIVE_FUNCTION_OUTPUT = "RedriveFunctionName"
FUNCTION_ENV = "OUTAGE_COMMS_REDRIVE_FUNCTION"
EXIT_LEFT = 1  # something is still waiting in a queue
EXIT_USAGE = 2
#: Outcomes after which nothing of that item waits any more.
SETTLED = {
    "delivered",
    "already delivered",
    "skipped",
    "would resend",
    "drill, not resent",
    "would remove (drill)",
}

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def workflow_stack_name(deployment: str | None) -> str:
    """The workflow stack's name for a deployment id (outage_comms_cdk.settings.stack_name's rule)."""
    return f"OutageComms-{deployment}-Workflow" if deployment else WORKFLOW_STACK


class RedriveCallError(Exception):
    """The redrive function could not be found or called; the message says what to do."""


def find_function(function: str | None, stack: str, region: str | None) -> str:
    """``--function``, else ``$OUTAGE_COMMS_REDRIVE_FUNCTION``, else the workflow stack's output."""
    if function:
        return function
    if os.environ.get(FUNCTION_ENV):
        return os.environ[FUNCTION_ENV]
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stacks = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"]
    except (BotoCoreError, ClientError) as error:
        raise RedriveCallError(
            f"cannot read stack {stack}'s outputs ({error}); pass --function or set {FUNCTION_ENV}"
        ) from None
    for output in stacks[0].get("Outputs", []):
        if output["OutputKey"] == REDRIVE_FUNCTION_OUTPUT:
            return str(output["OutputValue"])
    raise RedriveCallError(
        f"stack {stack} has no {REDRIVE_FUNCTION_OUTPUT} output: deploy this version, or pass --function"
    )


def call_redrive(function: str, request: dict[str, Any], region: str | None) -> dict[str, Any]:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    # The function may run for up to 5 minutes; never retry it from here (it is safe, but slow).
    config = Config(read_timeout=310, connect_timeout=10, retries={"max_attempts": 1, "mode": "standard"})
    client = boto3.client("lambda", region_name=region, config=config)
    try:
        response = client.invoke(FunctionName=function, Payload=json.dumps(request).encode())
    except (BotoCoreError, ClientError) as error:
        raise RedriveCallError(f"could not invoke {function}: {error}") from None
    payload = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        raise RedriveCallError(
            f"the redrive function failed: {payload.get('errorType')}: {payload.get('errorMessage')}; "
            "nothing was deleted, run it again"
        )
    return dict(payload)


def line(result: dict[str, Any]) -> str:
    """One line per item: outcome, channel, incident, update, attempts so far, and why."""
    parts = [
        f"{result.get('outcome', '?'):<17}",
        f"{result.get('channel', '?'):<9}",
        str(result.get("incident_id") or "-"),
        str(result.get("update_id") or "-"),
        f"attempts={result.get('attempts', 0)}",
    ]
    detail = result.get("detail") or (f"last error: {result['error']}" if result.get("error") else "")
    return "  ".join(parts) + (f"  {detail}" if detail else "")


def redrive(
    channel: Annotated[
        str | None, typer.Option("--channel", help="Only this channel's queue, e.g. email or slack.")
    ] = None,
    incident: Annotated[
        str | None, typer.Option("--incident", help="Only this incident's deliveries.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be resent; send and delete nothing.")
    ] = False,
    function: Annotated[
        str | None,
        typer.Option(
            "--function", help=f"The redrive function (default: ${FUNCTION_ENV} or the stack output)."
        ),
    ] = None,
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack", help=f"The workflow stack's name (default: {WORKFLOW_STACK}, or per --deployment)."
        ),
    ] = None,
    deployment: Annotated[
        str | None,
        typer.Option(
            "--deployment",
            help=f"The plan's deployment id (default: ${DEPLOYMENT_ENV}); finds OutageComms-<id>-Workflow.",
        ),
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region of the deployment.")] = None,
) -> None:
    """Resend deliveries that failed after their retries (per-channel dead-letter queues), once each."""
    request: dict[str, Any] = {"dry_run": dry_run}
    if channel:
        request["channel"] = channel
    if incident:
        request["incident_id"] = incident
    try:
        stack = stack or workflow_stack_name(deployment or os.environ.get(DEPLOYMENT_ENV))
        answer = call_redrive(find_function(function, stack, region), request, region)
    except RedriveCallError as error:
        err.print(f"[red]✘[/red] {error}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    if answer.get("error"):
        err.print(f"[red]✘[/red] {answer['error']}", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    results = list(answer.get("results", []))
    for result in results:
        out.print(line(result), highlight=False, markup=False)
    counts = answer.get("summary") or {}
    told = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "nothing to redrive"
    out.print(
        f"{'Dry run: ' if dry_run else ''}{len(results)} item(s): {told}", highlight=False, markup=False
    )
    left = [r for r in results if r.get("outcome") not in SETTLED]
    raise typer.Exit(EXIT_LEFT if left else 0)


def register(app: typer.Typer) -> None:
    """Add ``redrive`` to the ``outage-comms`` app."""
    app.command(name="redrive")(redrive)
