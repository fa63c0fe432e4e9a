"""Lambda handler: publish the status site after every incident update.

Input (from the incident-comms state machine): ``{"incident_id": "inc-..."}``. Output: what was
written. One incident or artefact that cannot be published is logged with its incident id and
counted in ``StatusSurfaceFailures`` (alarmed in the CDK); the rest is published. Only when
nothing could be written does it raise ``StatusPublishError`` for the state machine to retry.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from outage_comms.observability import MetricUnit, logger, metrics, tracer

# The site builder (Jinja2, feeds, lxml) and the SDK load on the first publish (outage_comms.observability).
if TYPE_CHECKING:
    from outage_comms.status.publisher import StatusPublisher


@functools.cache
def default_publisher() -> StatusPublisher:
    """Built once per execution environment: the repository and the status-account clients."""
    from outage_comms.intake.store import DynamoIncidentRepository  # lazy: boto3 only when deployed
    from outage_comms.plan import plan_at
    from outage_comms.status.publisher import Boto3StatusSink, StatusPublisher
    from outage_comms.status.site import SiteOptions

    from .settings import StatusPublisherSettings

    settings = StatusPublisherSettings.from_environment()
    sink = Boto3StatusSink.assuming_role(
        role_arn=settings.role_arn,
        bucket=settings.bucket,
        dashboard_name=settings.dashboard_name,
        region=settings.region,
        distribution_id=settings.distribution_id or None,
    )
    options = SiteOptions(subscribe_url=settings.subscribe_url or None, region=settings.region)
    return StatusPublisher(
        plan=plan_at(settings.plan_path),
        incidents=DynamoIncidentRepository(settings.incidents_table),
        sink=sink,
        options=options,
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any, publisher: StatusPublisher | None = None) -> dict[str, Any]:
    from outage_comms.status.publisher import FAILURE_METRIC

    incident_id = event.get("incident_id") if isinstance(event, dict) else None
    if isinstance(incident_id, str) and (fenced := _fenced(incident_id)):  # two regions: the owner publishes
        logger.info("not published: another region drives this incident", extra={"reason": fenced})
        return {"incident_id": incident_id, "fenced": fenced}
    try:
        result = (publisher or default_publisher()).publish(
            incident_id if isinstance(incident_id, str) else None
        )
    except Exception:
        metrics.add_metric(name=FAILURE_METRIC, unit=MetricUnit.Count, value=1)
        logger.exception("status surfaces not published", extra={"incident_id": incident_id})
        raise
    metrics.add_metric(name=FAILURE_METRIC, unit=MetricUnit.Count, value=len(result.failures))
    metrics.add_metric(name="StatusObjectsWritten", unit=MetricUnit.Count, value=len(result.written))
    metrics.add_metric(name="StatusPublishLatency", unit=MetricUnit.Milliseconds, value=result.elapsed_ms)
    logger.info("status published", extra={"incident_id": incident_id, **result.as_dict()})
    return {"incident_id": incident_id, **result.as_dict()}


def _fenced(incident_id: str) -> str:
    """Why this region may not publish the incident (regions/lease.py), or "" when it may."""
    from outage_comms.regions.fence import fence_from_environment
    from outage_comms.regions.lease import StaleOwnerError

    fence = fence_from_environment()
    if fence is None:
        return ""
    try:
        fence.check(incident_id)
    except StaleOwnerError as error:
        return str(error)
    return ""
