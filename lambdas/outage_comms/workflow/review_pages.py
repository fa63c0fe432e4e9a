"""The review page's HTML answers: the page itself (every message as its channel shows it) and the short
pages that say what happened (decided, too late, the text changed), with the headers every answer carries."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from outage_comms.drill_mode import is_drill
from outage_comms.plan import Plan
from outage_comms.postmortem import gap_lines
from outage_comms.previews import channel_previews
from outage_comms.team_pages import render_page
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.approval_store import SENDING, TOO_LATE
from outage_comms.workflow.review_request import BadReviewRequestError

SECURITY_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


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


def bad_request(problem: BadReviewRequestError) -> ReviewResponse:
    """The page's answer to a request it cannot read."""
    return message_page(problem.status, "Request not accepted", problem.text)


def too_late_page(*, uncertain: bool = False) -> ReviewResponse:
    text = (
        "The workflow no longer waits for this decision (its approval time is over, or the incident moved "
        "on), so nothing was approved or sent from this page. Follow the newer request or the incident's "
        "timeline."
    )
    if uncertain:
        text += " An earlier press of the button may have reached the workflow: check the timeline."
    return message_page(410, "Too late: nothing was sent", text)


def already_decided_page() -> ReviewResponse:
    return message_page(410, "Already decided", "This update was already approved, edited or rejected.")


def text_changed_page() -> ReviewResponse:
    return message_page(
        409,
        "The text changed: review again",
        "Someone edited the messages after this page was shown, so your decision was not recorded. "
        "Reload the page, read the new text, and decide again.",
    )


def closed_page(state: str) -> ReviewResponse:
    if state == TOO_LATE:
        return too_late_page()
    if state == SENDING:
        return message_page(
            409, "Being decided", "Another approver's decision is being sent right now. Reload soon."
        )
    return already_decided_page()


def message_page(status: int, title: str, text: str) -> ReviewResponse:
    return ReviewResponse(status, render_page("review/message.html.j2", title=title, text=text, link=None))


_TIMEOUT_ACTIONS = {
    "escalate": "then it goes to the incident manager",
    "send_holding_statement": "then the holding statement is sent",
    "hold": "then nothing is sent (held)",
}


def _time_left(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute left"
    if minutes < 120:
        return f"{minutes} min left"
    hours = minutes // 60
    return f"{hours} h left" if hours < 48 else f"{hours // 24} days left"


def _who(principal: str) -> str:
    """A readable approver name: the role (or user) name of an IAM ARN."""
    return principal.rsplit("/", 1)[-1] if principal.startswith("arn:") else principal


def review_html(
    *,
    plan: Plan,
    incident_id: str,
    record: dict[str, Any],
    update: dict[str, Any],
    shown: dict[str, Any],
    csrf: str,
    now: datetime,
    problems: list[str] | None = None,
    checked: bool = False,
) -> str:
    """The review page: every message as the channel shows it, editable, with who decides and how soon."""
    scenario = Scenario(update["scenario"])
    summary = scenario is Scenario.POST_INCIDENT_SUMMARY
    severity_name, then = str(update.get("severity", "")), ""
    with contextlib.suppress(StopIteration, KeyError):
        severity = plan.severity(str(update.get("severity")))
        severity_name = severity.name.get(plan.default_locale) or next(iter(severity.name.values()))
        then = _TIMEOUT_ACTIONS.get(severity.approval.on_timeout.value, "")
    if summary:
        then = "then the incident closes without a public summary"
    seconds = int(record["expires_at"]) - now.timestamp()
    approvers = [_who(str(a)) for a in record.get("approvers") or []]
    if record.get("dual"):
        approvals = f"Approvals {min(len(approvers), 2)} of 2" + (
            f": {', '.join(approvers)}" if approvers else ""
        )
    else:
        approvals = "One approval needed"
    rendered = update["messages"]
    return render_page(
        "review/review.html.j2",
        title=f"Review {incident_id} · {update['scenario']}",
        org=plan.organization.name,
        incident_id=incident_id,
        update_id=update["update_id"],
        drill=is_drill(update),
        what=scenario.value.replace("_", " "),
        severity_name=severity_name,
        time_left=_time_left(seconds) + (f", {then}" if then else ""),
        urgent=seconds < 300,
        approvals_text=approvals,
        dual=bool(record.get("dual")),
        csrf=csrf,
        channels=channel_previews(
            plan, scenario, shown, rendered=rendered, blocked=list(update.get("blocked") or [])
        ),
        locales=plan.locale_codes,
        problems=problems or [],
        problems_title="These edits cannot be sent as they are:",
        checked=checked,
        gaps=gap_lines(update.get("summary_gaps") or {}) if summary else [],
    )
