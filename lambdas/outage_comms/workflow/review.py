"""The review page: server-rendered HTML that shows an update and takes one decision by POST.

``GET  /incidents/{incident_id}/review/{reference}``  shows every message per channel and locale
(never decides anything, whatever the query string says).
``POST /incidents/{incident_id}/review/{reference}``  with form fields ``csrf``, ``decision``
(``approve`` | ``edit`` | ``reject``) and, for edits, ``text:<channel>:<locale>:<field>``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import html
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from outage_comms.plan import Plan
from outage_comms.slo import is_drill
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
from outage_comms.workflow.store import WorkflowStore
from outage_comms.workflow.updates import guard_edited

SECURITY_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: The largest form the page accepts (every message of an update, edited, fits many times over).
MAX_BODY_BYTES = 256 * 1024
MAX_FORM_FIELDS = 500
MAX_PATH_CHARS = 2048
#: The longest text box an edit may send (the longest channel, email, is far shorter in practice).
MAX_EDIT_CHARS = 20_000


class BadReviewRequestError(Exception):
    """The request cannot be read (its body, encoding or shape); ``status`` says how to answer."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text

    def response(self) -> ReviewResponse:
        return _page(self.status, "Request not accepted", self.text)


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadReviewRequestError(400, f"{name} must be text.")
    if len(value) > MAX_PATH_CHARS:
        raise BadReviewRequestError(414, f"{name} is longer than {MAX_PATH_CHARS} characters.")
    return value


def _form(event: Mapping[str, Any]) -> dict[str, str]:
    body = event.get("body")
    if body is None or body == "":
        return {}
    if not isinstance(body, str):
        raise BadReviewRequestError(400, "The form must be sent as application/x-www-form-urlencoded text.")
    if len(body) > MAX_BODY_BYTES * 2:
        raise BadReviewRequestError(413, f"The form is larger than {MAX_BODY_BYTES // 1024} KB.")
    raw = body.encode("utf-8", "surrogatepass")
    if event.get("isBase64Encoded") is True:
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadReviewRequestError(400, "The form is not valid base64.") from None
    if len(raw) > MAX_BODY_BYTES:
        raise BadReviewRequestError(413, f"The form is larger than {MAX_BODY_BYTES // 1024} KB.")
    try:
        text = raw.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS)
    except UnicodeError:
        raise BadReviewRequestError(400, "The form must be UTF-8 text.") from None
    except ValueError:
        raise BadReviewRequestError(413, f"The form has more than {MAX_FORM_FIELDS} fields.") from None
    twice = sorted(k for k, v in fields.items() if len(v) > 1)
    if twice:
        raise BadReviewRequestError(400, f"The form gives {twice[0][:80]!r} more than once; send it once.")
    return {k: v[0] for k, v in fields.items()}


@dataclass(frozen=True)
class ReviewRequest:
    method: str
    incident_id: str
    reference: str
    caller_arn: str | None
    form: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api_event(cls, event: Mapping[str, Any]) -> ReviewRequest:
        """From an API Gateway REST proxy event; the caller is the IAM identity API Gateway verified.

        Raises :class:`BadReviewRequestError` (a 4xx) for a body or path the page cannot read.
        """
        if not isinstance(event, Mapping):
            raise BadReviewRequestError(400, "Not an API Gateway request.")
        params = event.get("pathParameters") or {}
        context = event.get("requestContext") or {}
        identity = context.get("identity") if isinstance(context, Mapping) else None
        identity = identity if isinstance(identity, Mapping) else {}
        if not isinstance(params, Mapping):
            raise BadReviewRequestError(400, "The path names no incident and review reference.")
        caller = identity.get("userArn") or identity.get("caller")
        return cls(
            method=_text(event.get("httpMethod") or "GET", "The method").upper(),
            incident_id=_text(params.get("incident_id"), "The incident id"),
            reference=_text(params.get("reference"), "The review reference"),
            caller_arn=caller if isinstance(caller, str) else None,
            form=_form(event),
        )


@dataclass(frozen=True)
class ReviewResponse:
    status: int
    body: str
    decided: str | None = None
    approval_latency_seconds: float | None = None
    #: The decided update's severity, scenario and drill flag, for the communication SLO metrics.
    severity: str | None = None
    scenario: str | None = None
    drill: bool = False

    def as_api_response(self) -> dict[str, Any]:
        headers = dict(SECURITY_HEADERS)
        if self.status == 503:
            headers["Retry-After"] = "5"
        return {"statusCode": self.status, "headers": headers, "body": self.body}


TaskSuccess = Callable[[str, dict[str, Any]], None]


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
        return _page(405, "Method not allowed", "Open the link to review; decide with the page's buttons.")
    try:
        reference = signer.verify(request.reference, incident_id=request.incident_id, now=now)
    except ReferenceExpiredError:
        return _too_late()
    except ReferenceError_ as problem:
        return _page(403, "This review link cannot be used", f"{problem}. Ask for a new link.")
    record = approvals.get(reference.request_id)
    if record is None or record["incident_id"] != request.incident_id:
        return _page(404, "No such review", "This review request does not exist.")
    principal = principal_arn(request.caller_arn or "")
    if principal not in record["allowed_principals"]:
        return _page(403, "Not an approver", "Only the approvers listed in the plan may review this update.")
    if record["state"] == SENDING and float(record["claimed_at"]) < now.timestamp() - STALE_CLAIM_SECONDS:
        with contextlib.suppress(ApprovalClosedError):  # its caller died between claim and finalise
            approvals.release(record["request_id"], str(record["claim_id"]))
        record = approvals.get(reference.request_id) or record
    if record["state"] == DECIDED:
        return _already_decided()
    if record["state"] == TOO_LATE or now.timestamp() >= int(record["expires_at"]):
        return _too_late()
    update = store.get_update(request.incident_id, record["update_id"])
    review = _Review(
        request, record, update, principal, shown_messages(record, update), plan, store, approvals,
        send_task_success, now,
    )  # fmt: skip
    if request.method == "GET":
        return ReviewResponse(200, _review_html(review, signer))
    form_hash = signer.csrf_content_hash(request.form.get("csrf"), record["request_id"], principal)
    if form_hash is None:
        return _page(403, "Form expired", "The form's security token is missing or wrong. Reload the page.")
    decision = request.form.get("decision", "")
    if decision not in ("approve", "edit", "reject"):
        return _page(400, "Unknown decision", "Use the Approve, Edit or Reject button.")
    if decision == "reject":
        return _finalise(review, "rejected", [principal], record["content_hash"])
    if form_hash != record["content_hash"]:
        return _text_changed()
    return _approve(review, form_hash, edit=decision == "edit")


def _approve(review: _Review, form_hash: str, *, edit: bool) -> ReviewResponse:
    """An approval of the text the page showed; an edit is the editor's approval of the new text only."""
    request_id, principal = review.record["request_id"], review.principal
    text_hash = form_hash
    try:
        changes, problems = _edits(review, review.request.form) if edit else ({}, [])
        if problems:
            return _page(422, "Edits not accepted", "; ".join(problems))
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
        return _text_changed()
    except ApprovalClosedError as closed:
        return _closed(closed.state)
    if review.record.get("dual") and len(approvers) < 2:
        what = "edited the text (a second approver must approve the new text)" if changes else "approved"
        review.store.add_event(
            review.request.incident_id, "approval", f"{principal} {what}; waiting for a second approver"
        )
        text = "A second, different approver must approve this exact text too."
        if changes:
            text = "Your edit counts as your approval of the new text. " + text
        return _page(202, "Your approval is recorded", text)
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
        return _text_changed()
    except ApprovalClosedError as closed:
        return _closed(closed.state)
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
        review.send_task_success(record["task_token"], outcome)
    except TaskGoneError:
        review.approvals.finish(request_id, claim, TOO_LATE, {**outcome, "sent": False})
        store.merge_update(incident_id, record["update_id"], {"approval": None})
        store.add_event(
            incident_id, "approval", f"{decision} by {', '.join(approvers)} came too late: not sent"
        )
        return _too_late(uncertain=bool(record.get("uncertain")))
    except Exception:  # whatever failed, the request must stay decidable
        review.approvals.release(request_id, claim)
        store.merge_update(incident_id, record["update_id"], {"approval": None})
        return _page(503, "Not sent: try again", "The decision could not be handed to the workflow just now, "
                     "so nothing was approved or sent. Press the button again in a few seconds.")  # fmt: skip
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
        _page(200, f"Update {outcome['decision']}", "Thank you.").body,
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
        value = unicodedata.normalize("NFC", raw.replace("\r\n", "\n"))
        if (problem := _unusable(value)) is not None:
            return {}, [f"{channel}/{locale}/{name}: {problem}"]
        if value != current[name]:
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


def _unusable(text: str) -> str | None:
    """Why an edited text cannot go to customers (a control character, too long), or None."""
    if len(text) > MAX_EDIT_CHARS:
        return f"longer than {MAX_EDIT_CHARS} characters; shorten it"
    for position, char in enumerate(text):
        if char in "\n\t":
            continue
        if (
            unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")
            or 0xFDD0 <= ord(char) <= 0xFDEF
            or (ord(char) & 0xFFFE == 0xFFFE)
        ):
            return f"character U+{ord(char):04X} at position {position} cannot be sent; remove it"
    return None


def _too_late(*, uncertain: bool = False) -> ReviewResponse:
    text = (
        "The workflow no longer waits for this decision (its approval time is over, or the incident moved "
        "on), so nothing was approved or sent from this page. Follow the newer request or the incident's "
        "timeline."
    )
    if uncertain:
        text += " An earlier press of the button may have reached the workflow: check the timeline."
    return _page(410, "Too late: nothing was sent", text)


def _already_decided() -> ReviewResponse:
    return _page(410, "Already decided", "This update was already approved, edited or rejected.")


def _text_changed() -> ReviewResponse:
    return _page(
        409,
        "The text changed: review again",
        "Someone edited the messages after this page was shown, so your decision was not recorded. "
        "Reload the page, read the new text, and decide again.",
    )


def _closed(state: str) -> ReviewResponse:
    if state == TOO_LATE:
        return _too_late()
    if state == SENDING:
        return _page(
            409, "Being decided", "Another approver's decision is being sent right now. Reload soon."
        )
    return _already_decided()


def _page(status: int, title: str, text: str) -> ReviewResponse:
    body = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title></head>"
        f"<body><main><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></main></body></html>"
    )
    return ReviewResponse(status, body)


def _review_html(review: _Review, signer: ReviewSigner) -> str:
    e = html.escape
    record, update, incident_id = review.record, review.update, review.request.incident_id
    # The form's token names the exact text shown: a decision on older text is refused (409).
    csrf = signer.csrf_token(record["request_id"], review.principal, record["content_hash"])
    rows = []
    for channel, by_locale in review.shown.items():
        for locale, fields_by_name in by_locale.items():
            fields = "".join(
                f"<label>{e(name)}<textarea name='{e(f'text:{channel}:{locale}:{name}')}' rows=4 cols=90>"
                f"{e(value)}</textarea></label>"
                for name, value in fields_by_name.items()
            )
            rows.append(f"<fieldset><legend>{e(channel)} · {e(locale)}</legend>{fields}</fieldset>")
    blocked = "".join(
        f"<li>{e(b['channel'])} · {e(b['locale'])}: {e('; '.join(b['reasons']))}</li>"
        for b in update["blocked"]
    )
    dual = ""
    if record.get("dual"):
        so_far = ", ".join(record["approvers"]) or "nobody yet"
        dual = (
            "<p>This severity needs two different approvers of this exact text. "
            f"Approved so far by: {e(so_far)}.</p>"
        )
    what = e(update["scenario"].replace("_", " "))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Review {e(incident_id)} · {e(update['scenario'])}</title></head><body><main>"
        f"<h1>{e(review.plan.organization.name)}: review the {what} update</h1>"
        f"<p>Incident {e(incident_id)}, update {e(update['update_id'])}.</p>{dual}"
        f"<form method=post><input type=hidden name=csrf value='{e(csrf)}'>{''.join(rows)}"
        f"<h2>Blocked by the guard (not sent)</h2><ul>{blocked or '<li>none</li>'}</ul>"
        "<button name=decision value=approve>Approve</button> "
        "<button name=decision value=edit>Save edits and approve</button> "
        "<button name=decision value=reject>Reject</button></form></main></body></html>"
    )
