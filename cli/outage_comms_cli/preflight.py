"""`outage-comms preflight`: is this AWS account ready for the plan's first deploy?

Read-only, with the caller's credentials (boto3), and only for what the plan turns on: the CDK
bootstrap, the SES sending identity and production access, every Secrets Manager secret the plan
names (``describe_secret``, never the value), the approvers' IAM roles and users, the chat app
(Amazon Q Developer in chat applications) on the internal topic, a CloudTrail trail for Incident
Manager's events, End User Messaging origination identities, and SNS text messages for paging.
One line per check, with the fix; exit 0 when every check passes, 1 when any fails, 2 when the plan
is unusable or no AWS credentials/region are available.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from outage_comms.plan import Plan, PlanError, load_plan
from outage_comms_cli.preflight_checks import (
    AWS_ERRORS,
    Check,
    ClientFactory,
    Target,
    check_approvers,
    check_bootstrap,
    check_secrets,
    check_ses,
    error_code,
)
from outage_comms_cli.preflight_services import (
    check_chat_app,
    check_cloudtrail,
    check_origination_identities,
    check_paging_sms,
)

EXIT_READY, EXIT_NOT_READY, EXIT_UNUSABLE = 0, 1, 2


class OutputFormat(StrEnum):
    human = "human"
    json = "json"


CHECKS = (
    check_bootstrap,
    check_ses,
    check_secrets,
    check_approvers,
    check_chat_app,
    check_cloudtrail,
    check_origination_identities,
    check_paging_sms,
)


def run_preflight(plan: Plan, target: Target) -> list[Check]:
    """Every check the plan calls for, in deploy order."""
    checks: list[Check] = []
    for step in CHECKS:
        checks += step(plan, target)
    return checks


def boto3_clients(profile: str | None) -> ClientFactory:
    """Clients from the caller's credentials (a named profile, or the default chain)."""
    import boto3  # lazy: the rest of the CLI never needs it

    session = boto3.Session(profile_name=profile)
    return lambda service, region: session.client(service, region_name=region)


def default_region(profile: str | None) -> str | None:
    import boto3

    region = boto3.Session(profile_name=profile).region_name
    return str(region) if region else None


def report(plan_path: Path, target: Target, checks: list[Check]) -> dict[str, Any]:
    return {
        "plan": str(plan_path),
        "account": target.account(),
        "region": target.region,
        "status_region": target.status_region or target.region,
        "ready": not any(c.ok is False for c in checks),
        "failed": sum(1 for c in checks if c.ok is False),
        "checks": [c.as_dict() for c in checks],
    }


def preflight_command(
    plan: Annotated[Path, typer.Option("--plan", help="The plan YAML file.")],
    region: Annotated[
        str | None, typer.Option("--region", help="The workload region (default: the profile's).")
    ] = None,
    status_region: Annotated[
        str | None, typer.Option("--status-region", help="The status stack's region (default: --region).")
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="AWS profile of the workload account.")
    ] = None,
    status_profile: Annotated[
        str | None,
        typer.Option("--status-profile", help="AWS profile of a dedicated status account (its bootstrap)."),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="human or json")] = OutputFormat.human,
) -> None:
    """Check an AWS account, read-only, before the first deploy. Exit 0 ready, 1 not ready, 2 unusable."""
    try:
        loaded = load_plan(plan)
    except PlanError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        raise typer.Exit(EXIT_UNUSABLE) from None
    try:
        region = region or default_region(profile)
        if not region:
            _unusable("no AWS region: pass --region (or set AWS_REGION / the profile's region)")
        target = Target(
            region=region,
            clients=boto3_clients(profile),
            status_region=status_region,
            status_clients=boto3_clients(status_profile) if status_profile else None,
        )
        target.account()
    except AWS_ERRORS as exc:
        _unusable(
            f"cannot use these AWS credentials ({error_code(exc)}): pass --profile, or set AWS_PROFILE / "
            "AWS_ACCESS_KEY_ID, or run aws sso login"
        )
    checks = run_preflight(loaded, target)
    print_report(plan, target, checks, output)
    raise typer.Exit(EXIT_NOT_READY if any(c.ok is False for c in checks) else EXIT_READY)


def print_report(plan: Path, target: Target, checks: list[Check], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        print(json.dumps(report(plan, target, checks), indent=2, ensure_ascii=False))
        return
    print(f"Preflight of {plan} for account {target.account()}, {target.region}:")
    for check in checks:
        print(check.line())
    failed = sum(1 for c in checks if c.ok is False)
    print(f"{'✘' if failed else '✔'} {len(checks)} checks, {failed} failed.")


def _unusable(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    raise typer.Exit(EXIT_UNUSABLE)


def register(app: typer.Typer) -> None:
    """Add the ``preflight`` command to the ``outage-comms`` app."""
    app.command(name="preflight")(preflight_command)
