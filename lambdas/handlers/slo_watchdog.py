"""Every 5 minutes (EventBridge): how many open incidents owe customers an update? (``OverdueUpdates``)

Independent of the incident workflow: it reads the incidents table and the workflow table only, so
an execution that died (and can no longer remind anyone) still shows up here. It reads only what it
checks: the open real incidents, one Query on the incidents table's sparse open index
(``DynamoIncidentRepository.list_needing_slo_check``), then one GetItem per incident in the workflow
table — never a scan, so a tick costs the same with 100 or 10,000 incidents in the history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import logger, metrics, tracer

# The SLO rules, plan and stores load on the first tick (see outage_comms.observability on cold starts).
if TYPE_CHECKING:
    from outage_comms.incident import Incident
    from outage_comms.plan import Plan
    from outage_comms.workflow.store import WorkflowStore


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    incidents: list[Incident] | None = None,
    store: WorkflowStore | None = None,
    plan: Plan | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    from outage_comms import slo

    if incidents is None or store is None or plan is None:
        from outage_comms.aws_clients import client
        from outage_comms.intake.store import DynamoIncidentRepository
        from outage_comms.workflow import settings
        from outage_comms.workflow.store import DynamoWorkflowStore

        config = settings.settings()
        plan = plan or settings.plan()
        if incidents is None:
            incidents = DynamoIncidentRepository(config.incidents_table).list_needing_slo_check()
        store = store or DynamoWorkflowStore(table_name=config.workflow_table, client=client("dynamodb"))
    overdue = slo.watch(incidents, store, plan, now or datetime.now(UTC))
    for late in overdue:
        logger.warning(
            "customer update overdue",
            incident_id=late.incident_id,
            severity=late.severity,
            due_at=late.due_at.isoformat(),
            overdue_seconds=round(late.overdue_seconds),
        )
    return {"overdue": [late.incident_id for late in overdue]}
