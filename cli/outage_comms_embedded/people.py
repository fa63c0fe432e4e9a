"""The people of a drill, acting through the same doors they would use: email links and the review page.

The approver reads the review link from the email the workflow sent (moto SES keeps it), opens the
page (GET, through the review page function with an API Gateway proxy event carrying their IAM
identity, as API Gateway's IAM authorization would) and decides with a POST carrying the page's
CSRF token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from outage_comms.channel_specs import registry
from outage_comms_embedded.harness import EmbeddedAws

_LINK = re.compile(r"https?://\S+/incidents/(?P<incident>inc-[\w-]+)/review/(?P<reference>[\w.-]+)")
_CSRF = re.compile(r"name=csrf value='([^']+)'")


@dataclass(frozen=True)
class ReviewOutcome:
    get_status: int
    post_status: int
    body: str


def session_arn(role_arn: str, session: str = "drill") -> str:
    """The STS assumed-role ARN API Gateway reports for a caller signed in to ``role_arn``."""
    account = role_arn.split(":")[4]
    role = role_arn.rsplit("/", 1)[-1]
    return f"arn:aws:sts::{account}:assumed-role/{role}/{session}"


def review_links(aws: EmbeddedAws, incident_id: str, to: str | None = None) -> list[tuple[str, str]]:
    """(incident id, reference) of every review link emailed for ``incident_id`` (to ``to``), oldest first."""
    links = []
    for message in aws.sent_emails():
        if to is not None and to not in message.destinations.get("ToAddresses", []):
            continue
        for match in _LINK.finditer(message.body):
            if match["incident"] == incident_id:
                links.append((match["incident"], match["reference"]))
    return links


def api_event(
    method: str, incident_id: str, reference: str, caller_arn: str, form: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {
        "httpMethod": method,
        "resource": "/incidents/{incident_id}/review/{reference}",
        "path": f"/incidents/{incident_id}/review/{reference}",
        "pathParameters": {"incident_id": incident_id, "reference": reference},
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "body": urlencode(dict(form)) if form else None,
        "isBase64Encoded": False,
        "requestContext": {"identity": {"userArn": caller_arn, "caller": caller_arn}},
    }


def review(
    aws: EmbeddedAws,
    incident_id: str,
    reference: str,
    *,
    caller_arn: str,
    decision: str,
    edits: Mapping[str, str] | None = None,
    region: str | None = None,
) -> ReviewOutcome:
    """Open the page, then press a button: GET, read the CSRF token, POST the decision. ``region``: whose
    review page the link names (default: the home region's); a region that is down does not answer
    (botocore's ``EndpointConnectionError``)."""
    function = aws.function_name("workflow_review_page", region=region)
    page = aws.invoke(function, api_event("GET", incident_id, reference, caller_arn), region=region)
    token = _CSRF.search(page.get("body", ""))
    form = {"csrf": token.group(1) if token else "", "decision": decision, **(edits or {})}
    posted = aws.invoke(function, api_event("POST", incident_id, reference, caller_arn, form), region=region)
    for answer in (page, posted):
        if "statusCode" not in answer:  # the function failed: say how, not KeyError
            raise RuntimeError(
                f"the review page failed: {answer.get('errorType')}: {answer.get('errorMessage')}"
            )
    return ReviewOutcome(page["statusCode"], posted["statusCode"], posted.get("body", ""))


# ---------------------------------------------------------------------------------------------
# The drill's customers: every locale of the plan on every subscriber channel
# ---------------------------------------------------------------------------------------------


def subscriber_channels() -> tuple[str, ...]:
    """Subscriber channels of the subscribers table (a drill reaches their drill audience), from the
    registry when asked (a channel registered later counts)."""
    return tuple(str(c) for c in registry.channels(drill="audience"))


def _made_up_address(channel: str, locale: str, index: int, drill: bool) -> dict[str, Any]:
    """A test address for a locale the built-in lists lack (example.com / 555-01xx numbers)."""
    slug = locale.lower()
    number = f"+1206555{(60 if drill else 10) + index:04d}"
    return {
        "email": {"address": f"{'game-day' if drill else 'customer'}.{slug}@example.com"},
        "sms": {"address": number},
        "voice": {"address": number},
        "push": {"address": f"drill-{'test-' if drill else ''}device-{slug}", "platform": "GCM"},
    }.get(channel, {"address": f"{'game-day' if drill else 'customer'}.{slug}@{channel}.example"}) | {
        "locale": locale
    }


def drill_subscribers(
    locales: list[str],
    built_in: Mapping[str, list[dict[str, Any]]],
    *,
    drill: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """``built_in`` for the plan's locales, plus one made-up subscriber per channel for each locale it lacks.

    A drill then reaches readers of every locale the plan declares (and none it does not), on every
    subscriber channel: a German plan's drill sends German email and SMS to someone.
    """
    result: dict[str, list[dict[str, Any]]] = {}
    for channel in subscriber_channels():
        people = [p for p in built_in.get(channel, []) if p["locale"] in locales]
        covered = {p["locale"] for p in people}
        missing = [code for code in locales if code not in covered]
        people += [_made_up_address(channel, code, i, drill) for i, code in enumerate(missing)]
        result[channel] = people
    return result


def rest_event(
    method: str, path: str, caller_arn: str, body: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A SigV4-signed JSON request to a REST API (the incident API), as API Gateway hands it to Lambda."""
    import json
    import uuid

    return {
        "httpMethod": method,
        "resource": path,
        "path": path,
        "pathParameters": None,
        "queryStringParameters": None,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(dict(body)) if body is not None else None,
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "v1",
            "httpMethod": method,
            "path": path,
            "identity": {"userArn": caller_arn, "caller": caller_arn},
        },
    }
