"""``Notify team first``, the fan-out's ``Deliver via <channel>``, ``Record published words`` and
``Record <channel> failure``.

Delivery holds no drill branch: the update record says who it reaches (:class:`outage_comms.drill_mode.Reach`,
decided when it was rendered): each channel's target (its adapter), the recipients, the marker and the
channels that fail on purpose.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from outage_comms.channels.base import (
    ChannelRetryableError,
    ChannelUnavailableError,
    Delivery,
    DeliveryResult,
)
from outage_comms.drill_mode import Reach
from outage_comms.ports import ConcurrentUpdateError
from outage_comms.vocabulary import Channel, Scenario
from outage_comms.workflow.channels_plan import TEAM_CHANNELS
from outage_comms.workflow.delivery_ledger import Claim
from outage_comms.workflow.services import Services
from outage_comms.workflow.step_fence import driven_elsewhere

#: What an attempt returns when the ledger says this delivery went out before: nothing is sent again.
ALREADY_DELIVERED = "already_delivered"
#: What an attempt returns in a region that no longer owns the incident: nothing sent, nothing recorded.
FENCED_OUT = "fenced"


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


def _deliver(services: Services, update: dict[str, Any], channel: Channel) -> DeliveryResult:
    """Send ``update`` through ``channel`` to the target, recipients and marker its record names."""
    by_locale = update["messages"].get(channel.value)
    if not by_locale:
        blocked = [b for b in update["blocked"] if b["channel"] == channel.value]
        detail = "blocked by the guard" if blocked else f"not used for {update['scenario']}"
        return DeliveryResult(channel=channel.value, status="skipped", detail=detail)
    reach = Reach.of_record(services.plan, update)
    if (failure := reach.failure(channel)) is not None:
        raise failure
    try:
        adapter = services.adapter(channel, reach.target(channel))
    except ChannelUnavailableError as error:
        return DeliveryResult(channel=channel.value, status="skipped", detail=f"not configured: {error}")
    if adapter is None:
        return DeliveryResult(channel=channel.value, status="skipped", detail=reach.no_target)
    delivery = Delivery(
        incident_id=update["incident_id"],
        update_id=update["update_id"],
        channel=channel,
        scenario=update["scenario"],
        components=update["components"],
        audiences=reach.recipients,
        severity=update["severity"],
        messages=reach.deliverable(channel, {locale: m["fields"] for locale, m in by_locale.items()}),
        html={locale: m["html"] for locale, m in by_locale.items() if m.get("html")},
    )
    return adapter.deliver(delivery)


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
    if driven_elsewhere(services, incident_id, f"Record published words of {update_id}"):
        return {"channel": Channel.STATUS_PAGE.value, "status": FENCED_OUT, "locales": []}
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
