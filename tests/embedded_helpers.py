"""Test-only helpers on the embedded AWS (moved out of the shipped package: only tests use them)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from outage_comms.incident import Incident
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.plan import Plan
from outage_comms.ports import IncidentRepository
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


def declare_incident(
    repository: IncidentRepository,
    plan: Plan,
    component: str,
    severity: str,
    *,
    title: str,
    note: Mapping[str, str] | None = None,
) -> Incident:
    """An incident a person declared, decided by intake's own rules and saved (no execution started)."""
    declare = {
        "action": "declare",
        "request_id": uuid.uuid4().hex,
        "principal": "arn:aws:sts::123456789012:assumed-role/OutageCommsIncidentManager/priya",
        "components": [component],
        "severity": severity,
        "title": title,
        "note": dict(
            note
            or {"en": "Some customers cannot sync notes", "pt-BR": "Alguns clientes não sincronizam notas"}
        ),
    }
    signal = to_signal(declare, plan, received_at=datetime.now(UTC))
    assert isinstance(signal, Signal), signal
    decision = decide(signal, {}, plan, datetime.now(UTC))
    assert decision.incident is not None
    repository.save(decision.incident, None)
    return decision.incident
