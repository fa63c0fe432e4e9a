"""The human door: declare, update, resolve and read incidents over API Gateway (IAM auth).

    POST /incidents                      declare       201 (new incident) or 200 (joined an open one)
    POST /incidents/{id}/updates         update        200
    POST /incidents/{id}/resolve         resolve       200 (optional cause, fix, impact: text or per locale)
    GET  /incidents/{id}                 the incident  200
    POST /maintenances                   schedule a maintenance window  201 (+ its schedules)
    POST /maintenances/{id}/complete     complete it now                200 (remaining schedules deleted)
    POST /maintenances/{id}/cancel       cancel it                      200 (remaining schedules deleted)
    GET  /incidents/{id}/activity        workflow events and per-channel delivery results  200 (read-only)
    GET  /incidents?limit=N              open and recent incidents, newest change first      200 (read-only)

Who asks is the caller's verified IAM identity (``requestContext.identity.userArn``, else
``caller``), never the body: a ``principal`` in the body is overwritten. Requests take the same
path as every other trigger (to_signal -> decide -> save -> workflow). Errors are JSON
``{"error": code, "message": what is wrong and how to fix it}``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from outage_comms.api_routes import LazyRestResolver, response
from outage_comms.observability import MetricUnit, logger, metrics, tracer

if TYPE_CHECKING:  # the domain loads on the first request, not in Lambda's init phase
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from outage_comms.intake.runtime import IntakeDependencies
    from outage_comms.maintenance_schedules import MaintenanceSchedules
    from outage_comms.workflow.activity import ActivityReader

#: Powertools' APIGatewayRestResolver, built with every route below on the first request.
app = LazyRestResolver()


def _json(status: HTTPStatus, payload: dict[str, Any]) -> Response[str]:
    built: Response[str] = response(status.value, "application/json", json.dumps(payload, default=str))
    return built


def _error(status: HTTPStatus, code: str, message: str) -> Response[str]:
    return _json(status, {"error": code, "message": message})


def _dependencies() -> IntakeDependencies:
    dependencies: IntakeDependencies = app.context["dependencies"]
    return dependencies


def caller_principal() -> str | None:
    """The IAM identity API Gateway verified (SigV4), as an ARN when it has one."""
    identity = app.current_event.request_context.identity
    return identity.user_arn or identity.caller or None


def _human_request(
    action: str,
    incident_id: str | None,
    after: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Response[str]:
    from outage_comms.intake.normalise import Rejection, to_signal
    from outage_comms.intake.service import IntakeConflictError

    principal = caller_principal()
    if not principal:
        return _error(
            HTTPStatus.FORBIDDEN,
            "no_iam_identity",
            "The request carries no IAM identity. Call the API with SigV4-signed requests "
            "(outage-comms declare/update/resolve do this).",
        )
    body = _request_body(principal, incident_id)
    if not isinstance(body, dict):  # the error response
        return body
    request = {
        **body,
        "action": action,
        "principal": principal,
        "request_id": body.get("request_id") or app.current_event.request_context.request_id,
    }
    if incident_id is not None:
        request["incident_id"] = incident_id
    dependencies = _dependencies()
    signal = to_signal(request, dependencies.plan)
    if isinstance(signal, Rejection):
        logger.info("human request rejected", code=signal.code, reason=signal.reason, caller=principal)
        return _error(HTTPStatus.BAD_REQUEST, signal.code, signal.reason)
    try:
        outcome = dependencies.apply(signal=signal)
    except IntakeConflictError as exc:
        return _error(HTTPStatus.CONFLICT, "concurrent_update", f"{exc}. Send the same request again.")
    logger.info("human request applied", action=action, caller=principal, outcome=outcome)
    if outcome["incident_id"] is None and incident_id is not None:
        return _not_open(incident_id, dependencies)
    created = action in ("declare", "schedule_maintenance") and outcome["kind"] == "open"
    if after is not None and outcome["incident_id"] is not None:
        outcome = {**outcome, **after(outcome)}
    return _json(HTTPStatus.CREATED if created else HTTPStatus.OK, outcome)


def _request_body(principal: str, incident_id: str | None) -> dict[str, Any] | Response[str]:
    """The request's JSON object, or the error response that says what is wrong with it."""
    raw_body = app.current_event.body or "{}"
    try:
        body = json.loads(raw_body)
    except json.JSONDecodeError as exc:
        return _error(
            HTTPStatus.BAD_REQUEST,
            "invalid_json",
            f"The body is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
            "Send a JSON object.",
        )
    except RecursionError:
        return _error(
            HTTPStatus.BAD_REQUEST,
            "invalid_json",
            "The body is nested too deeply to read. Send a flat JSON object, as the CLI does.",
        )
    if not isinstance(body, dict):
        return _error(
            HTTPStatus.BAD_REQUEST,
            "invalid_body",
            'The body must be a JSON object, e.g. {"components": [...]}.',
        )
    if "principal" in body:
        logger.warning(
            "principal in the request body ignored", sent=str(body["principal"])[:200], caller=principal
        )
    if incident_id is not None and body.get("incident_id") not in (None, incident_id):
        return _error(
            HTTPStatus.BAD_REQUEST,
            "incident_id_mismatch",
            f"'incident_id' in the body ({body['incident_id']!r}) differs from the path ({incident_id!r}); "
            "leave it out of the body.",
        )
    return body


def _not_open(incident_id: str, dependencies: IntakeDependencies) -> Response[str]:
    from outage_comms.ports import IncidentNotFoundError

    try:
        incident = dependencies.incidents.get(incident_id)
    except IncidentNotFoundError:
        return _error(
            HTTPStatus.NOT_FOUND,
            "incident_not_found",
            f"No incident {incident_id}. Check the id printed when it was declared (GET /incidents/{{id}}).",
        )
    return _error(
        HTTPStatus.CONFLICT,
        "incident_resolved",
        f"Incident {incident_id} was resolved at {incident.resolved_at}; declare a new incident instead.",
    )


@app.post("/incidents")
def declare() -> Response[str]:
    return _human_request("declare", None)


@app.post("/incidents/<incident_id>/updates")
def update(incident_id: str) -> Response[str]:
    return _human_request("update", incident_id)


@app.post("/incidents/<incident_id>/resolve")
def resolve(incident_id: str) -> Response[str]:
    return _human_request("resolve", incident_id)


@app.get("/incidents")
def list_incidents() -> Response[str]:
    raw = app.current_event.get_query_string_value("limit", "50") or "50"
    limit = min(max(int(raw), 1), 200) if raw.isdigit() else 50
    incidents = _dependencies().incidents.list_recent(limit=limit)
    return _json(HTTPStatus.OK, {"incidents": [i.model_dump(mode="json") for i in incidents]})


@app.get("/incidents/<incident_id>")
def get_incident(incident_id: str) -> Response[str]:
    from outage_comms.ports import IncidentNotFoundError

    try:
        incident = _dependencies().incidents.get(incident_id)
    except IncidentNotFoundError:
        return _error(HTTPStatus.NOT_FOUND, "incident_not_found", f"No incident {incident_id}.")
    return _json(HTTPStatus.OK, incident.model_dump(mode="json"))


@app.get("/incidents/<incident_id>/activity")
def get_activity(incident_id: str) -> Response[str]:
    from outage_comms.ports import IncidentNotFoundError
    from outage_comms.workflow.activity import activity_reader

    try:
        _dependencies().incidents.get(incident_id)
    except IncidentNotFoundError:
        return _error(HTTPStatus.NOT_FOUND, "incident_not_found", f"No incident {incident_id}.")
    reader: ActivityReader = app.context.get("activity") or activity_reader()
    return _json(HTTPStatus.OK, reader.activity(incident_id))


# ---------------------------------------------------------------------------------------------
# Scheduled maintenance: POST /maintenances, /maintenances/{id}/complete, /maintenances/{id}/cancel
# ---------------------------------------------------------------------------------------------


def _schedules() -> MaintenanceSchedules | None:
    given: MaintenanceSchedules | None = app.context.get("schedules")
    return given or default_schedules()


def _create_schedules(outcome: dict[str, Any]) -> dict[str, Any]:
    """The window's later moments as one-time schedules (its declaration is the workflow's first message)."""
    from outage_comms import clock, maintenance

    dependencies = _dependencies()
    window = dependencies.incidents.get(str(outcome["incident_id"]))
    ticks = maintenance.schedule_plan(dependencies.plan, window, clock.now())
    schedules = _schedules()
    if schedules is None:
        logger.warning("no maintenance scheduler configured; only the declaration is sent", window=window.id)
        return {
            "schedules": [],
            "scheduled_for": window.scheduled_for,
            "scheduled_until": window.scheduled_until,
        }
    names = schedules.create(ticks)
    return {
        "schedules": [
            {"name": t.name, "kind": t.kind, "at": t.at.isoformat()} for t in ticks if t.name in names
        ],
        "scheduled_for": window.scheduled_for,
        "scheduled_until": window.scheduled_until,
    }


def _delete_schedules(outcome: dict[str, Any]) -> dict[str, Any]:
    from outage_comms import maintenance

    dependencies = _dependencies()
    window = dependencies.incidents.get(str(outcome["incident_id"]))
    schedules = _schedules()
    names = maintenance.all_schedule_names(dependencies.plan, window)
    deleted = schedules.delete(names) if schedules is not None else []
    return {"schedules_deleted": deleted, "maintenance_phase": window.maintenance_phase}


def _window_request(action: str, incident_id: str) -> Response[str]:
    from outage_comms.ports import IncidentNotFoundError

    try:
        window = _dependencies().incidents.get(incident_id)
    except IncidentNotFoundError:
        return _error(
            HTTPStatus.NOT_FOUND,
            "maintenance_not_found",
            f"No maintenance window {incident_id}. Check the id printed when it was scheduled.",
        )
    if window.maintenance_phase is None:
        return _error(
            HTTPStatus.CONFLICT,
            "not_a_maintenance",
            f"{incident_id} is an incident, not a maintenance window; resolve it with "
            f"POST /incidents/{incident_id}/resolve instead.",
        )
    return _human_request(action, incident_id, after=_delete_schedules)


@app.post("/maintenances")
def schedule_maintenance() -> Response[str]:
    return _human_request("schedule_maintenance", None, after=_create_schedules)


@app.post("/maintenances/<incident_id>/complete")
def complete_maintenance(incident_id: str) -> Response[str]:
    return _window_request("complete_maintenance", incident_id)


@app.post("/maintenances/<incident_id>/cancel")
def cancel_maintenance(incident_id: str) -> Response[str]:
    return _window_request("cancel_maintenance", incident_id)


@functools.cache
def default_schedules() -> MaintenanceSchedules | None:
    """EventBridge Scheduler, when this deployment has the maintenance scheduler (built once)."""
    from outage_comms.maintenance_schedules import (
        SchedulerMaintenanceSchedules,
        scheduler_settings_from_environment,
    )

    settings = scheduler_settings_from_environment()
    return SchedulerMaintenanceSchedules(settings) if settings is not None else None


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response[str]:
    logger.exception("incident API failed")
    request_id = app.current_event.request_context.request_id
    return _error(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "internal_error",
        f"Outage Comms could not handle the request ({type(exc).__name__}); retry, and report request id "
        f"{request_id} if it keeps failing.",
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    dependencies: IntakeDependencies | None = None,
    activity: ActivityReader | None = None,
    schedules: MaintenanceSchedules | None = None,
) -> dict[str, Any]:
    if dependencies is None:
        from outage_comms.intake.runtime import intake_dependencies

        dependencies = intake_dependencies()
    dependencies.idempotency.register_lambda_context(context)
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    app.append_context(dependencies=dependencies, activity=activity, schedules=schedules)
    return app.resolve(event, context)
