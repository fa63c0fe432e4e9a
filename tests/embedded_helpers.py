"""Test-only helpers on the embedded AWS (moved out of the shipped package: only tests use them)."""

from __future__ import annotations

from typing import Any

from outage_comms_embedded import EmbeddedAws, ReviewOutcome, review, review_links, session_arn


def approve_latest(
    aws: EmbeddedAws,
    incident_id: str,
    *,
    approver_role_arn: str,
    to: str | None = None,
    decision: str = "approve",
) -> ReviewOutcome:
    """Decide on the newest review link emailed for ``incident_id`` (to ``to``), as ``approver_role_arn``."""
    links = review_links(aws, incident_id, to)
    if not links:
        raise LookupError(f"no review link was emailed for {incident_id}")
    _, reference = links[-1]
    return review(aws, incident_id, reference, caller_arn=session_arn(approver_role_arn), decision=decision)


def wait_for_end(aws: EmbeddedAws, execution_arn: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """The execution's description once it is no longer RUNNING."""
    sfn = aws.client("stepfunctions", region=execution_arn.split(":")[3])
    aws.wait_until(
        lambda: sfn.describe_execution(executionArn=execution_arn)["status"] != "RUNNING",
        timeout=timeout,
        what="execution end",
    )
    return dict(sfn.describe_execution(executionArn=execution_arn))


def synthesized_definition(aws: EmbeddedAws) -> Any:
    """The home region's incident state machine ``DefinitionString`` exactly as synthesized (an
    ``Fn::Join`` over intrinsics)."""
    for template in aws.templates.values():
        for resource in template["Resources"].values():
            name = resource.get("Properties", {}).get("StateMachineName", "")
            if resource["Type"] == "AWS::StepFunctions::StateMachine" and str(name).endswith("-incident"):
                return resource["Properties"]["DefinitionString"]
    raise LookupError("no incident state machine in the deployed templates")
