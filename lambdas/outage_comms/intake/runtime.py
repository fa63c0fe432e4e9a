"""Wiring for the intake functions: the plan, the adapters and the idempotent ``apply``, built once.

Handlers call :func:`intake_dependencies` (cached per execution environment) or receive an
:class:`IntakeDependencies` from a test.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from outage_comms.aws_clients import client
from outage_comms.incident import severity_rank
from outage_comms.intake.normalise import Rejection, Signal
from outage_comms.intake.outlets import EventBridgeIncidentChanges, SqsRejectedEvents
from outage_comms.intake.service import IncidentChanges, apply_signal
from outage_comms.intake.settings import IntakeSettings, intake_settings
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan, plan_at
from outage_comms.ports import IncidentRepository, WorkflowGateway
from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway

if TYPE_CHECKING:  # Powertools idempotency imports boto3: it loads with the first dependencies built
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

#: Shared by every door (bus events and the API): a signal is applied once, whichever way it came.
IDEMPOTENCY_KEY_PREFIX = "outage-comms.signal"


class RejectedEvents(Protocol):
    """Where events that cannot become incidents go, with their reason."""

    def send(self, body: str, rejection: Rejection, *, event_id: str | None = None) -> str: ...


ApplyFunction = Callable[..., dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class IntakeDependencies:
    plan: Plan
    incidents: IncidentRepository
    workflow: WorkflowGateway
    changes: IncidentChanges
    rejected: RejectedEvents | None
    idempotency: IdempotencyConfig
    #: The intake queue's ``maxReceiveCount``: on the last receive a failing event is archived, not retried.
    max_receive_count: int
    #: ``apply(signal=...)``: :func:`apply_signal` behind Powertools Idempotency (key: the signal's event id).
    apply: ApplyFunction


def build_dependencies(
    settings: IntakeSettings,
    *,
    plan: Plan | None = None,
    incidents: IncidentRepository | None = None,
    workflow: WorkflowGateway | None = None,
    changes: IncidentChanges | None = None,
    rejected: RejectedEvents | None = None,
) -> IntakeDependencies:
    """Real adapters unless given; the persistence layer always uses the idempotency table."""
    plan = plan or plan_at(settings.plan_path)
    ranks = {s.id: severity_rank(s) for s in plan.severities}
    incidents = incidents or DynamoIncidentRepository(
        settings.incidents_table, severity_rank=lambda severity: ranks.get(severity, 0)
    )
    if workflow is None and settings.handoff_queue_url:
        from outage_comms.intake.handoff import QueuedWorkflowHandoff

        workflow = QueuedWorkflowHandoff(settings.handoff_queue_url, settings.state_machine_arn)
    workflow = workflow or StepFunctionsWorkflowGateway(settings.state_machine_arn)
    changes = changes or EventBridgeIncidentChanges(settings.event_bus_name)
    if rejected is None and settings.rejected_queue_url:
        rejected = SqsRejectedEvents(settings.rejected_queue_url)
    config, idempotent_apply = _idempotent_apply(
        settings, plan=plan, incidents=incidents, workflow=workflow, changes=changes
    )
    return IntakeDependencies(
        plan=plan,
        incidents=incidents,
        workflow=workflow,
        changes=changes,
        rejected=rejected,
        idempotency=config,
        max_receive_count=settings.max_receive_count,
        apply=idempotent_apply,
    )


def _idempotent_apply(
    settings: IntakeSettings,
    *,
    plan: Plan,
    incidents: IncidentRepository,
    workflow: WorkflowGateway,
    changes: IncidentChanges,
) -> tuple[IdempotencyConfig, ApplyFunction]:
    """:func:`apply_signal` behind Powertools Idempotency (key: the signal's event id), and its config."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(
        event_key_jmespath="event_id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_ttl_seconds,
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table, boto3_client=client("dynamodb")
    )

    def apply(signal: Signal) -> dict[str, Any]:
        outcome = apply_signal(signal, plan=plan, incidents=incidents, workflow=workflow, changes=changes)
        return outcome.as_dict()

    idempotent_apply: ApplyFunction = idempotent_function(
        data_keyword_argument="signal",
        persistence_store=persistence,
        config=config,
        key_prefix=IDEMPOTENCY_KEY_PREFIX,
    )(apply)
    return config, idempotent_apply


@functools.cache
def intake_dependencies() -> IntakeDependencies:
    """The execution environment's dependencies, from the environment (first call only)."""
    return build_dependencies(intake_settings())
