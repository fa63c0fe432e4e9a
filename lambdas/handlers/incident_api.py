"""The human door: declare, update, resolve and read incidents over API Gateway (IAM auth).

    POST /incidents                      declare       201 (new incident) or 200 (joined an open one)
    POST /incidents/{id}/updates         update        200
    POST /incidents/{id}/resolve         resolve       200
    GET  /incidents/{id}                 the incident  200

Who asks is the caller's verified IAM identity (``requestContext.identity.userArn``, else
``caller``), never the body: a ``principal`` in the body is overwritten. Requests take the same
path as every other trigger (to_signal -> decide -> save -> workflow). Errors are JSON
``{"error": code, "message": what is wrong and how to fix it}``.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.intake.normalise import Rejection, to_signal
from outage_comms.intake.runtime import IntakeDependencies, intake_dependencies
from outage_comms.intake.service import IntakeConflictError
from outage_comms.observability import MetricUnit, logger, metrics, tracer
from outage_comms.ports import IncidentNotFoundError

app = APIGatewayRestResolver()


def _json(status: HTTPStatus, payload: dict[str, Any]) -> Response[str]:
    return Response(
        status_code=status.value, content_type="application/json", body=json.dumps(payload, default=str)
    )


def _error(status: HTTPStatus, code: str, message: str) -> Response[str]:
    return _json(status, {"error": code, "message": message})


def _dependencies() -> IntakeDependencies:
    dependencies: IntakeDependencies = app.context["dependencies"]
    return dependencies


def caller_principal() -> str | None:
    """The IAM identity API Gateway verified (SigV4), as an ARN when it has one."""
    identity = app.current_event.request_context.identity
    return identity.user_arn or identity.caller or None


def _human_request(action: str, incident_id: str | None) -> Response[str]:
    principal = caller_principal()
    if not principal:
        return _error(
            HTTPStatus.FORBIDDEN,
            "no_iam_identity",
            "The request carries no IAM identity. Call the API with SigV4-signed requests "
            "(outage-comms declare/update/resolve do this).",
        )
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
    created = action == "declare" and outcome["kind"] == "open"
    return _json(HTTPStatus.CREATED if created else HTTPStatus.OK, outcome)


def _not_open(incident_id: str, dependencies: IntakeDependencies) -> Response[str]:
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


@app.get("/incidents/<incident_id>")
def get_incident(incident_id: str) -> Response[str]:
    try:
        incident = _dependencies().incidents.get(incident_id)
    except IncidentNotFoundError:
        return _error(HTTPStatus.NOT_FOUND, "incident_not_found", f"No incident {incident_id}.")
    return _json(HTTPStatus.OK, incident.model_dump(mode="json"))


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
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
    event: dict[str, Any], context: LambdaContext, dependencies: IntakeDependencies | None = None
) -> dict[str, Any]:
    dependencies = dependencies or intake_dependencies()
    dependencies.idempotency.register_lambda_context(context)
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    app.append_context(dependencies=dependencies)  # type: ignore[no-untyped-call]
    return app.resolve(event, context)
