"""The public subscribe API (API Gateway REST, throttled at the stage): thin routes over the service.

    POST /subscriptions               {"channel", "address", "locale", "components", "platform"}
    GET  /subscriptions/confirm       page with a button that POSTs (link scanners only GET)
    POST /subscriptions/confirm       {"token"} (email) or {"address", "code"} (SMS)
    PUT  /subscriptions/preferences   {"token", "components", "locale"}
    GET  /unsubscribe?token=…         page with a button that POSTs
    POST /unsubscribe?token=…         one-click (RFC 8058: body ``List-Unsubscribe=One-Click``)

Answers never reveal whether an address is subscribed.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import MetricUnit, logger, metrics, tracer
from outage_comms.subscribers.runtime import subscription_runtime
from outage_comms.subscribers.service import (
    RateLimitedError,
    SubscribeRequest,
    SubscriptionError,
    SubscriptionService,
)
from outage_comms.subscribers.tokens import InvalidTokenError

app = APIGatewayRestResolver()
_service: SubscriptionService | None = None

ACCEPTED = {
    "status": "accepted",
    "message": "If the address can receive our updates, a confirmation is on its way.",
}
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def service() -> SubscriptionService:
    return _service or subscription_runtime().service


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body), headers=dict(_SECURITY_HEADERS))


def _page(status: int, title: str, text: str, *, form_action: str = "", button: str = "") -> Response[str]:
    form = (
        f'<form method="post" action="{html.escape(form_action)}">'
        f'<button type="submit">{html.escape(button)}</button></form>'
        if form_action
        else ""
    )
    page = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}</body></html>"
    )
    return Response(status, content_types.TEXT_HTML, page, headers=dict(_SECURITY_HEADERS))


def _body() -> dict[str, Any]:
    event = app.current_event
    raw = event.decoded_body or ""
    content_type = (
        (event.headers or {}).get("content-type") or (event.headers or {}).get("Content-Type") or ""
    )
    if "application/x-www-form-urlencoded" in content_type:
        return {k: v[0] for k, v in parse_qs(raw).items()}
    try:
        data = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _source_ip() -> str:
    return str(app.current_event.request_context.identity.source_ip or "unknown")


@app.post("/subscriptions")
def subscribe() -> Response[str]:
    body = _body()
    components = body.get("components") or []
    if not isinstance(components, list) or not all(isinstance(c, str) for c in components):
        return _json(400, {"status": "invalid", "message": "components must be a list of component ids"})
    request = SubscribeRequest(
        channel=str(body.get("channel", "")),  # type: ignore[arg-type]  # validated by the service
        address=str(body.get("address", "")),
        locale=str(body.get("locale", "")),
        components=tuple(components),
        platform=str(body.get("platform", "")),
    )
    try:
        outcome = service().subscribe(request, source_ip=_source_ip())
    except SubscriptionError as error:
        return _json(400, {"status": "invalid", "message": str(error)})
    except RateLimitedError as error:
        metrics.add_metric(name="SubscribeRateLimited", unit=MetricUnit.Count, value=1)
        return _json(429, {"status": "rate_limited", "message": str(error)})
    if outcome.status == "subscribed":
        return _json(201, {"status": "subscribed"})
    return _json(202, ACCEPTED)


@app.get("/subscriptions/confirm")
def confirm_page() -> Response[str]:
    token = app.current_event.get_query_string_value("token", "") or ""
    return _page(
        200,
        "Confirm your subscription",
        "Press the button to start getting status updates.",
        form_action=f"confirm?token={token}",
        button="Confirm",
    )


@app.post("/subscriptions/confirm")
def confirm() -> Response[str]:
    body = _body()
    token = str(body.get("token") or app.current_event.get_query_string_value("token", "") or "")
    try:
        if token:
            service().confirm_email(token)
        else:
            service().confirm_sms(str(body.get("address", "")), str(body.get("code", "")))
    except InvalidTokenError as error:
        return _json(400, {"status": "invalid", "message": str(error)})
    metrics.add_metric(name="SubscriptionsConfirmed", unit=MetricUnit.Count, value=1)
    return _json(200, {"status": "confirmed"})


@app.put("/subscriptions/preferences")
def preferences() -> Response[str]:
    body = _body()
    try:
        subscriber = service().update_preferences(
            str(body.get("token", "")),
            components=[str(c) for c in body.get("components") or []],
            locale=str(body.get("locale", "")),
        )
    except (InvalidTokenError, SubscriptionError) as error:
        return _json(400, {"status": "invalid", "message": str(error)})
    return _json(
        200, {"status": "updated", "locale": subscriber.locale, "components": list(subscriber.components)}
    )


@app.get("/unsubscribe")
def unsubscribe_page() -> Response[str]:
    token = app.current_event.get_query_string_value("token", "") or ""
    return _page(
        200,
        "Unsubscribe",
        "Press the button to stop getting status updates.",
        form_action=f"unsubscribe?token={token}",
        button="Unsubscribe",
    )


@app.post("/unsubscribe")
def unsubscribe() -> Response[str]:
    token = app.current_event.get_query_string_value("token", "") or str(_body().get("token", ""))
    try:
        service().unsubscribe(token)
    except InvalidTokenError as error:
        return _page(400, "This link does not work", str(error))
    metrics.add_metric(name="Unsubscribed", unit=MetricUnit.Count, value=1)
    return _page(200, "You are unsubscribed", "You will not get status updates from us any more.")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
