"""The public subscribe API (API Gateway REST, throttled at the stage): thin routes over the service.

    POST /subscriptions               {"channel", "address", "locale", "components", "platform"}
    GET  /subscriptions/confirm       page with a button that POSTs (link scanners only GET)
    POST /subscriptions/confirm       {"token"} (email), {"address", "code"} (SMS) or
                                      {"channel": "push", "address": <device token>, "code"} (push)
    PUT  /subscriptions/preferences   {"token", "components", "locale"}
    GET  /unsubscribe?token=…         page with a button that POSTs
    POST /unsubscribe?token=…         one-click (RFC 8058: body ``List-Unsubscribe=One-Click``)

Answers never reveal whether an address is subscribed (see ``subscribers/service.py``). Bad input
of any shape (not JSON, nested too deep, a number where a list belongs, non-ASCII tokens) gets a
4xx whose message names the field and what to send instead; never a 5xx.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from outage_comms.api_routes import LazyRestResolver, response
from outage_comms.observability import MetricUnit, logger, metrics, tracer
from outage_comms.subscribers.tokens import InvalidTokenError

if TYPE_CHECKING:  # the service loads on the first request, not in Lambda's init phase
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from outage_comms.subscribers.service import (
        ProviderUnavailableError,
        RateLimitedError,
        SubscriptionError,
        SubscriptionService,
    )

#: Powertools' APIGatewayRestResolver, built with every route below on the first request.
app = LazyRestResolver()
_service: SubscriptionService | None = None

APPLICATION_JSON = "application/json"
TEXT_HTML = "text/html"
FORM = "application/x-www-form-urlencoded"
MAX_BODY_CHARS = 16_384
MAX_TEXT_CHARS = 4096
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


class BadRequestError(Exception):
    """The request's shape is wrong (not the address: that is a SubscriptionError); 400 with the reason."""


def service() -> SubscriptionService:
    if _service is not None:
        return _service
    from outage_comms.channels.subscribe_runtime import subscription_runtime

    return subscription_runtime().service


def _json(status: int, body: dict[str, Any], **headers: str) -> Response[str]:
    built: Response[str] = response(
        status, APPLICATION_JSON, json.dumps(body), headers={**_SECURITY_HEADERS, **headers}
    )
    return built


def _page(
    status: int, title: str, text: str, *, form_action: str = "", button: str = "", back: str = ""
) -> Response[str]:
    link = f'<p><a href="{html.escape(back)}">Back to the status page</a></p>' if back else ""
    form = (
        f'<form method="post" action="{html.escape(form_action)}">'
        f'<button type="submit">{html.escape(button)}</button></form>'
        if form_action
        else ""
    )
    page = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}{link}</body></html>"
    )
    built: Response[str] = response(status, TEXT_HTML, page, headers=dict(_SECURITY_HEADERS))
    return built


def _body() -> dict[str, Any]:
    """The request body as a JSON object or form fields; BadRequestError when it is neither."""
    event = app.current_event
    try:
        raw = event.decoded_body or ""
    except ValueError:  # base64 that is not, or bytes that are not UTF-8
        raise BadRequestError("the body is not readable text: send JSON in UTF-8") from None
    if len(raw) > MAX_BODY_CHARS:
        raise BadRequestError(f"the body is larger than {MAX_BODY_CHARS} characters")
    content_type = _content_type()
    if content_type == FORM:
        return {k: v[0] for k, v in parse_qs(raw, max_num_fields=20).items()}
    if content_type not in ("", "application/json"):
        # text/plain and multipart are what another site can post without a CORS preflight
        raise BadRequestError(
            f"Content-Type {content_type} is not accepted: send application/json, or "
            f"{FORM} from the status page's form"
        )
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):
        raise BadRequestError("the body is not JSON: send a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequestError('the body must be a JSON object, e.g. {"channel": "email", ...}')
    return data


def _content_type() -> str:
    headers = {name.lower(): value for name, value in (app.current_event.headers or {}).items()}
    return str(headers.get("content-type") or "").split(";")[0].strip().lower()


def _from_form() -> bool:
    """A classic form post (the status page without JavaScript): it gets a page back, not JSON."""
    return _content_type() == FORM


def _back_link() -> str:
    """Where the page's link goes: the status page the form was on (same-origin Referer), else ``/``."""
    headers = {name.lower(): value for name, value in (app.current_event.headers or {}).items()}
    referer = urlsplit(str(headers.get("referer") or ""))
    return referer.path if referer.path.startswith("/") and not referer.path.startswith("//") else "/"


def _text(body: dict[str, Any], name: str, default: str = "") -> str:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > MAX_TEXT_CHARS:
        raise BadRequestError(f"{name} must be text of at most {MAX_TEXT_CHARS} characters")
    return value


def _components(body: dict[str, Any]) -> tuple[str, ...]:
    value = body.get("components") or []
    if not isinstance(value, list) or len(value) > 50 or not all(isinstance(c, str) for c in value):
        raise BadRequestError('components must be a list of component ids (at most 50), e.g. ["sync"]')
    return tuple(value)


def _query(name: str) -> str:
    return str(app.current_event.get_query_string_value(name, "") or "")


def _source_ip() -> str:
    return str(app.current_event.request_context.identity.source_ip or "unknown")


def _answer(status: int, body: dict[str, Any], title: str, **headers: str) -> Response[str]:
    """JSON for API clients and the page's script; a small page with a link back for a classic form post."""
    if _from_form() and app.current_event.http_method == "POST":
        page = _page(status, title, str(body["message"]), back=_back_link())
        page.headers.update(headers)
        return page
    return _json(status, body, **headers)


@app.exception_handler(BadRequestError)
def _bad_request(error: BadRequestError) -> Response[str]:
    return _answer(400, {"status": "invalid", "message": str(error)}, "Please check the form")


def _invalid(error: SubscriptionError) -> Response[str]:
    return _answer(400, {"status": "invalid", "message": str(error)}, "Please check the form")


@app.exception_handler(InvalidTokenError)
def _invalid_token(error: InvalidTokenError) -> Response[str]:
    return _json(400, {"status": "invalid", "message": str(error)})


def _rate_limited(error: RateLimitedError) -> Response[str]:
    metrics.add_metric(name="SubscribeRateLimited", unit=MetricUnit.Count, value=1)
    body = {"status": "rate_limited", "message": str(error)}
    return _answer(429, body, "Please try again later", **{"Retry-After": "3600"})


def _unavailable(error: ProviderUnavailableError) -> Response[str]:
    body = {"status": "unavailable", "message": str(error)}
    return _answer(503, body, "Please try again later", **{"Retry-After": "60"})


@app.on_build
def _service_error_handlers(resolver: APIGatewayRestResolver) -> None:
    """The service's errors as answers (registered when the resolver is built: the service is heavy)."""
    from outage_comms.subscribers.service import (
        ProviderUnavailableError,
        RateLimitedError,
        SubscriptionError,
    )

    resolver.exception_handler(SubscriptionError)(_invalid)
    resolver.exception_handler(RateLimitedError)(_rate_limited)
    resolver.exception_handler(ProviderUnavailableError)(_unavailable)


@app.post("/subscriptions")
def subscribe() -> Response[str]:
    from outage_comms.subscribers.service import SubscribeRequest

    body = _body()
    request = SubscribeRequest(
        channel=_text(body, "channel"),  # type: ignore[arg-type]  # validated by the service
        address=_text(body, "address"),
        locale=_text(body, "locale"),
        components=_components(body),
        platform=_text(body, "platform"),
    )
    service().subscribe(request, source_ip=_source_ip())
    # new, pending or already subscribed: one answer (a page when a form without JavaScript posted)
    return _answer(202, ACCEPTED, "Check your inbox")


@app.get("/subscriptions/confirm")
def confirm_page() -> Response[str]:
    return _page(
        200,
        "Confirm your subscription",
        "Press the button to start getting status updates.",
        form_action=f"confirm?token={quote(_query('token'), safe='')}",
        button="Confirm",
    )


@app.post("/subscriptions/confirm")
def confirm() -> Response[str]:
    body = _body()
    token = _text(body, "token") or _query("token")
    if token:
        service().confirm_email(token)
    else:
        channel = _text(body, "channel", "sms") or "sms"
        service().confirm_code(channel, _text(body, "address"), _text(body, "code"))
    metrics.add_metric(name="SubscriptionsConfirmed", unit=MetricUnit.Count, value=1)
    return _json(200, {"status": "confirmed"})


@app.put("/subscriptions/preferences")
def preferences() -> Response[str]:
    body = _body()
    subscriber = service().update_preferences(
        _text(body, "token"), components=_components(body), locale=_text(body, "locale")
    )
    return _json(
        200, {"status": "updated", "locale": subscriber.locale, "components": list(subscriber.components)}
    )


@app.get("/unsubscribe")
def unsubscribe_page() -> Response[str]:
    return _page(
        200,
        "Unsubscribe",
        "Press the button to stop getting status updates.",
        form_action=f"unsubscribe?token={quote(_query('token'), safe='')}",
        button="Unsubscribe",
    )


@app.post("/unsubscribe")
def unsubscribe() -> Response[str]:
    try:
        token = _query("token") or _text(_body(), "token")
        service().unsubscribe(token)
    except (InvalidTokenError, BadRequestError) as error:
        return _page(400, "This link does not work", str(error))
    metrics.add_metric(name="Unsubscribed", unit=MetricUnit.Count, value=1)
    return _page(200, "You are unsubscribed", "You will not get status updates from us any more.")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
