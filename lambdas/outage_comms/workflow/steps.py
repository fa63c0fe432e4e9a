"""What each state of the incident-comms workflow does. One function per Lambda-backed state.

Every function takes the state's input (a plain dict) and a :class:`Services` bundle (real
adapters in Lambda, fakes in unit tests) and returns a small dict for the state machine; large
data (rendered messages) stays in the workflow table.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from outage_comms.channels.base import (
    ChannelAdapter,
    ChannelRetryableError,
    ChannelUnavailableError,
    Delivery,
    DeliveryResult,
)
from outage_comms.channels.internal_chat import custom_notification
from outage_comms.clock import now as clock_now
from outage_comms.drill_mode import NO_DRILL_TARGET, drill_delivery, injected_failure, mark_internal
from outage_comms.feedback.links import FeedbackLinker
from outage_comms.feedback.messages import UpdateFeedback
from outage_comms.incident import Incident, IncidentSource, TimelineEntry
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Rejection, to_signal
from outage_comms.plan import Plan
from outage_comms.ports import ConcurrentUpdateError, FeedbackTally, IncidentRepository
from outage_comms.vocabulary import Channel, Scenario
from outage_comms.workflow.approval import (
    Reference,
    ReviewSigner,
    approvers_for,
    content_hash,
    new_request_id,
)
from outage_comms.workflow.approval_store import ApprovalStore, InMemoryApprovalStore
from outage_comms.workflow.channels_plan import TEAM_CHANNELS
from outage_comms.workflow.delivery_ledger import Claim, DeliveryLedger
from outage_comms.workflow.store import WorkflowStore
from outage_comms.workflow.timing import MAX_REVIEW_LINK_MINUTES, Clock, timing_for
from outage_comms.workflow.updates import incident_fingerprint, render_update, scenario_for


class IncidentRejectedError(Exception):
    """The runbook input cannot become an incident (the reason says why)."""


class Notifier(Protocol):
    """Tells a person something: the team's chat and email."""

    def chat(self, document: dict[str, Any]) -> str | None: ...

    def email(self, to: str, subject: str, text: str) -> str | None: ...


@dataclass
class Services:
    plan: Plan
    repository: IncidentRepository
    store: WorkflowStore
    notifier: Notifier
    channel: Callable[[Channel], ChannelAdapter | None]
    signer: Callable[[], ReviewSigner]
    send_task_success: Callable[[str, dict[str, Any]], None]
    execution_running: Callable[[str], bool]
    review_base_url: str = ""
    #: The time people read (the plan clock in an embedded drill; real UTC in production).
    now: Callable[[], datetime] = clock_now
    #: A drill's adapters: the drill audience, topic and test targets only (None: no drill target).
    drill_channel: Callable[[Channel], ChannelAdapter | None] = lambda _channel: None
    #: Customer answers to the feedback links, for the post-incident summary (None: not configured).
    feedback_tally: FeedbackTally | None = None
    #: Makes the "Was this update helpful?" links of an update (None: this deployment has no feedback API).
    feedback_links: Callable[[], FeedbackLinker | None] = lambda: None
    #: Approval requests and their task tokens (their own table; only the approval functions reach it).
    approvals: ApprovalStore = field(default_factory=InMemoryApprovalStore)
    #: Exactly once per (incident, update, channel): claimed before each send (None: no ledger, fakes).
    deliveries: DeliveryLedger | None = None


# ---------------------------------------------------------------------------------------------
# Register incident
# ---------------------------------------------------------------------------------------------


def register_incident(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Find (or, for a runbook input, open) the incident and claim it for this execution.

    Returns ``duplicate: true`` when another running execution already speaks for the incident.
    """
    raw = dict(event.get("input") or {})
    clock = Clock.from_input(raw.get("clock"))
    if "incident_id" in raw:
        incident = services.repository.get(str(raw["incident_id"]))
    elif "IncidentRecordArn" in raw:
        incident = _incident_from_runbook(raw, services)
    else:
        raise IncidentRejectedError("input has neither 'incident_id' nor 'IncidentRecordArn'")
    execution_arn = str(event["execution_arn"])
    owner = services.store.claim(incident.id, execution_arn, services.execution_running)
    duplicate = owner != execution_arn
    services.store.add_event(
        incident.id,
        "duplicate" if duplicate else "registered",
        f"execution {execution_arn.rsplit(':', 1)[-1]} "
        + (
            f"ends: {owner.rsplit(':', 1)[-1]} already runs for this incident"
            if duplicate
            else "owns the incident"
        ),
    )
    return {
        "incident_id": incident.id,
        "duplicate": duplicate,
        "clock": clock.model_dump(),
        "update": {"change": "opened"},
    }


def _incident_from_runbook(raw: dict[str, Any], services: Services) -> Incident:
    # Automation passes every parameter, unset ones as "": drop those before intake reads them.
    cleaned = {k: v for k, v in raw.items() if v not in ("", None, [], [""]) and k != "clock"}
    plan, repository = services.plan, services.repository
    signal = to_signal(cleaned, plan, received_at=services.now())
    if isinstance(signal, Rejection):
        raise IncidentRejectedError(f"{signal.code}: {signal.reason}")
    for _ in range(3):
        existing = repository.find_by_reference(signal.source.reference)
        if existing is not None:
            return existing
        decision = decide(signal, repository.open_by_component(signal.components), plan, services.now())
        if decision.incident is None:
            raise IncidentRejectedError(decision.reason)
        try:
            repository.save(decision.incident, decision.previous_version)
        except ConcurrentUpdateError:
            continue
        return decision.incident
    raise IncidentRejectedError("the incident kept changing while the runbook registered it; run it again")


# ---------------------------------------------------------------------------------------------
# Render update
# ---------------------------------------------------------------------------------------------


def render(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Render and guard every message of this update, store them, return the update's summary."""
    incident = services.repository.get(str(event["incident_id"]))
    request = dict(event.get("update") or {})
    clock = Clock.from_input(event.get("clock"))
    scenario = scenario_for(incident, request)
    now = services.now()
    started = time.perf_counter()
    summary = request.get("summary") if scenario is Scenario.POST_INCIDENT_SUMMARY else None
    number = services.store.next_update_number(incident.id)
    update_id = f"{number:03d}-{scenario.value}"  # before rendering: feedback links are signed per update
    linker = services.feedback_links()
    feedback = UpdateFeedback(linker, incident.id, update_id, now) if linker else None
    messages, blocked = render_update(
        services.plan, incident, scenario, now, summary=summary, feedback=feedback
    )
    pre_approved = bool(request.get("pre_approved"))
    record = {
        "update_id": update_id,
        "incident_id": incident.id,
        "scenario": scenario.value,
        "reason": request.get("holding_reason") or request.get("change") or request.get("reason", "update"),
        "severity": incident.severity,
        "components": list(incident.components),
        "audiences": list(incident.audiences),
        "fingerprint": incident_fingerprint(incident),
        "rendered_at": now.isoformat(),
        "incident_started_at": incident.started_at.isoformat(),
        # The communication SLO metrics (outage_comms/slo.py) keep drills and compressed clocks apart.
        "drill": incident.drill,
        "drill_failures": list(incident.drill_failures),
        "seconds_per_minute": clock.seconds_per_minute,
        "messages": messages,
        "blocked": blocked,
        "pre_approved": pre_approved,
    }
    if summary:
        record["summary_text"] = summary["text"]  # the draft as plain text, per locale
        record["summary_gaps"] = summary.get("gaps") or {}  # cause / fix / impact nobody typed, per locale
    services.store.put_update(incident.id, update_id, record)
    services.store.add_event(
        incident.id,
        "rendered",
        f"{update_id}: {sum(len(v) for v in messages.values())} messages, {len(blocked)} blocked by the "
        f"guard ({(time.perf_counter() - started) * 1000:.0f} ms)"
        + "".join(
            f"; {b['channel']}/{b['locale']} {'fallback text sent' if b.get('fallback') else 'not sent'}: "
            f"{b['reasons'][0][:200]}"
            for b in blocked
        ),
    )
    timing = timing_for(services.plan, incident.severity, clock, incident=incident, now=now)
    if scenario is Scenario.POST_INCIDENT_SUMMARY:
        timing = summary_timing(services.plan, timing, clock)
    return {
        "update_id": update_id,
        "scenario": scenario.value,
        # A completed (or cancelled) maintenance window ends its execution too; "maintenance" tells
        # the state machine it gets no post-incident summary.
        "resolved": scenario is Scenario.RESOLVED
        or (scenario is Scenario.MAINTENANCE_COMPLETED and not incident.is_open),
        "maintenance": incident.maintenance_phase is not None,
        "needs_approval": timing["approval_required"] and not pre_approved,
        "blocked": len(blocked),
        "timing": timing,
    }


# ---------------------------------------------------------------------------------------------
# Notify team first
# ---------------------------------------------------------------------------------------------


def notify_team(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """One team chat hears (with the draft customer words) before any customer: one per Parallel branch.

    A failure raises the channel's typed error: the branch retries it like a customer channel, then
    records it and dead-letters it for ``outage-comms redrive``. Branches run side by side, so one
    team chat failing never keeps the others waiting.
    """
    incident_id, update_id = str(event["incident_id"]), str(event["update_id"])
    channel = Channel(str(event["channel"]))
    if channel not in TEAM_CHANNELS:
        raise ValueError(f"{channel.value} is not a team chat; team chats are {sorted(TEAM_CHANNELS)}")
    update = services.store.get_update(incident_id, update_id)
    result = _send_once(services, update, channel)
    services.store.add_event(incident_id, "team_notified", f"{channel.value}: {result.status}")
    return {"channel": channel.value, "status": result.status}


# ---------------------------------------------------------------------------------------------
# Wait for approval (waitForTaskToken)
# ---------------------------------------------------------------------------------------------


def request_approval(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Store the task token server-side and send the approver a signed, expiring, single-use review link.

    The link dies no later than the task: ``entered_at`` (``$$.State.EnteredTime``) plus the task's
    ``timeout_seconds``, rounded down, so nobody approves on a page whose task already timed out.
    """
    plan = services.plan
    incident_id, update_id = str(event["incident_id"]), str(event["update_id"])
    role = str(event.get("role", "communications_manager"))
    timeout_seconds = int(event["timeout_seconds"])
    update = services.store.get_update(incident_id, update_id)
    now = services.now()
    # The link's expiry is wall time, like the task's EnteredTime and the review page's check.
    wall = datetime.now(UTC)
    clock = Clock.from_input(event.get("clock"))
    summary = update["scenario"] == Scenario.POST_INCIDENT_SUMMARY.value
    # The summary is not urgent: its link lives as long as its review may take (the plan's days).
    lifetime = timeout_seconds if summary else min(timeout_seconds, clock.seconds(MAX_REVIEW_LINK_MINUTES))
    entered = datetime.fromisoformat(str(event["entered_at"])) if event.get("entered_at") else wall
    expires_at = min(
        math.floor(entered.timestamp() + timeout_seconds), math.ceil(wall.timestamp()) + lifetime
    )
    request_id = new_request_id()
    shown = {
        channel: {locale: dict(message["fields"]) for locale, message in by_locale.items()}
        for channel, by_locale in update["messages"].items()
    }
    services.approvals.put(
        {
            "request_id": request_id,
            "incident_id": incident_id,
            "update_id": update_id,
            "role": role,
            "task_token": str(event["token"]),
            "expires_at": expires_at,
            "allowed_principals": approvers_for(plan, role),
            "dual": plan.severity(update["severity"]).approval.dual,
            "requested_at": now.isoformat(),
            "content_hash": content_hash(shown),
        }
    )
    reference = services.signer().sign(Reference(request_id, incident_id, expires_at))
    link = f"{services.review_base_url.rstrip('/')}/incidents/{incident_id}/review/{reference}"
    person = getattr(plan.roles, role)
    escalated = role == "incident_manager"
    what = update["scenario"].replace("_", " ")
    subject = f"{'[escalated] ' if escalated else ''}Approve the {what} update for {incident_id}"
    subject = mark_internal(plan, update.get("drill") is True, subject)
    minutes = max(1, int((expires_at - math.ceil(wall.timestamp())) // clock.seconds_per_minute))
    text = (
        f"{person.name}, customers are waiting for the {update['scenario'].replace('_', ' ')} update of "
        f"{incident_id}. Review every message and approve, edit or reject it here (the link works once and "
        f"expires in {minutes} minute(s)):\n\n{link}\n"
    )
    if summary:
        subject = mark_internal(
            plan, update.get("drill") is True, f"Approve the post-incident summary for {incident_id}"
        )
        text = summary_request_text(person.name, incident_id, link, plan.post_incident.approval_timeout_days)
        text += summary_gaps_text(update.get("summary_gaps") or {})
    services.notifier.email(person.email, subject, text)
    services.notifier.chat(
        custom_notification(
            title=subject,
            description=f"{person.chat_handle} please review: {link}",
            thread_id=incident_id,
            keywords=["approval", update["scenario"]],
        )
    )
    services.store.add_event(incident_id, "approval_requested", f"{update_id} sent to {role} ({person.name})")
    return {"request_id": request_id, "review_link": link, "expires_at": expires_at}


# ---------------------------------------------------------------------------------------------
# Fan out to channels
# ---------------------------------------------------------------------------------------------


def _deliver(services: Services, update: dict[str, Any], channel: Channel) -> DeliveryResult:
    by_locale = update["messages"].get(channel.value)
    if not by_locale:
        blocked = [b for b in update["blocked"] if b["channel"] == channel.value]
        detail = "blocked by the guard" if blocked else f"not used for {update['scenario']}"
        return DeliveryResult(channel=channel.value, status="skipped", detail=detail)
    drill = update.get("drill") is True
    if drill and (failure := injected_failure(update, channel)) is not None:
        raise failure
    try:
        adapter = services.drill_channel(channel) if drill else services.channel(channel)
    except ChannelUnavailableError as error:
        return DeliveryResult(channel=channel.value, status="skipped", detail=f"not configured: {error}")
    if adapter is None:
        return DeliveryResult(
            channel=channel.value,
            status="skipped",
            detail=NO_DRILL_TARGET if drill else "no adapter delivers this channel",
        )
    delivery = Delivery(
        incident_id=update["incident_id"],
        update_id=update["update_id"],
        channel=channel,
        scenario=update["scenario"],
        components=update["components"],
        audiences=update["audiences"],
        severity=update["severity"],
        messages={locale: m["fields"] for locale, m in by_locale.items()},
        html={locale: m["html"] for locale, m in by_locale.items() if m.get("html")},
    )
    return adapter.deliver(drill_delivery(services.plan, delivery) if drill else delivery)


#: What an attempt returns when the ledger says this delivery went out before: nothing is sent again.
ALREADY_DELIVERED = "already_delivered"
#: What an attempt returns in a region that no longer owns the incident: nothing sent, nothing recorded.
FENCED_OUT = "fenced"


def _send_once(services: Services, update: dict[str, Any], channel: Channel) -> DeliveryResult:
    """``_deliver`` behind the delivery ledger: at most one successful send per (incident, update, channel).

    A retry or a redrive of a delivery that already went out returns ``already_delivered``; an attempt
    that finds another one still sending raises ``ChannelRetryableError`` (retried, then dead-lettered).
    """
    ledger = services.deliveries
    if ledger is None:
        return _deliver(services, update, channel)
    incident_id, update_id = str(update["incident_id"]), str(update["update_id"])
    claim = ledger.claim(incident_id, update_id, channel.value)
    if claim.outcome is Claim.DONE:
        detail = f"{claim.status} before (attempt {claim.attempts}); not sent again"
        return DeliveryResult(channel=channel.value, status=ALREADY_DELIVERED, detail=detail)
    if claim.outcome is Claim.FENCED:  # another region drives this incident now (regions/lease.py)
        return DeliveryResult(channel=channel.value, status=FENCED_OUT, detail=claim.status)
    if claim.outcome is Claim.BUSY:
        raise ChannelRetryableError(f"another attempt is still sending {update_id} via {channel.value}")
    try:
        result = _deliver(services, update, channel)
    except Exception as error:
        ledger.release(incident_id, update_id, channel.value, claim.token, f"{type(error).__name__}: {error}")
        raise
    ledger.finish(incident_id, update_id, channel.value, claim.token, result.status)
    return result


def deliver_channel(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Send this update through one channel and record the result on the incident."""
    incident_id, update_id = str(event["incident_id"]), str(event["update_id"])
    channel = Channel(str(event["channel"]))
    update = services.store.get_update(incident_id, update_id)
    result = _send_once(services, update, channel)
    if result.status not in (ALREADY_DELIVERED, FENCED_OUT):  # the incident already shows how it went
        record = {**result.as_dict(), "at": services.now().isoformat()}
        services.repository.record_delivery(incident_id, update_id, channel.value, record)
    since_start = services.now() - datetime.fromisoformat(update["incident_started_at"])
    return {
        "channel": channel.value,
        "status": result.status,
        "seconds_since_start": since_start.total_seconds(),
    }


def record_published(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """``Record published words``, after the fan-out: the status page's (and in-app) words of this
    update, exactly as approved and sent, become the incident's ``published`` update: the only words
    the public status site shows.

    Reached only once the update went out (approved, edited then approved, or sent as the plan
    allows without approval); a rejected, held or timed-out update never gets here. The post-incident
    summary is recorded by ``record_postmortem`` instead.
    """
    from outage_comms.incident import MAX_PUBLISHED_UPDATES, PublishedUpdate, PublishedWords
    from outage_comms.status.model import published_status

    incident_id, update_id = str(event["incident_id"]), str(event["update_id"])
    update = services.store.get_update(incident_id, update_id)
    scenario = Scenario(update["scenario"])
    final = (update.get("approval") or {}).get("final_messages") or update["messages"]

    def words(channel: Channel) -> dict[str, PublishedWords]:
        return {
            locale: PublishedWords(title=str(m["fields"].get("title", "")), body=str(m["fields"]["body"]))
            for locale, m in (final.get(channel.value) or {}).items()
            if m.get("fields", {}).get("body")
        }

    text, in_app = words(Channel.STATUS_PAGE), words(Channel.IN_APP)
    if scenario is Scenario.POST_INCIDENT_SUMMARY:
        return {"channel": Channel.STATUS_PAGE.value, "status": "skipped", "locales": []}
    for _ in range(3):
        incident = services.repository.get(incident_id)
        if any(p.update_id == update_id for p in incident.published):
            break  # a retried invocation: already recorded
        entry = PublishedUpdate(
            update_id=update_id,
            at=services.now(),
            status=published_status(services.plan, incident, scenario),
            scenario=scenario,
            text=text,
            in_app=in_app,
        )
        published = (*incident.published, entry)[-MAX_PUBLISHED_UPDATES:]
        try:
            services.repository.replace_head(incident.evolve(published=published), incident.version)
        except ConcurrentUpdateError:
            continue
        break
    else:
        raise ConcurrentUpdateError(f"{incident_id} kept changing while its published words were recorded")
    services.store.add_event(
        incident_id,
        "published",
        f"{update_id}: status page words in {', '.join(sorted(text)) or 'no locale'}",
    )
    return {"channel": Channel.STATUS_PAGE.value, "status": "published", "locales": sorted(text)}


def record_failure(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """A channel's branch failed after its retries: record why on the incident, and say what the
    dead-letter message carries (the state machine sends it to the channel's queue next)."""
    incident_id, update_id, channel = (
        str(event["incident_id"]),
        str(event["update_id"]),
        str(event["channel"]),
    )
    error = dict(event.get("error") or {})
    record = {
        "channel": channel,
        "status": "failed",
        "error": str(error.get("Error", "unknown")),
        "detail": _error_message(str(error.get("Cause", ""))),
        "at": services.now().isoformat(),
    }
    services.repository.record_delivery(incident_id, update_id, channel, record)
    services.store.add_event(incident_id, "delivery_failed", f"{update_id} via {channel}: {record['error']}")
    if channel in {c.value for c in TEAM_CHANNELS}:  # the team's notice, as drill reports read it
        services.store.add_event(incident_id, "team_notified", f"{channel}: failed")
    ledger = services.deliveries
    attempts = ledger.attempts(incident_id, update_id, channel) if ledger is not None else 0
    drill = services.store.get_update(incident_id, update_id).get("drill") is True
    return {
        "channel": channel,
        "status": "failed",
        "error": record["error"],
        "detail": record["detail"],
        # Attempts that reached the channel's code; 0 if Lambda itself failed before it ran.
        "attempts": attempts,
        "drill": drill,
        "failed_at": record["at"],
    }


def _error_message(cause: str) -> str:
    """Lambda's ``Cause`` is a JSON document: keep its ``errorMessage`` (the trace stays in the logs)."""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause[:1000]
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed["errorMessage"])[:1000]
    return cause[:1000]


# ---------------------------------------------------------------------------------------------
# Wait for next update (waitForTaskToken), remind, escalate, hold
# ---------------------------------------------------------------------------------------------


def await_update(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Leave the task token where intake finds it; if the incident changed meanwhile, wake up at once."""
    incident_id, token = str(event["incident_id"]), str(event["token"])
    services.repository.set_update_token(incident_id, token)
    latest = services.store.latest_update(incident_id)
    incident = services.repository.get(incident_id)
    changed = latest is not None and latest.get("fingerprint") != incident_fingerprint(incident)
    if changed and services.repository.take_update_token(incident_id) == token:
        services.send_task_success(token, {"reason": "changed_while_busy"})
        return {"waiting": False}
    return {"waiting": True}


def notice(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Remind the communications manager, escalate to the incident manager, or say messages are held."""
    plan = services.plan
    incident_id, kind = str(event["incident_id"]), str(event["kind"])
    if kind in ("reminder", "escalation"):
        # The wait that stored the token timed out: intake must not deliver to a dead token.
        services.repository.take_update_token(incident_id)
    roles = plan.roles
    person = roles.communications_manager if kind == "reminder" else roles.incident_manager
    texts = {
        "reminder": (
            f"Customer update due for {incident_id}",
            f"{person.chat_handle} the next customer update for {incident_id} is due now. Post it through "
            "the API or CLI; if nothing is new, say so: a holding update keeps the promise.",
        ),
        "escalation": (
            f"[escalated] Customer update missed for {incident_id}",
            f"{person.chat_handle} the customer update for {incident_id} was missed even after a reminder. "
            "Outage Comms now offers the holding update for approval.",
        ),
        "held": (
            f"External messages held for {incident_id}",
            f"The update {event.get('update_id', '')} for {incident_id} was not approved "
            f"({event.get('why', 'held')}); customers were not told. Post a new update when ready.",
        ),
    }
    title, text = texts[kind]
    title = mark_internal(plan, services.repository.get(incident_id).drill, title)
    services.notifier.chat(
        custom_notification(title=title, description=text, thread_id=incident_id, keywords=[kind])
    )
    services.notifier.email(person.email, title, text)
    services.store.add_event(incident_id, kind, title)
    if kind == "escalation":
        return {"holding_reason": "missed_cadence"}
    return {"kind": kind}


# ---------------------------------------------------------------------------------------------
# Resolution
# ---------------------------------------------------------------------------------------------


def summary_timing(plan: Plan, timing: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """The post-incident summary always waits for approval, for the plan's days; never escalated."""
    return {
        **timing,
        "approval_required": True,
        "approval_timeout_seconds": clock.seconds(plan.post_incident.approval_timeout_days * 24 * 60),
        "on_approval_timeout": "close_without_summary",
    }


def summary_request_text(name: str, incident_id: str, link: str, days: int) -> str:
    return (
        f"{name}, {incident_id} is resolved and Outage Comms drafted its customer-facing summary from what "
        "was typed when resolving (cause, fix, impact): what happened, when, what we did and what we're "
        "changing. Check every part, replace the general sentences with what you know (above all, what will "
        "change), then approve it here "
        f"(the link works once):\n\n{link}\n\nOnce approved it goes to the summary's channels and the status "
        f"page. If it is rejected, or nobody decides within {days} day(s), the incident closes without a "
        "public summary.\n"
    )


def summary_gaps_text(gaps: dict[str, list[str]]) -> str:
    """What the approver must write because nobody typed it when resolving ('' when nothing is missing)."""
    if not gaps:
        return ""
    from outage_comms.postmortem import gap_lines

    lines = [f"- {line}" for line in gap_lines(gaps)]
    return (
        "\nNobody typed these when resolving, so the draft leaves them out instead of guessing. Write them "
        "into the summary before you approve it:\n" + "\n".join(lines) + "\n"
    )


def draft_post_incident_summary(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Draft the customer-facing summary of a resolved incident (maintenance gets none).

    Returns what ``Render update`` takes as ``update``: ``post_incident_summary`` says whether there
    is a summary to render and approve.
    """
    from outage_comms.postmortem import draft_summary, feedback_counts, guard_draft
    from outage_comms.status.model import is_maintenance

    plan = services.plan
    incident_id = str(event["incident_id"])
    incident = services.repository.get(incident_id)
    if is_maintenance(incident):
        services.store.add_event(incident_id, "summary_skipped", "maintenance gets no post-incident summary")
        return {"post_incident_summary": False, "reason": "maintenance"}
    try:
        counts = feedback_counts(services.feedback_tally, incident_id)
    except Exception as error:  # a failing tally never keeps the summary from being written
        services.store.add_event(incident_id, "summary_feedback_unavailable", f"{type(error).__name__}")
        counts = None
    draft = draft_summary(plan, incident, services.now(), feedback=counts)
    findings = guard_draft(plan, draft)
    services.store.add_event(
        incident_id,
        "summary_drafted",
        f"post-incident summary drafted in {', '.join(plan.locale_codes)}; impact "
        f"{draft.window.duration.total_seconds() / 60:.0f} min; feedback "
        + ("not configured" if counts is None else f"{counts.get('yes', 0)} yes / {counts.get('no', 0)} no")
        + "".join(f"; {locale} asks for {', '.join(parts)}" for locale, parts in draft.gaps.items())
        + (f"; guard: {'; '.join(f.message for f in findings)}" if findings else ""),
    )
    return {
        "post_incident_summary": True,
        "reason": "post_incident_summary",
        "summary": draft.as_update(plan),
    }


def record_postmortem(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """The approved summary becomes the incident's ``postmortem`` (the status page's words, per locale).

    ``Record published words`` (after the fan-out of any other update) runs on this function too,
    with ``"record": "published"``: the same rights, on the same incident record.
    """
    if event.get("record") == "published":
        return record_published(event, services)
    plan = services.plan
    incident_id, update_id = str(event["incident_id"]), str(event["update_id"])
    update = services.store.get_update(incident_id, update_id)
    approval = update.get("approval") or {}
    final = approval.get("final_messages") or update["messages"]
    status_words = {locale: m["fields"]["body"] for locale, m in (final.get("status_page") or {}).items()}
    drafted = update.get("summary_text") or {}
    postmortem = {
        locale: status_words.get(locale) or drafted.get(locale, "")
        for locale in plan.locale_codes
        if status_words.get(locale) or drafted.get(locale)
    }
    approvers = [str(a) for a in approval.get("approvers", [])]
    now = services.now()
    entry = TimelineEntry(
        at=now,
        kind="postmortem",
        text=f"post-incident summary {update_id} published in {', '.join(postmortem)}",
        source=IncidentSource(type="human", reference=approvers[0] if approvers else "outage-comms"),
        event_id=f"postmortem-{update_id}",
    )
    for _ in range(3):
        incident = services.repository.get(incident_id)
        if entry.event_id in incident.event_ids:
            break  # a retried invocation: already recorded
        published = incident.with_entry(entry, postmortem=postmortem, postmortem_published_at=now)
        try:
            services.repository.replace_head(published, incident.version)
        except ConcurrentUpdateError:
            continue
        break
    else:
        raise ConcurrentUpdateError(f"{incident_id} kept changing while its postmortem was recorded")
    services.store.add_event(
        incident_id, "postmortem", f"{update_id} is the incident's postmortem ({', '.join(postmortem)})"
    )
    return {"postmortem_locales": sorted(postmortem)}


def create_summary_task(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """``Release incident``: tell the team how the post-incident summary ended; release the incident.

    Published, rejected, not approved in time, or none (maintenance): the one execution that spoke
    for the incident gives up its claim only now, after the summary's approval gate.
    """
    plan = services.plan
    incident_id = str(event["incident_id"])
    incident = services.repository.get(incident_id)
    latest = services.store.latest_update(incident_id) or {}
    person = plan.roles.communications_manager
    approval = latest.get("approval") or {}
    days = plan.post_incident.approval_timeout_days
    if incident.postmortem_published_at is not None:
        outcome = "published"
        text = (
            f"{person.chat_handle} the post-incident summary of {incident_id} is published: it went to "
            "its channels and is the incident's postmortem on the status page."
        )
    elif latest.get("scenario") != Scenario.POST_INCIDENT_SUMMARY.value:
        outcome = "none"
        text = f"{person.chat_handle} {incident_id} is closed. Maintenance gets no post-incident summary."
    elif approval.get("decision") == "rejected":
        outcome = "rejected"
        text = (
            f"{person.chat_handle} the post-incident summary of {incident_id} was rejected by "
            f"{', '.join(approval.get('approvers', [])) or 'the approver'}. The incident is closed without "
            "a public summary; customers were not sent one."
        )
    else:
        outcome = "not_approved"
        text = (
            f"{person.chat_handle} nobody approved the post-incident summary of {incident_id} within {days} "
            "day(s). The incident is closed without a public summary; customers were not sent one."
        )
    said = {"published": "published", "none": "none (maintenance)", "rejected": "rejected"}
    title = mark_internal(
        plan,
        incident.drill,
        f"{incident_id} closed: post-incident summary {said.get(outcome, 'not approved in time')}",
    )
    services.notifier.email(person.email, title, text)
    services.notifier.chat(
        custom_notification(title=title, description=text, thread_id=incident_id, keywords=["summary"])
    )
    services.store.add_event(incident_id, "summary_task", title)
    services.store.release(incident_id, str(event["execution_arn"]))
    return {"incident_id": incident.id, "status": incident.status, "summary": outcome}
