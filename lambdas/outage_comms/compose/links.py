"""Compose links: signed, expiring references made with the review link's primitive.

A compose reference is a review-link reference (:class:`~outage_comms.workflow.approval.ReviewSigner`,
HMAC with the same key) whose request id is ``compose:<nonce>``: the review page finds no approval
request by that id (404) and the compose page refuses a review reference (no ``compose:`` prefix).
The nonce also names the link's posts for the intake's idempotency: one update and one resolve per
link, however often the form is sent.

Reminders, escalations and held notices carry a link (:func:`compose_invitation`) when the
deployment has a compose page: ``COMPOSE_BASE_URL`` (tests, the local server), else the SSM
parameter ``COMPOSE_URL_PARAMETER`` names it (the compose page's API lives in the intake stack,
which is deployed after the workflow stack, so the workflow reads its URL at run time).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field

from outage_comms.aws_clients import client
from outage_comms.function_settings import FunctionSettings
from outage_comms.incident import Incident
from outage_comms.plan import Plan
from outage_comms.workflow.approval import Reference, ReferenceError_, ReviewSigner

if TYPE_CHECKING:
    from outage_comms.workflow.steps import Notifier, Services

_log = logging.getLogger(__name__)

COMPOSE_PREFIX = "compose:"
#: A link lives two update cadences of the incident's severity, within these bounds.
MIN_LINK_MINUTES, MAX_LINK_MINUTES = 30, 24 * 60
COMPOSE_BASE_URL_ENV = "COMPOSE_BASE_URL"
COMPOSE_URL_PARAMETER_ENV = "COMPOSE_URL_PARAMETER"


def link_minutes(plan: Plan, severity_id: str) -> int:
    try:
        cadence = plan.severity(severity_id).cadence_minutes
    except (StopIteration, KeyError):
        cadence = MIN_LINK_MINUTES
    return max(MIN_LINK_MINUTES, min(MAX_LINK_MINUTES, 2 * cadence))


def compose_reference(signer: ReviewSigner, incident_id: str, *, now: datetime, minutes: int) -> str:
    expires_at = math.ceil(now.timestamp()) + minutes * 60
    nonce = secrets.token_urlsafe(12)
    return signer.sign(Reference(f"{COMPOSE_PREFIX}{nonce}", incident_id, expires_at))


def verify_compose_reference(
    signer: ReviewSigner, token: str, *, incident_id: str, now: datetime
) -> Reference:
    """The reference, or :class:`ReferenceError_` (``ReferenceExpiredError`` when its time is up)."""
    reference = signer.verify(token, incident_id=incident_id, now=now)
    if not reference.request_id.startswith(COMPOSE_PREFIX) or len(reference.request_id) > 80:
        raise ReferenceError_("this is not a compose link")
    return reference


def compose_path(incident_id: str, reference: str) -> str:
    return f"incidents/{incident_id}/compose/{reference}"


class ComposeLinkSettings(FunctionSettings):
    """Where this deployment's compose page is: its URL, or the SSM parameter that holds it."""

    set_by = "stacks/constructs/compose_page.py (grant_read_compose_url)"

    base_url: str = Field(default="", alias=COMPOSE_BASE_URL_ENV)
    url_parameter: str = Field(default="", alias=COMPOSE_URL_PARAMETER_ENV)


#: The compose page's URL changes only with a deploy; Powertools Parameters keeps it this long.
URL_MAX_AGE_SECONDS = 3600


@functools.cache
def _parameters() -> Any:
    """Powertools' SSM provider (its cache, TTL) on the shared SSM client; imported on first use."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_client=client("ssm"))


def compose_base_url() -> str:
    """This deployment's compose page, or "" when it has none (or its URL cannot be read now)."""
    settings = ComposeLinkSettings.from_environment()
    if settings.base_url:
        return settings.base_url
    if not settings.url_parameter:
        return ""
    try:
        return str(_parameters().get(settings.url_parameter, max_age=URL_MAX_AGE_SECONDS))
    except Exception as error:  # a reminder is sent without the link rather than not at all
        _log.warning("compose page URL unreadable (%s): reminders go without a link", type(error).__name__)
        return ""


def compose_invitation(
    plan: Plan, signer: Callable[[], ReviewSigner], incident: Incident, now: datetime
) -> str:
    """The sentence with a fresh compose link for a reminder, escalation or held notice ("" if none)."""
    base = compose_base_url()
    if not base or incident.status == "resolved":
        return ""
    try:
        minutes = link_minutes(plan, incident.severity)
        reference = compose_reference(signer(), incident.id, now=now, minutes=minutes)
    except Exception as error:  # the signing key unreadable: the notice still goes out
        _log.warning("compose link not signed (%s)", type(error).__name__)
        return ""
    link = f"{base.rstrip('/')}/{compose_path(incident.id, reference)}"
    return f"\n\nWrite and post the update (or resolve) here, within {minutes} minutes: {link}"


class _LinkingNotifier:
    """The team's notifier, with the compose link appended to every chat notice and email it sends."""

    def __init__(self, notifier: Notifier, invitation: str) -> None:
        self._notifier, self._invitation = notifier, invitation

    def chat(self, document: dict[str, Any]) -> str | None:
        content = dict(document.get("content") or {})
        content["description"] = f"{content.get('description', '')}{self._invitation}"
        return self._notifier.chat({**document, "content": content})

    def email(self, to: str, subject: str, text: str) -> str | None:
        return self._notifier.email(to, subject, text + self._invitation)


def with_compose_link(services: Services, incident_id: str) -> Services:
    """``services`` whose notices about ``incident_id`` carry a fresh compose link (unchanged if none)."""
    if not compose_base_url():
        return services
    try:
        incident = services.repository.get(incident_id)
    except Exception:  # the notice itself will say what is wrong
        return services
    invitation = compose_invitation(services.plan, services.signer, incident, services.now())
    if not invitation:
        return services
    return dataclasses.replace(services, notifier=_LinkingNotifier(services.notifier, invitation))
