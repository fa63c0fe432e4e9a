"""The review page: server-rendered HTML that shows an update and takes one decision by POST.

``GET  /incidents/{incident_id}/review/{reference}``  shows every message per channel and locale
(never decides anything, whatever the query string says).
``POST /incidents/{incident_id}/review/{reference}``  with form fields ``csrf``, ``decision``
(``approve`` | ``edit`` | ``reject``) and, for edits, ``text:<channel>:<locale>:<field>``.
"""

from __future__ import annotations

import html
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
    ReviewSigner,
    decision_output,
    principal_arn,
)
from outage_comms.workflow.store import ApprovalAlreadyDecidedError, WorkflowStore
from outage_comms.workflow.updates import guard_edited

SECURITY_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class ReviewRequest:
    method: str
    incident_id: str
    reference: str
    caller_arn: str | None
    form: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api_event(cls, event: Mapping[str, Any]) -> ReviewRequest:
        """From an API Gateway REST proxy event; the caller is the IAM identity API Gateway verified."""
        params = event.get("pathParameters") or {}
        identity = (event.get("requestContext") or {}).get("identity") or {}
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            import base64

            body = base64.b64decode(body).decode("utf-8")
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()} if body else {}
        return cls(
            method=str(event.get("httpMethod", "GET")).upper(),
            incident_id=str(params.get("incident_id", "")),
            reference=str(params.get("reference", "")),
            caller_arn=identity.get("userArn") or identity.get("caller"),
            form=form,
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
        return {"statusCode": self.status, "headers": dict(SECURITY_HEADERS), "body": self.body}


TaskSuccess = Callable[[str, dict[str, Any]], None]


def handle_review(
    request: ReviewRequest,
    *,
    plan: Plan,
    store: WorkflowStore,
    signer: ReviewSigner,
    send_task_success: TaskSuccess,
    now: datetime,
) -> ReviewResponse:
    """Verify the link and the caller, then show (GET) or decide (POST). Refuses with 4xx otherwise."""
    if request.method not in ("GET", "POST"):
        return _page(405, "Method not allowed", "Open the link to review; decide with the page's buttons.")
    try:
        reference = signer.verify(request.reference, incident_id=request.incident_id, now=now)
    except ReferenceError_ as problem:
        return _page(403, "This review link cannot be used", f"{problem}. Ask for a new link.")
    record = store.get_approval(reference.request_id)
    if record is None or record["incident_id"] != request.incident_id:
        return _page(404, "No such review", "This review request does not exist.")
    principal = principal_arn(request.caller_arn or "")
    if principal not in record["allowed_principals"]:
        return _page(403, "Not an approver", "Only the approvers listed in the plan may review this update.")
    if record["used"]:
        return _page(410, "Already decided", "This update was already approved, edited or rejected.")
    update = store.get_update(request.incident_id, record["update_id"])
    if request.method == "GET":
        return ReviewResponse(200, _review_html(plan, request, record, update, signer, principal))
    if not signer.csrf_valid(request.form.get("csrf"), reference.request_id, principal):
        return _page(403, "Form expired", "The form's security token is missing or wrong. Reload the page.")
    decision = request.form.get("decision", "")
    if decision not in ("approve", "edit", "reject"):
        return _page(400, "Unknown decision", "Use the Approve, Edit or Reject button.")
    return _decide(request, record, update, decision, principal, plan, store, send_task_success, now)


def _decide(
    request: ReviewRequest,
    record: dict[str, Any],
    update: dict[str, Any],
    decision: str,
    principal: str,
    plan: Plan,
    store: WorkflowStore,
    send_task_success: TaskSuccess,
    now: datetime,
) -> ReviewResponse:
    request_id = record["request_id"]
    edited = False
    if decision == "edit":
        changes, problems = _edits(plan, update, request.form)
        if problems:
            return _page(422, "Edits not accepted", "; ".join(problems))
        edited = bool(changes)
        if edited:
            messages = update["messages"]
            for (channel, locale), fields in changes.items():
                messages[channel][locale]["fields"] = fields
                messages[channel][locale].pop("html", None)  # the HTML was built from the old words
            store.merge_update(request.incident_id, record["update_id"], {"messages": messages})
    try:
        if decision == "reject":
            approvers = [principal]
        else:
            approvers = store.add_approver(request_id, principal)
            if record.get("dual") and len(approvers) < 2:
                store.add_event(
                    request.incident_id, "approval", f"first approval by {principal}; waiting for a second"
                )
                return _page(202, "First approval recorded", "A second, different approver must approve too.")
        outcome = decision_output(
            record, "rejected" if decision == "reject" else "approved", approvers, edited
        )
        store.close_approval(request_id, outcome)
    except ApprovalAlreadyDecidedError:
        return _page(410, "Already decided", "This update was already approved, edited or rejected.")
    final = store.get_update(request.incident_id, record["update_id"])
    store.merge_update(
        request.incident_id,
        record["update_id"],
        {"approval": {**outcome, "decided_at": now.isoformat(), "final_messages": final["messages"]}},
    )
    store.add_event(request.incident_id, "approval", f"{outcome['decision']} by {', '.join(approvers)}")
    send_task_success(record["task_token"], outcome)
    latency: float | None = (now - datetime.fromisoformat(record["requested_at"])).total_seconds()
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


def _edits(
    plan: Plan, update: dict[str, Any], form: Mapping[str, str]
) -> tuple[dict[tuple[str, str], dict[str, str]], list[str]]:
    changes: dict[tuple[str, str], dict[str, str]] = {}
    for key, value in form.items():
        if not key.startswith("text:"):
            continue
        parts = key.split(":")
        if len(parts) != 4:
            return {}, [f"unknown field {key}"]
        _, channel, locale, name = parts
        current = update["messages"].get(channel, {}).get(locale)
        if current is None or name not in current["fields"]:
            return {}, [f"unknown message {channel}/{locale}/{name}"]
        if value.replace("\r\n", "\n") != current["fields"][name]:
            fields = changes.setdefault((channel, locale), dict(current["fields"]))
            fields[name] = value.replace("\r\n", "\n")
    problems = []
    for (channel, locale), fields in changes.items():
        findings = guard_edited(plan, Scenario(update["scenario"]), Channel(channel), locale, fields)
        problems += [f"{channel}/{locale}: {f}" for f in findings]
        if channel == Channel.BLUESKY.value:  # a linked word keeps its target (e.g. a signed feedback link)
            before = update["messages"][channel][locale]["fields"].get("body", "")
            if retargeted_links(before, fields.get("body", "")):
                problems.append(f"{channel}/{locale}: a linked word points somewhere new; keep its link")
    return changes, problems


def _page(status: int, title: str, text: str) -> ReviewResponse:
    body = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title></head>"
        f"<body><main><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></main></body></html>"
    )
    return ReviewResponse(status, body)


def _review_html(
    plan: Plan,
    request: ReviewRequest,
    record: dict[str, Any],
    update: dict[str, Any],
    signer: ReviewSigner,
    principal: str,
) -> str:
    e = html.escape
    csrf = signer.csrf_token(record["request_id"], principal)
    rows = []
    for channel, by_locale in update["messages"].items():
        for locale, message in by_locale.items():
            fields = "".join(
                f"<label>{e(name)}<textarea name='{e(f'text:{channel}:{locale}:{name}')}' rows=4 cols=90>"
                f"{e(value)}</textarea></label>"
                for name, value in message["fields"].items()
            )
            rows.append(f"<fieldset><legend>{e(channel)} · {e(locale)}</legend>{fields}</fieldset>")
    blocked = "".join(
        f"<li>{e(b['channel'])} · {e(b['locale'])}: {e('; '.join(b['reasons']))}</li>"
        for b in update["blocked"]
    )
    dual = "<p>This severity needs two different approvers.</p>" if record.get("dual") else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Review {e(request.incident_id)} · {e(update['scenario'])}</title></head><body><main>"
        f"<h1>{e(plan.organization.name)}: review the {e(update['scenario'].replace('_', ' '))} update</h1>"
        f"<p>Incident {e(request.incident_id)}, update {e(update['update_id'])}. {dual}</p>"
        f"<form method=post><input type=hidden name=csrf value='{e(csrf)}'>{''.join(rows)}"
        f"<h2>Blocked by the guard (not sent)</h2><ul>{blocked or '<li>none</li>'}</ul>"
        "<button name=decision value=approve>Approve</button> "
        "<button name=decision value=edit>Save edits and approve</button> "
        "<button name=decision value=reject>Reject</button></form></main></body></html>"
    )
