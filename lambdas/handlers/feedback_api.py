"""The public feedback API (API Gateway REST proxy): ``/f/{token}/{vote}`` and ``/f/{token}/comment``.

Reached through the status site's ``/f/*`` route (short links: ``feedback/short_links.py``) or directly.

Thin: the event becomes a :class:`~outage_comms.feedback.service.FeedbackRequest`, the service
answers with a page. Metrics (namespace ``OutageComms``): ``FeedbackVotes`` (dimensions ``vote``,
``channel``) for each counted answer, ``FeedbackRefused`` (dimension ``reason``: ``forged``,
``expired``, ``malformed``, ``replay``, ``unknown_update``, ``automated``, ``csrf``, …) for each
answer not counted, ``FeedbackComments`` (dimension ``channel``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.metrics import single_metric
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.feedback.service import FeedbackRequest, FeedbackResponse, FeedbackService
from outage_comms.feedback.store import viewer_address
from outage_comms.observability import MetricUnit, logger, metrics, tracer

MAX_BODY_BYTES = 16_384


def to_request(event: APIGatewayProxyEvent) -> FeedbackRequest:
    headers = {name.lower(): value for name, value in (event.headers or {}).items() if value is not None}
    form: dict[str, str] = {}
    try:
        body = event.decoded_body or ""
    except ValueError:  # not base64, or not UTF-8: no form fields (the page says what is missing)
        body = ""
    if body and len(body) <= MAX_BODY_BYTES and "form-urlencoded" in headers.get("content-type", ""):
        form = {name: values[0] for name, values in parse_qs(body, max_num_fields=10).items()}
    return FeedbackRequest(
        method=event.http_method,
        path=event.path,
        source_ip=viewer_address(headers) or str(event.request_context.identity.source_ip or ""),
        user_agent=headers.get("user-agent", ""),
        headers=headers,
        form=form,
    )


def _count(name: str, **dimensions: str) -> None:
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        for dimension, value in dimensions.items():
            metric.add_dimension(name=dimension, value=value)


def _observe(response: FeedbackResponse) -> None:
    if response.counted:
        vote, channel = response.counted
        _count("FeedbackVotes", vote=vote, channel=channel)
    if response.refused:
        _count("FeedbackRefused", reason=response.refused)
    if response.commented:
        _count("FeedbackComments", channel=response.commented)
    logger.info(
        "feedback",
        extra={"status": response.status, "counted": response.counted, "refused": response.refused},
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(
    event: dict[str, Any], context: LambdaContext, service: FeedbackService | None = None
) -> dict[str, Any]:
    from outage_comms.feedback.runtime import feedback_service

    response = (service or feedback_service()).handle(to_request(APIGatewayProxyEvent(event)))
    _observe(response)
    return {"statusCode": response.status, "headers": response.headers, "body": response.html}
