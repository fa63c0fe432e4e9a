"""The compose page: the next customer update (or the resolution) written on a phone, no CLI needed.

``GET  /incidents/{incident_id}/compose/{reference}``  shows the form, prefilled with what customers
were last told as a holding update ("nothing new"), and the previews of every channel. It never posts.
``POST`` with ``csrf`` and ``action``:

* ``preview``: the previews of what the form would send (the intake's own decision on the request,
  rendered like the workflow renders it); nothing is saved;
* ``post``: the update, as the incident API's ``update`` (``to_signal`` -> the idempotent ``apply``;
  the workflow is fed by the intake hand-off), then it follows the plan: approval or auto-send;
* ``resolve``: the resolution, with optional ``cause``, ``fix`` and ``impact``.

Security as on the review page: the link is signed and expiring (:mod:`.links`), only the plan's
communications and incident managers' principals may open it (API Gateway verifies the IAM caller),
the CSRF token is bound to the link, the caller and the incident's version (a form shown before
someone else changed the incident is refused), and each link posts at most one update and one
resolution (the intake's idempotency key is derived from the link).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from outage_comms.compose.links import COMPOSE_PREFIX, verify_compose_reference
from outage_comms.incident import Incident
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Rejection, Signal, to_signal
from outage_comms.intake.service import IntakeConflictError, open_incidents_for
from outage_comms.intake.sources.human import HumanRequest
from outage_comms.plan import Plan
from outage_comms.ports import IncidentNotFoundError, IncidentRepository
from outage_comms.previews import ChannelPreview, channel_previews
from outage_comms.rendering import DEFAULT_TEMPLATES_DIR
from outage_comms.team_pages import render_page
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.approval import (
    Reference,
    ReferenceError_,
    ReferenceExpiredError,
    ReviewSigner,
    approvers_for,
    principal_arn,
)
from outage_comms.workflow.review import SECURITY_HEADERS
from outage_comms.workflow.review_request import BadReviewRequestError, ReviewRequest
from outage_comms.workflow.updates import render_update, scenario_for

__all__ = ["BadReviewRequestError", "ComposeResponse", "ReviewRequest", "bad_request", "handle_compose"]

#: What a person may say an open incident is now (resolving has its own form).
STATUSES = ("investigating", "identified", "monitoring")
#: The scenarios of an ongoing incident, in the order the form offers them ("nothing new" first).
UPDATE_SCENARIOS = (
    Scenario.HOLDING_UPDATE,
    Scenario.INVESTIGATING,
    Scenario.IDENTIFIED,
    Scenario.MONITORING,
    Scenario.DEGRADED_PERFORMANCE,
    Scenario.PARTIAL_OUTAGE,
    Scenario.MAJOR_OUTAGE,
)
#: The resolve form's typed fields (contracts: API keys and Incident.resolution_details).
RESOLUTION_FIELDS = ("cause", "fix", "impact")

ApplyFunction = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class ComposeResponse:
    status: int
    body: str
    #: What was applied (the intake's outcome), for the handler's log.
    outcome: dict[str, Any] | None = None

    def as_api_response(self) -> dict[str, Any]:
        return {"statusCode": self.status, "headers": dict(SECURITY_HEADERS), "body": self.body}


def bad_request(problem: BadReviewRequestError) -> ComposeResponse:
    return _message(problem.status, "Request not accepted", problem.text)


def _message(status: int, title: str, text: str, link: str | None = None) -> ComposeResponse:
    body = render_page(
        "review/message.html.j2", title=title, text=text, link=link, link_text="Open the page again"
    )
    return ComposeResponse(status, body)


def _form_hash(incident: Incident) -> str:
    """What the form's CSRF token names: this incident at this version (a stale form is refused)."""
    return hashlib.sha256(f"compose|{incident.id}|{incident.version}".encode()).hexdigest()


@dataclass(frozen=True)
class _Compose:
    request: ReviewRequest
    incident: Incident
    plan: Plan
    nonce: str
    csrf: str
    now: datetime
    templates_dir: Path
    incidents: IncidentRepository


def handle_compose(
    request: ReviewRequest,
    *,
    plan: Plan,
    incidents: IncidentRepository,
    apply: ApplyFunction,
    signer: ReviewSigner,
    now: datetime,
    templates_dir: Path = DEFAULT_TEMPLATES_DIR,
) -> ComposeResponse:
    """Verify the link and the caller, then show (GET), preview or post (POST). 4xx otherwise."""
    if request.method not in ("GET", "POST"):
        return _message(
            405, "Method not allowed", "Open the link to write the update; post with the page's buttons."
        )
    opened = _open(request, plan=plan, incidents=incidents, signer=signer, now=now)
    if isinstance(opened, ComposeResponse):
        return opened
    reference, incident, caller = opened
    nonce = reference.request_id.removeprefix(COMPOSE_PREFIX)
    csrf = signer.csrf_token(reference.request_id, caller, _form_hash(incident))
    page = _Compose(request, incident, plan, nonce, csrf, now, templates_dir, incidents)
    if request.method == "GET":
        return ComposeResponse(200, _page(page, _defaults(page)))
    return _submit(
        page, signer.csrf_content_hash(request.form.get("csrf"), reference.request_id, caller), apply
    )


def _open(
    request: ReviewRequest, *, plan: Plan, incidents: IncidentRepository, signer: ReviewSigner, now: datetime
) -> tuple[Reference, Incident, str] | ComposeResponse:
    """The link's reference, the open incident and the caller's principal; or the page saying why not."""
    try:
        reference = verify_compose_reference(
            signer, request.reference, incident_id=request.incident_id, now=now
        )
    except ReferenceExpiredError:
        return _message(
            410, "This link has expired", "Nothing was posted. Use the link in the newest reminder."
        )
    except ReferenceError_ as problem:
        return _message(403, "This link cannot be used", f"{problem}. Use the link in the newest reminder.")
    caller = principal_arn(request.caller_arn or "")
    if caller not in approvers_for(plan, "communications_manager"):
        return _message(
            403, "Not allowed", "Only the plan's communications and incident managers may post updates."
        )
    try:
        incident = incidents.get(request.incident_id)
    except IncidentNotFoundError:
        return _message(404, "No such incident", "This incident does not exist.")
    if incident.status == "resolved":
        return _message(
            410, "Already resolved", f"{incident.id} is resolved; declare a new incident if needed."
        )
    return reference, incident, caller


def _submit(page: _Compose, shown: str | None, apply: ApplyFunction) -> ComposeResponse:
    """A POST: the form's token must match the incident as shown; then preview, post or resolve."""
    request, incident = page.request, page.incident
    if shown is None:
        return _message(
            403, "Form expired", "The form's security token is missing or wrong. Reload the page."
        )
    if shown != _form_hash(incident):
        return _message(
            409,
            "The incident changed: read it again",
            "Someone changed this incident after this page was shown, so nothing was posted. Reload the "
            "page, read what customers were told, and post again.",
        )
    action = request.form.get("action", "")
    if action not in ("preview", "post", "resolve"):
        return _message(400, "Unknown action", "Use the Preview, Post update or Resolve button.")
    values = _values(page, request.form, resolve=action == "resolve")
    human = _human_request(page, values, resolve=action == "resolve")
    signal = to_signal(human, page.plan) if not isinstance(human, str) else Rejection("invalid_form", human)
    if isinstance(signal, Rejection):
        return ComposeResponse(422, _page(page, values, problems=[signal.reason]))
    if action == "preview":
        return ComposeResponse(200, _page(page, values, signal=signal, previewed=True))
    if signal.event_id in incident.event_ids:
        return _message(
            409, "Already posted with this link", "This link already posted this; nothing was posted again."
        )
    try:
        outcome = apply(signal=signal)
    except IntakeConflictError:
        return _message(
            409, "Busy: try again", "The incident was being changed at the same moment. Post again."
        )
    return ComposeResponse(200, _posted(page, outcome, resolve=action == "resolve"), outcome)


def _defaults(page: _Compose) -> dict[str, Any]:
    """The form as first shown: nothing new (the holding update), with what customers were last told."""
    incident = page.incident
    return {
        "status": incident.status if incident.status in STATUSES else "investigating",
        "scenario": Scenario.HOLDING_UPDATE.value,
        "components": list(incident.components),
        "note": {code: incident.public_note.get(code, "") for code in page.plan.locale_codes},
        "resolution": dict.fromkeys(RESOLUTION_FIELDS, ""),
    }


def _values(page: _Compose, form: Mapping[str, str], *, resolve: bool) -> dict[str, Any]:
    codes = page.plan.locale_codes
    component_ids = [c.id for c in page.plan.components]
    return {
        "status": form.get("status", ""),
        "scenario": form.get("scenario", ""),
        "components": [c for c in component_ids if form.get(f"component:{c}")]
        or list(page.incident.components),
        "note": {code: form.get(f"note:{code}", "") for code in codes},
        "resolution": {name: form.get(name, "") for name in RESOLUTION_FIELDS},
    }


def _human_request(page: _Compose, values: dict[str, Any], *, resolve: bool) -> dict[str, Any] | str:
    """The request the incident API would receive for this form (same keys, same checks)."""
    request: dict[str, Any] = {
        "action": "resolve" if resolve else "update",
        "incident_id": page.incident.id,
        "principal": page.request.caller_arn or "",
        "request_id": f"compose-{page.nonce}-{'resolve' if resolve else 'update'}",
        "note": {code: text for code, text in values["note"].items() if text.strip()},
    }
    if resolve:
        given = {name: text for name, text in values["resolution"].items() if text.strip()}
        supported = [name for name in RESOLUTION_FIELDS if name in HumanRequest.model_fields]
        if set(given) - set(supported):
            return "This deployment cannot store cause, fix and impact yet; leave them empty or update it."
        return request | given
    if values["status"] not in STATUSES:
        return f"Choose what the incident is now: {', '.join(STATUSES)}."
    if values["scenario"] not in {s.value for s in UPDATE_SCENARIOS}:
        return "Choose what kind of update this is."
    return request | {
        "status": values["status"],
        "scenario": values["scenario"],
        "components": values["components"],
    }


def _previews(page: _Compose, signal: Signal | None) -> tuple[list[ChannelPreview], str]:
    """The update the intake would make of the form, rendered as the workflow renders it."""
    if signal is None:
        return [], ""
    decision = decide(signal, open_incidents_for(signal, page.incidents), page.plan, page.now)
    if decision.incident is None or not decision.announce:
        return [], f"Customers would hear nothing new: {decision.reason}."
    incident = decision.incident
    scenario = scenario_for(incident, {})
    messages, blocked = render_update(page.plan, incident, scenario, page.now, page.templates_dir)
    shown = {c: {loc: dict(m["fields"]) for loc, m in by.items()} for c, by in messages.items()}
    return channel_previews(page.plan, scenario, shown, rendered=messages, blocked=blocked), ""


def _page(
    page: _Compose,
    values: dict[str, Any],
    *,
    signal: Signal | None = None,
    problems: list[str] | None = None,
    previewed: bool = False,
) -> str:
    plan, incident = page.plan, page.incident
    if signal is None and not problems:
        human = _human_request(page, values, resolve=False)
        made = to_signal(human, plan) if not isinstance(human, str) else None
        signal = made if isinstance(made, Signal) else None
    previews, quiet = _previews(page, signal)
    severity = next((s for s in plan.severities if s.id == incident.severity), None)
    severity_name = (
        severity.name.get(plan.default_locale, incident.severity) if severity else incident.severity
    )
    scenarios = [s for s in UPDATE_SCENARIOS if s in plan.scenarios]
    return render_page(
        "compose/compose.html.j2",
        title=f"Next update · {incident.id}",
        org=plan.organization.name,
        incident=incident,
        severity_name=severity_name,
        approval=bool(severity and severity.approval.required),
        since=_ago(page.now, incident.updated_at),
        csrf=page.csrf,
        values=values,
        statuses=STATUSES,
        scenarios=[
            (s.value, _SCENARIO_WORDS.get(s, s.value.replace("_", " ").capitalize())) for s in scenarios
        ],
        components=[(c.id, c.name.get(plan.default_locale) or c.id) for c in plan.components],
        locales=plan.locale_codes,
        resolution_fields=RESOLUTION_FIELDS,
        previews=previews,
        quiet=quiet,
        problems=problems or [],
        previewed=previewed,
    )


_SCENARIO_WORDS = {
    Scenario.HOLDING_UPDATE: "Nothing new (holding update)",
    Scenario.DEGRADED_PERFORMANCE: "Degraded performance",
    Scenario.PARTIAL_OUTAGE: "Partial outage",
    Scenario.MAJOR_OUTAGE: "Major outage",
}


def _ago(now: datetime, then: datetime) -> str:
    minutes = max(0, int((now - then).total_seconds() // 60))
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"


def _posted(page: _Compose, outcome: dict[str, Any], *, resolve: bool) -> str:
    severity = next((s for s in page.plan.severities if s.id == page.incident.severity), None)
    if not outcome.get("announced"):
        text = f"Saved, but customers hear nothing new: {outcome.get('reason', 'nothing changed')}."
    elif severity is not None and severity.approval.required:
        text = "It now waits for approval: the approvers receive a review link, as the plan says."
    else:
        text = "It goes to customers now, on every channel the plan names (this severity needs no approval)."
    title = "Resolution posted" if resolve else "Update posted"
    return render_page("review/message.html.j2", title=title, text=text, link=None, link_text="")
