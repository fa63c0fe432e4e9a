"""The review page: server-rendered HTML that shows an update and takes one decision by POST.

``GET  /incidents/{incident_id}/review/{reference}``  shows every message per channel and locale
(never decides anything, whatever the query string says): a preview of each channel as its customers
see it, the guard's findings next to the words they concern, and a text box per field.
``POST /incidents/{incident_id}/review/{reference}``  with form fields ``csrf``, ``decision``
(``approve`` | ``edit`` | ``reject`` | ``check``) and, for edits, ``text:<channel>:<locale>:<field>``.
``check`` shows the page again with the edits in the previews and their findings, deciding nothing.
The HTML comes from the Jinja2 templates ``templates/review/*.html.j2`` (autoescaped).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from outage_comms.drill_mode import is_drill
from outage_comms.human_text import HumanTextError, check_text
from outage_comms.plan import Plan
from outage_comms.ports import TaskToken, token_region
from outage_comms.social_text import retargeted_links
from outage_comms.vocabulary import Channel, Scenario
from outage_comms.workflow.approval import (
    ReferenceError_,
    ReferenceExpiredError,
    ReviewSigner,
    TaskGoneError,
    content_hash,
    decision_output,
    principal_arn,
)
from outage_comms.workflow.approval_store import (
    DECIDED,
    SENDING,
    STALE_CLAIM_SECONDS,
    TOO_LATE,
    ApprovalClosedError,
    ApprovalStore,
    TextChangedError,
)
from outage_comms.workflow.review_pages import (
    SECURITY_HEADERS,
    ReviewResponse,
    already_decided_page,
    bad_request,
    closed_page,
    message_page,
    review_html,
    text_changed_page,
    too_late_page,
)
from outage_comms.workflow.review_request import BadReviewRequestError, ReviewRequest
from outage_comms.workflow.store import WorkflowStore
from outage_comms.workflow.updates import guard_edited

_log = logging.getLogger(__name__)
#: The longest text box an edit may send (the longest channel, email, is far shorter in practice).
MAX_EDIT_CHARS = 20_000

__all__ = [
    "SECURITY_HEADERS",
    "BadReviewRequestError",
    "ReviewRequest",
    "ReviewResponse",
    "bad_request",
    "handle_review",
    "in_token_region",
]


TaskSuccess = Callable[[str, dict[str, Any]], None]


def in_token_region(send_here: TaskSuccess, here: Callable[[], str | None]) -> TaskSuccess:
    """``send_here`` answers tokens of this region (``here()``) and tokens whose region is unknown; a token
    that names another region (:class:`~outage_comms.ports.TaskToken`) is answered with a Step Functions
    client of that region, as Step Functions requires (:class:`TaskGoneError` when its task is gone)."""

    def send(token: str, output: dict[str, Any]) -> None:
        region = token_region(token)
        if region is None or region == here():
            send_here(token, output)
            return
        import json

        from botocore.exceptions import ClientError

        from outage_comms.workflow_gateway import STALE_TOKEN_ERRORS, stepfunctions_in

        try:
            stepfunctions_in(region).send_task_success(taskToken=str(token), output=json.dumps(output))
        except ClientError as error:
            if error.response["Error"]["Code"] in STALE_TOKEN_ERRORS:
                raise TaskGoneError(error.response["Error"]["Code"]) from None
            raise

    return send


@dataclass(frozen=True)
class _Review:
    """One verified request: who asks, about which stored request, and the text it shows now."""

    request: ReviewRequest
    record: dict[str, Any]
    update: dict[str, Any]
    principal: str
    shown: dict[str, Any]  # {channel: {locale: {field: text}}}
    plan: Plan
    store: WorkflowStore
    approvals: ApprovalStore
    send_task_success: TaskSuccess
    now: datetime
    #: The form's token: it names the exact text the page shows (the stored text, never an unsaved edit).
    csrf: str = ""


def shown_messages(record: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """The words under review: the last edit's (kept with the request), else the rendered ones."""
    if record.get("messages"):
        return dict(record["messages"])
    return {
        channel: {locale: dict(message["fields"]) for locale, message in by_locale.items()}
        for channel, by_locale in update["messages"].items()
    }


def handle_review(
    request: ReviewRequest,
    *,
    plan: Plan,
    store: WorkflowStore,
    approvals: ApprovalStore,
    signer: ReviewSigner,
    send_task_success: TaskSuccess,
    now: datetime,
) -> ReviewResponse:
    """Verify the link and the caller, then show (GET) or decide (POST). Refuses with 4xx otherwise."""
    if request.method not in ("GET", "POST"):
        return message_page(
            405, "Method not allowed", "Open the link to review; decide with the page's buttons."
        )
    try:
        reference = signer.verify(request.reference, incident_id=request.incident_id, now=now)
    except ReferenceExpiredError:
        return too_late_page()
    except ReferenceError_ as problem:
        return message_page(403, "This review link cannot be used", f"{problem}. Ask for a new link.")
    record = approvals.get(reference.request_id)
    if record is None or record["incident_id"] != request.incident_id:
        return message_page(404, "No such review", "This review request does not exist.")
    principal = principal_arn(request.caller_arn or "")
    if principal not in record["allowed_principals"]:
        return message_page(
            403, "Not an approver", "Only the approvers listed in the plan may review this update."
        )
    if record["state"] == SENDING and float(record["claimed_at"]) < now.timestamp() - STALE_CLAIM_SECONDS:
        with contextlib.suppress(ApprovalClosedError):  # its caller died between claim and finalise
            approvals.release(record["request_id"], str(record["claim_id"]))
        record = approvals.get(reference.request_id) or record
    if record["state"] == DECIDED:
        return already_decided_page()
    if record["state"] == TOO_LATE or now.timestamp() >= int(record["expires_at"]):
        return too_late_page()
    update = store.get_update(request.incident_id, record["update_id"])
    # The form's token names the exact text shown: a decision on older text is refused (409).
    csrf = signer.csrf_token(record["request_id"], principal, record["content_hash"])
    review = _Review(
        request, record, update, principal, shown_messages(record, update), plan, store, approvals,
        send_task_success, now, csrf,
    )  # fmt: skip
    if request.method == "GET":
        return ReviewResponse(200, _review_html(review))
    form_hash = signer.csrf_content_hash(request.form.get("csrf"), record["request_id"], principal)
    if form_hash is None:
        return message_page(
            403, "Form expired", "The form's security token is missing or wrong. Reload the page."
        )
    decision = request.form.get("decision", "")
    if decision not in ("approve", "edit", "reject", "check"):
        return message_page(400, "Unknown decision", "Use the Approve, Edit or Reject button.")
    if decision == "reject":
        return _finalise(review, "rejected", [principal], record["content_hash"])
    if form_hash != record["content_hash"]:
        return text_changed_page()
    if decision == "check":
        return _check(review)
    return _approve(review, form_hash, edit=decision == "edit")


def _check(review: _Review) -> ReviewResponse:
    """The page again with the edits in the previews and every finding: nothing is saved or decided."""
    changes, problems = _edits(review, review.request.form)
    return ReviewResponse(200, _review_html(_with_edits(review, changes), problems=problems, checked=True))


def _with_edits(review: _Review, changes: dict[tuple[str, str], dict[str, str]]) -> _Review:
    if not changes:
        return review
    edited = {c: {loc: dict(f) for loc, f in by.items()} for c, by in review.shown.items()}
    for (channel, locale), fields in changes.items():
        edited[channel][locale] = fields
    return dataclasses.replace(review, shown=edited)


def _approve(review: _Review, form_hash: str, *, edit: bool) -> ReviewResponse:
    """An approval of the text the page showed; an edit is the editor's approval of the new text only."""
    request_id, principal = review.record["request_id"], review.principal
    text_hash = form_hash
    try:
        changes, problems = _edits(review, review.request.form) if edit else ({}, [])
        if problems:  # the page again, the edits kept, each finding beside its words: nothing decided
            page = _review_html(_with_edits(review, changes), problems=problems, checked=True)
            return ReviewResponse(422, page)
        if changes:
            edited = {c: {loc: dict(f) for loc, f in by.items()} for c, by in review.shown.items()}
            for (channel, locale), fields in changes.items():
                edited[channel][locale] = fields
            text_hash = content_hash(edited)
            review.approvals.replace_text(request_id, principal, form_hash, text_hash, edited)
            _write_text(review, edited)
            review = dataclasses.replace(review, shown=edited)
            approvers = [principal]
        else:
            approvers = review.approvals.approve(request_id, principal, text_hash)
    except TextChangedError:
        return text_changed_page()
    except ApprovalClosedError as closed:
        return closed_page(closed.state)
    if review.record.get("dual") and len(approvers) < 2:
        what = "edited the text (a second approver must approve the new text)" if changes else "approved"
        review.store.add_event(
            review.request.incident_id, "approval", f"{principal} {what}; waiting for a second approver"
        )
        text = "A second, different approver must approve this exact text too."
        if changes:
            text = "Your edit counts as your approval of the new text. " + text
        return message_page(202, "Your approval is recorded", text)
    return _finalise(review, "approved", approvers, text_hash, edited=bool(changes))


def _finalise(
    review: _Review, decision: str, approvers: list[str], text_hash: str, *, edited: bool = False
) -> ReviewResponse:
    """Claim the decision, send it, and only then record it; a failed send is never "approved"."""
    record, store, incident_id = review.record, review.store, review.request.incident_id
    request_id, claim = record["request_id"], uuid.uuid4().hex
    try:
        review.approvals.claim(request_id, claim, text_hash if decision == "approved" else None,
                               review.now.timestamp())  # fmt: skip
    except TextChangedError:
        return text_changed_page()
    except ApprovalClosedError as closed:
        return closed_page(closed.state)
    edited = edited or bool(record.get("messages"))
    outcome = decision_output(record, decision, approvers, edited, text_hash)
    pending = {
        **outcome,
        "decided_at": review.now.isoformat(),
        "final_messages": _final(review),
        "sent": False,
    }
    if decision == "approved":
        _write_text(review, review.shown)
    store.merge_update(incident_id, record["update_id"], {"approval": pending})
    try:
        # In the region of the execution that waits (recorded with the request; none: this region's).
        review.send_task_success(TaskToken(record["task_token"], record.get("task_region")), outcome)
    except TaskGoneError:
        review.approvals.finish(request_id, claim, TOO_LATE, {**outcome, "sent": False})
        store.merge_update(incident_id, record["update_id"], {"approval": None})
        store.add_event(
            incident_id, "approval", f"{decision} by {', '.join(approvers)} came too late: not sent"
        )
        return too_late_page(uncertain=bool(record.get("uncertain")))
    except Exception as error:  # whatever failed, the request must stay decidable
        _log.warning("SendTaskSuccess failed for %s: %s", request_id, type(error).__name__)
        review.approvals.release(request_id, claim)
        store.merge_update(incident_id, record["update_id"], {"approval": None})
        return message_page(
            503,
            "Not sent: try again",
            "The decision could not be handed to the workflow just now, "
            "so nothing was approved or sent. Press the button again in a few seconds.",
        )
    review.approvals.finish(request_id, claim, DECIDED, outcome)
    store.merge_update(incident_id, record["update_id"], {"approval": {**pending, "sent": True}})
    store.add_event(incident_id, "approval", f"{decision} by {', '.join(approvers)} (text {text_hash[:12]})")
    return _decided(review, outcome)


def _decided(review: _Review, outcome: dict[str, Any]) -> ReviewResponse:
    update = review.update
    latency: float | None = (
        review.now - datetime.fromisoformat(review.record["requested_at"])
    ).total_seconds()
    if update["scenario"] == Scenario.POST_INCIDENT_SUMMARY.value:
        latency = None  # the summary has days to be reviewed: not an approval-latency SLO sample
    return ReviewResponse(
        200,
        message_page(200, f"Update {outcome['decision']}", "Thank you.").body,
        outcome["decision"],
        latency,
        severity=update.get("severity"),
        scenario=update.get("scenario"),
        drill=is_drill(update),
    )


def _final(review: _Review) -> dict[str, Any]:
    """The update's messages carrying the text under review (what the channels will send)."""
    messages: dict[str, Any] = review.update["messages"]
    return {
        channel: {
            locale: {**message, "fields": review.shown.get(channel, {}).get(locale, message["fields"])}
            for locale, message in by_locale.items()
        }
        for channel, by_locale in messages.items()
    }


def _write_text(review: _Review, text: dict[str, Any]) -> None:
    """Put ``text`` into the update's messages (dropping HTML built from older words) if it differs."""
    messages = review.update["messages"]
    changed = False
    for channel, by_locale in text.items():
        for locale, fields in by_locale.items():
            message = messages[channel][locale]
            if message["fields"] != fields:
                message["fields"] = dict(fields)
                message.pop("html", None)  # the HTML was built from the old words
                changed = True
    if changed:
        review.store.merge_update(
            review.request.incident_id, review.record["update_id"], {"messages": messages}
        )


def _edits(
    review: _Review, form: Mapping[str, str]
) -> tuple[dict[tuple[str, str], dict[str, str]], list[str]]:
    """The changed messages (whole field sets) of an edit, and why they cannot be sent, if so."""
    changes: dict[tuple[str, str], dict[str, str]] = {}
    for key, raw in form.items():
        if not key.startswith("text:"):
            continue
        parts = key.split(":")
        current = review.shown.get(parts[1], {}).get(parts[2]) if len(parts) == 4 else None
        if current is None or parts[3] not in current:
            return {}, [f"unknown field {key[:120]}: edit only the text boxes the page shows"]
        _, channel, locale, name = parts
        try:  # the same rule as every other door for people's words (NFC, no control characters, a limit)
            value = check_text(raw, field=f"{channel}/{locale}/{name}", limit=MAX_EDIT_CHARS)
        except HumanTextError as problem:
            return {}, [str(problem)]
        if value not in (current[name], current[name].strip()):
            changes.setdefault((channel, locale), dict(current))[name] = value
    problems = []
    scenario = Scenario(review.update["scenario"])
    for (channel, locale), fields in changes.items():
        findings = guard_edited(review.plan, scenario, Channel(channel), locale, fields)
        problems += [f"{channel}/{locale}: {f}" for f in findings]
        if channel == Channel.BLUESKY.value:  # a linked word keeps its target (e.g. a signed feedback link)
            before = review.shown[channel][locale].get("body", "")
            if retargeted_links(before, fields.get("body", "")):
                problems.append(f"{channel}/{locale}: a linked word points somewhere new; keep its link")
    return changes, problems


def _review_html(review: _Review, *, problems: list[str] | None = None, checked: bool = False) -> str:
    return review_html(
        plan=review.plan,
        incident_id=review.request.incident_id,
        record=review.record,
        update=review.update,
        shown=review.shown,
        csrf=review.csrf,
        now=review.now,
        problems=problems,
        checked=checked,
    )
